"""Renewal of Services: debit attempts and what a paid renewal changes (SPEC REN-1, REN-2, REN-3,
REN-5, REN-6, REN-8, RW-2, RW-3, BIL-1, BIL-8, PRE-5, TIME-3). The terms and the renewal invoices
they pay: `subscriptions.services.renewal_invoices`; the charges and their booking:
`subscriptions.services.debit_charges`.

Everything here works on a batch of Services at once, with a fixed number of queries per batch
whatever its size (the daily run's cost grows with the work, not with the queries per Service); a
single Service (staff forcing a retry, a customer renewing now) is a batch of one through the same
code.

Exactly once (REN-8): a debit attempt is a row unique per (Service, term, day), written after the
Service rows are locked, so a second run of the day — a rerun, a second worker, a second beat —
finds the row and does nothing. The attempts' transaction commits them (CHARGING, with their
idempotency keys) before any card is charged; the charges then go to the gateway with no lock
held, and a second transaction books the answers. A run killed in between is resumed by the next
one with the same keys: the gateway answers, it does not charge again. An unknown outcome is looked
up (outside any lock too) before any new attempt of that term.

Which Services are due is one rule, written once as SQL (`debit_q`): it selects the day's batches
and it is evaluated again under the locks, after the unknown outcomes have been booked.

Lock order (as everywhere in billing): Prepaid Accounts, then invoices, then Services, then attempts.
"""

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils.translation import gettext_noop

from audit.services import Actor, AuditSpec
from billing.models import Invoice, MeansKind, MeansRestriction, PaymentMeans, PrepaidAccount
from billing.models.payments import AUTO_DEBIT_KINDS
from billing.services.means import card_is_valid_on
from billing.services.posting import Effects, of_kind, on_invoices_paid
from core import clock
from core.bulk import IdIn, bulk_insert, bulk_update
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import RenewalAttempt, Service
from subscriptions.services import credit_ledger, debit_lookup
from subscriptions.services import usage_collection as usage
from subscriptions.services.debit_charges import (
    JOB_DEBIT,
    Collected,
    attempt_evidence,
    attempts_book_paid,
    attempts_charge,
)
from subscriptions.services.renewal_invoices import (
    next_term,
    next_term_invoices,
    open_renewal_invoices,
    renewal_invoices_issue,
)

logger = logging.getLogger(__name__)

Outcome = RenewalAttempt.Outcome
Status = Service.Status
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


@on_invoices_paid
def renewal_invoices_paid(
    *, invoices: list[Invoice], actor: Actor, now: dt.datetime, effects: Effects, services: dict[int, Service]
) -> None:
    """A renewal invoice paid in full by any means (card, Prepaid Account, bank transfer recorded by
    staff, the daily run) renews — and reactivates — its Service at once (REN-3). `services`: those
    the caller locked already; the others are locked here."""
    paid = of_kind(invoices, Invoice.Kind.RENEWAL)
    if not paid:
        return
    known = dict(services)
    if missing := sorted({i.service_id for i in paid if i.service_id is not None} - known.keys()):
        query = Service.objects.select_for_update(of=("self",)).select_related("plan__service_type", "organization")
        known.update({s.pk: s for s in query.filter(IdIn("pk", missing)).order_by("pk")})
    day = clock.business_date(now)
    renewed = {}
    for invoice in paid:
        assert invoice.service_id is not None  # of_kind: invoices naming a Service
        service = known[invoice.service_id]
        if service.status == Status.TERMINATED:
            continue
        if apply_paid_renewal(service, invoice, day=day, now=now, actor=actor, effects=effects):
            renewed[service.pk] = service
    bulk_update(list(renewed.values()), SERVICE_RENEWAL_FIELDS)


# --- the debit attempts (REN-1, REN-2, REN-6, PRE-5) -----------------------------------------


def _window(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=settings.RENEWAL_FIRST_ATTEMPT_DAYS)


def next_term_q(day: dt.date) -> Q:
    """REN-1, REN-6: the next term is within its attempts' window on `day`: `E - 14 <= day <= E`, or
    the trial's end T (a usage trial pays nothing in advance, USE-8)."""
    return Q(status=Status.ACTIVE, expires_on__gte=day, expires_on__lte=_window(day)) | Q(
        status=Status.TRIAL, trial_ends_on__gte=day, trial_ends_on__lte=_window(day), usage_based=False
    )


