"""Top-ups of the Prepaid Account (SPEC PRE-2, BIL-4, BIL-5, ORG-2, REN-8).

- By card, at once: the payment is recorded as processing, the card charged with no lock held
  (`billing.services.payments`), and the succeeded payment credited to the ledger in the next
  transaction. A declined card credits nothing (the failed payment stays recorded); an unknown
  outcome (gateway timeout) credits nothing until `payment_reconcile` has learnt from the gateway
  that the money moved.
- By bank transfer, later: the portal records a pending payment with the reference the customer
  quotes on the transfer (a structured one, which the CHF QR-bill carries: `billing.slips`); staff
  record it as received when the money is on the account (BIL-5: up to 10 working days), and only
  then is the balance credited.

Lock order, as in `billing.services.prepaid`: the account row first (its Organization is read with
it, not locked: docs/decisions.md, "Lock order"). Staff recording a transfer lock the payment row,
then the account (inside `prepaid_credit`), as `payment_reconcile` does.
"""

import datetime as dt
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.services import Actor, audit_record
from billing.models import LedgerEntry, MeansKind, MeansRestriction, Payment, PaymentMeans
from billing.money import quantize
from billing.services.payments import card_payment_charge, card_payment_close, card_payment_open, refuse_if_declined
from billing.services.prepaid import prepaid_account_lock, prepaid_credit, require_billing_member
from billing.slips import top_up_transfer_reference
from core.errors import RuleViolation

# The most one top-up may bring in, in the account's currency. A guard against typing mistakes
# (an extra zero) and against laundering through the balance (PRE-4 pays it back out); staff can
# still adjust the balance by hand above it.
MAX_TOP_UP = Decimal("10000.00")


def is_top_up(payment: Payment) -> bool:
    """A top-up is a payment of the customer's own money that names no invoice (a payment "from the
    Prepaid Account" always names the invoice it pays)."""
    return payment.invoice_id is None and payment.kind in (MeansKind.CARD, MeansKind.BANK_TRANSFER)


def _check_amount(amount: Decimal, currency: str) -> Decimal:
    """MONEY-1: a Decimal, rounded to the cent, above zero and at most MAX_TOP_UP."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise RuleViolation(_("Enter an amount."), rule="MONEY-1", status=400, field="amount")
    value = quantize(amount)
    if value <= 0:
        raise RuleViolation(_("The amount must be greater than zero."), rule="PRE-2", status=400, field="amount")
    if value > MAX_TOP_UP:
        raise RuleViolation(
            _("A top-up can be at most %(currency)s %(max)s.") % {"currency": currency, "max": MAX_TOP_UP},
            rule="PRE-2",
            status=400,
            field="amount",
        )
    return value


def _require_open_for_payments(organization: Organization) -> None:
    if organization.status == Organization.Status.BLOCKED:
        raise RuleViolation(_("This organization is blocked: please contact support."), rule="ORG-2", status=403)
    if organization.status == Organization.Status.TERMINATED:
        raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")


def _require_not_restricted(organization: Organization, kind: str) -> None:
    if MeansRestriction.objects.filter(organization=organization, kind=kind).exists():
        raise RuleViolation(
            _("This means of payment is not available to your organization. Please contact support."),
            rule="BIL-4",
            field="means",
        )


def prepaid_top_up_by_card(
    *,
    organization: Organization,
    user: User,
    amount: Decimal,
    means: PaymentMeans,
    client_address: str | None = None,
    now: dt.datetime,
) -> Payment:
    """PRE-2, BIL-4: a Legal Responsible, administrator or billing member funds the account with a
    card of the Organization, valid today. Returns the card payment: succeeded (and credited),
    or unknown (credited once reconciled, REN-8). A declined card raises 402 and leaves nothing.

    Each call is a new intention (a form submitted twice tops up twice), so the idempotency key
    is random; it still makes the gateway's answer to this one charge look-up-able."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        account = prepaid_account_lock(organization)
        locked_organization = account.organization
        require_billing_member(locked_organization, user)
        _require_open_for_payments(locked_organization)
        value = _check_amount(amount, account.currency)
        payment = card_payment_open(
            organization=locked_organization,
            means=means,
            amount=value,
            currency=account.currency,
            idempotency_key=f"topup:{locked_organization.pk}:{uuid.uuid4()}",
            now=now,
        )
    result = card_payment_charge(payment, now=now)  # REN-8: no lock held while the gateway answers
    with transaction.atomic():
        prepaid_account_lock(organization)
        payment = card_payment_close(payment, result, actor=actor, now=now, details={"top_up": True})
        if payment.status == Payment.Status.SUCCEEDED:
            prepaid_credit(
                organization=payment.organization,
                kind=LedgerEntry.Kind.TOP_UP,
                amount=value,
                payment=payment,
                now=now,
                actor=actor,
                rule="PRE-2",
            )
    refuse_if_declined(payment)
    return payment


