"""Unknown debit outcomes looked up before any new attempt (SPEC REN-8): a charge whose outcome the
gateway did not give (a timeout) is asked for again by its idempotency key; found paid, it is booked
on its invoice and no new charge is made. Used by the debit attempts and by the daily look-up of
charges past their due date (subscriptions.jobs). The gateway is asked outside any transaction
(`unknown_look_up`); its answers are booked under the locks (`reconcile_unknown`).
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import F, Q

from audit.services import Actor, AuditSpec
from billing.gateway import ChargeResult, get_gateway
from billing.models import Invoice, MeansKind, Payment
from billing.services.invoices import invoice_apply_payment
from billing.services.posting import Effects
from core.bulk import IdIn
from subscriptions.models import RenewalAttempt, Service

Outcome = RenewalAttempt.Outcome
LookedUp = dict[int, ChargeResult | None]  # by attempt id: the gateway's answer (None: never received)


def _relevant() -> Q:
    """The attempts whose unknown outcome stands in the way of a new one: of the next term, of the
    invoice of a term renewed under the Renewal Warranty (RW-3), or a usage invoice's (USE-4)."""
    return (
        Q(term=F("service__term") + 1)
        | Q(invoice_id=F("service__warranty_invoice_id"))
        | Q(service__usage_based=True, term=0)
    )


def unknown_look_up(service_ids: Iterable[int]) -> LookedUp:
    """REN-8: ask the gateway, by their keys, for the outcome of the Services' unknown charges. Called
    outside any transaction: the gateway is a remote service, and no row lock waits on it."""
    unknown = (
        RenewalAttempt.objects.filter(IdIn("service_id", service_ids), outcome=Outcome.UNKNOWN)
        .filter(_relevant())
        .values_list("pk", "idempotency_key")
    )
    pairs = list(unknown)
    if not pairs:
        return {}
    gateway = get_gateway()
    return {pk: gateway.lookup(key) for pk, key in pairs}


def reconcile_unknown(
    services: list[Service], looked_up: LookedUp, *, day: dt.date, now: dt.datetime, actor: Actor, effects: Effects
) -> tuple[list[Service], set[int] | None]:
    """REN-8: before a new attempt, an earlier attempt of the same term whose outcome is unknown is
    booked with what the gateway answered to `unknown_look_up` — and one that charged the invoice
    of a term renewed under the Renewal Warranty and still unpaid (RW-3), whatever the term it was
    made for. Succeeded: booked now (the invoice is paid, no new charge). Declined: a normal
    failure, today's attempt goes on. Still unknown, or not looked up (it became unknown since):
    no new charge today. Call with the Services locked. Returns the Services still to attempt and
    those left in doubt (None: there was nothing to look up)."""
    unknown = list(
        RenewalAttempt.objects.filter(IdIn("service_id", [s.pk for s in services]), outcome=Outcome.UNKNOWN)
        .filter(_relevant())
        .select_related("invoice")
        .order_by("pk")
    )
    if not unknown:
        return services, None
    by_service = {s.pk: s for s in services}
    in_doubt, settled = set(), set()
    for attempt in unknown:
        result = looked_up.get(attempt.pk)
        if result is None or result.status == "unknown":
            in_doubt.add(attempt.service_id)
            continue
        attempt.settled_at = now
        service = by_service[attempt.service_id]
        if result.status != "succeeded":  # declined, or the bank asks the customer to confirm
            attempt.outcome, attempt.reason = Outcome.DECLINED, result.decline_reason
            attempt.save(update_fields=["outcome", "reason", "settled_at"])
            continue
        attempt.outcome = Outcome.RECONCILED
        attempt.save(update_fields=["outcome", "settled_at"])
        if book_reconciled(attempt, service, now=now, actor=actor):
            settled.add(service.pk)
    for attempt in unknown:
        if attempt.outcome != Outcome.UNKNOWN or attempt.service_id in settled:
            effects.audit.append(
                AuditSpec(
                    actor=actor,
                    action=f"renewal_attempt.{attempt.outcome}",
                    rule="REN-8",
                    obj=attempt,
                    organization=by_service[attempt.service_id].organization,
                    after={"key": attempt.idempotency_key, "looked_up": True},
                )
            )
    return [s for s in services if s.pk not in settled], in_doubt


def book_reconciled(attempt: RenewalAttempt, service: Service, *, now: dt.datetime, actor: Actor) -> bool:
    """The card part of an attempt turned out paid: its payment is booked on the invoice (the
    balance part was not taken while the card was in doubt, PRE-5). Returns whether that paid the
    invoice in full (the term is renewed); otherwise today's attempt collects the rest."""
    payment = Payment.objects.filter(idempotency_key=attempt.idempotency_key).first()
    if payment is not None and payment.status == Payment.Status.UNKNOWN:
        payment.status = Payment.Status.SUCCEEDED
        payment.save(update_fields=["status"])
    elif payment is None:
        payment = Payment.objects.create(
            organization=service.organization,
            invoice=attempt.invoice,
            means=attempt.means,
            kind=MeansKind.CARD,
            amount=attempt.card_amount,
            currency=service.currency,
            status=Payment.Status.SUCCEEDED,
            idempotency_key=attempt.idempotency_key,
            created_at=now,
        )
    attempt.payment = payment
    attempt.save(update_fields=["payment"])
    if attempt.invoice_id is None:
        return False
    invoice = Invoice.objects.select_for_update().get(pk=attempt.invoice_id)
    if invoice.status == Invoice.Status.OPEN and payment.amount <= invoice.amount_due:
        invoice_apply_payment(invoice=invoice, amount=payment.amount, actor=actor, rule="REN-8", now=now)
    service.refresh_from_db()
    return invoice.status != Invoice.Status.OPEN
