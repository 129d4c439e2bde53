"""The staff queue (SUP-3…SUP-7, TCU 18, SC 5.7, TCU 13.1): filters, the ticket page with messages
and internal notes, replies and notes from the admin, resolve/close, abuse flag, suspension of an
acceptable-use case's Service, staff-opened tickets; no delete; every view recorded (EVD-2)."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditEvent
from notifications.models import Notification
from support.models import Attachment, Message, Ticket
from support.services import message_post, ticket_open, ticket_open_by_staff
from tests.factories import UserFactory, member
from tests.support.helpers import NOW, PDF, PNG, service_of, snapshot, upload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:support_ticket_changelist"


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agent() -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="agent@example.com")


@pytest.fixture
def admin_client(agent: User) -> Client:
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = Client()
    client.force_login(agent)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    return client


def opened(membership: Any = None, **fields: Any) -> Ticket:
    membership = membership or member()
    arguments: dict[str, Any] = {
        "organization": membership.organization,
        "user": membership.user,
        "kind": "technical",
        "subject": "Site down",
        "body": "Our site answers 502.",
        "language": "en",
        "now": NOW,
    } | fields
    return ticket_open(**arguments)


def unchanged() -> dict[str, Any]:
    """The support snapshot, the staff's own view records (EVD-2) apart."""
    return snapshot() | {"audit": AuditEvent.objects.exclude(action__startswith="staff.").count()}


def listed(client: Client, query: str) -> list[int]:
    response = client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    return sorted(ticket.pk for ticket in response.context["cl"].result_list)


def act(client: Client, action: str, tickets: list[Ticket], **extra: str) -> list[str]:
    response = client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [t.pk for t in tickets], **extra}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


# --- the queue -------------------------------------------------------------------------------------


def test_the_queue_filters_by_kind_status_priority_and_language(admin_client: Client) -> None:
    legal = member()
    technical = opened(legal)
    billing = opened(legal, kind="billing", language="de")
    billing.priority = "urgent"
    billing.status = "waiting_customer"
    billing.save()

    assert listed(admin_client, "?kind=billing") == [billing.pk]
    assert listed(admin_client, "?status=open") == [technical.pk]
    assert listed(admin_client, "?priority=urgent") == [billing.pk]
    assert listed(admin_client, "?language=de") == [billing.pk]
    assert listed(admin_client, "") == sorted([technical.pk, billing.pk])


def test_the_queue_filters_by_age(admin_client: Client) -> None:
    legal = member()
    by_age = {
        days: opened(legal, now=NOW - dt.timedelta(days=days, hours=1), subject=f"{days} days") for days in (0, 2, 5, 9)
    }

    assert listed(admin_client, "?age=lt1") == [by_age[0].pk]
    assert listed(admin_client, "?age=1to3") == [by_age[2].pk]
    assert listed(admin_client, "?age=3to7") == [by_age[5].pk]
    assert listed(admin_client, "?age=gt7") == [by_age[9].pk]


def test_the_queue_filters_escalated_abusive_and_documents_overdue(admin_client: Client, agent: User) -> None:
    legal = member()
    escalated = opened(legal)
    Ticket.objects.filter(pk=escalated.pk).update(escalated_at=NOW)
    flagged = opened(legal)
    Ticket.objects.filter(pk=flagged.pk).update(abusive_flagged_at=NOW)
    with time_machine.travel(NOW - dt.timedelta(days=10), tick=False):
        overdue = ticket_open_by_staff(
            organization=legal.organization,
            staff_user=agent,
            kind="third_party_complaint",
            subject="Complaint",
            body="Send documents",
            language="en",
            documents_due_on=dt.date(2026, 3, 19),
            now=NOW - dt.timedelta(days=10),
        )
    in_time = ticket_open_by_staff(
        organization=legal.organization,
        staff_user=agent,
        kind="third_party_complaint",
        subject="Complaint",
        body="Send documents",
        language="en",
        documents_due_on=dt.date(2026, 3, 27),
        now=NOW,
    )

    assert listed(admin_client, "?escalated=yes") == [escalated.pk]
    assert listed(admin_client, "?abusive=yes") == [flagged.pk]
    assert listed(admin_client, "?documents_overdue=yes") == [overdue.pk]
    assert in_time.pk in listed(admin_client, "?abusive=no")


def test_the_queue_searches_subject_and_organization(admin_client: Client) -> None:
    legal = member()
    other = member()
    other.organization.name = "Acme Hosting"
    other.organization.save()
    by_subject = opened(legal, subject="Mail bounces")
    by_org = opened(other)

    assert listed(admin_client, "?q=bounces") == [by_subject.pk]
    assert listed(admin_client, "?q=Acme") == [by_org.pk]


