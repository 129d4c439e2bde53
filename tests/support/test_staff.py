"""SPEC SUP-3, SUP-4, SUP-6, TCU 13.1 and the escalation job: priority, status, abuse, suspension,
nothing deleted, tickets waiting for the provider escalated once."""

import datetime as dt
from typing import Any

import pytest

from accounts.models import Membership
from audit.models import AuditEvent
from core.errors import RuleViolation
from notifications.models import Notification
from subscriptions.models import Service
from support.jobs import escalate_waiting_tickets
from support.models import Attachment, Message, Ticket
from support.selectors import staff_queue
from support.services import (
    message_post,
    ticket_flag_abusive,
    ticket_open,
    ticket_open_by_staff,
    ticket_set_priority,
    ticket_set_status,
    ticket_suspend_service,
)
from tests.factories import member
from tests.support.helpers import NOW, PDF, scoped, service_of, snapshot, staff, upload

pytestmark = pytest.mark.django_db

Role = Membership.Role
LATER = NOW + dt.timedelta(hours=1)


def _ticket(membership: Membership, **fields: Any) -> Ticket:
    arguments: dict[str, Any] = {
        "organization": membership.organization,
        "user": membership.user,
        "kind": "technical",
        "subject": "Slow",
        "body": "It is slow.",
        "language": "it",
        "now": NOW,
    } | fields
    return ticket_open(**arguments)


def _refused(service: Any, rule: str, http_status: int, **fields: Any) -> RuleViolation:
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        service(now=LATER, **fields)
    assert (refused.value.rule, refused.value.status) == (rule, http_status)
    assert snapshot() == before
    return refused.value


# --- SUP-4: priority ------------------------------------------------------------------------------------


def test_sup4_contact_persons_of_the_service_and_staff_set_the_priority() -> None:
    # given: a ticket about a Service
    legal = member()
    service, other = service_of(legal), service_of(legal)
    ticket = _ticket(legal, service=service)
    technical = scoped(legal, Role.TECHNICAL, service)

    # when
    ticket_set_priority(ticket=ticket, user=technical.user, priority="high", now=LATER)
    ticket_set_priority(ticket=ticket, user=staff(), priority="urgent", now=LATER)

    # then
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    changes = AuditEvent.objects.filter(action="ticket.priority_changed").order_by("id")
    assert [(e.rule, e.before, e.after) for e in changes] == [
        ("SUP-4", {"priority": "normal"}, {"priority": "high"}),
        ("SUP-4", {"priority": "high"}, {"priority": "urgent"}),
    ]
    # a billing member who sees the ticket: 403; a member out of scope or outside: 404
    _refused(ticket_set_priority, "SUP-4", 403, ticket=ticket, user=scoped(legal, Role.BILLING).user, priority="low")
    outsider = scoped(legal, Role.TECHNICAL, other)
    _refused(ticket_set_priority, "SUP-2", 404, ticket=ticket, user=outsider.user, priority="low")
    _refused(ticket_set_priority, "SUP-2", 404, ticket=ticket, user=member().user, priority="low")
    _refused(ticket_set_priority, "SUP-4", 400, ticket=ticket, user=legal.user, priority="asap")


def test_sup4_without_service_legal_responsibles_and_administrators_set_the_priority() -> None:
    legal = member()
    ticket = _ticket(legal)
    admin = scoped(legal, Role.ADMINISTRATOR)

    ticket_set_priority(ticket=ticket, user=admin.user, priority="low", now=LATER)
    assert Ticket.objects.get().priority == "low"
    _refused(ticket_set_priority, "SUP-4", 403, ticket=ticket, user=scoped(legal, Role.TECHNICAL).user, priority="high")


# --- status, abuse, suspension (staff) ------------------------------------------------------------------


def test_staff_resolve_close_and_reopen_and_customers_cannot() -> None:
    legal = member()
    ticket = _ticket(legal)
    agent = staff()

    ticket_set_status(ticket=ticket, staff_user=agent, status="resolved", now=LATER)
    assert (ticket.status, ticket.waiting_since) == ("resolved", None)
    ticket_set_status(ticket=ticket, staff_user=agent, status="waiting_provider", now=LATER)
    assert (ticket.status, ticket.waiting_since) == ("waiting_provider", LATER)
    _refused(ticket_set_status, "SUP-5", 403, ticket=ticket, staff_user=legal.user, status="closed")
    _refused(ticket_set_status, "SUP-3", 400, ticket=ticket, staff_user=agent, status="gone")
    assert list(AuditEvent.objects.filter(action="ticket.status_changed").values_list("rule", "after")) == [
        ("SUP-3", {"status": "resolved"}),
        ("SUP-3", {"status": "waiting_provider"}),
    ]


def test_sup6_staff_flag_abusive_conduct_once_with_a_reason() -> None:
    legal = member()
    ticket = _ticket(legal)
    agent = staff()

    _refused(ticket_flag_abusive, "SUP-6", 400, ticket=ticket, staff_user=agent, reason=" ")
    _refused(ticket_flag_abusive, "SUP-5", 403, ticket=ticket, staff_user=legal.user, reason="x")
    flagged = ticket_flag_abusive(ticket=ticket, staff_user=agent, reason="Insults", now=LATER)

    assert (flagged.abusive_flagged_at, flagged.abusive_flagged_by, flagged.abusive_reason) == (LATER, agent, "Insults")
    assert AuditEvent.objects.get(action="ticket.flagged_abusive").rule == "SUP-6"
    _refused(ticket_flag_abusive, "SUP-6", 409, ticket=ticket, staff_user=agent, reason="Again")


