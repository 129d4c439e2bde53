"""Every change of a support ticket (SPEC SUP-1…SUP-7, BIL-11, MB-2, ORG-9, SLA-5, TCU 13.1, TCU 18).

Each service checks who acts before anything is written, locks what it changes, writes the
evidence with the rule id that allowed it (EVD-1) and raises `RuleViolation` changing nothing
when a rule says no. Nothing is ever deleted (SUP-3): there is no delete service at all.

Decisions where the SPEC is silent:
- Status. A ticket a customer opens is `open` and waits for the provider from then on
  (`waiting_since`); a customer message sets `waiting_provider` (keeping `waiting_since` when it
  was already waiting), a staff reply `waiting_customer` (no longer waiting); an internal note
  changes nothing. A customer message on a *resolved* ticket reopens it (waiting_provider); a
  *closed* ticket refuses customer messages (its trace stays as it is; open a new ticket) — staff
  may still write to it, and reopen it with `ticket_set_status`.
- Invoice dispute (BIL-11): "within one month of its issue date" is up to and including the same
  day of the next month in Zurich (TIME-1, dateutil: issued 31 January → 28/29 February); the day
  after is refused. Only an invoice the member sees (ORG-6) may be named (404 otherwise); the
  ticket is about the invoice's Service unless another is given.
- SLA claim (SLA-5): about one Service (the penalty is computed per Service), start before end,
  the end not in the future; then the handlers registered in `support.hooks` decide (the SLA
  app: the two-month deadline, SLA-5).
- Money-back request (MB-2): `billing.services.moneyback.service_money_back` runs in the same
  transaction as the ticket: a refusal propagates and no ticket exists; a refund creates the
  ticket resolved, with a system message (from staff, no author) stating the refund.
- A staff-opened ticket waits for the customer (the complaint asks for documents).
"""

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Language, Membership, Organization, User
from accounts.permissions import require_staff
from audit.services import Actor, audit_record
from billing import selectors as billing_selectors
from billing.models import Invoice, Service
from core import clock
from core.errors import RuleViolation
from notifications.models import Notification
from notifications.services import notify
from support import hooks
from support.attachments import AttachmentInput, check_attachments, store_attachments
from support.models import Attachment, Message, Ticket
from support.selectors import contact_persons, membership_seeing

Kind = Ticket.Kind
Status = Ticket.Status
Role = Membership.Role

CUSTOMER_KINDS = (
    Kind.TECHNICAL,
    Kind.BILLING,
    Kind.INVOICE_DISPUTE,
    Kind.SLA_CLAIM,
    Kind.MONEY_BACK,
    Kind.TERMINATION,
)
STAFF_ONLY_KINDS = (Kind.THIRD_PARTY_COMPLAINT, Kind.ACCEPTABLE_USE)
# The rule that allows opening a ticket of each kind (recorded on the evidence, EVD-1).
KIND_RULES = {
    Kind.TECHNICAL: "SUP-2",
    Kind.BILLING: "SUP-2",
    Kind.INVOICE_DISPUTE: "BIL-11",
    Kind.SLA_CLAIM: "SLA-5",
    Kind.MONEY_BACK: "MB-2",
    Kind.TERMINATION: "ORG-9",
    Kind.THIRD_PARTY_COMPLAINT: "TCU 18",
    Kind.ACCEPTABLE_USE: "SC 5.7",
}
TICKET_FIELDS = ["status", "priority", "waiting_since", "updated_at"]


# --- checks --------------------------------------------------------------------------------------


def _membership(organization: Organization, user: User) -> Membership:
    """SUP-2: only the Organization's users open tickets; anyone else is told it does not exist."""
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        raise RuleViolation(_("No such organization."), rule="SUP-2", status=404)
    return membership


def _require_text(subject: str | None, body: str) -> tuple[str, str]:
    if subject is not None and not subject.strip():
        raise RuleViolation(_("A subject is required."), rule="SUP-3", status=400, field="subject")
    if not body.strip():
        raise RuleViolation(_("A message is required."), rule="SUP-3", status=400, field="body")
    return (subject or "").strip(), body.strip()


def _require_language(language: str) -> None:
    if language not in Language.values:
        raise RuleViolation(
            _("Support speaks French, English, German, Italian and Spanish."),
            rule="SUP-1",
            status=400,
            field="language",
        )


