"""SPEC SUP-2, SUP-3, SUP-7 and ORG-6: messages, internal notes, replies from the support address."""

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.http import Http404
from django.test import override_settings

from accounts.models import Membership
from audit.models import AuditEvent
from core.errors import RuleViolation
from notifications.models import Notification
from notifications.services import notification_deliver, notify
from support.models import Message, Ticket
from support.selectors import messages_for_member, messages_for_staff, ticket_for_member, tickets_for_member
from support.services import message_post, ticket_open, ticket_set_status
from tests.factories import member
from tests.support.helpers import NOW, scoped, service_of, snapshot, staff

pytestmark = pytest.mark.django_db

Role = Membership.Role
LATER = NOW + dt.timedelta(hours=1)


def _ticket(membership: Membership, **fields: Any) -> Ticket:
    arguments: dict[str, Any] = {
        "organization": membership.organization,
        "user": membership.user,
        "kind": "technical",
        "subject": "Site down",
        "body": "Our site answers 502.",
        "language": "de",
        "now": NOW,
    } | fields
    return ticket_open(**arguments)


def _refused(rule: str, status: int, **fields: Any) -> RuleViolation:
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        message_post(**({"body": "Hello", "now": LATER} | fields))
    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert snapshot() == before
    return refused.value


# --- who posts, and the status it leaves -----------------------------------------------------------


def test_sup7_a_staff_reply_waits_for_the_customer_and_a_customer_answer_for_the_provider() -> None:
    # given: a ticket opened at NOW
    legal = member()
    ticket = _ticket(legal)
    agent = staff()

    # when: staff reply, then the customer answers twice
    reply = message_post(ticket=ticket, user=agent, body="Restarted.", now=LATER)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.waiting_since, ticket.updated_at) == ("waiting_customer", None, LATER)
    message_post(ticket=ticket, user=legal.user, body="Still down.", now=LATER + dt.timedelta(hours=1))
    message_post(ticket=ticket, user=legal.user, body="Any news?", now=LATER + dt.timedelta(hours=2))

    # then: it waits for the provider since the first unanswered message
    ticket.refresh_from_db()
    assert (ticket.status, ticket.waiting_since) == ("waiting_provider", LATER + dt.timedelta(hours=1))
    assert (reply.from_staff, reply.internal, reply.author) == (True, False, agent)
    rules = list(
        AuditEvent.objects.filter(action__in=["ticket.message_posted", "ticket.status_changed"])
        .order_by("id")
        .values_list("action", "rule")
    )
    assert rules == [
        ("ticket.message_posted", "SUP-3"),  # the opening message
        ("ticket.message_posted", "SUP-7"),
        ("ticket.status_changed", "SUP-7"),
        ("ticket.message_posted", "SUP-3"),
        ("ticket.status_changed", "SUP-3"),
        ("ticket.message_posted", "SUP-3"),
    ]


def test_an_internal_note_changes_no_status_is_sent_to_nobody_and_is_hidden_from_the_customer() -> None:
    legal = member()
    ticket = _ticket(legal)
    agent = staff()

    note = message_post(ticket=ticket, user=agent, body="Customer runs an old PHP.", internal=True, now=LATER)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.waiting_since) == ("open", NOW)
    assert Notification.objects.count() == 0
    assert note not in messages_for_member(ticket)
    assert note in messages_for_staff(ticket)
    assert AuditEvent.objects.filter(action="ticket.note_added").get().rule == "SUP-3"


def test_customers_cannot_write_internal_notes() -> None:
    legal = member()
    ticket = _ticket(legal)
    _refused("SUP-5", 403, ticket=ticket, user=legal.user, internal=True)


def test_sup2_outsiders_and_members_out_of_scope_cannot_post() -> None:
    # given: a ticket about a Service, a member limited to another Service, another Organization
    legal = member()
    service, other = service_of(legal), service_of(legal)
    ticket = _ticket(legal, service=service)
    limited = scoped(legal, Role.TECHNICAL, other)

    # then
    _refused("SUP-2", 404, ticket=ticket, user=member().user)
    _refused("SUP-2", 404, ticket=ticket, user=limited.user)


def test_org6_a_limited_member_posts_on_tickets_of_its_services_and_tickets_without_service() -> None:
    legal = member()
    service = service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, service)
    about_service, about_nothing = _ticket(legal, service=service), _ticket(legal)

    for ticket in (about_service, about_nothing):
        assert message_post(ticket=ticket, user=limited.user, body="Me too", now=LATER).author == limited.user


def test_sup3_a_closed_ticket_refuses_customer_messages_a_resolved_one_reopens() -> None:
    legal = member()
    agent = staff()
    closed, resolved = _ticket(legal), _ticket(legal)
    ticket_set_status(ticket=closed, staff_user=agent, status="closed", now=NOW)
    ticket_set_status(ticket=resolved, staff_user=agent, status="resolved", now=NOW)

    error = _refused("SUP-3", 409, ticket=closed, user=legal.user)
    assert "new ticket" in error.message
    message_post(ticket=resolved, user=legal.user, body="It broke again.", now=LATER)
    resolved.refresh_from_db()
    assert (resolved.status, resolved.waiting_since) == ("waiting_provider", LATER)
    # staff may still write on the closed ticket
    assert message_post(ticket=closed, user=agent, body="For the record.", internal=True, now=LATER).internal


