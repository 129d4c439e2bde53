"""Renewal of Services: debit attempts and what a paid renewal changes (SPEC REN-1, REN-2, REN-3,
REN-5, REN-6, REN-8, RW-2, RW-3, BIL-1, BIL-8, PRE-5, TIME-3). The terms and the renewal invoices
they pay: `billing.services.renewal_invoices`.

Everything here works on a batch of Services at once, with a fixed number of queries per batch
whatever its size (the daily run's cost grows with the work, not with the queries per Service); a
single Service (staff forcing a retry, a customer renewing now, an invoice paid by hand) is a batch
of one through the same code.

Exactly once (REN-8): a debit attempt is a row unique per (Service, term, day); it is written in
the same transaction as the charge's booking, after the Service rows are locked, so a second run
of the day — a rerun, a second worker, a second beat — finds the row and does nothing. The card is
charged with an idempotency key derived from those ids: a run killed after the gateway answered
and before the commit asks again with the same key and gets the same answer, never a second
charge. An unknown outcome is looked up before any new attempt of that term.

Lock order (as everywhere in billing): Prepaid Accounts, then invoices, then Services.
"""

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_noop

from audit.services import Actor, AuditSpec, audit_record_many
from billing.gateway import ChargeRequest, charge_many, get_gateway
from billing.models import (
    Invoice,
    LedgerEntry,
    MeansKind,
    MeansRestriction,
    Payment,
    PaymentMeans,
    Plan,
    PrepaidAccount,
    RenewalAttempt,
    Service,
)
from billing.models.payments import AUTO_DEBIT_KINDS
from billing.services import usage_collection as usage
from billing.services.debit_lookup import reconcile_unknown
from billing.services.invoices import on_invoice_paid
from billing.services.means import card_is_valid_on
from billing.services.prepaid import PREPAID_PAYMENT_KIND
from billing.services.renewal_invoices import (
    due_date,
    next_term,
    next_term_invoices,
    open_renewal_invoices,
    renewal_invoices_issue,
)
from core import clock
from core.bulk import bulk_insert, bulk_update
from notifications.services import NoticeSpec, notify_many

logger = logging.getLogger(__name__)

Outcome = RenewalAttempt.Outcome
Status = Service.Status
JOB_DEBIT = "billing.debit_attempts"
REACTIVABLE = {
    Service.SuspensionReason.UNPAID,
    Service.SuspensionReason.TRIAL_LAPSED,
    Service.SuspensionReason.WARRANTY_UNPAID,
}

# Why an attempt could not charge (kept on the attempt and shown to the customer).
NO_MEANS_NONE = gettext_noop("no default means of payment that allows automatic debit")
NO_MEANS_CARD_INVALID = gettext_noop("the default card has expired or was removed")
NO_MEANS_RESTRICTED = gettext_noop("this means of payment is restricted for your organization")
NO_MEANS_PAYPAL = gettext_noop("PayPal cannot be debited automatically by this portal yet")
AWAITING_LOOKUP = gettext_noop("an earlier charge is still being checked with the payment provider")

# --- what a paid renewal changes -------------------------------------------------------------


@dataclass
class Effects:
    """What a batch writes besides its own rows: evidence and notices, written once at the end."""

    audit: list[AuditSpec] = field(default_factory=list)
    notices: list[NoticeSpec] = field(default_factory=list)

    def flush(self, now: dt.datetime) -> None:
        notify_many(self.notices, now=now)
        # Last: the chain head is locked from here to the commit, and parallel batches queue on it.
        audit_record_many(self.audit, at=now)
        self.audit, self.notices = [], []