def debit_q(day: dt.date) -> Q:
    """Who gets a debit attempt on `day`: auto-renewing, not declined, and either the next term is
    due (`next_term_q`), or the term the provider renewed under the Renewal Warranty is unpaid and
    its invoice's due date, the E it was renewed before, is not past (RW-3, REN-2 (Decision):
    attempts go on up to and including E), or a usage invoice is open (USE-4)."""
    warranty = Q(
        status=Status.ACTIVE,
        warranty_until__isnull=False,
        warranty_invoice__status=Invoice.Status.OPEN,
        warranty_invoice__due_date__gte=day,
        warranty_invoice__due_date__lte=_window(day),
    )
    return (next_term_q(day) | warranty | usage.usage_debit_q(day)) & Q(
        auto_renew=True, renewal_declined_at__isnull=True
    )


def _attempted(day: dt.date) -> Exists:
    """REN-8: the day's attempt already made (a rerun selects none that has one)."""
    return Exists(RenewalAttempt.objects.filter(service=OuterRef("pk"), day=day, forced_by__isnull=True))


def debit_due(day: dt.date) -> QuerySet[Service]:
    """Services that get a debit attempt on `day` (`debit_q`, indexed on status and dates) and have
    none yet: at most one attempt a day per Service (REN-8)."""
    return Service.objects.filter(debit_q(day)).exclude(_attempted(day)).order_by("pk")


def due_now(service_ids: Iterable[int], day: dt.date, *, forced: bool = False) -> dict[int, bool]:
    """`debit_q` evaluated again for Services locked by the caller (their rows as this transaction
    sees them), by id: whether it is their next term that is due (else a warranty term's invoice or
    a usage invoice). `forced`: staff force an attempt on a day that had one."""
    query = Service.objects.filter(debit_q(day), IdIn("pk", service_ids))
    if not forced:
        query = query.exclude(_attempted(day))
    next_due = ExpressionWrapper(next_term_q(day), output_field=BooleanField())
    return dict(query.annotate(next_due=next_due).values_list("pk", "next_due"))


def open_warranty_invoices(services: Iterable[Service], found: dict[tuple[int, int], Invoice]) -> dict[int, Invoice]:
    """RW-3: the open invoice of the term each Service was renewed for under the Renewal Warranty,
    among the open renewal invoices `found` (by Service)."""
    by_pk = {invoice.pk: invoice for invoice in found.values()}
    return {s.pk: by_pk[s.warranty_invoice_id] for s in services if s.warranty_invoice_id in by_pk}


