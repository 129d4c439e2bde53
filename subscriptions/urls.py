from django.urls import path

from subscriptions import views

app_name = "subscriptions"

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
    path(
        "orgs/<int:org_id>/services/<int:service_id>/add-ons/<int:add_on_id>/activate/",
        views.service_add_on_activate,
        name="service_add_on_activate",
    ),
    path(
        "orgs/<int:org_id>/services/<int:service_id>/add-ons/<int:add_on_id>/deactivate/",
        views.service_add_on_deactivate,
        name="service_add_on_deactivate",
    ),
    path("orgs/<int:org_id>/services/<int:service_id>/credits/", views.service_credits, name="service_credits"),
    path(
        "orgs/<int:org_id>/services/<int:service_id>/credits/pay/<int:invoice_id>/",
        views.service_credits_pay,
        name="service_credits_pay",
    ),
]