def apply_paid_renewal(
    service: Service, invoice: Invoice, *, day: dt.date, now: dt.datetime, actor: Actor, effects: Effects
) -> bool:
    """The Service after its renewal invoice is paid in full (the caller saves it): the term it
    pays is added from the anchor (TIME-3; a trial's first term starts on T, REN-6); a Renewal
    Warranty renewal that was waiting for this payment is settled (RW-3); a Service suspended for
    non-payment works again at once (REN-3). Returns whether the Service changed."""
    before = {"status": service.status, "term": service.term, "expires_on": service.expires_on}
    changed = False
    if invoice.term == service.term + 1:
        number, start, end = next_term(service)
        if service.anchor_date is None:
            service.anchor_date = start
            # MB-2: the time it became a paid Service, also for a lapsed trial paid while suspended
            service.activated_at = service.activated_at or now
        service.term = number
        service.expires_on = end
        changed = True
    warranty_paid = service.warranty_invoice_id == invoice.pk
    if warranty_paid:
        service.warranty_invoice = None
        service.warranty_until = None
        changed = True
    reactivated = (
        service.status == Status.SUSPENDED
        and service.suspension_reason in REACTIVABLE
        and service.warranty_invoice_id is None
        and service.expires_on is not None
        and (
            service.expires_on > day
            # RW-3 (Decision): paying the warranty's invoice is enough; the next term's invoice then
            # runs its own REN-1…REN-4 course from its own E (the daily run suspends the Service
            # again if that E is past and the next term unpaid, REN-3).
            or (warranty_paid and service.suspension_reason == Service.SuspensionReason.WARRANTY_UNPAID)
        )
    )
    if service.status == Status.TRIAL and service.anchor_date is not None:
        service.status = Status.ACTIVE
        service.activated_at = service.activated_at or now
        changed = True
    if reactivated:
        service.status = Status.ACTIVE
        service.suspended_at = None
        service.suspension_reason = ""
        service.terminates_on = None
        changed = True
    if changed:
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="service.reactivated" if reactivated else "service.renewed",
                rule=("RW-3" if warranty_paid else "REN-3")
                if reactivated
                else ("REN-6" if before["term"] == 0 else "REN-2"),
                obj=service,
                organization=service.organization,
                before=before,
                after={
                    "status": service.status,
                    "term": service.term,
                    "expires_on": service.expires_on,
                    "invoice": invoice.number,
                },
            )
        )
        effects.notices.append(
            NoticeSpec(
                organization=service.organization,
                template="service_reactivated" if reactivated else "renewal_paid",
                context={"service": service, "invoice": invoice},
                related=service,
            )
        )
    return changed


SERVICE_RENEWAL_FIELDS = [
    "status",
    "anchor_date",
    "term",
    "expires_on",
    "activated_at",
    "warranty_invoice",
    "warranty_until",
    "suspended_at",
    "suspension_reason",
    "terminates_on",
]


@on_invoice_paid
def renewal_invoice_paid(*, invoice: Invoice, actor: Actor, now: dt.datetime) -> Service | None:
    """A renewal invoice paid in full by any means (card, Prepaid Account, bank transfer recorded by
    staff) renews — and reactivates — its Service at once (REN-3)."""
    if invoice.kind != Invoice.Kind.RENEWAL or invoice.service_id is None:
        return None
    service = (
        Service.objects.select_for_update(of=("self",))
        .select_related("plan__service_type", "organization")
        .get(pk=invoice.service_id)
    )
    if service.status == Status.TERMINATED:
        return None
    effects = Effects()
    if apply_paid_renewal(service, invoice, day=clock.business_date(now), now=now, actor=actor, effects=effects):
        service.save(update_fields=SERVICE_RENEWAL_FIELDS)
        effects.flush(now)
    return service


# --- the debit attempts (REN-1, REN-2, REN-6, PRE-5) -----------------------------------------


def debit_due(day: dt.date) -> QuerySet[Service]:
    """Services that get a debit attempt on `day` (indexed on status and dates): auto-renewing, not
    declined, and either their next term is due — `E - 14 <= day <= E`, or the trial's end T
    (REN-1, REN-6) — or the term the provider renewed under the Renewal Warranty is unpaid and its
    invoice's due date, the E it was renewed before, is not past (RW-3, REN-2: attempts go on to E).
    A usage Service is due while a usage invoice of it is open from its issue to its due date (USE-4).
    A Service has at most one attempt a day (a rerun selects none that has one, REN-8)."""
    window_end = day + dt.timedelta(days=settings.RENEWAL_FIRST_ATTEMPT_DAYS)
    attempted = RenewalAttempt.objects.filter(service=OuterRef("pk"), day=day, forced_by__isnull=True)
    return (
        Service.objects.filter(
            Q(status=Status.ACTIVE, expires_on__gte=day, expires_on__lte=window_end)
            | Q(status=Status.TRIAL, trial_ends_on__gte=day, trial_ends_on__lte=window_end, usage_based=False)
            | Q(
                status=Status.ACTIVE,
                warranty_until__isnull=False,
                warranty_invoice__status=Invoice.Status.OPEN,
                warranty_invoice__due_date__gte=day,
                warranty_invoice__due_date__lte=window_end,
            )
            | usage.usage_debit_q(day),
            auto_renew=True,
            renewal_declined_at__isnull=True,
        )
        .exclude(Exists(attempted))
        .order_by("pk")
    )


