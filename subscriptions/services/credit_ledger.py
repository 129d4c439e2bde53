"""The ledger of a Service's credits (SPEC BIL-9, PRE-5, BIL-6, BIL-13, EVD-1): spending them on the
Service's invoices and deleting them when it terminates. The customer's actions (buying, paying an
invoice from them) and the paid hook that credits a purchase: `subscriptions.services.credits`.

- Spending (`credits_apply`): the Service's renewal, usage and add-on invoices take the credits
  first, before the Prepaid Account and the card (PRE-5 applies to what is left): at each debit
  attempt (`credits_apply_collected`), at "renew now", when an add-on's fee is invoiced, and when the
  customer pays an open invoice from the credits. Through the one posting path
  (`billing.services.posting`): a payment of kind `credits`, the invoice paid, its paid hooks.
- No expiry: they carry over from month to month. When the Service terminates they are deleted,
  never refunded (`services_credits_delete`), and the termination's evidence names them.

The balance is `Service.credit_balance`, the sum of the append-only `ServiceCreditEntry` rows: the
Service's row lock is the balance's lock (the one lock order: accounts, invoices, Services), and
CHECK constraints refuse a negative balance on the Service and on every entry.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from audit.services import Actor, AuditSpec
from billing.models import Invoice, Payment
from billing.services.posting import Application, Effects, PaymentRecord, invoices_apply_payments, payments_record
from core.bulk import IdIn, bulk_insert, bulk_update
from subscriptions.models import RenewalAttempt, Service, ServiceCreditEntry

Kind = ServiceCreditEntry.Kind
CREDITS_PAYMENT_KIND = "credits"  # Payment.kind of an invoice paid with a Service's credits
# The invoices of a Service that its credits pay (not its order, nor a purchase of credits).
SPENT_ON = frozenset({Invoice.Kind.RENEWAL, Invoice.Kind.USAGE, Invoice.Kind.ADD_ON})


def credit_evidence(actor: Actor, service: Service, entry: ServiceCreditEntry, before: Decimal) -> AuditSpec:
    return AuditSpec(
        actor=actor,
        action=f"service_credit.{entry.kind}",
        rule="BIL-9",
        obj=service,
        organization=service.organization,
        before={"credit_balance": str(before)},
        after={
            "credit_balance": str(entry.balance_after),
            "amount": str(entry.amount),
            "currency": service.currency,
            "invoice": entry.invoice.number if entry.invoice is not None else None,
        },
    )


# --- spending --------------------------------------------------------------------------------


def credits_apply(
    invoices: Mapping[int, Sequence[Invoice]],
    *,
    services: dict[int, Service],
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
) -> dict[int, Decimal]:
    """BIL-9: pay the given open invoices of each Service (locked by the caller, as the invoices are)
    from its credits, in the order given, as far as they go: a payment of kind `credits` each, the
    balance and an entry, the invoice paid (and its paid hooks run: a renewal renews the Service).
    Invoices of other kinds, or not open, are left alone. Returns what each Service spent."""
    records: list[PaymentRecord] = []
    entries: list[ServiceCreditEntry] = []
    applications: list[Application] = []
    changed: dict[int, Service] = {}
    spent: dict[int, Decimal] = {}
    for service_id, service_invoices in invoices.items():
        service = services[service_id]
        for invoice in service_invoices:
            if service.credit_balance <= 0:
                break
            if invoice.kind not in SPENT_ON or invoice.status != Invoice.Status.OPEN or invoice.amount_due <= 0:
                continue
            if invoice.service_id != service.pk or invoice.currency != service.currency:
                raise ValueError(f"invoice {invoice.pk} is not one of service {service.pk}'s")
            amount = min(service.credit_balance, invoice.amount_due)
            before = service.credit_balance
            service.credit_balance = before - amount
            payment = Payment(
                organization=service.organization,
                invoice=invoice,
                kind=CREDITS_PAYMENT_KIND,
                amount=amount,
                currency=invoice.currency,
                status=Payment.Status.SUCCEEDED,
                created_at=now,
            )
            records.append(PaymentRecord(payment, "BIL-9", {"service": service.pk}))
            entry = ServiceCreditEntry(
                service=service,
                kind=Kind.INVOICE_PAYMENT,
                amount=-amount,
                balance_after=service.credit_balance,
                invoice=invoice,
                payment=payment,
                created_at=now,
            )
            entries.append(entry)
            effects.audit.append(credit_evidence(actor, service, entry, before))
            applications.append(Application(invoice=invoice, amount=amount, rule="BIL-9"))
            changed[service.pk] = service
            spent[service.pk] = spent.get(service.pk, Decimal("0.00")) + amount
    if not applications:
        return {}
    payments_record(records, actor=actor, effects=effects)
    for entry in entries:
        entry.payment_id = entry.payment.pk  # type: ignore[union-attr]
    bulk_insert(entries)
    bulk_update(list(changed.values()), ["credit_balance"])
    invoices_apply_payments(applications, actor=actor, now=now, effects=effects, services=services)
    return spent


def invoices_in_doubt(invoice_ids: Iterable[int]) -> set[int]:
    """REN-8: invoices with a debit attempt being charged or of unknown outcome: the credits leave
    them alone until the card's answer is known (a charge booked on an invoice that credits paid
    meanwhile would have to be refunded)."""
    in_doubt = (RenewalAttempt.Outcome.CHARGING, RenewalAttempt.Outcome.UNKNOWN)
    return set(
        RenewalAttempt.objects.filter(IdIn("invoice_id", invoice_ids), outcome__in=in_doubt).values_list(
            "invoice_id", flat=True
        )
    )


def credits_apply_collected(
    services: Sequence[Service],
    renewal: dict[tuple[int, int], Invoice],
    usage: dict[int, list[Invoice]],
    *,
    skip: set[int],
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
) -> None:
    """The debit engine's first step (BIL-9, before PRE-5): each locked Service's open renewal and
    usage invoices (locked) take its credits, due first first; `skip`: Services whose earlier charge
    is in doubt. The invoices paid in full are taken out of `renewal` and `usage`."""
    with_credits = {s.pk: s for s in services if s.credit_balance > 0 and s.pk not in skip}
    if not with_credits:
        return
    by_service: dict[int, list[Invoice]] = {pk: list(usage.get(pk, [])) for pk in with_credits}
    for (service_id, _term), invoice in renewal.items():
        if service_id in by_service:
            by_service[service_id].append(invoice)
    doubtful = invoices_in_doubt(i.pk for found in by_service.values() for i in found)
    for found in by_service.values():
        found[:] = sorted((i for i in found if i.pk not in doubtful), key=lambda i: (i.due_date, i.pk))
    if not credits_apply(by_service, services=with_credits, actor=actor, now=now, effects=effects):
        return
    for key in [key for key, invoice in renewal.items() if invoice.status != Invoice.Status.OPEN]:
        del renewal[key]
    for service_id in list(usage):
        usage[service_id] = [i for i in usage[service_id] if i.status == Invoice.Status.OPEN]


# --- termination -----------------------------------------------------------------------------


def services_credits_delete(
    services: Sequence[Service], *, actor: Actor, now: dt.datetime, effects: Effects
) -> dict[int, Decimal]:
    """BIL-9: the credits left on terminating Services (locked by the caller) are deleted, not
    refunded (BIL-13): an entry each and the balance set to zero. Returns what each lost, for the
    termination's evidence."""
    entries = []
    deleted: dict[int, Decimal] = {}
    for service in services:
        before = service.credit_balance
        if before <= 0:
            continue
        service.credit_balance = Decimal("0.00")
        entry = ServiceCreditEntry(
            service=service, kind=Kind.DELETED, amount=-before, balance_after=Decimal("0.00"), created_at=now
        )
        entries.append(entry)
        effects.audit.append(credit_evidence(actor, service, entry, before))
        deleted[service.pk] = before
    bulk_insert(entries)
    bulk_update([s for s in services if s.pk in deleted], ["credit_balance"])
    return deleted


def open_credit_purchases(service_ids: Sequence[int]) -> list[Invoice]:
    """The open purchases of credits of terminating Services, locked: cancelled by a credit note
    (BIL-6), as the credits they would buy are deleted."""
    return list(
        Invoice.objects.select_for_update()
        .filter(IdIn("service_id", service_ids), kind=Invoice.Kind.CREDITS, status=Invoice.Status.OPEN)
        .order_by("pk")
    )
