"""Opening a ticket: by a member (`ticket_open`, one handler per kind: each checks its kind's rules
before anything is written, then opens the ticket in one transaction) and by staff
(`ticket_open_by_staff`). The decisions where the SPEC is silent: support/services/__init__.py."""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership, Organization, User
from accounts.permissions import require_staff
from audit.services import Actor, audit_record
from billing import selectors as billing_selectors
from billing.models import Invoice
from core import clock, figures
from core.errors import RuleViolation
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service
from support import hooks
from support.attachments import AttachmentInput, CheckedFile, check_attachments, store_attachments
from support.models import Message, Ticket
from support.services.common import message_audit, require_language, require_text, send_to_contacts, ticket_snapshot

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


# --- checks --------------------------------------------------------------------------------------


def _membership(organization: Organization, user: User) -> Membership:
    """SUP-2: only the Organization's users open tickets; anyone else is told it does not exist."""
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        raise RuleViolation(_("No such organization."), rule="SUP-2", status=404)
    return membership


def _visible_service(membership: Membership, service: Service | None) -> None:
    """ORG-6: a Service the member sees, else 404."""
    if service is None:
        return
    if not subscription_selectors.services_for_member(membership).filter(pk=service.pk).exists():
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
            % {"number": invoice.number, "date": figures.day(last_day)},
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


# --- a member opens a ticket: one handler per kind ----------------------------------------------


@dataclass(frozen=True)
class Opening:
    """A ticket a member is opening, once the checks every kind shares have passed. A kind's handler
    fills in what is its own (the invoice of a dispute, the dates of a claim)."""

    organization: Organization
    membership: Membership
    user: User
    kind: str
    subject: str
    body: str
    language: str
    service: Service | None
    attachments: Sequence[AttachmentInput]
    actor: Actor
    client_address: str | None
    now: dt.datetime
    invoice: Invoice | None = None
    claim_start: dt.datetime | None = None
    claim_end: dt.datetime | None = None


@dataclass(frozen=True)
class Asked:
    """What the door gave that only some kinds use."""

    invoice: Invoice | None
    claim_start: dt.datetime | None
    claim_end: dt.datetime | None


def _create(opening: Opening, *, resolved: bool = False) -> tuple[Ticket, Message]:
    """The ticket, its first message and the evidence (inside the caller's transaction)."""
    ticket = Ticket.objects.create(
        organization=opening.organization,
        service=opening.service,
        kind=opening.kind,
        subject=opening.subject,
        language=opening.language,
        status=Status.RESOLVED if resolved else Status.OPEN,
        opened_by=opening.user,
        opened_by_staff=False,
        invoice=opening.invoice,
        claim_start=opening.claim_start,
        claim_end=opening.claim_end,
        created_at=opening.now,
        updated_at=opening.now,
        waiting_since=None if resolved else opening.now,
    )
    audit_record(
        actor=opening.actor,
        action="ticket.opened",
        rule=KIND_RULES[Kind(opening.kind)],
        obj=ticket,
        organization=opening.organization,
        after=ticket_snapshot(ticket),
        at=opening.now,
    )
    message = Message.objects.create(ticket=ticket, author=opening.user, body=opening.body, created_at=opening.now)
    return ticket, message


def _attach(opening: Opening, message: Message, files: list[CheckedFile]) -> None:
    stored = store_attachments(message, files, opening.now)
    message_audit(opening.actor, message, stored, "SUP-3", opening.now)


def _open_request(opening: Opening, asked: Asked) -> Ticket:
    """A technical or billing request (SUP-2), and every kind once its own checks passed."""
    files = check_attachments(opening.attachments)
    with transaction.atomic():
        ticket, message = _create(opening)
        _attach(opening, message, files)
    return ticket


def _open_invoice_dispute(opening: Opening, asked: Asked) -> Ticket:
    """BIL-11: an invoice the member sees, within one month of its issue; about its own Service."""
    invoice = _check_dispute(opening.membership, asked.invoice, clock.business_date(opening.now))
    if opening.service is not None and opening.service.pk != invoice.service_id:
        raise RuleViolation(
            _("An invoice dispute is about the invoice's own Service."), rule="BIL-11", status=400, field="service"
        )
    # ORG-6: only who sees the invoice's Service sees its dispute.
    return _open_request(replace(opening, service=invoice.service, invoice=invoice), asked)