def test_listing_and_viewing_are_recorded(admin_client: Client, agent: User) -> None:
    ticket = opened()

    admin_client.get(reverse(CHANGELIST))
    admin_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))

    assert AuditEvent.objects.filter(action="staff.listed", rule="EVD-2", actor_user=agent).count() == 1
    viewed = AuditEvent.objects.get(action="staff.viewed", rule="EVD-2")
    assert (viewed.object_type, viewed.object_id, viewed.organization_id) == (
        "support.ticket",
        str(ticket.pk),
        ticket.organization_id,
    )


# --- the ticket page -------------------------------------------------------------------------------


def test_the_ticket_page_shows_messages_internal_notes_and_their_files(admin_client: Client, agent: User) -> None:
    ticket = opened(attachments=[upload(PDF, "customer.pdf")])
    message_post(
        ticket=ticket, user=agent, body="Staff only remark", internal=True, attachments=[upload(PNG, "n.png")], now=NOW
    )
    note_file = Attachment.objects.get(original_name="n.png")

    response = admin_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Our site answers 502." in html and "Staff only remark" in html and "Internal note" in html
    assert reverse("admin:support_ticket_attachment", args=[note_file.pk]) in html
    assert reverse("admin:support_ticket_reply", args=[ticket.pk]) in html
    assert reverse("admin:support_ticket_note", args=[ticket.pk]) in html
    download = admin_client.get(reverse("admin:support_ticket_attachment", args=[note_file.pk]))
    assert (download.status_code, download.content) == (200, PNG)