def _visible_service(membership: Membership, service: Service | None) -> None:
    """ORG-6: a Service the member sees, else 404."""
    if service is None:
        return
    if not billing_selectors.services_for_member(membership).filter(pk=service.pk).exists():
        raise RuleViolation(_("No such service."), rule="ORG-6", status=404, field="service")


def invoice_dispute_last_day(invoice: Invoice) -> dt.date:
    """BIL-11: the last Zurich day an invoice may be disputed — one calendar month after its issue date
    (relativedelta clips to the end of a shorter month: 31 January → 28/29 February)."""
    return invoice.issue_date + relativedelta(months=1)


def _check_dispute(membership: Membership, invoice: Invoice | None, today: dt.date) -> Invoice:
    if invoice is None:
        raise RuleViolation(_("Name the invoice you dispute."), rule="BIL-11", status=400, field="invoice")
    if not billing_selectors.invoices_for_member(membership).filter(pk=invoice.pk).exists():
        raise RuleViolation(_("No such invoice."), rule="ORG-6", status=404, field="invoice")
    last_day = invoice_dispute_last_day(invoice)
    if today > last_day:
        raise RuleViolation(
            _(
                "An invoice may be disputed within one month of its issue date: invoice %(number)s"
                " could be disputed until %(date)s. It remains due."
            )
            % {"number": invoice.number, "date": last_day.isoformat()},
            rule="BIL-11",
            field="invoice",
        )
    return invoice


def _check_claim(
    service: Service | None, claim_start: dt.datetime | None, claim_end: dt.datetime | None, now: dt.datetime
) -> None:
    if service is None:
        raise RuleViolation(_("Name the Service that was unavailable."), rule="SLA-5", status=400, field="service")
    if claim_start is None or claim_end is None:
        raise RuleViolation(
            _("Give the start and the end of the unavailability."), rule="SLA-5", status=400, field="claim_start"
        )
    if claim_start >= claim_end:
        raise RuleViolation(
            _("The unavailability must end after it starts."), rule="SLA-5", status=400, field="claim_end"
        )
    if claim_end > now:
        raise RuleViolation(
            _("An SLA claim is filed for an unavailability that has ended: its end cannot be in the future."),
            rule="SLA-5",
            status=400,
            field="claim_end",
        )


def _ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        "kind": ticket.kind,
        "subject": ticket.subject,
        "language": ticket.language,
        "priority": ticket.priority,
        "status": ticket.status,
        "service": ticket.service_id,
        "invoice": ticket.invoice.number if ticket.invoice is not None else None,
        "claim_start": ticket.claim_start.isoformat() if ticket.claim_start else None,
        "claim_end": ticket.claim_end.isoformat() if ticket.claim_end else None,
        "aup_category": ticket.aup_category,
        "documents_due_on": ticket.documents_due_on.isoformat() if ticket.documents_due_on else None,
    }


def _message_audit(actor: Actor, message: Message, attachments: list[Attachment], rule: str, now: dt.datetime) -> None:
    audit_record(
        actor=actor,
        action="ticket.note_added" if message.internal else "ticket.message_posted",
        rule=rule,
        obj=message,
        organization=message.ticket.organization,
        after={
            "ticket": message.ticket_id,
            "from_staff": message.from_staff,
            "internal": message.internal,
            "sha256": hashlib.sha256(message.body.encode()).hexdigest(),
            "attachments": [{"name": a.original_name, "sha256": a.sha256, "size": a.size} for a in attachments],
        },
        at=now,
    )


# --- opening -------------------------------------------------------------------------------------