def test_a_message_needs_a_body() -> None:
    legal = member()
    ticket = _ticket(legal)
    assert _refused("SUP-3", 400, ticket=ticket, user=legal.user, body="  ").field == "body"


# --- SUP-7: replies from the support address, in the ticket's language, to the contact persons ---------


def test_sup7_a_staff_reply_goes_to_the_services_contact_persons_from_the_support_address() -> None:
    # given: a German ticket about a Service; members with and without it in scope, with various roles
    legal = member(email="legal@example.com", language="en")
    service, other = service_of(legal), service_of(legal)
    scoped(legal, Role.ADMINISTRATOR, email="admin@example.com")
    scoped(legal, Role.TECHNICAL, service, email="tech-in-scope@example.com")
    scoped(legal, Role.TECHNICAL, other, email="tech-out-of-scope@example.com")
    scoped(legal, Role.BILLING, email="billing@example.com")
    ticket = _ticket(legal, service=service, subject="Seite nicht erreichbar")

    # when
    message_post(ticket=ticket, user=staff(), body="Wir haben neu gestartet.", now=LATER)

    # then: one e-mail each to the contact persons, from the support address, in German
    sent = Notification.objects.order_by("address")
    assert [(n.address, n.channel, n.language, n.from_email, n.template) for n in sent] == [
        (address, "email", "de", "support@portal.example", "support_reply")
        for address in ("admin@example.com", "legal@example.com", "tech-in-scope@example.com")
    ]
    first = sent[0]
    assert first.subject == f"[Ticket #{ticket.pk}] Seite nicht erreichbar"
    assert first.body.startswith("Wir haben neu gestartet.")
    assert (first.related_type, first.related_id) == ("support.ticket", str(ticket.pk))

    # and: delivered from the support address
    notification_deliver(notification_id=first.pk, now=LATER)
    assert [(m.from_email, m.to) for m in mail.outbox] == [("support@portal.example", ["admin@example.com"])]


@override_settings(SUPPORT_EMAIL="help@provider.example")
def test_sup7_a_ticket_without_service_reaches_legal_responsibles_and_administrators_in_its_language() -> None:
    legal = member(email="legal@example.com")
    scoped(legal, Role.ADMINISTRATOR, email="admin@example.com")
    scoped(legal, Role.TECHNICAL, email="tech@example.com")
    scoped(legal, Role.BILLING, email="billing@example.com")
    ticket = _ticket(legal, language="fr")

    message_post(ticket=ticket, user=staff(), body="Bonjour", now=LATER)

    sent = Notification.objects.order_by("address")
    assert [(n.address, n.language, n.from_email) for n in sent] == [
        ("admin@example.com", "fr", "help@provider.example"),
        ("legal@example.com", "fr", "help@provider.example"),
    ]
    assert sent[0].body.startswith("Bonjour")


def test_other_notifications_keep_the_default_sender() -> None:
    legal = member()
    (notice,) = notify(
        organization=legal.organization, template="organization_created", channels=("email",), now=NOW
    )
    assert (notice.from_email, notice.language) == ("", "en")
    notification_deliver(notification_id=notice.pk, now=NOW)
    assert mail.outbox[0].from_email == "Jelastic Cloud portal <no-reply@portal.example>"


# --- what a member sees (tenancy, ORG-6) ---------------------------------------------------------------


def test_org6_members_see_tickets_of_their_services_and_tickets_without_service() -> None:
    legal = member()
    service, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, service)
    mine, hidden, general = _ticket(legal, service=service), _ticket(legal, service=other), _ticket(legal)
    foreign = _ticket(member())

    assert set(tickets_for_member(legal)) == {mine, hidden, general}
    assert set(tickets_for_member(limited)) == {mine, general}
    assert ticket_for_member(membership=limited, ticket_id=mine.pk) == mine
    for ticket in (hidden, foreign):
        with pytest.raises(Http404):
            ticket_for_member(membership=limited, ticket_id=ticket.pk)
    with pytest.raises(Http404):
        ticket_for_member(membership=legal, ticket_id=foreign.pk)


def test_members_never_see_internal_notes() -> None:
    legal = member()
    ticket = _ticket(legal)
    agent = staff()
    message_post(ticket=ticket, user=agent, body="internal", internal=True, now=LATER)
    message_post(ticket=ticket, user=agent, body="public", now=LATER)

    assert [m.body for m in messages_for_member(ticket)] == ["Our site answers 502.", "public"]
    assert [m.body for m in messages_for_staff(ticket)] == ["Our site answers 502.", "internal", "public"]
    assert Message.objects.filter(internal=True, from_staff=False).count() == 0