def _still_due(service: Service, day: dt.date) -> bool:
    """REN-1, REN-6: the next term is within its attempts' window on `day`."""
    due = due_date(service)
    return (
        not service.usage_based
        and service.status in (Status.ACTIVE, Status.TRIAL)
        and service.auto_renew
        and service.renewal_declined_at is None
        and due is not None
        and day <= due <= day + dt.timedelta(days=settings.RENEWAL_FIRST_ATTEMPT_DAYS)
    )


def open_warranty_invoices(services: Iterable[Service], found: dict[tuple[int, int], Invoice]) -> dict[int, Invoice]:
    """RW-3: the open invoice of the term each Service was renewed for under the Renewal Warranty,
    among the open renewal invoices `found` (by Service)."""
    by_pk = {invoice.pk: invoice for invoice in found.values()}
    return {s.pk: by_pk[s.warranty_invoice_id] for s in services if s.warranty_invoice_id in by_pk}


def _due(service: Service, day: dt.date, warranties: dict[int, Invoice], usage_open: dict[int, list[Invoice]]) -> bool:
    """Whether the Service gets an attempt on `day`: its next term (REN-1, REN-6), its warranty
    term's invoice (RW-3) or a usage invoice (USE-4)."""
    return (
        _still_due(service, day)
        or _warranty_still_due(service, warranties.get(service.pk), day)
        or usage.usage_invoice_to_collect(service, usage_open, day) is not None
    )


def _warranty_still_due(service: Service, warranty: Invoice | None, day: dt.date) -> bool:
    """RW-3, REN-2 (Decision): the warranty term's invoice gets a daily attempt up to and including
    its due date, the E the provider renewed the Service before (renewing on E - 2 does not end
    the attempts of E - 1 and E)."""
    return (
        warranty is not None
        and service.status == Status.ACTIVE
        and service.auto_renew
        and service.renewal_declined_at is None
        and day <= warranty.due_date <= day + dt.timedelta(days=settings.RENEWAL_FIRST_ATTEMPT_DAYS)
    )


@dataclass
class _Means:
    """The auto-debit means of each Organization of a batch, and the kinds staff restricted."""

    default: dict[int, PaymentMeans]
    restricted: set[tuple[int, str]]

    @classmethod
    def load(cls, organization_ids: Iterable[int]) -> "_Means":
        ids = set(organization_ids)
        default = {
            m.organization_id: m
            for m in PaymentMeans.objects.filter(
                organization_id__in=ids, is_default=True, revoked_at__isnull=True, kind__in=AUTO_DEBIT_KINDS
            )
        }
        restricted = set(
            MeansRestriction.objects.filter(organization_id__in=ids).values_list("organization_id", "kind")
        )
        return cls(default=default, restricted=restricted)

    def usable(self, organization_id: int, day: dt.date) -> tuple[PaymentMeans | None, str]:
        """BIL-4 / REN-1: the means debited on `day`, or why there is none."""
        means = self.default.get(organization_id)
        if means is None:
            return None, NO_MEANS_NONE
        if (organization_id, means.kind) in self.restricted:
            return None, NO_MEANS_RESTRICTED
        if means.kind == MeansKind.PAYPAL:
            return None, NO_MEANS_PAYPAL
        if not card_is_valid_on(means, day):
            return None, NO_MEANS_CARD_INVALID
        return means, ""


def _idempotency_key(
    service: Service, term: int, day: dt.date, forced: RenewalAttempt | None, invoice_id: int | None = None
) -> str:
    if service.usage_based and forced is None:  # USE-4: the attempt of a day names its invoice
        return usage.usage_idempotency_key(service, invoice_id, day)
    if forced is not None:  # each forced retry is its own charge: the staff user and the instant
        return f"renewal:{service.pk}:term:{term}:forced:{forced.forced_by_id}:{forced.created_at.timestamp():.6f}"
    return f"renewal:{service.pk}:term:{term}:day:{day.isoformat()}"