def prepaid_top_up_by_transfer(
    *, organization: Organization, user: User, amount: Decimal, client_address: str | None = None, now: dt.datetime
) -> Payment:
    """PRE-2, BIL-5: a member announces a bank transfer. The pending payment carries the reference
    to quote; nothing is credited until staff record the money as received."""
    with transaction.atomic():
        account = prepaid_account_lock(organization)
        locked_organization = account.organization
        require_billing_member(locked_organization, user)
        _require_open_for_payments(locked_organization)
        value = _check_amount(amount, account.currency)
        _require_not_restricted(locked_organization, MeansKind.BANK_TRANSFER)
        payment = Payment.objects.create(
            organization=locked_organization,
            kind=MeansKind.BANK_TRANSFER,
            amount=value,
            currency=account.currency,
            status=Payment.Status.PENDING,
            created_at=now,
        )
        # What the customer quotes on the transfer (and the QR-bill carries), so that staff find it.
        payment.reference = top_up_transfer_reference(payment.pk, payment.currency)
        payment.save(update_fields=["reference"])
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="payment.pending",
            rule="BIL-5",
            obj=payment,
            organization=locked_organization,
            after={"top_up": True, "amount": value, "currency": account.currency, "reference": payment.reference},
            at=now,
        )
    return payment


def prepaid_top_up_transfer_received(*, payment: Payment, staff_user: User, now: dt.datetime) -> Payment:
    """BIL-5, PRE-2: staff record that the announced transfer reached the provider's account: the
    payment succeeds and the balance is credited, once — a second call is refused (the payment is
    no longer pending)."""
    if not staff_user.is_staff:
        raise RuleViolation(_("Only our staff can do this."), rule="BIL-5", status=403)
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if not is_top_up(locked) or locked.kind != MeansKind.BANK_TRANSFER:
            raise RuleViolation(_("This payment is not a top-up by bank transfer."), rule="BIL-5", status=400)
        if locked.status != Payment.Status.PENDING:
            raise RuleViolation(
                _("This top-up is not pending: it is %(status)s.") % {"status": locked.get_status_display()},
                rule="BIL-5",
            )
        locked.status = Payment.Status.SUCCEEDED
        locked.recorded_by = staff_user
        locked.save(update_fields=["status", "recorded_by"])
        audit_record(
            actor=actor,
            action="payment.bank_transfer_recorded",
            rule="BIL-5",
            obj=locked,
            organization=locked.organization,
            before={"status": Payment.Status.PENDING},
            after={"status": locked.status, "amount": locked.amount, "reference": locked.reference},
            at=now,
        )
        prepaid_credit(
            organization=locked.organization,
            kind=LedgerEntry.Kind.TOP_UP,
            amount=locked.amount,
            payment=locked,
            currency=locked.currency,
            now=now,
            actor=actor,
            rule="PRE-2",
        )
    payment.refresh_from_db(fields=["status", "recorded_by"])
    return locked
