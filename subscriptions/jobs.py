"""Daily jobs of the renewal lifecycle (registered in core.lifecycle, SPEC §3).

Each job selects the due Services with an indexed date/status query and hands their ids to a
`*_run` function in batches of LIFECYCLE_BATCH_SIZE (core.batches: in this process, or one Celery
task per batch): one transaction and a fixed number of queries per batch, no task per Service. A
batch re-checks under its locks that each Service is still due, so a rerun, a second worker or a
batch that lost a race does nothing twice (REN-8); a batch refused by a unique constraint (another
worker got there first) is run again once, and then finds nothing left to do.
"""

import datetime as dt
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from audit.services import Actor, AuditSpec, audit_record_many
from billing.models import Payment
from billing.services import payments
from billing.services.posting import Effects
from core.batches import in_batches
from core.bulk import bulk_update
from core.lifecycle import register_job
from notifications.selectors import unsent
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import MoneyBackCardRefund, RenewalAttempt, Service
from subscriptions.services import (
    debit_charges,
    debit_lookup,
    lifecycle,
    order_expiry,
    renewals,
    usage_collection,
    warranty,
)

logger = logging.getLogger(__name__)


@register_job(name=renewals.JOB_DEBIT, order=100, rule="REN-1")
def debit_attempts(*, day: dt.date, now: dt.datetime) -> int:
    """REN-1, REN-2, REN-6, PRE-5: the day's debit attempt of every auto-renewing Service due. First
    (REN-8) the attempts a stopped run left CHARGING are answered and booked: charged again with
    their keys if of today (the gateway never charges a key twice), looked up if older."""
    resumed = in_batches(debit_charges.charging_due(), debit_charges.charging_resume_run, day=day, now=now)
    if resumed:
        logger.warning("%s debit attempts left by a stopped run were resumed", resumed)
    return in_batches(renewals.debit_due(day), _debit_batch, day=day, now=now)