@dataclass
class _Plan:
    """What one Service's attempt will do, decided before anything is charged."""

    service: Service
    invoice: Invoice
    attempt: RenewalAttempt
    prepaid: Decimal = Decimal("0.00")
    card: Decimal = Decimal("0.00")
    means: PaymentMeans | None = None


def renewal_invoices_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> list[Service]:
    """The next term's renewal invoice of each Service of a debit batch that is still due and has
    none open (price in force on `day`, BIL-1), in a transaction of its own before the attempts.

    Issuing takes the one gapless invoice sequence (BIL-6), whose row stays locked until commit:
    alone in its transaction, an invoice batch holds it for the time of its inserts and evidence,
    not for the charges, bookings and notices of the attempts, so parallel batches (core.parallel)
    do not queue on it. Idempotent: an open invoice of the next term is used, never issued again,
    and the database refuses a second one (REN-8). Returns the Services it read, for the attempts'
    transaction to lock again without reading their plans and Organizations a second time."""
    actor = Actor.system(JOB_DEBIT)
    with transaction.atomic():
        found = open_renewal_invoices(service_ids, lock=True)  # the billing lock order: invoices, then Services
        services = locked_services(service_ids)
        missing = [s for s in services if _still_due(s, day) and (s.pk, s.term + 1) not in found]
        renewal_invoices_issue(missing, day=day, actor=actor, rule="REN-5", now=now)
    return services


_SERVICE_COLUMNS = [field.attname for field in Service._meta.concrete_fields]


def locked_services(service_ids: Iterable[int], known: Sequence[Service] = ()) -> list[Service]:
    """The Services locked for update, in id order, with their Organization and with one Plan (and
    service type) instance per plan: what is computed from a plan (its name in each language) is
    computed once for the batch, not once per Service.

    `known` are instances of them read by an earlier transaction of the same batch: their rows are
    read again under the lock as plain values and written onto them, keeping the plan and the
    Organization they hold while the row still points at the same ones (a Service changed in
    between is simply up to date again); the others are read in full."""
    query = Service.objects.select_for_update(of=("self",)).filter(pk__in=list(service_ids)).order_by("pk")
    full = query.select_related("organization")
    if not known:
        return _with_plans(list(full))
    by_pk = {service.pk: service for service in known}
    services, unknown = [], []
    for row in query.values_list(*_SERVICE_COLUMNS):
        values = dict(zip(_SERVICE_COLUMNS, row, strict=True))
        service = by_pk.get(values["id"])
        if service is None or (service.plan_id, service.organization_id) != (
            values["plan_id"],
            values["organization_id"],
        ):
            unknown.append(values["id"])
            continue
        service.__dict__.update(values)
        services.append(service)
    if unknown:  # locked already, by the query above
        known_plans = {service.plan_id: service.plan for service in services}
        services.extend(_with_plans(list(full.filter(pk__in=unknown)), known_plans))
    return sorted(services, key=lambda service: service.pk)


def _with_plans(services: list[Service], known: dict[int, Plan] | None = None) -> list[Service]:
    """Each Service given its Plan and service type: those of `known`, the others read once per
    plan (one query), not joined into every row: a batch has a few plans and hundreds of Services."""
    plans = dict(known or {})
    if missing := {service.plan_id for service in services} - plans.keys():
        plans.update(Plan.objects.select_related("service_type").in_bulk(missing))
    for service in services:
        service.plan = plans[service.plan_id]
    return services