def test_tcu131_staff_suspend_the_service_from_an_acceptable_use_case() -> None:
    # given
    legal = member()
    service = service_of(legal)
    agent = staff()
    case = ticket_open_by_staff(organization=legal.organization, staff_user=agent, kind="acceptable_use",
                                subject="Mining", body="Stop mining.", language="en", service=service,
                                aup_category="crypto_mining", now=NOW)

    # when
    suspended = ticket_suspend_service(ticket=case, staff_user=agent, reason="Crypto mining (SC 5.7)", now=LATER)

    # then: billing suspended it (staff reason), the ticket records it, both audited
    service.refresh_from_db()
    assert (service.status, service.suspension_reason, service.suspended_at) == ("suspended", "staff", LATER)
    assert suspended.service_suspended_at == LATER
    actions = list(AuditEvent.objects.filter(rule="TCU 13.1").values_list("action", flat=True))
    assert actions == ["service.suspended", "ticket.service_suspended"]
    # a second suspension is refused by billing, changing nothing
    _refused(ticket_suspend_service, "TCU 13.1", 409, ticket=case, staff_user=agent, reason="again")


def test_tcu131_only_from_an_acceptable_use_case_by_staff() -> None:
    legal = member()
    service = service_of(legal)
    ticket = _ticket(legal, service=service)
    _refused(ticket_suspend_service, "SC 5.7", 400, ticket=ticket, staff_user=staff(), reason="x")
    _refused(ticket_suspend_service, "SUP-5", 403, ticket=ticket, staff_user=legal.user, reason="x")
    assert Service.objects.get().status == "active"


# --- SUP-3: nothing is ever deleted ---------------------------------------------------------------------


def test_sup3_tickets_messages_and_attachments_refuse_deletion() -> None:
    legal = member()
    ticket = _ticket(legal, attachments=[upload(PDF, "a.pdf")])
    message = Message.objects.get()
    attachment = Attachment.objects.get()

    for obj in (ticket, message, attachment):
        with pytest.raises(PermissionError, match="SUP-3"):
            obj.delete()
    for model in (Ticket, Message, Attachment):
        with pytest.raises(PermissionError, match="SUP-3"):
            model.objects.all().delete()
    assert (Ticket.objects.count(), Message.objects.count(), Attachment.objects.count()) == (1, 1, 1)


def test_sup3_no_service_of_the_support_app_deletes() -> None:
    import support.services

    assert not [name for name in dir(support.services) if "delete" in name.lower() or "remove" in name.lower()]


# --- the staff queue --------------------------------------------------------------------------------------


def test_staff_queue_filters_by_kind_status_priority_language_and_age() -> None:
    legal = member()
    old = _ticket(legal, language="fr", now=NOW - dt.timedelta(days=3))
    new = _ticket(legal, kind="billing", language="es")
    ticket_set_priority(ticket=new, user=legal.user, priority="urgent", now=NOW)

    assert list(staff_queue()) == [old, new]
    assert list(staff_queue(kind="billing")) == [new]
    assert list(staff_queue(status="open", priority="urgent")) == [new]
    assert list(staff_queue(language="fr")) == [old]
    assert list(staff_queue(older_than=dt.timedelta(days=2), now=NOW)) == [old]
    assert list(staff_queue(status="closed")) == []


# --- the escalation job -----------------------------------------------------------------------------------


def test_escalation_once_per_wait_from_the_support_address_and_again_after_a_new_wait() -> None:
    # given: a ticket waiting since NOW, another answered by staff
    legal = member()
    waiting = _ticket(legal)
    answered = _ticket(legal)
    message_post(ticket=answered, user=staff(), body="Done", now=NOW)
    before_count = Notification.objects.count()

    # when: 47 hours later nothing is due; at 48 hours it is, and a rerun finds nothing
    assert escalate_waiting_tickets(day=dt.date(2026, 3, 22), now=NOW + dt.timedelta(hours=47)) == 0
    due = NOW + dt.timedelta(hours=48)
    assert escalate_waiting_tickets(day=dt.date(2026, 3, 22), now=due) == 1
    assert escalate_waiting_tickets(day=dt.date(2026, 3, 22), now=due) == 0

    # then
    waiting.refresh_from_db()
    assert waiting.escalated_at == due
    event = AuditEvent.objects.get(action="ticket.escalated")
    assert (event.rule, event.actor_label, event.object_id) == ("SUP-7", "job:support.escalation", str(waiting.pk))
    (notice,) = Notification.objects.filter(template="support_escalated")
    assert (notice.address, notice.channel, notice.language) == ("support@portal.example", "email", "en")
    assert Notification.objects.count() == before_count + 1

    # and: staff answer, the customer writes again and waits 48 hours: escalated again, once
    message_post(ticket=waiting, user=staff(), body="Looking", now=due)
    message_post(ticket=waiting, user=legal.user, body="Still?", now=due + dt.timedelta(hours=1))
    again = due + dt.timedelta(hours=49)
    assert escalate_waiting_tickets(day=dt.date(2026, 3, 24), now=again) == 1
    assert escalate_waiting_tickets(day=dt.date(2026, 3, 24), now=again) == 0
    assert AuditEvent.objects.filter(action="ticket.escalated").count() == 2


def test_escalation_leaves_resolved_tickets_alone() -> None:
    legal = member()
    ticket = _ticket(legal)
    ticket_set_status(ticket=ticket, staff_user=staff(), status="resolved", now=NOW)
    assert escalate_waiting_tickets(day=dt.date(2026, 3, 25), now=NOW + dt.timedelta(days=5)) == 0
