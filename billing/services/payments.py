"""Money received for invoices (SPEC BIL-3, BIL-4, BIL-5, PRE-3, PRE-5, REN-8).

A card is charged outside any transaction: the first records the payment as PROCESSING with its
idempotency key (`card_payment_open`), the charge holds no lock (`card_payment_charge`), the next
transaction books the answer (`card_payment_close`). A request stopped in between leaves the
payment PROCESSING; the daily look-up (`payment_reconcile`) asks the gateway by its key and books
what happened, or marks it failed when the gateway never received it.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import BILLING_ROLES, require_member, require_role
from audit.services import Actor, audit_record
from billing import hooks
from billing.declines import NEVER_RECEIVED, decline_sentence
from billing.gateway import AUTHENTICATION_REQUIRED, ChargeResult, get_gateway
from billing.models import Invoice, LedgerEntry, MeansKind, MeansRestriction, Payment, PaymentMeans
from billing.money import quantize
from billing.services.invoices import invoice_apply_payment
from billing.services.means import card_is_valid_on, card_on_file, means_remove
from billing.services.posting import payment_evidence
from billing.services.prepaid import (
    PAYABLE_INVOICE_KINDS,
    prepaid_account_lock,
    prepaid_credit,
    prepaid_pay_invoice,
)
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

    The card is charged outside any transaction (REN-8): the first one checks and records the
    payment as PROCESSING with its idempotency key, the charge holds no lock, the second one books
    the answer. While a charge of the invoice is processing or unknown, paying it again is refused.
    A declined card raises 402 (the failed payment stays recorded); an unknown outcome (gateway
    timeout) books nothing until `payment_reconcile` learns it (REN-8). Returns the card payment,
    or None when the balance paid everything.
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
        require_no_charge_in_doubt(locked)
        due = locked.amount_due
        if prepaid_amount < 0 or prepaid_amount > due:
            raise RuleViolation(
                _("Between 0 and %(due)s %(currency)s can come from the Prepaid Account.")
                % {"due": due, "currency": locked.currency},
                rule="PRE-3",
                status=400,
                field="prepaid_amount",
            )
        if prepaid_amount and locked.kind not in PAYABLE_INVOICE_KINDS:
            # Before any card is charged: refused after the charge, the card's money would be in doubt.
            raise RuleViolation(
                _("The Prepaid Account pays only for ordering, renewing or using Services."),
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
        if not card_amount:
            prepaid_pay_invoice(
                invoice=locked, user=user, amount=prepaid_amount, now=now, client_address=client_address
            )
            return None
        # One key per try: a try declined is followed by a new one, never by the same answer again.
        tries = Payment.objects.filter(invoice=locked, kind=MeansKind.CARD).count()
        payment = card_payment_open(
            organization=locked.organization,
            means=means,
            amount=card_amount,
            currency=locked.currency,
            idempotency_key=f"invoice:{locked.pk}:card:{tries + 1}",
            now=now,
            invoice=locked,
        )
    result = card_payment_charge(payment, now=now)  # no lock held
    with transaction.atomic():
        account = prepaid_account_lock(invoice.organization)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        payment = card_payment_close(payment, result, actor=actor, now=now, details={"invoice": locked.number})
        if payment.status == Payment.Status.SUCCEEDED and locked.status == Invoice.Status.OPEN:
            # The card paid: the balance part now (PRE-5), as far as the balance still covers it
            # (it may have been spent meanwhile: the rest stays due), then the card's part.
            part = max(min(prepaid_amount, account.balance, locked.amount_due - card_amount), Decimal("0.00"))
            if part:
                prepaid_pay_invoice(invoice=locked, user=user, amount=part, now=now, client_address=client_address)
                locked.refresh_from_db()
            if card_amount <= locked.amount_due:
                invoice_apply_payment(invoice=locked, amount=card_amount, actor=actor, rule="BIL-4", now=now)
    refuse_if_declined(payment)
    return payment


def invoice_pay_with_new_card(
    *,
    invoice: Invoice,
    user: Any,
    prepaid_amount: Decimal,
    card: dict[str, Any],
    save: bool,
    client_address: str | None = None,
    now: dt.datetime,
) -> Payment | None:
    """`invoice_pay` with a card entered on the invoice page (`card`: number, exp_month, exp_year,
    cvc): it is put on file as on the payment-methods page (BIL-4) — or the same card already on file
    is used — and charged. Without `save`, a card added for this payment is removed after it (the
    row stays, revoked: the payment points to it); a card the charge declined is removed too. The
    invoice is checked first, so a refused payment adds no card."""
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != Invoice.Status.OPEN:
            raise RuleViolation(_("This invoice is not open: there is nothing to pay."), rule="BIL-6")
        _require_payer(locked, user)
        require_no_charge_in_doubt(locked)
        balance_pays_all = quantize(prepaid_amount) >= locked.amount_due
    if balance_pays_all:  # no card needed: invoice_pay checks the amount and the balance
        return invoice_pay(
            invoice=invoice,
            user=user,
            prepaid_amount=prepaid_amount,
            means=None,
            client_address=client_address,
            now=now,
        )
    means, added = card_on_file(
        organization=invoice.organization,
        user=user,
        number=card["number"],
        exp_month=card["exp_month"],
        exp_year=card["exp_year"],
        cvc=card["cvc"],
        make_default=save
        and not PaymentMeans.objects.filter(organization=invoice.organization_id, is_default=True).exists(),
        reuse=True,
        client_address=client_address,
        now=now,
    )
    keep = not added
    try:
        payment = invoice_pay(
            invoice=invoice,
            user=user,
            prepaid_amount=prepaid_amount,
            means=means,
            client_address=client_address,
            now=now,
        )
        keep = keep or save
    finally:
        if not keep:
            means_remove(means=means, user=user, client_address=client_address, now=now)
    return payment


def invoices_with_charge_in_doubt(invoice_ids: Iterable[int]) -> set[int]:
    """REN-8: of these invoices, those with a card charge being processed or of unknown outcome (it
    may have paid) — by a payment on the invoice page or an automatic debit. Two queries for any number."""
    ids = list(invoice_ids)
    in_doubt = (Payment.Status.PROCESSING, Payment.Status.UNKNOWN)
    paying = Payment.objects.filter(invoice_id__in=ids, status__in=in_doubt).values_list("invoice_id", flat=True)
    return set(paying) | hooks.invoices_in_doubt(ids)


def charge_in_doubt(invoice: Invoice) -> bool:
    """REN-8: a card charge of the invoice is in flight or in doubt."""
    return bool(invoices_with_charge_in_doubt([invoice.pk]))


def require_no_charge_in_doubt(invoice: Invoice) -> None:
    """REN-8: no second payment while a charge of the invoice is in doubt: the customer waits for the
    answer instead of paying twice."""
    if charge_in_doubt(invoice):
        raise RuleViolation(
            _("A card payment of this invoice is being checked with the payment provider. Please do not pay again."),
            rule="REN-8",
        )


def card_payment_open(
    *,
    organization: Any,
    means: PaymentMeans | None,
    amount: Decimal,
    currency: str,
    idempotency_key: str,
    now: dt.datetime,
    invoice: Invoice | None = None,
) -> Payment:
    """Check a card of the Organization (valid today, not restricted: BIL-4) and record its payment
    as PROCESSING, before the charge: call inside the transaction that checked what it pays for,
    then `card_payment_charge` after its commit and `card_payment_close` in the next one."""
    if means is None or means.kind != MeansKind.CARD or means.organization_id != organization.pk:
        raise RuleViolation(_("Choose one of your organization's cards."), rule="BIL-4", status=400, field="means")
    current = PaymentMeans.objects.filter(pk=means.pk).first()  # as stored now, not as the caller read it
    if current is None or not card_is_valid_on(current, clock.business_date(now)):
        raise RuleViolation(_("This card has expired or was removed."), rule="BIL-4", field="means")
    if MeansRestriction.objects.filter(organization=organization, kind=MeansKind.CARD).exists():
        raise RuleViolation(
            _("This means of payment is not available to your organization. Please contact support."),
            rule="BIL-4",
            field="means",
        )
    return Payment.objects.create(
        organization=organization,
        invoice=invoice,
        means=current,
        kind=MeansKind.CARD,
        amount=amount,
        currency=currency,
        status=Payment.Status.PROCESSING,
        idempotency_key=idempotency_key,
        created_at=now,
    )


def card_payment_charge(payment: Payment, *, now: dt.datetime) -> ChargeResult:
    """The charge itself, with the payment's key: call with no transaction open (no lock waits on
    the gateway). The same key again is answered, never charged twice."""
    assert payment.means is not None
    assert payment.idempotency_key
    return get_gateway().charge(
        amount=payment.amount,
        currency=payment.currency,
        token=payment.means.gateway_token,
        idempotency_key=payment.idempotency_key,
        now=now,
    )


def card_payment_close(
    payment: Payment, result: ChargeResult | None, *, actor: Actor, now: dt.datetime, details: dict[str, Any]
) -> Payment:
    """Book the gateway's answer on a PROCESSING payment (locked here; the caller locked what it pays
    for first): SUCCEEDED, FAILED (declined, or never received: `result` None) or UNKNOWN, with its
    evidence. A payment already answered — by a racing request or the look-up job — is returned as
    it is."""
    locked = Payment.objects.select_for_update(of=("self",)).select_related("means", "invoice").get(pk=payment.pk)
    if locked.status not in (Payment.Status.PROCESSING, Payment.Status.UNKNOWN):
        return locked
    if result is None:
        locked.status, locked.failure_reason = Payment.Status.FAILED, NEVER_RECEIVED
    elif result.status == "succeeded":
        locked.status = Payment.Status.SUCCEEDED
    elif result.status == "unknown":
        locked.status = Payment.Status.UNKNOWN
    else:  # declined; or the bank asks the customer to confirm (strong customer authentication)
        locked.status = Payment.Status.FAILED
        locked.failure_reason = result.decline_reason if result.status == "declined" else AUTHENTICATION_REQUIRED
    locked.save(update_fields=["status", "failure_reason"])
    answered = result is not None and result.status != "unknown" and not details.get("looked_up")
    if locked.failure_reason:
        details = {**details, "reason": locked.failure_reason}
    audit_record(
        actor=actor,
        action=f"payment.{locked.status}",
        rule="BIL-4" if answered else "REN-8",
        obj=locked,
        organization=locked.organization_id,
        after=payment_evidence(locked, details),
        at=now,
    )
    return locked


def refuse_if_declined(payment: Payment) -> None:
    """After the answer is committed: a declined card is the customer's to hear about (402)."""
    if payment.status == Payment.Status.FAILED:
        raise RuleViolation(
            _("%(reason)s Nothing was charged.") % {"reason": decline_sentence(payment.failure_reason)},
            rule="BIL-4",
            status=402,
        )