def debit_attempts_run(
    service_ids: Sequence[int],
    *,
    day: dt.date,
    now: dt.datetime,
    actor: Actor | None = None,
    forced_by: Any = None,
    known: Sequence[Service] = (),
) -> int:
    """Make the day's debit attempt of each Service (one transaction, a fixed number of queries).

    For each Service still due: its next term's renewal invoice (issued now if none is open, at the
    price in force today, BIL-1), then the Prepaid Account's balance first and the remainder on
    the default means — both or neither (PRE-5). Success pays the invoice and extends the term; a
    declined card or no valid means is recorded and the customer e-mailed once for that attempt
    (REN-1, REN-2). `forced_by` (a staff user) makes an extra attempt even if the day had one.
    `known`: the Services as `renewal_invoices_run` read them just before (see locked_services).
    Returns how many attempts were recorded.
    """
    actor = actor or (Actor.for_user(forced_by) if forced_by is not None else Actor.system(JOB_DEBIT))
    with transaction.atomic():
        organization_ids = set(Service.objects.filter(pk__in=service_ids).values_list("organization_id", flat=True))
        accounts = {
            a.organization_id: a
            for a in PrepaidAccount.objects.select_for_update()
            .filter(organization_id__in=organization_ids)
            .order_by("pk")
        }
        found, usage_open = usage.open_collected_invoices(service_ids, lock=True)
        services = locked_services(service_ids, known)
        warranties = open_warranty_invoices(services, found)
        services = [s for s in services if _due(s, day, warranties, usage_open)]
        if forced_by is None:  # REN-8: one attempt a day per Service, whatever the term
            done = set(
                RenewalAttempt.objects.filter(service__in=services, day=day, forced_by__isnull=True).values_list(
                    "service_id", flat=True
                )
            )
            services = [s for s in services if s.pk not in done]
        if not services:
            return 0
        effects = Effects()
        services, looked_up = reconcile_unknown(services, day=day, now=now, actor=actor, effects=effects)
        if looked_up is not None:  # an earlier charge may have been booked: read the invoices again
            found, usage_open = usage.open_collected_invoices(s.pk for s in services)
            warranties = open_warranty_invoices(services, found)
            services = [s for s in services if _due(s, day, warranties, usage_open)]
        in_doubt = looked_up or set()
        next_due = {s.pk for s in services if _still_due(s, day)}
        open_invoices = next_term_invoices(services, found)
        missing = [s for s in services if s.pk in next_due and s.pk not in open_invoices]
        open_invoices.update(renewal_invoices_issue(missing, day=day, actor=actor, rule="REN-5", now=now))
        # RW-3, RW-4: a term the provider renewed under the Renewal Warranty and still unpaid is
        # collected first (the next term's invoice is issued all the same); otherwise a card that
        # works again would pay later terms while the Service is suspended for the unpaid one.
        open_invoices.update(warranties)
        collected = {s.pk: usage.usage_invoice_to_collect(s, usage_open, day) for s in services if s.usage_based}
        open_invoices.update({pk: invoice for pk, invoice in collected.items() if invoice is not None})
        means = _Means.load(s.organization_id for s in services)
        balances = {org_id: account.balance for org_id, account in accounts.items()}

        attempts: list[RenewalAttempt] = []
        plans: list[_Plan] = []
        for service in services:
            # the next term's attempt; else one on the warranty term's invoice, up to its E (RW-3)
            if service.usage_based:  # USE-4: term 0, the attempt names the usage invoice it collects
                number = usage.USAGE_TERM
            elif service.pk in next_due:
                number = next_term(service)[0]
            else:
                number = warranties[service.pk].term or service.term
            invoice = open_invoices.get(service.pk)
            attempt = RenewalAttempt(
                service=service, term=number, day=day, forced_by=forced_by, created_at=now, invoice=invoice
            )
            attempts.append(attempt)
            if service.pk in in_doubt:
                attempt.outcome, attempt.reason = Outcome.AWAITING_LOOKUP, AWAITING_LOOKUP
                continue
            if invoice is None:  # no price in force: nothing to charge (logged when issuing)
                attempt.outcome, attempt.reason = Outcome.NO_MEANS, "no price in force"
                continue
            due = invoice.amount_due
            attempt.amount = due
            balance = balances.get(service.organization_id, Decimal("0.00"))
            prepaid = min(balance, due)
            card = due - prepaid
            chosen, why_not = (None, "") if card == 0 else means.usable(service.organization_id, day)
            if card and chosen is None:
                attempt.outcome, attempt.reason = Outcome.NO_MEANS, why_not
                continue
            # Reserved for this attempt; a failed card consumes none of it (PRE-5) and the next
            # attempt sees it again.
            balances[service.organization_id] = balance - prepaid
            attempt.prepaid_amount, attempt.card_amount, attempt.means = prepaid, card, chosen
            plans.append(
                _Plan(service=service, invoice=invoice, attempt=attempt, prepaid=prepaid, card=card, means=chosen)
            )

        _charge(plans, day=day, now=now)
        succeeded = [p for p in plans if p.attempt.outcome == Outcome.SUCCEEDED]
        _book(succeeded, accounts=accounts, day=day, now=now, actor=actor, effects=effects)
        # REN-8: the unique (service, term, day) refuses a second attempt, and with it this whole
        # transaction (charges included: a retry with the same keys is answered, not charged again).
        bulk_insert(attempts)
        _attempt_evidence(attempts, actor=actor, effects=effects)
        effects.flush(now)
    return len(attempts)