@dataclass
class AutoDebitMeans:
    """The auto-debit means of each Organization of a batch, and the kinds staff restricted."""

    default: dict[int, PaymentMeans]
    restricted: set[tuple[int, str]]

    @classmethod
    def load(cls, organization_ids: Iterable[int]) -> "AutoDebitMeans":
        ids = set(organization_ids)
        default = {
            m.organization_id: m
            for m in PaymentMeans.objects.filter(
                IdIn("organization_id", ids), is_default=True, revoked_at__isnull=True, kind__in=AUTO_DEBIT_KINDS
            )
        }
        restricted = set(
            MeansRestriction.objects.filter(IdIn("organization_id", ids)).values_list("organization_id", "kind")
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
        due = due_now(service_ids, day)
        missing = [s for s in services if due.get(s.pk) and (s.pk, s.term + 1) not in found]
        renewal_invoices_issue(missing, day=day, actor=actor, rule="REN-5", now=now)
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
    """Make the day's debit attempt of each Service: the attempts in one transaction, the charges
    after it, their booking in a second one (a fixed number of queries each).

    For each Service still due: its next term's renewal invoice (issued now if none is open, at the
    price in force today, BIL-1), then the Prepaid Account's balance first and the remainder on
    the default means — both or neither (PRE-5). Success pays the invoice and extends the term; a
    declined card or no valid means is recorded and the customer e-mailed once for that attempt
    (REN-1, REN-2). `forced_by` (a staff user) makes an extra attempt even if the day had one.
    `known`: the Services as `renewal_invoices_run` read them just before (see locked_services).
    Returns how many attempts were recorded.
    """
    actor = actor or (Actor.for_user(forced_by) if forced_by is not None else Actor.system(JOB_DEBIT))
    looked_up = debit_lookup.unknown_look_up(service_ids)  # the gateway, before any lock is taken
    with transaction.atomic():
        organization_ids = set(
            Service.objects.filter(IdIn("pk", service_ids)).values_list("organization_id", flat=True)
        )
        accounts = {
            a.organization_id: a
            for a in PrepaidAccount.objects.select_for_update()
            .filter(IdIn("organization_id", organization_ids))
            .order_by("pk")
        }
        found, usage_open = usage.open_collected_invoices(service_ids, lock=True)
        services = locked_services(service_ids, known)
        effects = Effects()
        services, in_doubt = debit_lookup.reconcile_unknown(
            services, looked_up, day=day, now=now, actor=actor, effects=effects
        )
        if in_doubt is not None:  # an earlier charge may have been booked: read the invoices again
            found, usage_open = usage.open_collected_invoices(s.pk for s in services)
        # BIL-9: the Services' credits pay first; what they pay in full is no longer due (a renewal
        # paid renews its Service through the paid hooks, so `due_now` below no longer selects it).
        credit_ledger.credits_apply_collected(
            services, found, usage_open, skip=in_doubt or set(), actor=actor, now=now, effects=effects
        )
        due = due_now([s.pk for s in services], day, forced=forced_by is not None)
        services = [s for s in services if s.pk in due]
        attempts = _attempts_make(
            services,
            due=due,
            found=found,
            usage_open=usage_open,
            in_doubt=in_doubt or set(),
            accounts=accounts,
            day=day,
            now=now,
            actor=actor,
            forced_by=forced_by,
            effects=effects,
        )
        # REN-8: the unique (service, term, day) refuses a second attempt, and with it this whole
        # transaction (a batch paid from the balance included): nothing is charged before it commits.
        bulk_insert(attempts)
        attempt_evidence(attempts, actor=actor, effects=effects)
        effects.flush(now)
    charging = [a for a in attempts if a.outcome == Outcome.CHARGING]
    if charging:
        attempts_charge([a.pk for a in charging], now=now, actor=actor, known=services, attempts=charging)
    return len(attempts)


def _attempts_make(
    services: list[Service],
    *,
    due: dict[int, bool],
    found: dict[tuple[int, int], Invoice],
    usage_open: dict[int, list[Invoice]],
    in_doubt: set[int],
    accounts: dict[int, PrepaidAccount],
    day: dt.date,
    now: dt.datetime,
    actor: Actor,
    forced_by: Any,
    effects: Effects,
) -> list[RenewalAttempt]:
    """The attempts of the due Services, decided under the locks: CHARGING for a card part (charged
    after the commit), paid at once when the balance covers all (PRE-5), or why not."""
    next_due = {pk for pk, next_term_due in due.items() if next_term_due}
    warranties = open_warranty_invoices(services, found)
    open_invoices = next_term_invoices(services, found)
    missing = [s for s in services if s.pk in next_due and s.pk not in open_invoices]
    open_invoices.update(renewal_invoices_issue(missing, day=day, actor=actor, rule="REN-5", now=now))
    # RW-3, RW-4: a term the provider renewed under the Renewal Warranty and still unpaid is
    # collected first (the next term's invoice is issued all the same); otherwise a card that
    # works again would pay later terms while the Service is suspended for the unpaid one.
    open_invoices.update(warranties)
    collected = {s.pk: usage.usage_invoice_to_collect(s, usage_open, day) for s in services if s.usage_based}
    open_invoices.update({pk: invoice for pk, invoice in collected.items() if invoice is not None})
    means = AutoDebitMeans.load(s.organization_id for s in services)
    balances = {org_id: account.balance for org_id, account in accounts.items()}

    attempts: list[RenewalAttempt] = []
    paid_now: list[Collected] = []
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
        amount_due = invoice.amount_due
        attempt.amount = amount_due
        balance = balances.get(service.organization_id, Decimal("0.00"))
        prepaid = min(balance, amount_due)
        card = amount_due - prepaid
        chosen, why_not = (None, "") if card == 0 else means.usable(service.organization_id, day)
        if card and chosen is None:
            attempt.outcome, attempt.reason = Outcome.NO_MEANS, why_not
            continue
        # Reserved for this attempt; a failed card consumes none of it (PRE-5) and the next
        # attempt sees it again.
        balances[service.organization_id] = balance - prepaid
        attempt.prepaid_amount, attempt.card_amount, attempt.means = prepaid, card, chosen
        attempt.idempotency_key = _idempotency_key(
            service, number, day, attempt if forced_by is not None else None, invoice.pk
        )
        if card:
            attempt.outcome = Outcome.CHARGING
            continue
        attempt.outcome = Outcome.SUCCEEDED
        paid_now.append(Collected(attempt=attempt, service=service, invoice=invoice, card=card, prepaid=prepaid))
    attempts_book_paid(
        paid_now, accounts=accounts, services={s.pk: s for s in services}, actor=actor, now=now, effects=effects
    )
    return attempts
