from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("orgs/<int:org_id>/", views.dashboard, name="home"),
]
