"""Order invoices left unpaid (SPEC ENF-5, with BIL-3, BIL-6 and PRE-2).

An order invoice (BIL-3: the Service starts once it is paid in full) still open
ORDER_INVOICE_EXPIRY_DAYS after its issue date is cancelled by a credit note for what is still due
(BIL-6: the invoice itself never changes), and its Service, if it still waits for that payment, is
dropped: awaiting_payment -> terminated, the order abandoned (nothing ran, so there is no data to
delete). The customer is reminded ORDER_INVOICE_REMINDER_DAYS before that day. Terminating a
Service that waits for its first payment (the customer, staff, any rule) cancels its order invoice
the same way: `order_invoices_cancel_for`, called by every termination (lifecycle.services_terminate).

**Decision (partly paid).** An order invoice may be partly paid (part from the Prepaid Account,
PRE-3, or a bank transfer booked by staff, BIL-5). Cancelling it, the credit note covers what is
still due, and what was paid is credited to the Prepaid Account as the provider's reimbursement of
that invoice (PRE-2, TCU 5.10.1): nothing was provided for it. The invoice keeps its amount paid and
its payments as evidence. Should the Prepaid Account be kept in another currency than the invoice
(data older than ENF-6), nothing converts money (MONEY-1): that invoice is left open, logged, for
staff to settle by hand.

The daily job works on batches of invoice ids, one transaction each, locking in the billing lock
order (Prepaid Accounts, invoices, Services) and re-checking under the locks that each invoice is
still open: a rerun finds nothing left to do (REN-8). Its queries are fixed per batch, plus those of
each reimbursement (the ledger's one primitive, rare). A reminder is sent once: its key is unique
(a unique constraint on notifications); a credit note once: the invoice is locked and cancelled by
it, and the database refuses crediting more than is due (`invoice_not_overpaid`,
`credit_note_positive`).
"""

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from audit.services import Actor, AuditSpec
from billing.models import CreditNote, Invoice, LedgerEntry, PrepaidAccount
from billing.services.invoices import next_invoice_numbers
from billing.services.posting import Effects
from billing.services.prepaid import prepaid_credit
from core.bulk import bulk_update
from notifications.selectors import unsent
from notifications.services import NoticeSpec
from subscriptions.models import Service

logger = logging.getLogger(__name__)

JOB_ORDER_EXPIRY = "billing.order_expiry"
RULE = "ENF-5"


def expiry_date(invoice: Invoice) -> dt.date:
    """ENF-5: the day an order invoice still unpaid is cancelled."""
    return invoice.issue_date + dt.timedelta(days=settings.ORDER_INVOICE_EXPIRY_DAYS)


def _reminder_days() -> list[int]:
    """The reminder distances that can happen (before the expiry, after the issue), largest first."""
    return sorted(
        {d for d in settings.ORDER_INVOICE_REMINDER_DAYS if 0 < d < settings.ORDER_INVOICE_EXPIRY_DAYS}, reverse=True
    )


def order_expiry_due(day: dt.date) -> QuerySet[Invoice]:
    """Open order invoices that expire on `day` or expired earlier (a missed day is caught up), and
    those whose reminder day is `day` (partial index `open_order_invoice_issue`)."""
    expiry = settings.ORDER_INVOICE_EXPIRY_DAYS
    reminded_issues = [day - dt.timedelta(days=expiry - days) for days in _reminder_days()]
    return Invoice.objects.filter(
        Q(issue_date__lte=day - dt.timedelta(days=expiry)) | Q(issue_date__in=reminded_issues),
        kind=Invoice.Kind.ORDER,
        status=Invoice.Status.OPEN,
    ).order_by("pk")


