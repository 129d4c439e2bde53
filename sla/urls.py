from django.urls import path

from sla import views

app_name = "sla"

urlpatterns = [
    path("orgs/<int:org_id>/sla/", views.overview, name="overview"),
    path("orgs/<int:org_id>/services/<int:service_id>/sla/", views.service_sla, name="service_sla"),
    path(
        "orgs/<int:org_id>/services/<int:service_id>/sla/force-majeure/<int:incident_id>/terminate/",
        views.force_majeure_terminate,
        name="force_majeure_terminate",
    ),
]