def _open_sla_claim(opening: Opening, asked: Asked) -> Ticket:
    """SLA-5: the dates checked here, then the handlers registered in `support.hooks` (the SLA app)."""
    _check_claim(opening.service, asked.claim_start, asked.claim_end, opening.now)
    opening = replace(opening, claim_start=asked.claim_start, claim_end=asked.claim_end)
    files = check_attachments(opening.attachments)
    with transaction.atomic():
        ticket, message = _create(opening)
        hooks.sla_claim_filed(ticket=ticket, user=opening.user, now=opening.now)  # a refusal leaves no file behind
        _attach(opening, message, files)
    return ticket


def _open_money_back(opening: Opening, asked: Asked) -> Ticket:
    """MB-2: billing refunds in the same transaction (its refusal propagates and no ticket exists); the
    ticket is then opened resolved, with a system message stating the refund."""
    from subscriptions.services.moneyback import service_money_back

    if opening.service is None:
        raise RuleViolation(_("Name the Service to refund."), rule="MB-2", status=400, field="service")
    files = check_attachments(opening.attachments)
    with transaction.atomic():
        refund = service_money_back(
            service=opening.service, user=opening.user, client_address=opening.client_address, now=opening.now
        )
        ticket, message = _create(opening, resolved=True)
        _attach(opening, message, files)
        with translation.override(ticket.language):
            statement = _(
                "Refunded under the money-back guarantee: %(amount)s %(currency)s (%(card)s to the card"
                " used for the order, %(prepaid)s credited to the Prepaid Account). The Service is terminated."
            ) % {
                "amount": figures.amount(refund.amount),
                "currency": refund.currency,
                "card": figures.amount(refund.card_amount),
                "prepaid": figures.amount(refund.prepaid_amount),
            }
        system = Message.objects.create(
            ticket=ticket, author=None, from_staff=True, body=statement, created_at=opening.now
        )
        audit_record(
            actor=opening.actor,
            action="ticket.resolved",
            rule="MB-2",
            obj=ticket,
            organization=opening.organization,
            after={"status": ticket.status, "refund": refund.pk, "message": system.pk},
            at=opening.now,
        )
    return ticket


def _open_termination(opening: Opening, asked: Asked) -> Ticket:
    """ORG-9: only a Legal Responsible asks for the termination of the contract."""
    if opening.membership.role != Role.LEGAL_RESPONSIBLE:
        raise RuleViolation(
            _("Only a Legal Responsible can ask for a termination."), rule="ORG-9", status=403, field="kind"
        )
    return _open_request(opening, asked)


OPEN_BY_KIND: dict[str, Callable[[Opening, Asked], Ticket]] = {
    Kind.TECHNICAL: _open_request,
    Kind.BILLING: _open_request,
    Kind.INVOICE_DISPUTE: _open_invoice_dispute,
    Kind.SLA_CLAIM: _open_sla_claim,
    Kind.MONEY_BACK: _open_money_back,
    Kind.TERMINATION: _open_termination,
}


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
    then the kind's handler (`OPEN_BY_KIND`): invoice dispute after one month (BIL-11); SLA claim
    dates (SLA-5), then the handlers registered in `support.hooks`; money-back refused by billing
    (MB-1…MB-3, ORG-5, ORG-6); termination by anyone but a Legal Responsible → 403 (ORG-9); and the
    files (SUP-3). See support/services/__init__.py for the decisions."""
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
    subject, body = require_text(subject, body)
    require_language(language)
    _visible_service(membership, service)
    opening = Opening(
        organization=organization,
        membership=membership,
        user=user,
        kind=kind,
        subject=subject,
        body=body,
        language=language,
        service=service,
        attachments=attachments,
        actor=Actor.for_user(user, client_address=client_address),
        client_address=client_address,
        now=now,
    )
    return OPEN_BY_KIND[kind](opening, Asked(invoice=invoice, claim_start=claim_start, claim_end=claim_end))


# --- staff open a ticket -------------------------------------------------------------------------


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
    subject, body = require_text(subject, body)
    require_language(language)
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
            after=ticket_snapshot(ticket),
            at=now,
        )
        message = Message.objects.create(ticket=ticket, author=staff_user, from_staff=True, body=body, created_at=now)
        message_audit(actor, message, [], "SUP-7", now)
        send_to_contacts(ticket, message, now)
    return ticket
