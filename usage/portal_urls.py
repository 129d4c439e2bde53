"""The browser pages of the usage app (the metering API's routes are in config/api_urls.py)."""

from django.urls import path

from usage import views

app_name = "usage"

urlpatterns = [
    path("orgs/<int:org_id>/services/<int:service_id>/usage/", views.service_usage, name="service_usage"),
    path("orgs/<int:org_id>/services/<int:service_id>/usage/budget/", views.service_budget, name="service_budget"),
    path(
        "orgs/<int:org_id>/services/<int:service_id>/usage/budget/remove/",
        views.service_budget_remove,
        name="service_budget_remove",
    ),
]
