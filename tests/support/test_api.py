"""The support API (SUP-1…SUP-7 with BIL-11, SLA-5, ORG-9): tickets, messages with multipart
attachments, priority, attachment downloads — happy paths, refusals answering with their rule and
nothing changed, tenancy (another Organization, ORG-6 scopes), and no DELETE anywhere (SUP-3)."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from rest_framework.test import APIClient

from accounts.models import Membership
from support.models import Attachment, Message, Ticket
from support.services import message_post, ticket_open
from tests.billing.factories import InvoiceFactory
from tests.factories import member
from tests.support.helpers import NOW, PDF, PNG, scoped, service_of, snapshot, staff, upload

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield  # the language a request activated is not left to the next test


def api(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def tickets_url(org_id: int) -> str:
    return f"/api/v1/organizations/{org_id}/tickets/"


def ticket_url(org_id: int, ticket_id: int, suffix: str = "") -> str:
    return f"/api/v1/organizations/{org_id}/tickets/{ticket_id}/{suffix}"


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


def refused(response: Any, status: int, rule: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["rule"] == rule


# --- tickets ---------------------------------------------------------------------------------------


def test_the_list_shows_the_members_tickets() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, mine)
    a = opened(legal, service=mine)
    b = opened(legal, service=other, now=NOW + dt.timedelta(minutes=1))
    opened(member())

    assert [t["id"] for t in api(legal).get(tickets_url(legal.organization_id)).json()] == [b.pk, a.pk]
    assert [t["id"] for t in api(limited).get(tickets_url(legal.organization_id)).json()] == [a.pk]


def test_sup2_open_a_ticket_as_json() -> None:
    legal = member()
    service = service_of(legal)

    response = api(legal).post(
        tickets_url(legal.organization_id),
        {"kind": "technical", "subject": "Site down", "body": "502", "language": "it", "service_id": service.pk},
        format="json",
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get()
    body = response.json()
    assert (body["id"], body["kind"], body["language"], body["service"], body["status"], body["priority"]) == (
        ticket.pk,
        "technical",
        "it",
        service.pk,
        "open",
        "normal",
    )
    assert ticket.messages.get().body == "502"


def test_sup1_the_language_defaults_to_the_callers() -> None:
    legal = member(language="de")
    client = api(legal)

    response = client.post(
        tickets_url(legal.organization_id),
        {"kind": "billing", "subject": "Frage", "body": "Wie?"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de",
    )

    assert response.status_code == 201
    assert response.json()["language"] == "de"


def test_sup3_open_a_ticket_with_attachments_as_multipart() -> None:
    legal = member()

    response = api(legal).post(
        tickets_url(legal.organization_id),
        {
            "kind": "technical",
            "subject": "Site down",
            "body": "See files",
            "language": "en",
            "attachments": [SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.png", PNG)],
        },
        format="multipart",
    )

    assert response.status_code == 201
    assert sorted(Attachment.objects.values_list("original_name", "content_type")) == [
        ("a.pdf", "application/pdf"),
        ("b.png", "image/png"),
    ]


def test_bil11_a_dispute_and_its_refusal_after_one_month() -> None:
    legal = member()
    recent = InvoiceFactory(organization=legal.organization, issue_date=dt.date(2026, 3, 1))
    old = InvoiceFactory(organization=legal.organization, issue_date=dt.date(2026, 2, 19))
    client = api(legal)
    payload = {"kind": "invoice_dispute", "subject": "Wrong", "body": "Twice", "language": "fr"}

    ok = client.post(tickets_url(legal.organization_id), {**payload, "invoice_id": recent.pk}, format="json")
    assert ok.status_code == 201
    assert ok.json()["invoice"] == recent.display_number

    before = snapshot()
    late = client.post(tickets_url(legal.organization_id), {**payload, "invoice_id": old.pk}, format="json")
    refused(late, 409, "BIL-11")
    assert "19 March 2026" in late.json()["detail"]
    assert snapshot() == before


def test_sla5_a_claim_with_its_date_times_and_a_refusal() -> None:
    legal = member()
    service = service_of(legal)
    client = api(legal)
    payload = {"kind": "sla_claim", "subject": "Outage", "body": "Down", "language": "en", "service_id": service.pk}

    ok = client.post(
        tickets_url(legal.organization_id),
        {**payload, "claim_start": "2026-03-01T08:00:00Z", "claim_end": "2026-03-01T09:30:00Z"},
        format="json",
    )
    assert ok.status_code == 201
    assert (ok.json()["claim_start"], ok.json()["claim_end"]) == (
        "2026-03-01T09:00:00+01:00",
        "2026-03-01T10:30:00+01:00",
    )

    before = snapshot()
    future = client.post(
        tickets_url(legal.organization_id),
        {**payload, "claim_start": "2026-03-01T08:00:00Z", "claim_end": "2026-03-21T09:30:00Z"},
        format="json",
    )
    refused(future, 400, "SLA-5")
    assert future.json()["field"] == "claim_end"
    assert snapshot() == before


def test_org9_sup5_refusals_answer_with_their_rule_and_change_nothing() -> None:
    legal = member()
    technical = member(Role.TECHNICAL, organization=legal.organization)
    before = snapshot()

    refused(
        api(technical).post(
            tickets_url(legal.organization_id),
            {"kind": "termination", "subject": "End", "body": "End it", "language": "fr"},
            format="json",
        ),
        403,
        "ORG-9",
    )
    staff_kind = api(legal).post(
        tickets_url(legal.organization_id),
        {"kind": "acceptable_use", "subject": "x", "body": "y", "language": "fr"},
        format="json",
    )
    assert staff_kind.status_code == 400  # not a customer kind: refused by the serializer
    assert staff_kind.json() == {
        "detail": "Invalid input.",
        "rule": None,
        "errors": {"kind": ['"acceptable_use" is not a valid choice.']},
    }
    assert snapshot() == before


def test_org6_a_service_or_invoice_outside_the_scope_is_404_with_the_rule() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.BILLING, mine)
    hidden = InvoiceFactory(organization=legal.organization, service=other, issue_date=dt.date(2026, 3, 10))
    foreign = service_of(member())
    before = snapshot()
    client = api(limited)
    base = {"subject": "x", "body": "y", "language": "en"}

    refused(
        client.post(tickets_url(legal.organization_id), {**base, "kind": "technical", "service_id": other.pk}),
        404,
        "ORG-6",
    )
    refused(
        client.post(tickets_url(legal.organization_id), {**base, "kind": "technical", "service_id": foreign.pk}),
        404,
        "ORG-6",
    )
    refused(
        client.post(tickets_url(legal.organization_id), {**base, "kind": "invoice_dispute", "invoice_id": hidden.pk}),
        404,
        "ORG-6",
    )
    assert snapshot() == before


def test_sup3_a_refused_attachment_answers_400_with_the_rule_and_opens_nothing() -> None:
    legal = member()
    before = snapshot()

    response = api(legal).post(
        tickets_url(legal.organization_id),
        {
            "kind": "technical",
            "subject": "x",
            "body": "y",
            "language": "en",
            "attachments": [SimpleUploadedFile("a.pdf", PNG)],
        },
        format="multipart",
    )

    refused(response, 400, "SUP-3")
    assert response.json()["field"] == "attachments"
    assert snapshot() == before


def test_retrieve_a_ticket() -> None:
    legal = member()
    ticket = opened(legal)

    response = api(legal).get(ticket_url(legal.organization_id, ticket.pk))

    assert response.status_code == 200
    assert response.json()["subject"] == "Site down"
    assert "abusive_reason" not in response.json()


def test_tenancy_every_endpoint_of_another_organizations_ticket_is_404_and_changes_nothing() -> None:
    mine, theirs = member(), member()
    ticket = opened(theirs, attachments=[upload(PDF, "a.pdf")])
    attached = Attachment.objects.get()
    before = snapshot()
    client = api(mine)

    for org_id in (mine.organization_id, theirs.organization_id):
        assert client.get(ticket_url(org_id, ticket.pk)).status_code == 404
        assert client.get(ticket_url(org_id, ticket.pk, "messages/")).status_code == 404
        assert client.post(ticket_url(org_id, ticket.pk, "messages/"), {"body": "hi"}).status_code == 404
        assert client.post(ticket_url(org_id, ticket.pk, "priority/"), {"priority": "urgent"}).status_code == 404
        assert client.get(ticket_url(org_id, ticket.pk, f"attachments/{attached.pk}/")).status_code == 404
    assert client.get(tickets_url(theirs.organization_id)).status_code == 404
    assert client.post(tickets_url(theirs.organization_id), {"kind": "technical"}).status_code == 404
    assert snapshot() == before


def test_org6_a_member_limited_to_other_services_gets_404_and_changes_nothing() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.ADMINISTRATOR, mine)
    ticket = opened(legal, service=other, attachments=[upload(PDF, "a.pdf")])
    attached = Attachment.objects.get()
    before = snapshot()
    client = api(limited)
    org_id = legal.organization_id

    assert client.get(ticket_url(org_id, ticket.pk)).status_code == 404
    assert client.get(ticket_url(org_id, ticket.pk, "messages/")).status_code == 404
    assert client.post(ticket_url(org_id, ticket.pk, "messages/"), {"body": "hi"}).status_code == 404
    assert client.post(ticket_url(org_id, ticket.pk, "priority/"), {"priority": "urgent"}).status_code == 404
    assert client.get(ticket_url(org_id, ticket.pk, f"attachments/{attached.pk}/")).status_code == 404
    assert snapshot() == before


# --- messages ------------------------------------------------------------------------------------


def test_messages_list_leaves_out_internal_notes() -> None:
    legal = member()
    ticket = opened(legal, attachments=[upload(PDF, "a.pdf")])
    agent = staff()
    message_post(ticket=ticket, user=agent, body="Restarted.", now=NOW)
    message_post(ticket=ticket, user=agent, body="Secret", internal=True, attachments=[upload(PNG, "n.png")], now=NOW)

    response = api(legal).get(ticket_url(legal.organization_id, ticket.pk, "messages/"))

    assert response.status_code == 200
    listed = response.json()
    assert [(m["body"], m["from_staff"], m["author"]) for m in listed] == [
        ("Our site answers 502.", False, legal.user.get_full_name()),
        ("Restarted.", True, "support"),
    ]
    assert [a["name"] for a in listed[0]["attachments"]] == ["a.pdf"]


def test_sup3_post_a_message_with_a_multipart_attachment() -> None:
    legal = member()
    ticket = opened(legal)

    response = api(legal).post(
        ticket_url(legal.organization_id, ticket.pk, "messages/"),
        {"body": "Here is the log.", "attachments": [SimpleUploadedFile("app.log", b"error 502\n")]},
        format="multipart",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["body"], body["from_staff"]) == ("Here is the log.", False)
    assert [(a["name"], a["content_type"], a["size"]) for a in body["attachments"]] == [("app.log", "text/plain", 10)]
    ticket.refresh_from_db()
    assert ticket.status == "waiting_provider"


def test_sup3_a_message_on_a_closed_ticket_is_refused_with_the_rule() -> None:
    from support.services import ticket_set_status

    legal = member()
    ticket = opened(legal)
    ticket_set_status(ticket=ticket, staff_user=staff(), status="closed", now=NOW)
    before = snapshot()

    refused(api(legal).post(ticket_url(legal.organization_id, ticket.pk, "messages/"), {"body": "hi"}), 409, "SUP-3")
    assert snapshot() == before


# --- priority ------------------------------------------------------------------------------------


def test_sup4_a_contact_person_sets_the_priority_and_others_are_refused() -> None:
    legal = member()
    service = service_of(legal)
    billing = member(Role.BILLING, organization=legal.organization)
    ticket = opened(legal, service=service)
    endpoint = ticket_url(legal.organization_id, ticket.pk, "priority/")

    before = snapshot()
    refused(api(billing).post(endpoint, {"priority": "urgent"}), 403, "SUP-4")
    assert snapshot() == before

    response = api(legal).post(endpoint, {"priority": "high"})
    assert response.status_code == 200
    assert response.json()["priority"] == "high"
    ticket.refresh_from_db()
    assert ticket.priority == "high"


def test_get_on_post_only_endpoints_is_refused() -> None:
    legal = member()
    ticket = opened(legal)
    assert api(legal).get(ticket_url(legal.organization_id, ticket.pk, "priority/")).status_code == 405


# --- attachments ---------------------------------------------------------------------------------


def test_an_attachment_downloads_and_an_internal_notes_is_404() -> None:
    legal = member()
    ticket = opened(legal, attachments=[upload(PDF, "a.pdf")])
    public = Attachment.objects.get()
    message_post(ticket=ticket, user=staff(), body="n", internal=True, attachments=[upload(PNG, "n.png")], now=NOW)
    note = Attachment.objects.get(original_name="n.png")
    client = api(legal)

    ok = client.get(ticket_url(legal.organization_id, ticket.pk, f"attachments/{public.pk}/"))
    assert ok.status_code == 200
    assert ok.content == PDF
    assert ok["Content-Disposition"] == 'attachment; filename="a.pdf"'
    assert client.get(ticket_url(legal.organization_id, ticket.pk, f"attachments/{note.pk}/")).status_code == 404


# --- no delete, SUP-3 ------------------------------------------------------------------------------


def test_sup3_no_endpoint_deletes_or_edits_a_ticket_or_a_message() -> None:
    legal = member()
    ticket = opened(legal)
    client = api(legal)

    for target in (
        tickets_url(legal.organization_id),
        ticket_url(legal.organization_id, ticket.pk),
        ticket_url(legal.organization_id, ticket.pk, "messages/"),
    ):
        assert client.delete(target).status_code == 405
        assert client.put(target, {}).status_code == 405
        assert client.patch(target, {}).status_code == 405
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 1)
