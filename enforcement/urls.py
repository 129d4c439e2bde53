from django.urls import path

from enforcement import views

app_name = "enforcement"

urlpatterns = [
    path("orgs/<int:org_id>/breaches/", views.breaches, name="breaches"),
    path(
        "orgs/<int:org_id>/breaches/<int:breach_id>/evidence/<int:evidence_id>/",
        views.evidence_file,
        name="evidence_file",
    ),
]