def payment_reconcile(*, payment: Payment, now: dt.datetime) -> Payment:
    """REN-8: ask the gateway what became of a charge whose outcome was unknown — or that a stopped
    request left PROCESSING — and book it. The gateway is asked with no lock held."""
    actor = Actor.system("billing.payment_reconcile")
    current = Payment.objects.select_related("organization").get(pk=payment.pk)
    status, key = current.status, current.idempotency_key
    if status not in (Payment.Status.UNKNOWN, Payment.Status.PROCESSING) or not key:
        return current
    if status == Payment.Status.PROCESSING and now - current.created_at < settings.PROCESSING_PAYMENT_STALE_AFTER:
        return current  # its request may still be waiting for the answer
    result = get_gateway().lookup(key)  # no lock held
    if (result is not None and result.status == "unknown") or (result is None and status == Payment.Status.UNKNOWN):
        return current  # still unknown, or lost by the gateway: staff check it (flagged)
    with transaction.atomic():
        prepaid_account_lock(current.organization)
        locked = Payment.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=payment.pk)
        if locked.status not in (Payment.Status.UNKNOWN, Payment.Status.PROCESSING):
            return locked
        locked = card_payment_close(locked, result, actor=actor, now=now, details={"looked_up": True})
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


def payments_in_doubt() -> Any:
    """Card payments whose answer is not booked: unknown, or left PROCESSING by a stopped request."""
    return Payment.objects.filter(
        status__in=(Payment.Status.UNKNOWN, Payment.Status.PROCESSING), idempotency_key__isnull=False
    ).order_by("pk")


def _require_payer(invoice: Invoice, user: Any) -> None:
    """ORG-5: who may pay an invoice; 404 for an Organization that is none of the user's business."""
    require_role(
        require_member(invoice.organization_id, user, refusal=_("No such invoice.")),
        BILLING_ROLES,
        refusal=_("Only a Legal Responsible, an administrator or a billing member can pay."),
    )