def ticket_open(
    *,
    organization: Organization,
    user: User,
    kind: str,
    subject: str,
    body: str,
    language: str,
    service: Service | None = None,
    invoice: Invoice | None = None,
    claim_start: dt.datetime | None = None,
    claim_end: dt.datetime | None = None,
    attachments: Sequence[AttachmentInput] = (),
    client_address: str | None = None,
    now: dt.datetime,
) -> Ticket:
    """A member opens a ticket (SUP-2, SUP-5). Refusals, each changing nothing: not a member → 404
    (SUP-2); a Service out of the member's scope → 404 (ORG-6); a staff-only kind → 403 (SUP-5);
    invoice dispute after one month (BIL-11); SLA claim dates (SLA-5), then the handlers registered
    in `support.hooks`; money-back refused by billing (MB-1…MB-3, ORG-5, ORG-6); termination by
    anyone but a Legal Responsible → 403 (ORG-9). See the module's docstring for the decisions."""
    membership = _membership(organization, user)
    if kind in STAFF_ONLY_KINDS:
        raise RuleViolation(
            _("Only our staff open third-party complaints and acceptable-use cases."),
            rule="SUP-5",
            status=403,
            field="kind",
        )
    if kind not in CUSTOMER_KINDS:
        raise RuleViolation(_("Choose the kind of request."), rule="SUP-5", status=400, field="kind")
    subject, body = _require_text(subject, body)
    _require_language(language)
    _visible_service(membership, service)
    today = clock.business_date(now)
    if kind == Kind.INVOICE_DISPUTE:
        invoice = _check_dispute(membership, invoice, today)
        if service is not None and service.pk != invoice.service_id:
            raise RuleViolation(
                _("An invoice dispute is about the invoice's own Service."), rule="BIL-11", status=400, field="service"
            )
        service = invoice.service  # ORG-6: only who sees the invoice's Service sees its dispute
    else:
        invoice = None
    if kind == Kind.SLA_CLAIM:
        _check_claim(service, claim_start, claim_end, now)
    else:
        claim_start = claim_end = None
    if kind == Kind.MONEY_BACK and service is None:
        raise RuleViolation(_("Name the Service to refund."), rule="MB-2", status=400, field="service")
    if kind == Kind.TERMINATION and membership.role != Role.LEGAL_RESPONSIBLE:
        raise RuleViolation(
            _("Only a Legal Responsible can ask for a termination."), rule="ORG-9", status=403, field="kind"
        )
    files = check_attachments(attachments)
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        refund = None
        if kind == Kind.MONEY_BACK:
            from billing.services.moneyback import service_money_back

            assert service is not None
            refund = service_money_back(service=service, user=user, client_address=client_address, now=now)
        ticket = Ticket.objects.create(
            organization=organization,
            service=service,
            kind=kind,
            subject=subject,
            language=language,
            status=Status.RESOLVED if refund is not None else Status.OPEN,
            opened_by=user,
            opened_by_staff=False,
            invoice=invoice,
            claim_start=claim_start,
            claim_end=claim_end,
            created_at=now,
            updated_at=now,
            waiting_since=None if refund is not None else now,
        )
        audit_record(
            actor=actor,
            action="ticket.opened",
            rule=KIND_RULES[Kind(kind)],
            obj=ticket,
            organization=organization,
            after=_ticket_snapshot(ticket),
            at=now,
        )
        message = Message.objects.create(ticket=ticket, author=user, body=body, created_at=now)
        if kind == Kind.SLA_CLAIM:  # before any file is stored: a refusal leaves no file behind
            hooks.sla_claim_filed(ticket=ticket, user=user, now=now)
        stored = store_attachments(message, files, now)
        _message_audit(actor, message, stored, "SUP-3", now)
        if refund is not None:
            with translation.override(ticket.language):
                statement = _(
                    "Refunded under the money-back guarantee: %(amount)s %(currency)s (%(card)s to the card"
                    " used for the order, %(prepaid)s credited to the Prepaid Account). The Service is terminated."
                ) % {
                    "amount": refund.amount,
                    "currency": refund.currency,
                    "card": refund.card_amount,
                    "prepaid": refund.prepaid_amount,
                }
            system = Message.objects.create(ticket=ticket, author=None, from_staff=True, body=statement, created_at=now)
            audit_record(
                actor=actor,
                action="ticket.resolved",
                rule="MB-2",
                obj=ticket,
                organization=organization,
                after={"status": ticket.status, "refund": refund.pk, "message": system.pk},
                at=now,
            )
    return ticket


