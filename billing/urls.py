from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("orgs/<int:org_id>/services/", views.services, name="services"),
    path("orgs/<int:org_id>/services/order/", views.order, name="order"),
    path("orgs/<int:org_id>/services/<int:service_id>/", views.service, name="service"),
    path("orgs/<int:org_id>/services/<int:service_id>/convert/", views.service_convert, name="service_convert"),
    path(
        "orgs/<int:org_id>/services/<int:service_id>/auto-renew/", views.service_auto_renew, name="service_auto_renew"
    ),
    path("orgs/<int:org_id>/services/<int:service_id>/warranty/", views.service_warranty, name="service_warranty"),
    path("orgs/<int:org_id>/services/<int:service_id>/decline/", views.service_decline, name="service_decline"),
    path("orgs/<int:org_id>/services/<int:service_id>/resume/", views.service_resume, name="service_resume"),
    path("orgs/<int:org_id>/services/<int:service_id>/terminate/", views.service_terminate, name="service_terminate"),
    path(
        "orgs/<int:org_id>/services/<int:service_id>/money-back/", views.service_money_back, name="service_money_back"
    ),
    path("orgs/<int:org_id>/invoices/", views.invoices, name="invoices"),
    path("orgs/<int:org_id>/invoices/<int:invoice_id>/", views.invoice, name="invoice"),
    path("orgs/<int:org_id>/invoices/<int:invoice_id>/pdf/", views.invoice_pdf_download, name="invoice_pdf"),
    path("orgs/<int:org_id>/payment-methods/", views.means, name="means"),
    path(
        "orgs/<int:org_id>/payment-methods/<int:means_id>/default/",
        views.means_action,
        {"action": "default"},
        name="means_default",
    ),
    path(
        "orgs/<int:org_id>/payment-methods/<int:means_id>/remove/",
        views.means_action,
        {"action": "remove"},
        name="means_remove",
    ),
    path("orgs/<int:org_id>/prepaid/", views.prepaid, name="prepaid"),
    path("orgs/<int:org_id>/prepaid/transfers/<int:payment_id>/", views.prepaid_transfer, name="prepaid_transfer"),
    path("orgs/<int:org_id>/prepaid/cash-out/", views.prepaid_cash_out, name="prepaid_cash_out"),
]
