from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("orgs/<int:org_id>/exports/", views.statements, name="statements"),
    path("orgs/<int:org_id>/exports/<int:export_id>/status/", views.statement_status, name="statement_status"),
    path("orgs/<int:org_id>/exports/<int:export_id>/download/", views.statement_download, name="statement_download"),
    path("me/data/", views.personal, name="personal"),
    path("me/data/<int:export_id>/status/", views.personal_status, name="personal_status"),
    path("me/data/<int:export_id>/download/", views.personal_download, name="personal_download"),
]
