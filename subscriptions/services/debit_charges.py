"""Debit attempts charged outside any transaction, then booked (SPEC REN-8, REN-1, REN-2, PRE-5,
USE-4, EVD-1).

The shape (as payment platforms do it): the attempts' transaction records each attempt with its
idempotency key, as CHARGING, and commits; the gateway is then asked with no row lock held — a
remote call of 100–500 ms must not hold the locks of 500 Services, invoices and Prepaid Accounts;
a second transaction books the answers (`attempts_charge`). An attempt the balance pays in full
needs no gateway and is booked in the first transaction.

A run killed between the two leaves attempts CHARGING; the next debit run resumes them first
(`charging_resume_run`): one of the same day is sent again with the same key — the gateway answers
what it did the first time, or charges now if the first request never reached it — and one of an
earlier day is only looked up, and closed as INTERRUPTED when the gateway never received it (the
day's own attempt then runs as usual). Either way nobody is charged twice, and two runs resuming at
once book once: the second finds the attempt no longer CHARGING under its lock.

Booking a paid attempt goes through the one posting path (`billing.services.posting`), the same
functions as a member paying an invoice, so both write the same evidence.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from audit.services import Actor, AuditSpec
from billing.gateway import AUTHENTICATION_REQUIRED, ChargeRequest, ChargeResult, charge_many, get_gateway
from billing.models import Invoice, LedgerEntry, MeansKind, Payment, PrepaidAccount
from billing.services.posting import (
    Application,
    Effects,
    PaymentRecord,
    Posting,
    invoices_apply_payments,
    ledger_post,
    payments_record,
)
from billing.services.prepaid import PREPAID_PAYMENT_KIND
from core.bulk import IdIn, bulk_update
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import RenewalAttempt, Service
from subscriptions.services.renewal_invoices import due_date

Outcome = RenewalAttempt.Outcome
Status = Service.Status
JOB_DEBIT = "billing.debit_attempts"
# Why a charge that went through could not be applied (kept in the payment's evidence, for staff).
NOT_APPLIED = "the invoice was settled while the card was being charged"


def collect_rule(service: Service) -> str:
    return "USE-4" if service.usage_based else "REN-2"


@dataclass
class Collected:
    """An attempt whose money came in: `card` from the gateway (0 when the balance pays it all),
    up to `prepaid` from the Prepaid Account."""

    attempt: RenewalAttempt
    service: Service
    invoice: Invoice
    card: Decimal
    prepaid: Decimal


def attempts_book_paid(
    items: Sequence[Collected],
    *,
    accounts: dict[int, PrepaidAccount],
    services: dict[int, Service],
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
) -> None:
    """Book the money of paid attempts, with the accounts, invoices and Services locked: the
    payments, the balances debited (PRE-5), the invoices paid and, through the paid hooks, the
    Services renewed or reactivated. The balance part is what the balance still covers (it may
    have been spent while the card was charged); the rest stays due for the next attempt. A card
    charge whose invoice was settled meanwhile is recorded, not applied, for staff to refund."""
    records: list[PaymentRecord] = []
    postings: list[Posting] = []
    applications: list[Application] = []
    balances = {org: account.balance for org, account in accounts.items()}
    for item in items:
        attempt, service, invoice = item.attempt, item.service, item.invoice
        applies = invoice.status == Invoice.Status.OPEN and item.card <= invoice.amount_due
        if item.card:
            payment = Payment(
                organization=service.organization,
                invoice=invoice,
                means=attempt.means,
                kind=MeansKind.CARD,
                amount=item.card,
                currency=invoice.currency,
                status=Payment.Status.SUCCEEDED,
                idempotency_key=attempt.idempotency_key,
                created_at=now,
            )
            if applies:
                records.append(PaymentRecord(payment, collect_rule(service)))
            else:
                records.append(PaymentRecord(payment, "REN-8", {"not_applied": NOT_APPLIED}))
            attempt.payment = payment
        if not applies:
            attempt.prepaid_amount = Decimal("0.00")
            continue
        balance = balances.get(service.organization_id, Decimal("0.00"))
        prepaid = min(item.prepaid, balance, invoice.amount_due - item.card)
        attempt.prepaid_amount = prepaid
        if prepaid:
            balances[service.organization_id] = balance - prepaid
            payment = Payment(
                organization=service.organization,
                invoice=invoice,
                kind=PREPAID_PAYMENT_KIND,
                amount=prepaid,
                currency=invoice.currency,
                status=Payment.Status.SUCCEEDED,
                created_at=now,
            )
            records.append(PaymentRecord(payment, "PRE-5"))
            postings.append(
                Posting(
                    account=accounts[service.organization_id],
                    kind=LedgerEntry.Kind.INVOICE_PAYMENT,
                    amount=-prepaid,
                    rule="PRE-5",
                    invoice=invoice,
                    payment=payment,
                )
            )
            applications.append(Application(invoice=invoice, amount=prepaid, rule="PRE-5"))
            attempt.payment = attempt.payment or payment
        if item.card:
            applications.append(Application(invoice=invoice, amount=item.card, rule=collect_rule(service)))
    payments_record(records, actor=actor, effects=effects)
    ledger_post(postings, actor=actor, now=now, effects=effects)
    invoices_apply_payments(applications, actor=actor, now=now, effects=effects, services=services)


def attempts_charge(
    attempt_ids: Sequence[int],
    *,
    now: dt.datetime,
    actor: Actor,
    known: Sequence[Service] = (),
    answers: dict[int, ChargeResult | None] | None = None,
    attempts: Sequence[RenewalAttempt] = (),
) -> int:
    """Charge the card part of CHARGING attempts with no transaction open, then book the answers in
    one transaction. `answers` given (looked up for attempts of an earlier day): booked as they
    are, and an attempt the gateway never received is closed INTERRUPTED. `attempts`: the instances
    the attempts' transaction just wrote (with their invoice and means), used instead of reading
    them again. Returns how many attempts this call booked (a racing run may have booked the
    others)."""
    if not attempts:
        attempts = list(
            RenewalAttempt.objects.filter(IdIn("pk", attempt_ids), outcome=Outcome.CHARGING)
            .select_related("means", "invoice")
            .order_by("pk")
        )
    attempts = list(attempts)
    if not attempts:
        return 0
    if answers is None:
        results = charge_many(
            get_gateway(),
            [
                ChargeRequest(
                    amount=a.card_amount,
                    currency=a.invoice.currency if a.invoice else "",
                    token=a.means.gateway_token if a.means else "",
                    idempotency_key=a.idempotency_key,
                )
                for a in attempts
            ],
            now=now,
        )
        answers = {a.pk: result for a, result in zip(attempts, results, strict=True)}
    return _book_answers(attempts, answers, now=now, actor=actor, known=known)


def _book_answers(
    attempts: list[RenewalAttempt],
    answers: dict[int, ChargeResult | None],
    *,
    now: dt.datetime,
    actor: Actor,
    known: Sequence[Service],
) -> int:
    """Transaction 2: the accounts, the invoices, the Services, then the attempts still CHARGING
    (the one lock order), and each gateway answer booked."""
    with transaction.atomic():
        service_ids = sorted({a.service_id for a in attempts})
        by_pk = {service.pk: service for service in known}
        if all(pk in by_pk for pk in service_ids):
            organization_ids = {by_pk[pk].organization_id for pk in service_ids}
        else:
            organization_ids = set(
                Service.objects.filter(IdIn("pk", service_ids)).values_list("organization_id", flat=True)
            )
        accounts = {
            a.organization_id: a
            for a in PrepaidAccount.objects.select_for_update()
            .filter(IdIn("organization_id", organization_ids))
            .order_by("pk")
        }
        _lock_invoices(attempts)
        services = {s.pk: s for s in locked_services(service_ids, known)}
        still = set(
            RenewalAttempt.objects.select_for_update()
            .filter(IdIn("pk", [a.pk for a in attempts]), outcome=Outcome.CHARGING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        locked = [attempt for attempt in attempts if attempt.pk in still]
        paid: list[Collected] = []
        for attempt in locked:
            attempt.service = services[attempt.service_id]
            result = answers.get(attempt.pk)
            if result is None:  # looked up: the gateway never received it
                attempt.outcome, attempt.reason = Outcome.INTERRUPTED, ""
            elif result.status == "succeeded":
                assert attempt.invoice is not None  # a CHARGING attempt always collects an invoice
                attempt.outcome = Outcome.SUCCEEDED
                paid.append(
                    Collected(
                        attempt=attempt,
                        service=attempt.service,
                        invoice=attempt.invoice,
                        card=attempt.card_amount,
                        prepaid=attempt.prepaid_amount,
                    )
                )
                continue
            elif result.status == "unknown":
                attempt.outcome = Outcome.UNKNOWN
            else:  # declined; or the bank wants the customer to confirm, which an attempt cannot
                reason = result.decline_reason if result.status == "declined" else AUTHENTICATION_REQUIRED
                attempt.outcome, attempt.reason = Outcome.DECLINED, reason
            attempt.prepaid_amount = Decimal("0.00")  # PRE-5: a card that did not pay consumes no balance
        effects = Effects()
        attempts_book_paid(paid, accounts=accounts, services=services, actor=actor, now=now, effects=effects)
        bulk_update(locked, ["outcome", "reason", "prepaid_amount", "payment"])
        attempt_evidence(locked, actor=actor, effects=effects)
        effects.flush(now)
    return len(locked)


_INVOICE_STATE = ("status", "amount_paid", "amount_credited")


def _lock_invoices(attempts: Sequence[RenewalAttempt]) -> None:
    """The attempts' invoices locked, in id order, and what a payment may have changed on them since
    they were read written onto the instances (plain values: no second model instance each)."""
    by_pk = {a.invoice_id: a.invoice for a in attempts if a.invoice is not None}
    rows = Invoice.objects.select_for_update().filter(IdIn("pk", by_pk)).order_by("pk")
    for pk, *values in rows.values_list("pk", *_INVOICE_STATE):
        by_pk[pk].__dict__.update(zip(_INVOICE_STATE, values, strict=True))


# --- resuming a run that stopped between its two transactions --------------------------------


def charging_due() -> QuerySet[RenewalAttempt]:
    """Attempts left CHARGING by a run that stopped before booking them (a partial index)."""
    return RenewalAttempt.objects.filter(outcome=Outcome.CHARGING).order_by("pk")


def charging_resume_run(attempt_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """REN-8: an attempt of `day` is charged again with its key (answered, never charged twice);
    an earlier one is looked up only. Both are then booked as `attempts_charge` books."""
    actor = Actor.system(JOB_DEBIT)
    attempts = list(RenewalAttempt.objects.filter(IdIn("pk", attempt_ids), outcome=Outcome.CHARGING))
    today = [a.pk for a in attempts if a.day == day]
    earlier = [a for a in attempts if a.day != day]
    done = attempts_charge(today, now=now, actor=actor) if today else 0
    if earlier:
        gateway = get_gateway()
        answers = {a.pk: gateway.lookup(a.idempotency_key) for a in earlier}
        done += attempts_charge([a.pk for a in earlier], now=now, actor=actor, answers=answers)
    return done


# --- evidence and notices of attempts ---------------------------------------------------------


def attempt_evidence(attempts: Sequence[RenewalAttempt], *, actor: Actor, effects: Effects) -> None:
    """One event per attempt that did not pay, and one e-mail per failed attempt (REN-2) or missing
    means (REN-1). A paid attempt's evidence is its payment (with its key), the invoice paid and
    the Service renewed; a CHARGING one gets its evidence when its answer is booked."""
    for attempt in attempts:
        service = attempt.service
        if attempt.outcome in (Outcome.SUCCEEDED, Outcome.CHARGING):
            continue
        rule = "REN-6" if service.status == Status.TRIAL else ("PRE-5" if attempt.prepaid_amount else "REN-1")
        if attempt.outcome in (Outcome.DECLINED, Outcome.UNKNOWN, Outcome.INTERRUPTED):
            rule = collect_rule(service) if attempt.outcome == Outcome.DECLINED else "REN-8"
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
                    **({"key": attempt.idempotency_key} if attempt.idempotency_key else {}),
                    **({"forced_by": attempt.forced_by.email} if attempt.forced_by else {}),
                },
            )
        )
        if attempt.outcome in (Outcome.DECLINED, Outcome.NO_MEANS):
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="usage_attempt_failed" if service.usage_based else "renewal_attempt_failed",
                    context={"service": service, "attempt": attempt, "due": attempt_due(service, attempt)},
                    related=service,
                    dedupe_key=f"renewal-attempt:{attempt.pk}",
                )
            )


def attempt_due(service: Service, attempt: RenewalAttempt) -> dt.date | None:
    """The last day of the attempts: E (T), or the due date of a warranty term's invoice (RW-3)."""
    if attempt.invoice is not None and attempt.term <= service.term:
        return attempt.invoice.due_date
    return due_date(service)