def _charge(plans: list[_Plan], *, day: dt.date, now: dt.datetime) -> None:
    """The card parts, all at once, each with its idempotency key; the rest paid by the balance."""
    with_card = [p for p in plans if p.card]
    for plan in plans:
        plan.attempt.idempotency_key = _idempotency_key(
            plan.service,
            plan.attempt.term,
            day,
            plan.attempt if plan.attempt.forced_by_id else None,
            plan.invoice.pk,
        )
        if not plan.card:
            plan.attempt.outcome = Outcome.SUCCEEDED
    if not with_card:
        return
    results = charge_many(
        get_gateway(),
        [
            ChargeRequest(
                amount=p.card,
                currency=p.service.currency,
                token=p.means.gateway_token if p.means else "",
                idempotency_key=p.attempt.idempotency_key,
            )
            for p in with_card
        ],
        now=now,
    )
    for plan, result in zip(with_card, results, strict=True):
        if result.status == "succeeded":
            plan.attempt.outcome = Outcome.SUCCEEDED
        elif result.status == "declined":
            plan.attempt.outcome, plan.attempt.reason = Outcome.DECLINED, result.decline_reason
        else:
            plan.attempt.outcome = Outcome.UNKNOWN
        if plan.attempt.outcome != Outcome.SUCCEEDED:
            plan.attempt.prepaid_amount = Decimal("0.00")  # PRE-5: a failed card consumes no balance


