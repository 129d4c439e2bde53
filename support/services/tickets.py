"""A ticket's life after it is opened: messages (SUP-3, SUP-7), priority (SUP-4), status, abuse
(SUP-6) and the suspension of an acceptable-use case's Service (TCU 13.1)."""

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import require_staff
from audit.services import Actor, audit_record
from core.errors import RuleViolation
from support.attachments import AttachmentInput, check_attachments, store_attachments
from support.models import Message, Ticket
from support.selectors import contact_persons, membership_seeing
from support.services.common import TICKET_FIELDS, lock, message_audit, require_text, send_to_contacts

Kind = Ticket.Kind
Status = Ticket.Status


# --- messages ------------------------------------------------------------------------------------


def message_post(
    *,
    ticket: Ticket,
    user: User,
    body: str,
    attachments: Sequence[AttachmentInput] = (),
    internal: bool = False,
    client_address: str | None = None,
    as_staff: bool | None = None,
    now: dt.datetime,
) -> Message:
    """A customer — a member who sees the ticket (its Service in their ORG-6 scope, or any member for a
    ticket about no Service) — or staff post a message; only staff post internal notes, which the
    customer never sees. A customer message sets `waiting_provider` (a resolved ticket reopens; a
    closed one refuses, SUP-3); a staff reply sets `waiting_customer` and is e-mailed to the contact
    persons from the support address, in the ticket's language (SUP-7). Others: 404.

    `as_staff=False` is what the customer doors pass: there a staff account is a member like any
    other (staff powers come only through the staff site, behind its second factor)."""
    staff = bool(user.is_staff) if as_staff is None else as_staff
    if staff:
        require_staff(user, rule="SUP-5")
    if not staff:
        if membership_seeing(user, ticket) is None:
            raise RuleViolation(_("No such ticket."), rule="SUP-2", status=404)
        if internal:
            raise RuleViolation(_("Only our staff write internal notes."), rule="SUP-5", status=403)
    _subject, body = require_text(None, body)
    files = check_attachments(attachments)
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = lock(ticket)
        if not staff and locked.status == Status.CLOSED:
            raise RuleViolation(_("This ticket is closed and kept as it is: please open a new ticket."), rule="SUP-3")
        before = {"status": locked.status}
        message = Message.objects.create(
            ticket=locked, author=user, from_staff=staff, internal=staff and internal, body=body, created_at=now
        )
        stored = store_attachments(message, files, now)
        message_audit(actor, message, stored, "SUP-3" if not staff or internal else "SUP-7", now)
        if not message.internal and locked.status != Status.CLOSED:  # a closed ticket stays closed (SUP-3)
            if staff:
                locked.status = Status.WAITING_CUSTOMER
                locked.waiting_since = None
            else:
                locked.status = Status.WAITING_PROVIDER
                locked.waiting_since = locked.waiting_since or now
            locked.updated_at = now
            locked.save(update_fields=TICKET_FIELDS)
            if locked.status != before["status"]:
                audit_record(
                    actor=actor,
                    action="ticket.status_changed",
                    rule="SUP-7" if staff else "SUP-3",
                    obj=locked,
                    organization=locked.organization,
                    before=before,
                    after={"status": locked.status},
                    at=now,
                )
        if staff and not message.internal:
            send_to_contacts(locked, message, now)
    ticket.status, ticket.waiting_since, ticket.updated_at = locked.status, locked.waiting_since, locked.updated_at
    return message



# --- priority, status, abuse, suspension ---------------------------------------------------------


def ticket_set_priority(
    *, ticket: Ticket, user: User, priority: str, as_staff: bool | None = None, now: dt.datetime
) -> Ticket:
    """SUP-4: the contact persons of the ticket's Service (for a ticket about no Service, the Legal
    Responsibles and administrators) and staff set the priority; other members who see the ticket
    403, anyone else 404. A closed ticket keeps its priority (SUP-3). `as_staff=False`: see
    `message_post`."""
    staff = bool(user.is_staff) if as_staff is None else as_staff
    if not staff:
        membership = membership_seeing(user, ticket)
        if membership is None:
            raise RuleViolation(_("No such ticket."), rule="SUP-2", status=404)
        if not contact_persons(ticket).filter(pk=membership.pk).exists():
            raise RuleViolation(
                _("Only the contact persons of the Service set the priority of its tickets."),
                rule="SUP-4",
                status=403,
                field="priority",
            )
    if priority not in Ticket.Priority.values:
        raise RuleViolation(_("Choose a priority."), rule="SUP-4", status=400, field="priority")
    with transaction.atomic():
        locked = lock(ticket)
        if locked.status == Status.CLOSED:
            raise RuleViolation(_("This ticket is closed and kept as it is: please open a new ticket."), rule="SUP-3")
        if locked.priority != priority:
            before = {"priority": locked.priority}
            locked.priority = priority
            locked.updated_at = now
            locked.save(update_fields=["priority", "updated_at"])
            audit_record(
                actor=Actor.for_user(user),
                action="ticket.priority_changed",
                rule="SUP-4",
                obj=locked,
                organization=locked.organization,
                before=before,
                after={"priority": priority},
                at=now,
            )
    ticket.priority, ticket.updated_at = locked.priority, locked.updated_at
    return locked


