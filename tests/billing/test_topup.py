"""SPEC PRE-2, BIL-4, BIL-5, ORG-2, REN-8: topping up the Prepaid Account by card (credited at once)
or by bank transfer (credited when staff record it), and every refusal changing nothing."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from stdnum.ch import esr

from accounts.models import Organization
from audit.models import AuditEvent
from billing.models import LedgerEntry, MeansRestriction, Payment, PaymentMeans, PrepaidAccount
from billing.services.means import means_add_card
from billing.services.payments import payment_reconcile
from billing.services.prepaid import prepaid_account_for
from billing.services.topup import (
    MAX_TOP_UP,
    prepaid_top_up_by_card,
    prepaid_top_up_by_transfer,
    prepaid_top_up_transfer_received,
)
from core.errors import RuleViolation
from sandbox.models import GatewayCharge
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)


def _card(organization: Organization, user: Any, number: str = "4242424242424242") -> PaymentMeans:
    return means_add_card(
        organization=organization,
        user=user,
        number=number,
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=False,
        now=NOW,
    )


def _balance(organization: Organization) -> Decimal:
    return prepaid_account_for(organization).balance


def _state() -> tuple[list[dict], list[dict], list[dict], list[dict], int]:
    """Everything a top-up could change: payments, ledger, balances, the gateway's charges, evidence."""
    return (
        list(Payment.objects.order_by("pk").values()),
        list(LedgerEntry.objects.order_by("pk").values()),
        list(PrepaidAccount.objects.order_by("pk").values()),
        list(GatewayCharge.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def legal():  # noqa: ANN201
    return member()


@pytest.fixture
def staff():  # noqa: ANN201
    return UserFactory(is_staff=True, email="staff@example.com")


# --- by card -----------------------------------------------------------------------------------


def test_pre2_a_card_top_up_is_charged_and_credited_at_once(legal) -> None:
    card = _card(legal.organization, legal.user)

    payment = prepaid_top_up_by_card(
        organization=legal.organization, user=legal.user, amount=Decimal("150.00"), means=card, now=NOW
    )

    assert (payment.status, payment.kind, payment.amount, payment.currency, payment.invoice_id, payment.means_id) == (
        "succeeded",
        "card",
        Decimal("150.00"),
        "CHF",
        None,
        card.pk,
    )
    assert payment.idempotency_key.startswith(f"topup:{legal.organization_id}:")
    assert GatewayCharge.objects.get().idempotency_key == payment.idempotency_key
    (entry,) = LedgerEntry.objects.all()
    assert (entry.kind, entry.amount, entry.balance_after, entry.payment_id) == (
        "top_up",
        Decimal("150.00"),
        Decimal("150.00"),
        payment.pk,
    )
    assert _balance(legal.organization) == Decimal("150.00")
    events = list(AuditEvent.objects.filter(object_type__in=["billing.payment", "billing.ledgerentry"]).order_by("pk"))
    assert [(e.action, e.rule, e.actor_label) for e in events] == [
        ("payment.succeeded", "BIL-4", legal.user.email),
        ("ledger_entry.top_up", "PRE-2", legal.user.email),
    ]


def test_pre2_each_submission_is_a_new_top_up(legal) -> None:
    card = _card(legal.organization, legal.user)

    first = prepaid_top_up_by_card(
        organization=legal.organization, user=legal.user, amount=Decimal("10.00"), means=card, now=NOW
    )
    second = prepaid_top_up_by_card(
        organization=legal.organization, user=legal.user, amount=Decimal("10.00"), means=card, now=NOW
    )

    assert first.idempotency_key != second.idempotency_key
    assert GatewayCharge.objects.count() == 2
    assert _balance(legal.organization) == Decimal("20.00")
    assert list(LedgerEntry.objects.order_by("pk").values_list("balance_after", flat=True)) == [
        Decimal("10.00"),
        Decimal("20.00"),
    ]


@pytest.mark.parametrize(
    ("number", "reason", "sentence"),
    [
        ("4000000000000002", "card_declined", "Your bank declined the card. Nothing was charged."),
        ("4000000000009995", "insufficient_funds", "The card does not have enough funds. Nothing was charged."),
    ],
)
def test_bil4_a_declined_card_answers_402_credits_nothing_and_keeps_the_failed_charge(
    legal, number: str, reason: str, sentence: str
) -> None:
    card = _card(legal.organization, legal.user, number)
    prepaid_account_for(legal.organization)
    payments, ledger, accounts, charges, events = _state()

    with pytest.raises(RuleViolation) as refused:
        prepaid_top_up_by_card(
            organization=legal.organization, user=legal.user, amount=Decimal("50.00"), means=card, now=NOW
        )

    assert (refused.value.message, refused.value.rule, refused.value.status) == (sentence, "BIL-4", 402)
    after_payments, after_ledger, after_accounts, after_charges, after_events = _state()
    assert (after_ledger, after_accounts) == (ledger, accounts)  # nothing credited
    assert _balance(legal.organization) == Decimal("0.00")
    # REN-8: the charge was sent outside any transaction, so the bank side and the record of the
    # failed payment stay: one declined charge, one failed payment with the same key, its evidence.
    [failed] = [p for p in after_payments if p not in payments]
    [charge] = [c for c in after_charges if c not in charges]
    assert (failed["status"], failed["failure_reason"], failed["amount"]) == ("failed", reason, Decimal("50.00"))
    assert (charge["outcome"], charge["idempotency_key"]) == ("declined", failed["idempotency_key"])
    assert after_events == events + 1


def test_ren8_an_unknown_outcome_credits_nothing_until_reconciled_then_once(legal) -> None:
    card = _card(legal.organization, legal.user, "4000000000000119")

    unknown = prepaid_top_up_by_card(
        organization=legal.organization, user=legal.user, amount=Decimal("80.00"), means=card, now=NOW
    )

    assert (unknown.status, _balance(legal.organization), LedgerEntry.objects.count()) == (
        "unknown",
        Decimal("0.00"),
        0,
    )
    assert AuditEvent.objects.filter(action="payment.unknown", rule="REN-8").count() == 1

    reconciled = payment_reconcile(payment=unknown, now=LATER)
    again = payment_reconcile(payment=unknown, now=LATER)

    assert (reconciled.status, again.status) == ("succeeded", "succeeded")
    (entry,) = LedgerEntry.objects.all()
    assert (entry.kind, entry.amount, entry.payment_id) == ("top_up", Decimal("80.00"), unknown.pk)
    assert _balance(legal.organization) == Decimal("80.00")


def _expired_card(organization: Organization) -> PaymentMeans:
    return PaymentMeans.objects.create(
        organization=organization,
        kind="card",
        card_brand="Visa",
        card_last4="4242",
        card_exp_month=3,
        card_exp_year=2026,
        gateway_token="tok_sandbox_ok_expired",
        created_at=NOW,
    )


@pytest.mark.parametrize(
    ("case", "amount", "rule", "status"),
    [
        ("zero", "0.00", "PRE-2", 400),
        ("negative", "-5.00", "PRE-2", 400),
        ("above the maximum", "10000.01", "PRE-2", 400),
        ("technical member", "10.00", "ORG-5", 403),
        ("not a member", "10.00", "ORG-5", 404),
        ("blocked organization", "10.00", "ORG-2", 403),
        ("another organization's card", "10.00", "BIL-4", 400),
        ("expired card", "10.00", "BIL-4", 409),
        ("removed card", "10.00", "BIL-4", 409),
        ("a means that is not a card", "10.00", "BIL-4", 400),
        ("cards restricted by staff", "10.00", "BIL-4", 409),
    ],
)
def test_card_top_up_refusals_change_nothing(legal, staff, case: str, amount: str, rule: str, status: int) -> None:
    organization, user = legal.organization, legal.user
    card = _card(organization, user)
    if case == "technical member":
        user = member("technical", organization=organization).user
    if case == "not a member":
        user = member().user
    if case == "blocked organization":
        Organization.objects.filter(pk=organization.pk).update(status="blocked")
    if case == "another organization's card":
        other = member()
        card = _card(other.organization, other.user)
    if case == "expired card":
        card = _expired_card(organization)
    if case == "removed card":
        PaymentMeans.objects.filter(pk=card.pk).update(revoked_at=NOW)
    if case == "a means that is not a card":
        card = PaymentMeans.objects.create(organization=organization, kind="bank_transfer", created_at=NOW)
    if case == "cards restricted by staff":
        MeansRestriction.objects.create(
            organization=organization, kind="card", reason="Chargebacks", created_by=staff, created_at=NOW
        )
    prepaid_account_for(organization)
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        prepaid_top_up_by_card(organization=organization, user=user, amount=Decimal(amount), means=card, now=NOW)

    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert _state() == before


def test_the_maximum_itself_is_accepted(legal) -> None:
    card = _card(legal.organization, legal.user)

    prepaid_top_up_by_card(organization=legal.organization, user=legal.user, amount=MAX_TOP_UP, means=card, now=NOW)

    assert _balance(legal.organization) == Decimal("10000.00")


def test_money1_a_top_up_is_in_the_accounts_currency(legal) -> None:
    Organization.objects.filter(pk=legal.organization_id).update(currency="EUR")
    legal.organization.refresh_from_db()
    card = _card(legal.organization, legal.user)

    payment = prepaid_top_up_by_card(
        organization=legal.organization, user=legal.user, amount=Decimal("25.50"), means=card, now=NOW
    )

    assert (payment.currency, prepaid_account_for(legal.organization).currency) == ("EUR", "EUR")
    assert _balance(legal.organization) == Decimal("25.50")


# --- by bank transfer --------------------------------------------------------------------------


def test_bil5_a_transfer_top_up_is_pending_with_a_reference_and_credits_nothing(legal) -> None:
    payment = prepaid_top_up_by_transfer(
        organization=legal.organization, user=legal.user, amount=Decimal("300.00"), now=NOW
    )

    assert (payment.status, payment.kind, payment.amount, payment.invoice_id) == (
        "pending",
        "bank_transfer",
        Decimal("300.00"),
        None,
    )
    # BIL-5: a QR reference (the default account is a QR-IBAN): "9", the payment id on 25 digits, the check digit
    digits = f"9{payment.pk:025d}"
    assert payment.reference == digits + esr.calc_check_digit(digits)
    assert (LedgerEntry.objects.count(), _balance(legal.organization), GatewayCharge.objects.count()) == (
        0,
        Decimal("0.00"),
        0,
    )
    event = AuditEvent.objects.get(action="payment.pending")
    assert (event.rule, event.after["reference"]) == ("BIL-5", payment.reference)


def test_bil5_staff_record_the_transfer_received_once(legal, staff) -> None:
    payment = prepaid_top_up_by_transfer(
        organization=legal.organization, user=legal.user, amount=Decimal("300.00"), now=NOW
    )

    received = prepaid_top_up_transfer_received(payment=payment, staff_user=staff, now=LATER)

    assert (received.status, received.recorded_by_id) == ("succeeded", staff.pk)
    (entry,) = LedgerEntry.objects.all()
    assert (entry.kind, entry.amount, entry.balance_after, entry.payment_id) == (
        "top_up",
        Decimal("300.00"),
        Decimal("300.00"),
        payment.pk,
    )
    assert [
        (e.action, e.rule, e.actor_label)
        for e in AuditEvent.objects.filter(action__in=["payment.bank_transfer_recorded", "ledger_entry.top_up"])
    ] == [("payment.bank_transfer_recorded", "BIL-5", staff.email), ("ledger_entry.top_up", "PRE-2", staff.email)]
    before = _state()

    with pytest.raises(RuleViolation) as again:
        prepaid_top_up_transfer_received(payment=payment, staff_user=staff, now=LATER)

    assert (again.value.rule, again.value.status) == ("BIL-5", 409)
    assert _state() == before
    assert _balance(legal.organization) == Decimal("300.00")


def test_recording_a_transfer_is_for_staff_and_for_pending_top_ups_only(legal, staff) -> None:
    pending = prepaid_top_up_by_transfer(
        organization=legal.organization, user=legal.user, amount=Decimal("40.00"), now=NOW
    )
    card_top_up = prepaid_top_up_by_card(
        organization=legal.organization,
        user=legal.user,
        amount=Decimal("5.00"),
        means=_card(legal.organization, legal.user),
        now=NOW,
    )
    before = _state()

    with pytest.raises(RuleViolation) as not_staff:
        prepaid_top_up_transfer_received(payment=pending, staff_user=legal.user, now=LATER)
    with pytest.raises(RuleViolation) as not_a_transfer:
        prepaid_top_up_transfer_received(payment=card_top_up, staff_user=staff, now=LATER)

    assert (not_staff.value.status, not_a_transfer.value.status) == (403, 400)
    assert _state() == before


@pytest.mark.parametrize(
    ("case", "amount", "rule", "status"),
    [
        ("zero", "0", "PRE-2", 400),
        ("above the maximum", "10000.01", "PRE-2", 400),
        ("billing member", "10.00", None, None),
        ("technical member", "10.00", "ORG-5", 403),
        ("blocked organization", "10.00", "ORG-2", 403),
        ("transfers restricted by staff", "10.00", "BIL-4", 409),
    ],
)
def test_transfer_top_up_refusals_change_nothing(
    legal, staff, case: str, amount: str, rule: str | None, status: int | None
) -> None:
    organization, user = legal.organization, legal.user
    if case == "billing member":
        user = member("billing", organization=organization).user
    if case == "technical member":
        user = member("technical", organization=organization).user
    if case == "blocked organization":
        Organization.objects.filter(pk=organization.pk).update(status="blocked")
    if case == "transfers restricted by staff":
        MeansRestriction.objects.create(
            organization=organization, kind="bank_transfer", reason="Returned", created_by=staff, created_at=NOW
        )
    prepaid_account_for(organization)
    before = _state()

    if rule is None:  # the control case: a billing member may
        assert prepaid_top_up_by_transfer(organization=organization, user=user, amount=Decimal(amount), now=NOW)
        return
    with pytest.raises(RuleViolation) as refused:
        prepaid_top_up_by_transfer(organization=organization, user=user, amount=Decimal(amount), now=NOW)

    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert _state() == before