def test_sup7_a_reply_from_the_admin_goes_to_the_contact_persons(admin_client: Client, agent: User) -> None:
    legal = member()
    ticket = opened(legal, language="fr")

    response = admin_client.post(
        reverse("admin:support_ticket_reply", args=[ticket.pk]),
        {"reply-body": "Nous avons redémarré le serveur.", "reply-attachments": [SimpleUploadedFile("r.txt", b"ok\n")]},
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "waiting_customer"
    reply = Message.objects.filter(from_staff=True).get()
    assert (reply.author, reply.internal, reply.body) == (agent, False, "Nous avons redémarré le serveur.")
    assert list(reply.attachments.values_list("original_name", flat=True)) == ["r.txt"]
    notice = Notification.objects.get(template="support_reply")
    assert (notice.address, notice.from_email, notice.language) == (legal.user.email, "support@portal.example", "fr")


def test_an_internal_note_from_the_admin_changes_no_status_and_sends_nothing(admin_client: Client, agent: User) -> None:
    ticket = opened()
    mail.outbox.clear()

    response = admin_client.post(
        reverse("admin:support_ticket_note", args=[ticket.pk]), {"note-body": "Rude customer."}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "open"
    note = Message.objects.get(internal=True)
    assert (note.author, note.from_staff, note.body) == (agent, True, "Rude customer.")
    assert Notification.objects.filter(template="support_reply").count() == 0


def test_an_empty_reply_is_refused_on_its_form(admin_client: Client) -> None:
    ticket = opened()
    before = snapshot()

    response = admin_client.post(reverse("admin:support_ticket_reply", args=[ticket.pk]), {"reply-body": ""})

    assert response.status_code == 200
    assert "body" in response.context["form"].errors
    assert snapshot() == before


# --- actions -------------------------------------------------------------------------------------


def test_resolve_and_close(admin_client: Client) -> None:
    a, b = opened(), opened()

    assert act(admin_client, "resolve", [a]) == ["1 done."]
    assert act(admin_client, "close", [b]) == ["1 done."]

    assert (Ticket.objects.get(pk=a.pk).status, Ticket.objects.get(pk=b.pk).status) == ("resolved", "closed")


def test_sup6_flag_abusive_with_a_reason_once(admin_client: Client, agent: User) -> None:
    ticket = opened()

    form = admin_client.post(reverse(CHANGELIST), {"action": "flag_abusive", "_selected_action": [ticket.pk]})
    assert form.status_code == 200 and "reason" in form.context["form"].fields
    shown = act(admin_client, "flag_abusive", [ticket], apply="1", reason="Insults the agent.")

    ticket.refresh_from_db()
    assert shown == ["1 done."]
    assert (ticket.abusive_flagged_by, ticket.abusive_reason, ticket.abusive_flagged_at) == (
        agent,
        "Insults the agent.",
        NOW,
    )
    before = unchanged()
    again = act(admin_client, "flag_abusive", [ticket], apply="1", reason="Again.")
    assert again == [f"{ticket}: This ticket is already flagged. (SUP-6)"]
    assert unchanged() == before


def test_tcu13_suspend_the_service_of_an_acceptable_use_case(admin_client: Client, agent: User) -> None:
    legal = member()
    service = service_of(legal, status="active")
    case = ticket_open_by_staff(
        organization=legal.organization,
        staff_user=agent,
        kind="acceptable_use",
        subject="Port scans",
        body="Your server scans ports.",
        language="en",
        service=service,
        aup_category="port_scans",
        now=NOW,
    )

    shown = act(admin_client, "suspend_service", [case], apply="1", reason="Port scans from this server.")

    assert shown == ["1 done."]
    case.refresh_from_db()
    service.refresh_from_db()
    assert (case.service_suspended_at, service.status) == (NOW, "suspended")
    assert AuditEvent.objects.filter(action="ticket.service_suspended", rule="TCU 13.1").count() == 1


def test_sc57_suspension_is_refused_for_other_kinds_and_changes_nothing(admin_client: Client) -> None:
    legal = member()
    ticket = opened(legal, service=service_of(legal, status="active"))
    before = unchanged()

    shown = act(admin_client, "suspend_service", [ticket], apply="1", reason="No.")

    assert shown == [f"{ticket}: A Service is suspended from an acceptable-use case about it. (SC 5.7)"]
    assert unchanged() == before


# --- staff-opened tickets --------------------------------------------------------------------------


def test_tcu18_staff_open_a_third_party_complaint(admin_client: Client, agent: User) -> None:
    legal = member()

    response = admin_client.post(
        reverse("admin:support_ticket_open"),
        {
            "organization": legal.organization_id,
            "kind": "third_party_complaint",
            "subject": "Copyright complaint",
            "body": "Please send your licence.",
            "language": "it",
            "documents_due_on": "2026-04-03",
        },
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:support_ticket_change", args=[ticket.pk])
    assert (ticket.kind, ticket.opened_by, ticket.opened_by_staff, ticket.documents_due_on, ticket.status) == (
        "third_party_complaint",
        agent,
        True,
        dt.date(2026, 4, 3),
        "waiting_customer",
    )
    assert Notification.objects.filter(template="support_reply", language="it").count() == 1


def test_tcu18_a_deadline_not_after_today_is_refused_on_the_form(admin_client: Client) -> None:
    legal = member()
    before = snapshot()

    response = admin_client.post(
        reverse("admin:support_ticket_open"),
        {
            "organization": legal.organization_id,
            "kind": "third_party_complaint",
            "subject": "Complaint",
            "body": "Send documents.",
            "language": "en",
            "documents_due_on": "2026-03-20",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["documents_due_on"] == [
        "Give the day by which the customer must send supporting documents, after today."
    ]
    assert snapshot() == before


def test_sc57_an_acceptable_use_case_needs_its_category(admin_client: Client) -> None:
    legal = member()
    service = service_of(legal)
    before = snapshot()

    response = admin_client.post(
        reverse("admin:support_ticket_open"),
        {
            "organization": legal.organization_id,
            "kind": "acceptable_use",
            "service": service.pk,
            "subject": "Spam",
            "body": "Spam.",
            "language": "en",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["aup_category"] == ["Choose the category of the acceptable-use case."]
    assert snapshot() == before


def test_the_open_form_offers_the_staff_kinds(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:support_ticket_open"))
    assert [value for value, _label in response.context["form"].fields["kind"].choices] == [
        "third_party_complaint",
        "acceptable_use",
    ]
    assert reverse("admin:support_ticket_open").encode() in admin_client.get(reverse(CHANGELIST)).content


# --- no delete, SUP-3 ------------------------------------------------------------------------------


def test_sup3_tickets_and_messages_cannot_be_deleted_or_edited_in_the_admin(admin_client: Client) -> None:
    ticket = opened()
    message = ticket.messages.get()

    actions = admin_client.get(reverse(CHANGELIST)).context["action_form"].fields["action"].choices
    assert [name for name, _label in actions] == [
        "",
        "resolve",
        "close",
        "flag_abusive",
        "suspend_service",
        "carry_out_termination",
    ]
    for name, pk in (("support_ticket", ticket.pk), ("support_message", message.pk)):
        assert admin_client.post(reverse(f"admin:{name}_delete", args=[pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:support_ticket_add")).status_code == 403
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 1)


def test_a_customer_cannot_reach_the_staff_views() -> None:
    legal = member()
    ticket = opened(legal)
    client = Client()
    client.force_login(legal.user)

    for target in (
        reverse(CHANGELIST),
        reverse("admin:support_ticket_open"),
        reverse("admin:support_ticket_reply", args=[ticket.pk]),
    ):
        response = client.get(target)
        assert response.status_code == 302
        assert "/login/" in response.url