def ticket_set_status(*, ticket: Ticket, staff_user: User, status: str, now: dt.datetime) -> Ticket:
    """Staff set the status: resolve, close, or reopen (open / waiting for either side). Waiting for
    the provider starts the escalation clock anew."""
    require_staff(staff_user, rule="SUP-5")
    if status not in Status.values:
        raise RuleViolation(_("Choose a status."), rule="SUP-3", status=400, field="status")
    with transaction.atomic():
        locked = lock(ticket)
        if locked.status != status:
            before = {"status": locked.status}
            locked.status = status
            waits = status in (Status.OPEN, Status.WAITING_PROVIDER)
            locked.waiting_since = now if waits else None  # waiting for the provider: the clock starts anew
            locked.updated_at = now
            locked.save(update_fields=TICKET_FIELDS)
            audit_record(
                actor=Actor.for_user(staff_user),
                action="ticket.status_changed",
                rule="SUP-3",
                obj=locked,
                organization=locked.organization,
                before=before,
                after={"status": status},
                at=now,
            )
    ticket.status, ticket.waiting_since, ticket.updated_at = locked.status, locked.waiting_since, locked.updated_at
    return locked


def ticket_flag_abusive(*, ticket: Ticket, staff_user: User, reason: str, now: dt.datetime) -> Ticket:
    """SUP-6 (TCU 9.5): staff flag abusive conduct on a ticket, with a reason; flagged once (a second
    flag is refused and changes nothing)."""
    require_staff(staff_user, rule="SUP-5")
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="SUP-6", status=400, field="reason")
    with transaction.atomic():
        locked = lock(ticket)
        if locked.abusive_flagged_at is not None:
            raise RuleViolation(_("This ticket is already flagged."), rule="SUP-6")
        locked.abusive_flagged_at = now
        locked.abusive_flagged_by = staff_user
        locked.abusive_reason = reason.strip()
        locked.updated_at = now
        locked.save(update_fields=["abusive_flagged_at", "abusive_flagged_by", "abusive_reason", "updated_at"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="ticket.flagged_abusive",
            rule="SUP-6",
            obj=locked,
            organization=locked.organization,
            after={"reason": locked.abusive_reason},
            at=now,
        )
    return locked


def ticket_suspend_service(*, ticket: Ticket, staff_user: User, reason: str, now: dt.datetime) -> Ticket:
    """TCU 13.1 from an acceptable-use case (SC 5.7): suspend its Service through the billing
    lifecycle (`staff_suspend`, which audits and tells the customer) and record it on the ticket, in
    one transaction. Refused for other kinds, and as billing refuses (e.g. not active)."""
    from subscriptions.services.staff import staff_suspend

    require_staff(staff_user, rule="SUP-5")
    if ticket.kind != Kind.ACCEPTABLE_USE or ticket.service_id is None:
        raise RuleViolation(
            _("A Service is suspended from an acceptable-use case about it."), rule="SC 5.7", status=400
        )
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="TCU 13.1", status=400, field="reason")
    with transaction.atomic():
        locked = lock(ticket)
        assert locked.service is not None
        staff_suspend(service=locked.service, staff_user=staff_user, reason=reason, now=now)
        locked.service_suspended_at = now
        locked.updated_at = now
        locked.save(update_fields=["service_suspended_at", "updated_at"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="ticket.service_suspended",
            rule="TCU 13.1",
            obj=locked,
            organization=locked.organization,
            after={"service": locked.service_id, "reason": reason.strip(), "category": locked.aup_category},
            at=now,
        )
    return locked
