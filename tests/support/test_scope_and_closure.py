"""The support rules where a review found them loose: a closed ticket stays as it is (SUP-3), staff
powers only through the staff site, disputes scoped to the invoice's Service (ORG-6, BIL-11), files
of a refused claim never stored, limits on a message's files, the TCU 18 deadline once answered,
the escalation clock when staff make a ticket wait again (SUP-7)."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Membership
from core.errors import RuleViolation
from support.jobs import escalate_waiting_tickets
from support.models import Attachment, Message, Ticket
from support.selectors import overdue_complaints, ticket_documents_overdue, tickets_for_member
from support.services import message_post, ticket_open, ticket_open_by_staff, ticket_set_priority, ticket_set_status
from tests.billing.factories import InvoiceFactory
from tests.factories import UserFactory, member
from tests.support.helpers import NOW, PDF, PNG, scoped, service_of, snapshot, staff, upload

pytestmark = pytest.mark.django_db
Role = Membership.Role
LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


def opened(membership: Membership, **fields: Any) -> Ticket:
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


# --- SUP-3: a closed ticket is kept as it is ------------------------------------------------------


def test_sup3_a_staff_reply_on_a_closed_ticket_leaves_it_closed_and_its_priority_cannot_change() -> None:
    legal = member()
    ticket = opened(legal, service=service_of(legal))
    agent = staff()
    ticket_set_status(ticket=ticket, staff_user=agent, status="closed", now=NOW)

    message_post(ticket=ticket, user=agent, body="For the record: done.", as_staff=True, now=LATER)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        ticket_set_priority(ticket=ticket, user=legal.user, priority="urgent", now=LATER)

    assert refused.value.rule == "SUP-3"
    assert snapshot() == before
    assert Ticket.objects.values_list("status", "priority").get(pk=ticket.pk) == ("closed", "normal")


# --- staff powers only through the staff site -------------------------------------------------------


def test_a_staff_account_that_is_a_member_acts_as_a_customer_through_the_api() -> None:
    # given a staff account that is also a member of an Organization, with an API token
    legal = member()
    ticket = opened(legal)
    insider = UserFactory(is_staff=True)
    Membership.objects.create(organization=legal.organization, user=insider, role=Role.TECHNICAL, created_at=NOW)
    client = APIClient()
    client.force_authenticate(insider)
    base = f"/api/v1/organizations/{legal.organization_id}/tickets/{ticket.pk}"

    # when it posts a message and tries to set the priority (a technical member, not a contact person
    # of a ticket about no Service)
    posted = client.post(f"{base}/messages/", {"body": "Me again"}, format="json")
    priority = client.post(f"{base}/priority/", {"priority": "urgent"}, format="json")

    # then the message is a customer's, and the priority is refused (SUP-4)
    assert posted.status_code == 201
    message = Message.objects.get(pk=posted.json()["id"])
    assert (message.from_staff, Ticket.objects.get(pk=ticket.pk).status) == (False, "waiting_provider")
    assert (priority.status_code, priority.json()["rule"]) == (403, "SUP-4")


def test_a_staff_account_without_the_right_to_view_tickets_cannot_download_their_files() -> None:
    legal = member()
    ticket = opened(legal)
    note = message_post(
        ticket=ticket, user=staff(), body="n", internal=True, attachments=[upload(PNG, "s.png")], now=NOW
    )
    attachment = Attachment.objects.get(message=note)
    clerk = UserFactory(is_staff=True)  # staff, but no permission on support tickets
    device = TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    client = Client()
    client.force_login(clerk)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})

    response = client.get(reverse("admin:support_ticket_attachment", args=[attachment.pk]))

    assert response.status_code == 403


# --- ORG-6, BIL-11: a dispute is about the invoice's own Service ---------------------------------------


def test_bil11_org6_a_dispute_names_the_invoices_service_and_only_who_sees_that_invoice_sees_it() -> None:
    legal = member()
    mine, theirs = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, mine)
    invoice = InvoiceFactory(organization=legal.organization, service=theirs, issue_date=dt.date(2026, 3, 10))
    top_up = InvoiceFactory(organization=legal.organization, kind="top_up", issue_date=dt.date(2026, 3, 10))
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        opened(legal, kind="invoice_dispute", invoice=invoice, service=mine)
    assert (refused.value.rule, refused.value.field) == ("BIL-11", "service")
    assert snapshot() == before

    dispute = opened(legal, kind="invoice_dispute", invoice=invoice)
    top_up_dispute = opened(legal, kind="invoice_dispute", invoice=top_up)
    assert dispute.service == theirs
    assert top_up_dispute.service is None
    assert list(tickets_for_member(limited)) == []  # neither invoice is in the limited member's scope
    assert {t.pk for t in tickets_for_member(legal)} == {dispute.pk, top_up_dispute.pk}


# --- SLA-5: a refused claim stores no file ------------------------------------------------------------


def test_sla5_a_claim_refused_by_the_sla_app_leaves_no_file_behind() -> None:
    legal = member()
    service = service_of(legal)
    files_before = default_storage.listdir("support")[1] if default_storage.exists("support") else []
    with pytest.raises(RuleViolation) as refused:
        opened(
            legal,
            kind="sla_claim",
            service=service,
            claim_start=dt.datetime(2025, 12, 1, 8, tzinfo=dt.UTC),  # more than two months ago
            claim_end=dt.datetime(2025, 12, 1, 9, tzinfo=dt.UTC),
            attachments=[upload(PDF, "outage.pdf")],
        )
    assert refused.value.rule == "SLA-5"
    files_after = default_storage.listdir("support")[1] if default_storage.exists("support") else []
    assert files_after == files_before
    assert (Ticket.objects.count(), Attachment.objects.count()) == (0, 0)


# --- SUP-3: limits on the files of one message -----------------------------------------------------------


def test_sup3_a_message_carries_a_limited_number_and_weight_of_files(settings) -> None:  # noqa: ANN001
    legal = member()
    ticket = opened(legal)
    settings.SUPPORT_ATTACHMENTS_MAX_COUNT = 2
    settings.SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES = 2 * len(PDF) - 1
    before = snapshot()
    for files, message in (
        ([upload(PDF, f"{i}.pdf") for i in range(3)], "at most 2 files"),
        ([upload(PDF, "a.pdf"), upload(PDF, "b.pdf")], "together at most"),
    ):
        with pytest.raises(RuleViolation, match=message) as refused:
            message_post(ticket=ticket, user=legal.user, body="Logs", attachments=files, now=LATER)
        assert (refused.value.rule, refused.value.field) == ("SUP-3", "attachments")
    assert snapshot() == before


# --- TCU 18: the documents deadline once the customer answered -------------------------------------------


def test_tcu18_a_complaint_the_customer_answered_is_not_overdue() -> None:
    legal = member()
    complaint = ticket_open_by_staff(
        organization=legal.organization,
        staff_user=staff(),
        kind="third_party_complaint",
        subject="Complaint",
        body="Send us the documents.",
        language="en",
        documents_due_on=dt.date(2026, 3, 25),
        now=NOW,
    )
    after_deadline = dt.date(2026, 3, 26)
    assert ticket_documents_overdue(complaint, after_deadline)
    assert list(overdue_complaints(after_deadline)) == [complaint]

    message_post(
        ticket=complaint, user=legal.user, body="Here they are.", attachments=[upload(PDF, "d.pdf")], now=LATER
    )
    complaint.refresh_from_db()

    assert not ticket_documents_overdue(complaint, after_deadline)
    assert list(overdue_complaints(after_deadline)) == []


# --- SUP-7: the escalation clock ---------------------------------------------------------------------------


def test_sup7_staff_making_a_ticket_wait_again_start_its_escalation_clock_anew(settings) -> None:  # noqa: ANN001
    settings.SUPPORT_ESCALATION_HOURS = 48
    legal = member()
    ticket = opened(legal)
    first = NOW + dt.timedelta(hours=49)
    assert escalate_waiting_tickets(day=first.date(), now=first) == 1

    # staff set the open, escalated ticket to waiting for the provider
    ticket_set_status(ticket=ticket, staff_user=staff(), status="waiting_provider", now=first + dt.timedelta(hours=1))

    ticket.refresh_from_db()
    assert ticket.waiting_since == first + dt.timedelta(hours=1)
    later = first + dt.timedelta(hours=50)
    assert escalate_waiting_tickets(day=later.date(), now=later) == 1  # the second wait, escalated too