def ticket_open_by_staff(
    *,
    organization: Organization,
    staff_user: User,
    kind: str,
    subject: str,
    body: str,
    language: str,
    service: Service | None = None,
    documents_due_on: dt.date | None = None,
    aup_category: str = "",
    now: dt.datetime,
) -> Ticket:
    """Staff open a ticket for an Organization: a third-party complaint (TCU 18: asks the customer for
    supporting documents by `documents_due_on`, a Zurich day after today), an acceptable-use case
    (SC 5.7: `aup_category` and the `service` required), or any other kind. The ticket waits for the
    customer; the opening message is sent to the contact persons like any staff reply (SUP-7)."""
    require_staff(staff_user, rule="SUP-5")
    if kind not in Kind.values:
        raise RuleViolation(_("Choose the kind of request."), rule="SUP-5", status=400, field="kind")
    subject, body = _require_text(subject, body)
    _require_language(language)
    if service is not None and service.organization_id != organization.pk:
        raise RuleViolation(_("No such service."), rule="SUP-2", status=404, field="service")
    today = clock.business_date(now)
    if kind == Kind.THIRD_PARTY_COMPLAINT:
        if documents_due_on is None or documents_due_on <= today:
            raise RuleViolation(
                _("Give the day by which the customer must send supporting documents, after today."),
                rule="TCU 18",
                status=400,
                field="documents_due_on",
            )
    else:
        documents_due_on = None
    if kind == Kind.ACCEPTABLE_USE:
        if aup_category not in Ticket.AupCategory.values:
            raise RuleViolation(
                _("Choose the category of the acceptable-use case."), rule="SC 5.7", status=400, field="aup_category"
            )
        if service is None:
            raise RuleViolation(_("Name the Service concerned."), rule="SC 5.7", status=400, field="service")
    else:
        aup_category = ""
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        ticket = Ticket.objects.create(
            organization=organization,
            service=service,
            kind=kind,
            subject=subject,
            language=language,
            status=Status.WAITING_CUSTOMER,
            opened_by=staff_user,
            opened_by_staff=True,
            documents_due_on=documents_due_on,
            aup_category=aup_category,
            created_at=now,
            updated_at=now,
        )
        audit_record(
            actor=actor,
            action="ticket.opened",
            rule=KIND_RULES[Kind(kind)],
            obj=ticket,
            organization=organization,
            after=_ticket_snapshot(ticket),
            at=now,
        )
        message = Message.objects.create(ticket=ticket, author=staff_user, from_staff=True, body=body, created_at=now)
        _message_audit(actor, message, [], "SUP-7", now)
        _send_to_contacts(ticket, message, now)
    return ticket


# --- messages ------------------------------------------------------------------------------------


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("organization").get(pk=ticket.pk)


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
    _subject, body = _require_text(None, body)
    files = check_attachments(attachments)
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _lock(ticket)
        if not staff and locked.status == Status.CLOSED:
            raise RuleViolation(_("This ticket is closed and kept as it is: please open a new ticket."), rule="SUP-3")
        before = {"status": locked.status}
        message = Message.objects.create(
            ticket=locked, author=user, from_staff=staff, internal=staff and internal, body=body, created_at=now
        )
        stored = store_attachments(message, files, now)
        _message_audit(actor, message, stored, "SUP-3" if not staff or internal else "SUP-7", now)
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
            _send_to_contacts(locked, message, now)
    ticket.status, ticket.waiting_since, ticket.updated_at = locked.status, locked.waiting_since, locked.updated_at
    return message


def _send_to_contacts(ticket: Ticket, message: Message, now: dt.datetime) -> list[Notification]:
    """SUP-7: a staff message goes to each contact person by e-mail, from the support address, in the
    ticket's language (SUP-1)."""
    sent: list[Notification] = []
    for contact in contact_persons(ticket):
        sent += notify(
            organization=ticket.organization,
            template="support_reply",
            context={"ticket": ticket, "message": message},
            channels=(Notification.Channel.EMAIL,),
            related=ticket,
            recipient_user=contact.user,
            email_to=contact.user.email,
            language=ticket.language,
            from_email=settings.SUPPORT_EMAIL,
            now=now,
        )
    return sent


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
        locked = _lock(ticket)
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
        locked = _lock(ticket)
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
        locked = _lock(ticket)
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
    from billing.services.lifecycle import staff_suspend

    require_staff(staff_user, rule="SUP-5")
    if ticket.kind != Kind.ACCEPTABLE_USE or ticket.service_id is None:
        raise RuleViolation(
            _("A Service is suspended from an acceptable-use case about it."), rule="SC 5.7", status=400
        )
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="TCU 13.1", status=400, field="reason")
    with transaction.atomic():
        locked = _lock(ticket)
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