def _book(
    plans: list[_Plan],
    *,
    accounts: dict[int, PrepaidAccount],
    day: dt.date,
    now: dt.datetime,
    actor: Actor,
    effects: Effects,
) -> None:
    """Record the payments of the succeeded attempts, debit the balances, pay the invoices and renew
    the Services: bulk writes, the same evidence as the one-by-one services."""
    payments: list[Payment] = []
    for plan in plans:
        if plan.card:
            plan.card_payment = Payment(  # type: ignore[attr-defined]
                organization=plan.service.organization,
                invoice=plan.invoice,
                means=plan.means,
                kind=MeansKind.CARD,
                amount=plan.card,
                currency=plan.service.currency,
                status=Payment.Status.SUCCEEDED,
                idempotency_key=plan.attempt.idempotency_key,
                created_at=now,
            )
            payments.append(plan.card_payment)  # type: ignore[attr-defined]
        if plan.prepaid:
            plan.prepaid_payment = Payment(  # type: ignore[attr-defined]
                organization=plan.service.organization,
                invoice=plan.invoice,
                kind=PREPAID_PAYMENT_KIND,
                amount=plan.prepaid,
                currency=plan.service.currency,
                status=Payment.Status.SUCCEEDED,
                created_at=now,
            )
            payments.append(plan.prepaid_payment)  # type: ignore[attr-defined]
    bulk_insert(payments)
    entries = []
    for plan in plans:
        plan.attempt.payment = getattr(plan, "card_payment", None) or getattr(plan, "prepaid_payment", None)
        for payment in (getattr(plan, "card_payment", None), getattr(plan, "prepaid_payment", None)):
            if payment is not None:
                effects.audit.append(
                    AuditSpec(
                        actor=actor,
                        action="payment.succeeded",
                        rule="PRE-5" if payment.kind == PREPAID_PAYMENT_KIND else _collect_rule(plan.service),
                        obj=payment,
                        organization=plan.service.organization,
                        after={
                            "kind": payment.kind,
                            "amount": str(payment.amount),
                            "currency": payment.currency,
                            "invoice": plan.invoice.number,
                            **({"key": payment.idempotency_key} if payment.idempotency_key else {}),
                        },
                    )
                )
        if plan.prepaid:
            account = accounts[plan.service.organization_id]
            before = account.balance
            account.balance -= plan.prepaid
            entry = LedgerEntry(
                account=account,
                kind=LedgerEntry.Kind.INVOICE_PAYMENT,
                amount=-plan.prepaid,
                balance_after=account.balance,
                invoice=plan.invoice,
                payment=plan.prepaid_payment,  # type: ignore[attr-defined]
                created_at=now,
            )
            entries.append(entry)
            effects.audit.append(
                AuditSpec(
                    actor=actor,
                    action=f"ledger_entry.{entry.kind}",
                    rule="PRE-5",
                    obj=entry,
                    organization=plan.service.organization,
                    before={"balance": before},
                    after={
                        "kind": entry.kind,
                        "amount": entry.amount,
                        "currency": account.currency,
                        "balance": account.balance,
                        "invoice": plan.invoice.number,
                    },
                )
            )
        plan.invoice.amount_paid += plan.prepaid + plan.card
        plan.invoice.status = Invoice.Status.PAID
    # Entries need their ids before their evidence is hashed: insert them first.
    bulk_insert(entries)
    touched = {plan.service.organization_id for plan in plans if plan.prepaid}
    bulk_update([accounts[org] for org in touched], ["balance"])
    bulk_update([plan.invoice for plan in plans], ["amount_paid", "status"])
    renewed = []
    for plan in plans:
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="invoice.paid",
                rule=_collect_rule(plan.service),
                obj=plan.invoice,
                organization=plan.service.organization,
                after={
                    "amount": str(plan.prepaid + plan.card),
                    "amount_paid": str(plan.invoice.amount_paid),
                    "status": "paid",
                },
            )
        )
        if apply_paid_renewal(plan.service, plan.invoice, day=day, now=now, actor=actor, effects=effects):
            renewed.append(plan.service)
    bulk_update(renewed, SERVICE_RENEWAL_FIELDS)


def _attempt_evidence(attempts: list[RenewalAttempt], *, actor: Actor, effects: Effects) -> None:
    """One event per attempt, and one e-mail per failed attempt (REN-2) or missing means (REN-1)."""
    for attempt in attempts:
        service = attempt.service
        if attempt.outcome == Outcome.SUCCEEDED:
            continue  # its evidence: the payment (with its key), the invoice paid and the Service renewed
        rule = "REN-6" if service.status == Status.TRIAL else ("PRE-5" if attempt.prepaid_amount else "REN-1")
        if attempt.outcome in (Outcome.DECLINED, Outcome.UNKNOWN):
            rule = _collect_rule(service) if attempt.outcome == Outcome.DECLINED else "REN-8"
        elif service.usage_based:
            rule = "USE-4"
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action=f"renewal_attempt.{attempt.outcome}",
                rule=rule,
                obj=attempt,
                organization=service.organization,
                after={
                    "service": service.pk,
                    "term": attempt.term,
                    "day": attempt.day,
                    "amount": str(attempt.amount),
                    "prepaid": str(attempt.prepaid_amount),
                    "card": str(attempt.card_amount),
                    "reason": attempt.reason,
                    "invoice": attempt.invoice.number if attempt.invoice else None,
                    **({"forced_by": attempt.forced_by.email} if attempt.forced_by else {}),
                },
            )
        )
        if attempt.outcome in (Outcome.DECLINED, Outcome.NO_MEANS):
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="usage_attempt_failed" if service.usage_based else "renewal_attempt_failed",
                    context={"service": service, "attempt": attempt, "due": _attempt_due(service, attempt)},
                    related=service,
                    dedupe_key=f"renewal-attempt:{attempt.pk}",
                )
            )


def _collect_rule(service: Service) -> str:
    return "USE-4" if service.usage_based else "REN-2"


def _attempt_due(service: Service, attempt: RenewalAttempt) -> dt.date | None:
    """The last day of the attempts: E (T), or the due date of a warranty term's invoice (RW-3)."""
    if attempt.invoice is not None and attempt.term <= service.term:
        return attempt.invoice.due_date
    return due_date(service)
