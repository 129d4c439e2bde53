from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
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
