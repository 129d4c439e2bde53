from django.urls import path

from accounts import api as accounts_api
from billing import api as billing_api
from enforcement import api as enforcement_api
from exports import api as exports_api
from sla import api as sla_api
from subscriptions import api as subscriptions_api
from support import api as support_api
from usage import api_customer as usage_customer_api
from usage.urls import api_urlpatterns as usage_api_urlpatterns

urlpatterns = [
    path("auth/token/", accounts_api.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", accounts_api.TokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<int:token_id>/", accounts_api.TokenDetailView.as_view(), name="api-token-detail"),
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path("organizations/", accounts_api.OrganizationListView.as_view(), name="api-organizations"),
    path("organizations/<int:org_id>/", accounts_api.OrganizationDetailView.as_view(), name="api-organization"),
    path("organizations/<int:org_id>/members/", accounts_api.MemberListView.as_view(), name="api-members"),
    path(
        "organizations/<int:org_id>/members/<int:member_id>/",
        accounts_api.MemberDetailView.as_view(),
        name="api-member",
    ),
    path("organizations/<int:org_id>/invitations/", accounts_api.InvitationListView.as_view(), name="api-invitations"),
    path(
        "organizations/<int:org_id>/invitations/<int:invitation_id>/",
        accounts_api.InvitationDetailView.as_view(),
        name="api-invitation",
    ),
    path("invitations/<str:token>/accept/", accounts_api.InvitationAcceptView.as_view(), name="api-invitation-accept"),
    path(
        "organizations/<int:org_id>/members/<int:member_id>/services/",
        subscriptions_api.MemberServicesView.as_view(),
        name="api-member-services",
    ),
    path("organizations/<int:org_id>/documents/", accounts_api.DocumentListView.as_view(), name="api-documents"),
    path(
        "organizations/<int:org_id>/documents/<int:version_id>/accept/",
        accounts_api.DocumentAcceptView.as_view(),
        name="api-document-accept",
    ),
    path(
        "organizations/<int:org_id>/terminate/",
        accounts_api.OrganizationTerminateView.as_view(),
        name="api-organization-terminate",
    ),
    path("organizations/<int:org_id>/breaches/", enforcement_api.BreachListView.as_view(), name="api-breaches"),
    path("organizations/<int:org_id>/catalog/", billing_api.CatalogView.as_view(), name="api-catalog"),
    path("organizations/<int:org_id>/services/", subscriptions_api.ServiceListView.as_view(), name="api-services"),
    path(
        "organizations/<int:org_id>/services/<int:service_id>/",
        subscriptions_api.ServiceDetailView.as_view(),
        name="api-service",
    ),
    path(
        "organizations/<int:org_id>/services/<int:service_id>/convert/",
        subscriptions_api.TrialConvertView.as_view(),
        name="api-service-convert",
    ),
    *[
        path(f"organizations/<int:org_id>/services/<int:service_id>/{suffix}/", view.as_view(), name=name)
        for suffix, view, name in [
            ("timeline", subscriptions_api.ServiceTimelineView, "api-service-timeline"),
            ("attempts", subscriptions_api.ServiceAttemptsView, "api-service-attempts"),
            ("auto-renew", subscriptions_api.ServiceAutoRenewView, "api-service-auto-renew"),
            ("renewal-warranty", subscriptions_api.ServiceWarrantyView, "api-service-renewal-warranty"),
            ("renew", subscriptions_api.ServiceRenewView, "api-service-renew"),
            ("decline-renewal", subscriptions_api.ServiceDeclineRenewalView, "api-service-decline-renewal"),
            ("resume-renewal", subscriptions_api.ServiceResumeRenewalView, "api-service-resume-renewal"),
            ("terminate", subscriptions_api.ServiceTerminateView, "api-service-terminate"),
            ("money-back", subscriptions_api.ServiceMoneyBackView, "api-service-money-back"),
            ("add-ons", subscriptions_api.ServiceAddOnsView, "api-service-add-ons"),
            ("credits", subscriptions_api.ServiceCreditsView, "api-service-credits"),
            ("credits/pay", subscriptions_api.ServiceCreditsPayView, "api-service-credits-pay"),
            ("usage", usage_customer_api.ServiceUsageView, "api-service-usage"),
            ("usage/budget", usage_customer_api.ServiceBudgetView, "api-service-usage-budget"),
            ("sla/reports", sla_api.ServiceReportsView, "api-service-sla-reports"),
            ("sla/claimable", sla_api.ServiceClaimableView, "api-service-sla-claimable"),
            (
                "sla/force-majeure-terminate",
                sla_api.ServiceForceMajeureTerminateView,
                "api-service-sla-force-majeure-terminate",
            ),
        ]
    ],
    path(
        "organizations/<int:org_id>/services/<int:service_id>/add-ons/<int:add_on_id>/",
        subscriptions_api.ServiceAddOnView.as_view(),
        name="api-service-add-on",
    ),
    path("organizations/<int:org_id>/trials/", subscriptions_api.TrialView.as_view(), name="api-trials"),
    path("organizations/<int:org_id>/payment-methods/", billing_api.MeansListView.as_view(), name="api-means"),
    path(
        "organizations/<int:org_id>/payment-methods/<int:means_id>/",
        billing_api.MeansDetailView.as_view(),
        name="api-means-detail",
    ),
    path(
        "organizations/<int:org_id>/payment-methods/<int:means_id>/default/",
        billing_api.MeansDefaultView.as_view(),
        name="api-means-default",
    ),
    path("organizations/<int:org_id>/invoices/", billing_api.InvoiceListView.as_view(), name="api-invoices"),
    path(
        "organizations/<int:org_id>/invoices/<int:invoice_id>/",
        billing_api.InvoiceDetailView.as_view(),
        name="api-invoice",
    ),
    path(
        "organizations/<int:org_id>/invoices/<int:invoice_id>/pdf/",
        billing_api.InvoicePdfView.as_view(),
        name="api-invoice-pdf",
    ),
    path(
        "organizations/<int:org_id>/invoices/<int:invoice_id>/pay/",
        billing_api.InvoicePayView.as_view(),
        name="api-invoice-pay",
    ),
    path("organizations/<int:org_id>/prepaid/", billing_api.PrepaidAccountView.as_view(), name="api-prepaid"),
    path(
        "organizations/<int:org_id>/prepaid/entries/",
        billing_api.PrepaidEntriesView.as_view(),
        name="api-prepaid-entries",
    ),
    path(
        "organizations/<int:org_id>/prepaid/top-up/",
        billing_api.PrepaidTopUpView.as_view(),
        name="api-prepaid-top-up",
    ),
    path(
        "organizations/<int:org_id>/prepaid/cash-out/",
        billing_api.PrepaidCashOutView.as_view(),
        name="api-prepaid-cash-out",
    ),
    path("organizations/<int:org_id>/tickets/", support_api.TicketListView.as_view(), name="api-tickets"),
    path(
        "organizations/<int:org_id>/tickets/<int:ticket_id>/",
        support_api.TicketDetailView.as_view(),
        name="api-ticket",
    ),
    path(
        "organizations/<int:org_id>/tickets/<int:ticket_id>/messages/",
        support_api.TicketMessagesView.as_view(),
        name="api-ticket-messages",
    ),
    path(
        "organizations/<int:org_id>/tickets/<int:ticket_id>/priority/",
        support_api.TicketPriorityView.as_view(),
        name="api-ticket-priority",
    ),
    path(
        "organizations/<int:org_id>/tickets/<int:ticket_id>/attachments/<int:attachment_id>/",
        support_api.AttachmentView.as_view(),
        name="api-ticket-attachment",
    ),
    path("organizations/<int:org_id>/sla/incidents/", sla_api.IncidentListView.as_view(), name="api-sla-incidents"),
    path(
        "organizations/<int:org_id>/sla/incidents/<int:incident_id>/",
        sla_api.IncidentDetailView.as_view(),
        name="api-sla-incident",
    ),
    path(
        "organizations/<int:org_id>/sla/maintenance/",
        sla_api.MaintenanceListView.as_view(),
        name="api-sla-maintenance",
    ),
    path("organizations/<int:org_id>/sla/claims/", sla_api.ClaimListView.as_view(), name="api-sla-claims"),
    path(
        "organizations/<int:org_id>/sla/claims/<int:claim_id>/",
        sla_api.ClaimDetailView.as_view(),
        name="api-sla-claim",
    ),
    # Staff and the monitoring system (SLA-8): no Organization in the path.
    path("sla/incidents/", sla_api.StaffIncidentListView.as_view(), name="api-staff-sla-incidents"),
    path(
        "sla/incidents/<int:incident_id>/resolve/",
        sla_api.StaffIncidentResolveView.as_view(),
        name="api-staff-sla-incident-resolve",
    ),
    path("sla/maintenance/", sla_api.StaffMaintenanceView.as_view(), name="api-staff-sla-maintenance"),
    *usage_api_urlpatterns,
    # EVD-4, EVD-5: statement and personal data exports.
    path("organizations/<int:org_id>/exports/", exports_api.StatementListView.as_view(), name="api-exports"),
    path(
        "organizations/<int:org_id>/exports/<int:export_id>/",
        exports_api.StatementDetailView.as_view(),
        name="api-export",
    ),
    path(
        "organizations/<int:org_id>/exports/<int:export_id>/download/",
        exports_api.StatementDownloadView.as_view(),
        name="api-export-download",
    ),
    path("me/exports/", exports_api.PersonalExportListView.as_view(), name="api-personal-exports"),
    path("me/exports/<int:export_id>/", exports_api.PersonalExportDetailView.as_view(), name="api-personal-export"),
    path(
        "me/exports/<int:export_id>/download/",
        exports_api.PersonalExportDownloadView.as_view(),
        name="api-personal-export-download",
    ),
]
