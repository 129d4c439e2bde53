"""Money received for invoices (SPEC BIL-3, BIL-5, PRE-3, PRE-5)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership
from audit.services import Actor, audit_record
from billing.gateway import get_gateway
from billing.models import Invoice, LedgerEntry, MeansKind, MeansRestriction, Payment, PaymentMeans
from billing.money import quantize
from billing.services.invoices import invoice_apply_payment
from billing.services.means import card_is_valid_on
from billing.services.prepaid import prepaid_account_lock, prepaid_credit, prepaid_pay_invoice
from core import clock
from core.errors import RuleViolation


def bank_transfer_record(
    *, invoice: Invoice, amount: Decimal, reference: str, staff_user: Any, now: dt.datetime
) -> Payment:
    """Staff record a bank transfer received for an invoice (BIL-5: transfers take up to 10 working
    days, so they are booked by hand when the money is on the account)."""
    amount = quantize(amount)
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != Invoice.Status.OPEN:
            raise RuleViolation(_("This invoice is not open."), rule="BIL-6")
        if amount <= 0 or amount > locked.amount_due:
            raise RuleViolation(
                _("At most %(due)s %(currency)s is due on this invoice.")
                % {"due": locked.amount_due, "currency": locked.currency},
                rule="BIL-5",
                status=400,
                field="amount",
            )
        payment = Payment.objects.create(
            organization=locked.organization,
            invoice=locked,
            kind=MeansKind.BANK_TRANSFER,
            amount=amount,
            currency=locked.currency,
            status=Payment.Status.SUCCEEDED,
            reference=reference[:100],
            recorded_by=staff_user,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="payment.bank_transfer_recorded",
            rule="BIL-5",
            obj=payment,
            organization=locked.organization,
            after={"invoice": locked.number, "amount": str(amount), "reference": reference},
            at=now,
        )
        invoice_apply_payment(invoice=locked, amount=amount, actor=actor, rule="BIL-5", now=now)
    return payment


def invoice_pay(
    *,
    invoice: Invoice,
    user: Any,
    prepaid_amount: Decimal,
    means: PaymentMeans | None,
    client_address: str | None = None,
    now: dt.datetime,
) -> Payment | None:
    """A member pays what is due on an invoice: `prepaid_amount` from the Prepaid Account (PRE-3) and
    the rest by card (BIL-4) — both or neither (PRE-5): a declined card consumes no balance.

    The card charge carries an idempotency key derived from the invoice and what is already paid, so
    a double click charges once. An unknown outcome (gateway timeout) books nothing: the payment is
    recorded as unknown, to be reconciled by `payment_reconcile` before anyone pays again (REN-8).
    Returns the card payment, or None when the balance paid everything.
    """
    prepaid_amount = quantize(prepaid_amount)
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        # Lock order of the Prepaid Account services: the account row, then the invoice row.
        account = prepaid_account_lock(invoice.organization)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != Invoice.Status.OPEN:
            raise RuleViolation(_("This invoice is not open: there is nothing to pay."), rule="BIL-6")
        _require_payer(locked, user)
        due = locked.amount_due
        if prepaid_amount < 0 or prepaid_amount > due:
            raise RuleViolation(
                _("Between 0 and %(due)s %(currency)s can come from the Prepaid Account.")
                % {"due": due, "currency": locked.currency},
                rule="PRE-3",
                status=400,
                field="prepaid_amount",
            )
        if prepaid_amount > account.balance:
            raise RuleViolation(
                _("The Prepaid Account's balance (%(currency)s %(balance)s) does not cover %(amount)s.")
                % {"currency": account.currency, "balance": account.balance, "amount": prepaid_amount},
                rule="PRE-1",
                field="prepaid_amount",
            )
        card_amount = due - prepaid_amount
        # The card first: the balance, locked above, is debited only once the card has paid (PRE-5).
        payment = None
        if card_amount:
            payment = card_charge(
                organization=locked.organization,
                means=means,
                amount=card_amount,
                currency=locked.currency,
                idempotency_key=f"invoice:{locked.pk}:paid:{locked.amount_paid}:card:{card_amount}:"
                f"{means.pk if means else 0}",
                actor=actor,
                now=now,
                invoice=locked,
                details={"invoice": locked.number},
            )
            if payment.status == Payment.Status.UNKNOWN:
                return payment  # nothing is booked, the balance is not used while the card is in doubt
        if prepaid_amount:
            prepaid_pay_invoice(
                invoice=locked, user=user, amount=prepaid_amount, now=now, client_address=client_address
            )
            locked.refresh_from_db()
        if payment is not None:
            invoice_apply_payment(invoice=locked, amount=card_amount, actor=actor, rule="BIL-4", now=now)
    return payment


def card_charge(
    *,
    organization: Any,
    means: PaymentMeans | None,
    amount: Decimal,
    currency: str,
    idempotency_key: str,
    actor: Actor,
    now: dt.datetime,
    invoice: Invoice | None = None,
    details: dict[str, Any] | None = None,
) -> Payment:
    """Charge a card of the Organization once (BIL-4, REN-8) and record the payment: SUCCEEDED, or
    UNKNOWN when the gateway timed out (to be reconciled by lookup). A declined card raises 402 and
    records nothing. Call inside the transaction that books what the payment pays for."""
    if means is None or means.kind != MeansKind.CARD or means.organization_id != organization.pk:
        raise RuleViolation(_("Choose one of your organization's cards."), rule="BIL-4", status=400, field="means")
    current = PaymentMeans.objects.filter(pk=means.pk).first()  # as stored now, not as the caller read it
    if current is None or not card_is_valid_on(current, clock.business_date(now)):
        raise RuleViolation(_("This card has expired or was removed."), rule="BIL-4", field="means")
    means = current
    if MeansRestriction.objects.filter(organization=organization, kind=MeansKind.CARD).exists():
        raise RuleViolation(
            _("This means of payment is not available to your organization. Please contact support."),
            rule="BIL-4",
            field="means",
        )
    result = get_gateway().charge(
        amount=amount, currency=currency, token=means.gateway_token, idempotency_key=idempotency_key, now=now
    )
    if result.status == "declined":
        raise RuleViolation(
            _("The card was declined (%(reason)s). Nothing was charged.") % {"reason": result.decline_reason},
            rule="BIL-4",
            status=402,
        )
    status = Payment.Status.SUCCEEDED if result.status == "succeeded" else Payment.Status.UNKNOWN
    payment = Payment.objects.create(
        organization=organization,
        invoice=invoice,
        means=means,
        kind=MeansKind.CARD,
        amount=amount,
        currency=currency,
        status=status,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    audit_record(
        actor=actor,
        action=f"payment.{status}",
        rule="BIL-4" if status == Payment.Status.SUCCEEDED else "REN-8",
        obj=payment,
        organization=organization,
        after={
            **(details or {}),
            "amount": str(amount),
            "currency": currency,
            "means": str(means),
            "key": idempotency_key,
        },
        at=now,
    )
    return payment


def payment_reconcile(*, payment: Payment, now: dt.datetime) -> Payment:
    """REN-8: ask the gateway what became of a charge whose outcome was unknown, and book it."""
    actor = Actor.system("billing.payment_reconcile")
    with transaction.atomic():
        locked = Payment.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=payment.pk)
        if locked.status != Payment.Status.UNKNOWN or not locked.idempotency_key:
            return locked
        result = get_gateway().lookup(locked.idempotency_key)
        if result is None or result.status == "unknown":
            return locked
        locked.status = Payment.Status.SUCCEEDED if result.status == "succeeded" else Payment.Status.FAILED
        locked.failure_reason = result.decline_reason
        locked.save(update_fields=["status", "failure_reason"])
        audit_record(
            actor=actor,
            action=f"payment.{locked.status}",
            rule="REN-8",
            obj=locked,
            organization=locked.organization,
            after={"key": locked.idempotency_key},
            at=now,
        )
        if locked.status == Payment.Status.SUCCEEDED and locked.invoice is not None:
            invoice = Invoice.objects.select_for_update().get(pk=locked.invoice.pk)
            if invoice.status == Invoice.Status.OPEN and locked.amount <= invoice.amount_due:
                invoice_apply_payment(invoice=invoice, amount=locked.amount, actor=actor, rule="REN-8", now=now)
            # else: the invoice was settled meanwhile — staff refund the surplus (visible in the admin)
        elif locked.status == Payment.Status.SUCCEEDED and locked.kind == MeansKind.CARD:
            # A card top-up of the Prepaid Account (it names no invoice): credited now, once (PRE-2).
            prepaid_credit(
                organization=locked.organization,
                kind=LedgerEntry.Kind.TOP_UP,
                amount=locked.amount,
                payment=locked,
                currency=locked.currency,
                now=now,
                actor=actor,
                rule="REN-8",
            )
    return locked


def _require_payer(invoice: Invoice, user: Any) -> None:
    membership = Membership.objects.filter(organization_id=invoice.organization_id, user=user).first()
    if membership is None:
        raise RuleViolation(_("No such invoice."), rule="ORG-5", status=404)
    if membership.role not in (
        Membership.Role.LEGAL_RESPONSIBLE,
        Membership.Role.ADMINISTRATOR,
        Membership.Role.BILLING,
    ):
        raise RuleViolation(
            _("Only a Legal Responsible, an administrator or a billing member can pay."), rule="ORG-5", status=403
        )
