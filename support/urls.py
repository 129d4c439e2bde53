from django.urls import path

from support import views

app_name = "support"

urlpatterns = [
    path("orgs/<int:org_id>/support/", views.tickets, name="tickets"),
    path("orgs/<int:org_id>/support/new/", views.ticket_new, name="ticket_new"),
    path("orgs/<int:org_id>/support/<int:ticket_id>/", views.ticket, name="ticket"),
    path("orgs/<int:org_id>/support/<int:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path("orgs/<int:org_id>/support/<int:ticket_id>/priority/", views.ticket_priority, name="ticket_priority"),
    path(
        "orgs/<int:org_id>/support/<int:ticket_id>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
]