def _debit_batch(ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """The batch's missing renewal invoices first, in a transaction of their own (the one that
    holds the invoice sequence, BIL-6, is kept short), then the attempts."""
    known = renewals.renewal_invoices_run(ids, day=day, now=now)
    return renewals.debit_attempts_run(ids, day=day, now=now, known=known)


@register_job(name="billing.unknown_payments", order=110, rule="REN-8")
def flag_unknown_payments(*, day: dt.date, now: dt.datetime) -> int:
    """REN-8: an attempt whose outcome is still unknown a day later is flagged to staff (shown in the
    admin's attempts list, filter "flagged"). First, the unknown charges of Services past their due
    date are looked up: no debit run selects those again, so nothing else would; and so are the card
    payments of members in doubt — unknown, or left processing by a request that stopped."""
    looked_up = in_batches(_past_due_unknown(day), _look_up_past_due, day=day, now=now)
    looked_up += in_batches(payments.payments_in_doubt(), _reconcile_payments, day=day, now=now)
    cutoff = now - settings.UNKNOWN_PAYMENT_FLAG_AFTER
    with transaction.atomic():
        attempts = list(
            RenewalAttempt.objects.select_for_update(of=("self",))
            .filter(outcome=RenewalAttempt.Outcome.UNKNOWN, flagged_at__isnull=True, created_at__lte=cutoff)
            .select_related("service__organization")
            .order_by("pk")
        )
        for attempt in attempts:
            attempt.flagged_at = now
        bulk_update(attempts, ["flagged_at"])
        actor = Actor.system("billing.unknown_payments")
        audit_record_many(
            [
                AuditSpec(
                    actor=actor,
                    action="renewal_attempt.flagged",
                    rule="REN-8",
                    obj=attempt,
                    organization=attempt.service.organization,
                    after={"key": attempt.idempotency_key, "since": attempt.created_at.isoformat()},
                )
                for attempt in attempts
            ],
            at=now,
        )
        refunds = _flag_refunds_in_doubt(cutoff, now=now, actor=actor)
    return looked_up + len(attempts) + refunds


def _flag_refunds_in_doubt(cutoff: dt.datetime, *, now: dt.datetime, actor: Actor) -> int:
    """MB-3, REN-8: a money-back card refund left SENDING by a request that stopped before booking
    the gateway's answer is never sent again (a refund carries no key of its own): staff check it
    with the payment provider (the admin's money-back refunds show it flagged)."""
    stuck = list(
        MoneyBackCardRefund.objects.select_for_update(of=("self",))
        .filter(outcome=MoneyBackCardRefund.Outcome.SENDING, flagged_at__isnull=True, created_at__lte=cutoff)
        .select_related("payment")
        .order_by("pk")
    )
    for card_refund in stuck:
        card_refund.flagged_at = now
    bulk_update(stuck, ["flagged_at"])
    audit_record_many(
        [
            AuditSpec(
                actor=actor,
                action="money_back.refund_flagged",
                rule="MB-3",
                obj=card_refund,
                organization=card_refund.payment.organization_id,
                after={"payment": card_refund.payment_id, "amount": str(card_refund.amount)},
            )
            for card_refund in stuck
        ],
        at=now,
    )
    return len(stuck)


def _past_due_unknown(day: dt.date) -> QuerySet[Service]:
    """Services whose next term's charge is still unknown after their due date (E, or T for a trial),
    and those whose charge of a Renewal Warranty term's invoice is unknown after that invoice's
    due date (RW-3: its attempts end on it)."""
    unknown = RenewalAttempt.objects.filter(
        service=OuterRef("pk"), term=OuterRef("term") + 1, outcome=RenewalAttempt.Outcome.UNKNOWN
    )
    warranty_unknown = RenewalAttempt.objects.filter(
        service=OuterRef("pk"),
        invoice=OuterRef("warranty_invoice"),
        invoice__due_date__lt=day,
        outcome=RenewalAttempt.Outcome.UNKNOWN,
    )
    usage_unknown = RenewalAttempt.objects.filter(  # USE-4: a usage invoice's charge after its due date
        service=OuterRef("pk"), term=0, invoice__due_date__lt=day, outcome=RenewalAttempt.Outcome.UNKNOWN
    )
    Status = Service.Status
    past_due = Q(status=Status.ACTIVE, expires_on__lt=day) | Q(status=Status.TRIAL, trial_ends_on__lt=day)
    # Every branch needs an unknown attempt of the Service: start from those few (a partial index).
    in_doubt = RenewalAttempt.objects.filter(outcome=RenewalAttempt.Outcome.UNKNOWN).values("service_id")
    return (
        Service.objects.filter(pk__in=in_doubt)
        .filter(
            (past_due & Q(Exists(unknown)))
            | Q(Exists(warranty_unknown), status=Status.ACTIVE, warranty_invoice__isnull=False)
            | Q(Exists(usage_unknown), usage_based=True)
        )
        .order_by("pk")
    )


def _look_up_past_due(ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """REN-8: look the charges up by their keys: succeeded -> booked and the term renewed; declined ->
    an ordinary failure (the suspension job then suspends the Service); still unknown -> left to staff.
    The gateway is asked first, with no lock held; then the open renewal invoices and the Services
    are locked (the billing lock order) and the answers booked."""
    actor = Actor.system("billing.unknown_payments")
    looked_up = debit_lookup.unknown_look_up(ids)
    with transaction.atomic():
        usage_collection.open_collected_invoices(ids, lock=True)
        services = locked_services(ids)
        effects = Effects()
        remaining, _in_doubt = debit_lookup.reconcile_unknown(
            services, looked_up, day=day, now=now, actor=actor, effects=effects
        )
        effects.flush(now)
    return len(services) - len(remaining)


def _reconcile_payments(ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """REN-8: each payment looked up by its key and booked (`payment_reconcile`: one at a time, as
    members pay one at a time). Returns how many were settled."""
    settled = 0
    for payment in Payment.objects.filter(pk__in=list(ids)).order_by("pk"):
        before = payment.status
        settled += payments.payment_reconcile(payment=payment, now=now).status != before
    return settled


@register_job(name=warranty.JOB_WARRANTY, order=200, rule="RW-3")
def renewal_warranty(*, day: dt.date, now: dt.datetime) -> int:
    """RW-3, RW-5: protected Services unpaid on E - 2 are renewed by the provider; a last notice
    through every channel before the working period ends."""
    renewed = in_batches(warranty.warranty_due(day), warranty.warranty_renew_run, day=day, now=now)
    return renewed + in_batches(warranty.warranty_final_notice_due(day), _warranty_final_notices, day=day, now=now)


def _warranty_final_notices(ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    with transaction.atomic():
        services = list(Service.objects.filter(pk__in=ids).select_related("plan__service_type", "organization"))
        keys = {s.pk: f"warranty-final:{s.pk}:{s.warranty_invoice_id}" for s in services}
        keys = unsent(keys)
        effects = Effects()
        for service in services:
            if service.pk not in keys:
                continue
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="warranty_final_notice",
                    context={"service": service, "reason": _("Renewal Warranty invoice unpaid")},
                    related=service,
                    channels=lifecycle.ALL_CHANNELS,
                    all_contacts=True,
                    dedupe_key=keys[service.pk],
                )
            )
        count = len(effects.notices)
        effects.notices.extend(warranty.legal_responsible_copies(effects.notices))  # RW-5
        effects.flush(now)
    return count


@register_job(name=lifecycle.JOB_REMINDERS, order=300, rule="REN-5")
def renewal_reminders(*, day: dt.date, now: dt.datetime) -> int:
    """REN-5: manual-renewal invoices on E - 14 and reminders on E - 30, E - 14, E - 7, E - 1."""
    return in_batches(lifecycle.reminders_due(day), lifecycle.reminders_run, day=day, now=now)


@register_job(name=lifecycle.JOB_SUSPENSION, order=400, rule="REN-3")
def suspension(*, day: dt.date, now: dt.datetime) -> int:
    """REN-3, REN-6, RW-3: unpaid Services are suspended, data kept."""
    return in_batches(lifecycle.suspension_due(day), lifecycle.suspend_run, day=day, now=now)


@register_job(name=lifecycle.JOB_TERMINATION, order=500, rule="REN-4")
def termination(*, day: dt.date, now: dt.datetime) -> int:
    """REN-4, RW-3: suspended unpaid Services are terminated after their grace days, data deleted."""
    return in_batches(lifecycle.termination_due(day), lifecycle.terminate_run, day=day, now=now)


@register_job(name=order_expiry.JOB_ORDER_EXPIRY, order=510, rule="ENF-5")
def order_invoice_expiry(*, day: dt.date, now: dt.datetime) -> int:
    """ENF-5: order invoices unpaid 30 days after issue are cancelled by a credit note and their
    waiting Services dropped; the customer is reminded 7 and 1 day(s) before."""
    return in_batches(order_expiry.order_expiry_due(day), order_expiry.order_expiry_run, day=day, now=now)