def order_expiry_run(invoice_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """ENF-5: cancel the batch's expired order invoices and drop their waiting Services; remind the
    customer of the others on their reminder days. Returns how many invoices were cancelled or
    reminded of."""
    actor = Actor.system(JOB_ORDER_EXPIRY)
    cutoff = day - dt.timedelta(days=settings.ORDER_INVOICE_EXPIRY_DAYS)
    reminder_days = _reminder_days()
    with transaction.atomic():
        # The lock order: the Prepaid Accounts of the Organizations that may get a reimbursement,
        # then the invoices, then the Services.
        expiring = Invoice.objects.filter(pk__in=list(invoice_ids), issue_date__lte=cutoff)
        list(
            PrepaidAccount.objects.select_for_update()
            .filter(organization_id__in=expiring.values("organization_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        invoices = list(
            Invoice.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk__in=list(invoice_ids), kind=Invoice.Kind.ORDER, status=Invoice.Status.OPEN)
            .order_by("pk")
        )
        services = {
            service.pk: service
            for service in Service.objects.select_for_update(of=("self",))
            .select_related("plan__service_type")
            .filter(pk__in=[invoice.service_id for invoice in invoices if invoice.service_id])
            .order_by("pk")
        }
        expired = [invoice for invoice in invoices if invoice.issue_date <= cutoff]
        keys = {}
        for invoice in invoices:
            days_left = (expiry_date(invoice) - day).days
            if invoice.issue_date > cutoff and days_left in reminder_days:
                keys[invoice.pk] = f"order-invoice-reminder:{invoice.pk}:{days_left}"
        keys = unsent(keys)
        effects = Effects()
        for invoice in invoices:
            key = keys.get(invoice.pk)
            if key is None:
                continue
            effects.notices.append(
                NoticeSpec(
                    organization=invoice.organization,
                    template="order_invoice_reminder",
                    context={
                        "invoice": invoice,
                        "service": services.get(invoice.service_id),  # type: ignore[arg-type]
                        "expires_on": expiry_date(invoice),
                    },
                    related=invoice,
                    dedupe_key=key,
                )
            )
        reminded = len(effects.notices)
        reason = _("Order invoice not paid within %(days)s days of its issue.") % {
            "days": settings.ORDER_INVOICE_EXPIRY_DAYS
        }
        cancelled = order_invoices_cancel(expired, reason=reason, actor=actor, now=now, effects=effects)
        dropped = []
        for invoice in cancelled:
            service = services.get(invoice.service_id)  # type: ignore[arg-type]
            if service is not None and service.status == Service.Status.AWAITING_PAYMENT:
                _drop(service, invoice, reason=reason, actor=actor, now=now, effects=effects)
                dropped.append(service)
            effects.notices.append(
                NoticeSpec(
                    organization=invoice.organization,
                    template="order_invoice_cancelled",
                    context={
                        "invoice": invoice,
                        "service": service,
                        "dropped": service in dropped,
                        "days": settings.ORDER_INVOICE_EXPIRY_DAYS,
                    },
                    related=invoice,
                    dedupe_key=f"order-invoice-cancelled:{invoice.pk}",
                )
            )
        bulk_update(dropped, ["status", "auto_renew", "terminated_at", "termination_reason"])
        effects.flush(now)
    return reminded + len(cancelled)


def _drop(service: Service, invoice: Invoice, *, reason: str, actor: Actor, now: dt.datetime, effects: Effects) -> None:
    """ENF-5: the order is abandoned: the Service, which never started, ends (no data to delete)."""
    before = {"status": service.status}
    service.status = Service.Status.TERMINATED
    service.auto_renew = False
    service.terminated_at = now
    service.termination_reason = reason
    effects.audit.append(
        AuditSpec(
            actor=actor,
            action="service.order_dropped",
            rule=RULE,
            obj=service,
            organization=invoice.organization,
            before=before,
            after={"status": service.status, "reason": reason, "invoice": invoice.number},
        )
    )


def order_invoices_cancel_for(
    service_ids: Sequence[int], *, reason: str, actor: Actor, now: dt.datetime, effects: Effects
) -> list[Invoice]:
    """ENF-5: the open order invoices of Services being terminated (an order, or a trial's switch to
    paid, never paid in full), cancelled like expired ones. The caller holds the Services' locks and
    writes the Services; the invoices are locked here, in id order."""
    invoices = list(
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(service_id__in=list(service_ids), kind=Invoice.Kind.ORDER, status=Invoice.Status.OPEN)
        .order_by("pk")
    )
    return order_invoices_cancel(invoices, reason=reason, actor=actor, now=now, effects=effects)


def order_invoices_cancel(
    invoices: list[Invoice], *, reason: str, actor: Actor, now: dt.datetime, effects: Effects
) -> list[Invoice]:
    """Cancel locked open order invoices (ENF-5): what was paid back to the Prepaid Account (see the
    module's decision), then one credit note each for what is still due (BIL-6). Returns the
    invoices cancelled (those in another currency than their Prepaid Account are left open)."""
    cancellable = []
    for invoice in invoices:
        if invoice.amount_paid > 0 and not _reimburse(invoice, actor=actor, now=now):
            continue
        cancellable.append(invoice)
    if not cancellable:
        return []
    notes = []
    for invoice, number in zip(cancellable, next_invoice_numbers(len(cancellable)), strict=True):
        amount = invoice.amount_due
        notes.append(CreditNote(number=number, invoice=invoice, amount=amount, reason=reason, issued_at=now))
        invoice.amount_credited += amount
        invoice.status = Invoice.Status.CANCELLED
    CreditNote.objects.bulk_create(notes)
    bulk_update(cancellable, ["amount_credited", "status"])
    for note in notes:
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="credit_note.issued",
                rule=RULE,
                obj=note,
                organization=note.invoice.organization,
                after={
                    "invoice": note.invoice.number,
                    "number": note.number,
                    "amount": str(note.amount),
                    "reason": reason,
                    "invoice_status": "cancelled",
                    "reimbursed": str(note.invoice.amount_paid),
                },
            )
        )
    return cancellable


def _reimburse(invoice: Invoice, *, actor: Actor, now: dt.datetime) -> bool:
    """What was paid of a cancelled order invoice, back to the Prepaid Account (PRE-2); False when
    the account is kept in another currency (MONEY-1: nothing converts)."""
    account = PrepaidAccount.objects.filter(organization_id=invoice.organization_id).first()
    currency: Any = account.currency if account else invoice.organization.currency
    if currency != invoice.currency:
        logger.error(
            "order invoice %s (%s) not cancelled: the Prepaid Account is kept in %s",
            invoice.number,
            invoice.currency,
            currency,
        )
        return False
    prepaid_credit(
        organization=invoice.organization,
        kind=LedgerEntry.Kind.PROVIDER_REIMBURSEMENT,
        amount=invoice.amount_paid,
        invoice=invoice,
        now=now,
        actor=actor,
        rule=RULE,
    )
    return True
