"""The portal's support pages (SUP-1…SUP-7 with BIL-11, SLA-5, ORG-9): list, new ticket by kind,
detail, reply with attachments, priority, attachment downloads — each happy path, each refusal
with its rule's message and nothing changed, tenancy (another Organization, ORG-6 scopes)."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Membership
from audit.models import AuditEvent
from billing.models import Invoice
from support.models import Attachment, Message, Ticket
from support.services import message_post, ticket_open, ticket_open_by_staff
from tests.billing.factories import InvoiceFactory
from tests.factories import member
from tests.support.helpers import NOW, PDF, PNG, scoped, service_of, snapshot, staff, upload

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield  # the language a request activated is not left to the next test


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def url(name: str, membership: Membership, *args: int) -> str:
    return reverse(f"support:{name}", args=[membership.organization_id, *args])


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


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def errors_of(response: Any, form: str = "form") -> list[str]:
    found = response.context[form].errors
    return [error for errors in found.values() for error in errors]


# --- list --------------------------------------------------------------------------------------


def test_the_list_shows_the_members_tickets_newest_first_and_no_one_elses() -> None:
    # given
    legal = member()
    first = opened(legal, subject="First")
    second = opened(legal, subject="Second", now=NOW + dt.timedelta(minutes=1))
    opened(member(), subject="Someone else's")

    # when
    response = browser(legal).get(url("tickets", legal))

    # then
    assert response.status_code == 200
    assert list(response.context["tickets"]) == [second, first]
    html = response.content.decode()
    assert "First" in html and "Second" in html and "Someone else&#x27;s" not in html
    assert reverse("support:tickets", args=[legal.organization_id]) == f"/orgs/{legal.organization_id}/support/"


def test_org6_a_member_limited_to_a_service_lists_its_tickets_and_those_about_no_service() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, mine)
    about_mine = opened(legal, service=mine)
    about_nothing = opened(legal)
    opened(legal, service=other)

    response = browser(limited).get(url("tickets", limited))

    assert set(response.context["tickets"]) == {about_mine, about_nothing}


def test_tenancy_another_organizations_list_is_404() -> None:
    mine, theirs = member(), member()
    opened(theirs, subject="Secret subject")

    response = browser(mine).get(url("tickets", theirs))

    assert response.status_code == 404
    assert b"Secret subject" not in response.content


def test_the_section_link_leads_to_the_support_pages() -> None:
    legal = member()
    response = browser(legal).get(reverse("accounts:organization", args=[legal.organization_id]))
    assert url("tickets", legal).encode() in response.content


# --- new ticket ----------------------------------------------------------------------------------


def test_the_kind_is_chosen_first_and_staff_only_kinds_are_not_offered() -> None:
    legal = member()

    response = browser(legal).get(url("ticket_new", legal))

    assert response.status_code == 200
    assert response.context["form"] is None
    assert [value for value, _label in response.context["kinds"]] == [
        "technical",
        "billing",
        "invoice_dispute",
        "sla_claim",
        "money_back",
        "termination",
    ]
    html = response.content.decode()
    assert "third_party_complaint" not in html and "acceptable_use" not in html


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("technical", {"kind", "subject", "body", "language", "service", "attachments"}),
        ("billing", {"kind", "subject", "body", "language", "service", "attachments"}),
        ("invoice_dispute", {"kind", "subject", "body", "language", "invoice", "attachments"}),
        (
            "sla_claim",
            {"kind", "subject", "body", "language", "service", "claim_start", "claim_end", "attachments"},
        ),
        ("money_back", {"kind", "subject", "body", "language", "service", "attachments"}),
        ("termination", {"kind", "subject", "body", "language", "attachments"}),
    ],
)
def test_the_form_adapts_to_the_kind(kind: str, fields: set[str]) -> None:
    legal = member()

    response = browser(legal).get(url("ticket_new", legal) + f"?kind={kind}")

    assert set(response.context["form"].fields) == fields


@pytest.mark.parametrize("kind", ["third_party_complaint", "acceptable_use", "other"])
def test_a_staff_only_or_unknown_kind_shows_the_kind_choice_again(kind: str) -> None:
    legal = member()
    response = browser(legal).get(url("ticket_new", legal) + f"?kind={kind}")
    assert response.context["form"] is None


def test_the_pickers_offer_the_organizations_invoices_and_the_members_services() -> None:
    # given a member limited to one Service
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.BILLING, mine)
    visible = InvoiceFactory(organization=legal.organization, service=mine, issue_date=dt.date(2026, 3, 10))
    InvoiceFactory(organization=legal.organization, service=other, issue_date=dt.date(2026, 3, 10))
    InvoiceFactory(organization=member().organization, issue_date=dt.date(2026, 3, 10))

    # when
    dispute = browser(limited).get(url("ticket_new", limited) + "?kind=invoice_dispute")
    claim = browser(limited).get(url("ticket_new", limited) + "?kind=sla_claim")

    # then
    assert list(dispute.context["form"].fields["invoice"].queryset) == [visible]
    assert list(claim.context["form"].fields["service"].queryset) == [mine]


@pytest.mark.parametrize("language", ["fr", "de", "it", "es", "en"])
def test_the_language_defaults_to_the_active_language(language: str) -> None:
    legal = member()
    client = browser(legal)
    client.post(reverse("accounts:set_language"), {"language": language})

    response = client.get(url("ticket_new", legal) + "?kind=technical")

    assert response.context["form"]["language"].value() == language


def test_sup2_a_member_opens_a_technical_ticket_with_an_attachment() -> None:
    # given
    legal = member()
    service = service_of(legal)

    # when
    response = browser(legal).post(
        url("ticket_new", legal),
        {
            "kind": "technical",
            "subject": "Site down",
            "body": "Our site answers 502.",
            "language": "de",
            "service": service.pk,
            "attachments": [SimpleUploadedFile("screen.png", PNG), SimpleUploadedFile("log.txt", b"502 at 09:58\n")],
        },
    )

    # then
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response.url == url("ticket", legal, ticket.pk)
    assert (ticket.kind, ticket.subject, ticket.language, ticket.service, ticket.status, ticket.opened_by) == (
        "technical",
        "Site down",
        "de",
        service,
        "open",
        legal.user,
    )
    (message,) = ticket.messages.all()
    assert message.body == "Our site answers 502."
    assert sorted(message.attachments.values_list("original_name", "content_type")) == [
        ("log.txt", "text/plain"),
        ("screen.png", "image/png"),
    ]


def test_bil11_a_dispute_names_the_invoice_picked() -> None:
    legal = member()
    service = service_of(legal)
    invoice = InvoiceFactory(organization=legal.organization, service=service, issue_date=dt.date(2026, 3, 1))

    response = browser(legal).post(
        url("ticket_new", legal),
        {"kind": "invoice_dispute", "subject": "Wrong", "body": "Twice.", "language": "fr", "invoice": invoice.pk},
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.kind, ticket.invoice, ticket.service) == ("invoice_dispute", invoice, service)


def test_bil11_a_late_dispute_is_shown_on_the_form_and_changes_nothing() -> None:
    # given: issued on 19 February; the last day was 19 March (now is 20 March)
    legal = member()
    invoice = InvoiceFactory(organization=legal.organization, issue_date=dt.date(2026, 2, 19))
    before = snapshot()

    # when
    response = browser(legal).post(
        url("ticket_new", legal),
        {"kind": "invoice_dispute", "subject": "Wrong", "body": "Twice.", "language": "fr", "invoice": invoice.pk},
    )

    # then
    assert response.status_code == 200
    assert response.context["form"].errors["invoice"] == [
        f"An invoice may be disputed within one month of its issue date: invoice {invoice.number} could be "
        "disputed until 19 March 2026. It remains due."
    ]
    assert snapshot() == before
    assert Invoice.objects.get(pk=invoice.pk).status == "open"


def test_sla5_a_claim_is_filed_with_zurich_date_times() -> None:
    legal = member()
    service = service_of(legal)

    response = browser(legal).post(
        url("ticket_new", legal),
        {
            "kind": "sla_claim",
            "subject": "Outage",
            "body": "Down for 90 minutes.",
            "language": "en",
            "service": service.pk,
            "claim_start": "2026-03-01T09:00",
            "claim_end": "2026-03-01T10:30",
        },
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.claim_start, ticket.claim_end) == (
        dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC),
    )


def test_sla5_an_unavailability_ending_before_it_starts_is_refused_on_the_form() -> None:
    legal = member()
    service = service_of(legal)
    before = snapshot()

    response = browser(legal).post(
        url("ticket_new", legal),
        {
            "kind": "sla_claim",
            "subject": "Outage",
            "body": "Down.",
            "language": "en",
            "service": service.pk,
            "claim_start": "2026-03-01T10:30",
            "claim_end": "2026-03-01T09:00",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["claim_end"] == ["The unavailability must end after it starts."]
    assert snapshot() == before


def test_org9_a_termination_request_by_a_technical_member_is_refused_above_the_form() -> None:
    legal = member()
    technical = member(Role.TECHNICAL, organization=legal.organization)
    before = snapshot()

    response = browser(technical).post(
        url("ticket_new", technical),
        {"kind": "termination", "subject": "End", "body": "Please end the contract.", "language": "fr"},
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Only a Legal Responsible can ask for a termination."]
    assert snapshot() == before


def test_org9_a_legal_responsible_asks_for_the_termination() -> None:
    legal = member()

    response = browser(legal).post(
        url("ticket_new", legal),
        {"kind": "termination", "subject": "End", "body": "Please end the contract.", "language": "fr"},
    )

    assert response.status_code == 302
    assert Ticket.objects.get().kind == "termination"


def test_sup5_posting_a_staff_only_kind_opens_nothing() -> None:
    legal = member()
    before = snapshot()

    response = browser(legal).post(
        url("ticket_new", legal),
        {"kind": "acceptable_use", "subject": "x", "body": "y", "language": "fr"},
    )

    assert response.status_code == 200
    assert response.context["form"] is None
    assert messages_of(response) == ["Choose the kind of request."]
    assert snapshot() == before


def test_sup3_a_file_of_a_refused_type_is_shown_on_the_form_and_nothing_is_opened() -> None:
    legal = member()
    before = snapshot()

    response = browser(legal).post(
        url("ticket_new", legal),
        {
            "kind": "technical",
            "subject": "Site down",
            "body": "See attached.",
            "language": "en",
            "attachments": [SimpleUploadedFile("tool.exe", b"MZ\x90\x00\x03")],
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["attachments"] == [
        "tool.exe is not a file type a message may carry (PDF, PNG, JPEG, GIF, plain text or ZIP), or its content "
        "does not match its name."
    ]
    assert snapshot() == before


def test_org6_a_service_outside_the_members_scope_cannot_be_picked() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, mine)
    before = snapshot()

    response = browser(limited).post(
        url("ticket_new", limited),
        {"kind": "technical", "subject": "x", "body": "y", "language": "en", "service": other.pk},
    )

    assert response.status_code == 200
    assert "service" in response.context["form"].errors
    assert snapshot() == before


def test_tenancy_opening_a_ticket_in_another_organization_is_404() -> None:
    mine, theirs = member(), member()
    before = snapshot()

    response = browser(mine).post(
        url("ticket_new", theirs), {"kind": "technical", "subject": "x", "body": "y", "language": "en"}
    )

    assert response.status_code == 404
    assert snapshot() == before


# --- detail, reply, priority ---------------------------------------------------------------------


def test_the_detail_shows_messages_and_attachments_but_never_internal_notes() -> None:
    # given a ticket with a staff reply and an internal note, each with a file
    legal = member()
    ticket = opened(legal, attachments=[upload(PDF, "invoice.pdf")])
    agent = staff()
    message_post(ticket=ticket, user=agent, body="We restarted it.", now=NOW)
    message_post(
        ticket=ticket, user=agent, body="Customer is rude.", internal=True, attachments=[upload(PNG, "n.png")], now=NOW
    )
    public = Attachment.objects.get(original_name="invoice.pdf")

    # when
    response = browser(legal).get(url("ticket", legal, ticket.pk))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert [m.body for m in response.context["ticket_messages"]] == ["Our site answers 502.", "We restarted it."]
    assert "Customer is rude." not in html and "n.png" not in html
    assert url("attachment", legal, ticket.pk, public.pk) in html


def test_tenancy_another_organizations_ticket_is_404_on_every_page() -> None:
    mine, theirs = member(), member()
    ticket = opened(theirs)
    before = snapshot()
    client = browser(mine)

    assert client.get(url("ticket", theirs, ticket.pk)).status_code == 404
    assert client.get(url("ticket", mine, ticket.pk)).status_code == 404
    assert client.post(url("ticket_reply", mine, ticket.pk), {"body": "hi"}).status_code == 404
    assert client.post(url("ticket_reply", theirs, ticket.pk), {"body": "hi"}).status_code == 404
    assert client.post(url("ticket_priority", mine, ticket.pk), {"priority": "urgent"}).status_code == 404
    assert client.post(url("ticket_priority", theirs, ticket.pk), {"priority": "urgent"}).status_code == 404
    assert snapshot() == before


def test_org6_a_member_limited_to_other_services_gets_404_and_changes_nothing() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.ADMINISTRATOR, mine)
    ticket = opened(legal, service=other, attachments=[upload(PDF, "a.pdf")])
    attached = Attachment.objects.get()
    before = snapshot()
    client = browser(limited)

    assert client.get(url("ticket", limited, ticket.pk)).status_code == 404
    assert client.post(url("ticket_reply", limited, ticket.pk), {"body": "hi"}).status_code == 404
    assert client.post(url("ticket_priority", limited, ticket.pk), {"priority": "urgent"}).status_code == 404
    assert client.get(url("attachment", limited, ticket.pk, attached.pk)).status_code == 404
    assert snapshot() == before


def test_sup3_a_reply_with_an_attachment_waits_for_the_provider() -> None:
    legal = member()
    ticket = opened(legal)
    message_post(ticket=ticket, user=staff(), body="Which page?", now=NOW)

    response = browser(legal).post(
        url("ticket_reply", legal, ticket.pk),
        {"body": "The home page.", "attachments": [SimpleUploadedFile("shot.png", PNG)]},
    )

    assert response.status_code == 302
    assert response.url == url("ticket", legal, ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "waiting_provider"
    last = ticket.messages.order_by("-id").first()
    assert last is not None
    assert (last.body, last.author, last.from_staff, last.internal) == ("The home page.", legal.user, False, False)
    assert list(last.attachments.values_list("original_name", flat=True)) == ["shot.png"]


def test_sup3_a_reply_on_a_closed_ticket_is_refused_on_the_form_and_changes_nothing() -> None:
    from support.services import ticket_set_status

    legal = member()
    ticket = opened(legal)
    ticket_set_status(ticket=ticket, staff_user=staff(), status="closed", now=NOW)
    before = snapshot()

    response = browser(legal).post(url("ticket_reply", legal, ticket.pk), {"body": "Still broken."})

    assert response.status_code == 200
    assert response.context["reply_form"].non_field_errors() == [
        "This ticket is closed and kept as it is: please open a new ticket."
    ]
    assert snapshot() == before


def test_sup3_an_oversized_attachment_is_refused_on_the_reply_form(settings: Any) -> None:
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 16
    legal = member()
    ticket = opened(legal)
    before = snapshot()

    response = browser(legal).post(
        url("ticket_reply", legal, ticket.pk),
        {"body": "Log", "attachments": [SimpleUploadedFile("big.txt", b"x" * 17)]},
    )

    assert response.status_code == 200
    assert response.context["reply_form"].errors["attachments"] == [
        "big.txt is larger than 1.52588e-05 MiB, the largest file a message may carry."
    ]
    assert snapshot() == before


def test_sup4_the_priority_form_is_shown_to_contact_persons_only() -> None:
    legal = member()
    service = service_of(legal)
    billing = member(Role.BILLING, organization=legal.organization)
    ticket = opened(legal, service=service)

    assert browser(legal).get(url("ticket", legal, ticket.pk)).context["priority_form"] is not None
    response = browser(billing).get(url("ticket", billing, ticket.pk))
    assert response.context["priority_form"] is None
    assert url("ticket_priority", billing, ticket.pk).encode() not in response.content


def test_sup4_a_contact_person_sets_the_priority() -> None:
    legal = member()
    service = service_of(legal)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    ticket = opened(legal, service=service)

    response = browser(technical).post(
        url("ticket_priority", technical, ticket.pk), {"priority": "urgent"}, follow=True
    )

    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert messages_of(response) == ["The priority is now urgent."]
    assert AuditEvent.objects.filter(action="ticket.priority_changed", rule="SUP-4").count() == 1


def test_sup4_anyone_else_is_refused_server_side_and_nothing_changes() -> None:
    legal = member()
    service = service_of(legal)
    billing = member(Role.BILLING, organization=legal.organization)
    ticket = opened(legal, service=service)
    before = snapshot()

    response = browser(billing).post(url("ticket_priority", billing, ticket.pk), {"priority": "urgent"})

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("name", ["ticket_reply", "ticket_priority"])
def test_get_on_post_only_urls_is_refused(name: str) -> None:
    legal = member()
    ticket = opened(legal)
    before = snapshot()

    response = browser(legal).get(url(name, legal, ticket.pk))

    assert response.status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("method", ["delete", "put", "patch"])
def test_sup3_no_customer_path_deletes_a_ticket_or_a_message(method: str) -> None:
    legal = member()
    ticket = opened(legal)
    client = browser(legal)

    for target in (url("ticket", legal, ticket.pk), url("ticket_reply", legal, ticket.pk), url("tickets", legal)):
        assert getattr(client, method)(target).status_code == 405
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 1)


# --- attachments ---------------------------------------------------------------------------------


def test_an_attachment_downloads_as_a_file_under_its_original_name() -> None:
    legal = member()
    ticket = opened(legal, attachments=[upload(PDF, "invoice march.pdf")])
    attached = Attachment.objects.get()

    response = browser(legal).get(url("attachment", legal, ticket.pk, attached.pk))

    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice march.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not attached.file.url.startswith("/orgs/")  # the storage's own URL is never linked


def test_attachments_of_another_organization_or_of_an_internal_note_are_404() -> None:
    # given
    legal, theirs = member(), member()
    mine = opened(legal)
    message_post(ticket=mine, user=staff(), body="note", internal=True, attachments=[upload(PNG, "n.png")], now=NOW)
    note_file = Attachment.objects.get()
    their_ticket = opened(theirs, attachments=[upload(PDF, "theirs.pdf")])
    their_file = Attachment.objects.get(original_name="theirs.pdf")
    client = browser(legal)

    # then
    assert client.get(url("attachment", legal, mine.pk, note_file.pk)).status_code == 404
    assert client.get(url("attachment", legal, mine.pk, their_file.pk)).status_code == 404
    assert client.get(url("attachment", theirs, their_ticket.pk, their_file.pk)).status_code == 404


def test_a_staff_opened_complaint_shows_its_deadline_to_the_customer() -> None:
    legal = member()
    ticket = ticket_open_by_staff(
        organization=legal.organization,
        staff_user=staff(),
        kind="third_party_complaint",
        subject="Complaint received",
        body="Please send your licence.",
        language="en",
        documents_due_on=dt.date(2026, 4, 3),
        now=NOW,
    )

    response = browser(legal).get(url("ticket", legal, ticket.pk))

    assert "Please send your supporting documents by 3 April 2026." in response.content.decode()


# --- five languages (SUP-1) ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en", "de", "it", "es"])
def test_sup1_the_pages_render_in_the_five_languages(language: str) -> None:
    legal = member(language=language)
    ticket = opened(legal, service=service_of(legal), attachments=[upload(PDF, "a.pdf")])
    client = browser(legal)
    client.post(reverse("accounts:set_language"), {"language": language})

    pages = [
        url("tickets", legal),
        url("ticket", legal, ticket.pk),
        url("ticket_new", legal),
        *[url("ticket_new", legal) + f"?kind={kind}" for kind in ("invoice_dispute", "sla_claim", "money_back")],
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert f'<html lang="{language}">' in response.content.decode()
    with translation.override(language):
        assert translation.gettext("Open a ticket") in client.get(url("tickets", legal)).content.decode()
