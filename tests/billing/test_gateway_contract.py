"""One contract, two gateways (BIL-4, REN-8, MB-3): every test runs on the sandbox and on the Stripe
adapter against localstripe (a fake Stripe server the tests start: tests/billing/conftest.py), so the
portal can switch PAYMENT_GATEWAY without its engine noticing.

Where localstripe cannot emulate a behaviour, the Stripe parameter is skipped with the reason, and the
behaviour is tested on the sandbox (and, for Stripe, with a recorded client in test_gateway_stripe.py)."""

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from billing.gateway import (
    CardRejected,
    ChargeRequest,
    ChargeResult,
    GatewayError,
    PaymentGateway,
    RefundResult,
    charge_many,
)
from billing.gateways.sandbox import SandboxGateway
from billing.gateways.stripe import KEY_FIELD, StripeGateway
from sandbox.models import GatewayCharge

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
OK_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0341"  # saved fine, declined when charged (Stripe's and the sandbox's)
REFUSED_CARD = "4000 0000 0000 0002"  # Stripe refuses to save it; the sandbox declines its charges
AUTHENTICATION_CARD = "4000 0027 6000 3184"  # the bank asks for strong customer authentication
TIMEOUT_CARD = "4000 0000 0000 0119"


@dataclass
class Contract:
    name: str
    gateway: PaymentGateway
    charges_with_key: Callable[[str], int]  # how many charges the gateway holds for a key

    def token(self, number: str = OK_CARD) -> str:
        return self.gateway.tokenize_card(
            number=number, exp_month=3, exp_year=2030, cvc="123", customer_reference=f"org-{self.name}"
        ).token

    def charge(self, token: str, key: str, amount: str = "108.10") -> ChargeResult:
        return self.gateway.charge(amount=Decimal(amount), currency="CHF", token=token, idempotency_key=key, now=NOW)


def _stripe_charges_with_key(gateway: StripeGateway) -> Callable[[str], int]:
    def count(key: str) -> int:
        intents = gateway.client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        return sum(1 for intent in intents if intent.metadata.to_dict().get(KEY_FIELD) == key)

    return count


@pytest.fixture(params=["sandbox", "stripe"])
def contract(request: pytest.FixtureRequest) -> Contract:
    if request.param == "sandbox":
        return Contract(
            "sandbox", SandboxGateway(), lambda key: GatewayCharge.objects.filter(idempotency_key=key).count()
        )
    stripe_gateway = StripeGateway(api_key="sk_test_contract", api_base=request.getfixturevalue("localstripe"))
    return Contract("stripe", stripe_gateway, _stripe_charges_with_key(stripe_gateway))


@pytest.fixture
def key() -> str:
    """A key of its own per test: localstripe lives for the whole session."""
    return f"renewal:contract:{uuid.uuid4().hex}"


def _only_on_sandbox(contract: Contract, reason: str) -> None:
    if contract.name == "stripe":
        pytest.skip(f"localstripe cannot emulate this: {reason}")


# --- tokenize --------------------------------------------------------------------------------


def test_bil4_tokenize_keeps_brand_last_four_expiry_and_a_fingerprint_never_the_number(contract: Contract) -> None:
    card = contract.gateway.tokenize_card(number=OK_CARD, exp_month=3, exp_year=2030, cvc="123")
    again = contract.gateway.tokenize_card(number=OK_CARD, exp_month=3, exp_year=2030, cvc="123")
    other = contract.gateway.tokenize_card(number="5555 5555 5555 4444", exp_month=3, exp_year=2030, cvc="123")

    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("Visa", "4242", 3, 2030)
    assert 0 < len(card.token) <= 64  # fits PaymentMeans.gateway_token
    assert "4242424242424242" not in repr(card)
    assert card.fingerprint == again.fingerprint  # REN-7: one card, one fingerprint
    assert card.token != again.token
    assert other.fingerprint != card.fingerprint


@pytest.mark.parametrize(
    ("number", "exp_month", "cvc", "code"),
    [
        ("4242 4242 4242 4241", 3, "123", "invalid_number"),  # fails the Luhn check
        ("4242 4242 4242 424x", 3, "123", "invalid_number"),
        (OK_CARD, 13, "123", "invalid_expiry"),
        (OK_CARD, 3, "12", "invalid_cvc"),
    ],
)
def test_bil4_tokenize_refuses_a_card_that_is_not_valid(
    contract: Contract, number: str, exp_month: int, cvc: str, code: str
) -> None:
    with pytest.raises(CardRejected) as rejected:
        contract.gateway.tokenize_card(number=number, exp_month=exp_month, exp_year=2030, cvc=cvc)

    assert rejected.value.code == code


# --- charge ----------------------------------------------------------------------------------


def test_bil4_a_charge_succeeds_once(contract: Contract, key: str) -> None:
    assert contract.charge(contract.token(), key) == ChargeResult(status="succeeded")
    assert contract.charges_with_key(key) == 1


def test_bil4_a_declined_card_is_declined_with_its_reason(contract: Contract, key: str) -> None:
    result = contract.charge(contract.token(DECLINED_CARD), key)

    assert result == ChargeResult(status="declined", decline_reason="card_declined")
    assert contract.gateway.lookup(key) == result


def test_bil4_the_always_declined_card_never_moves_money(contract: Contract, key: str) -> None:
    """4000 0000 0000 0002: Stripe checks a card when it is saved and refuses this one there; the
    sandbox, which checks nothing when saving, declines its charges. Either way nothing is charged."""
    if contract.name == "stripe":
        with pytest.raises(CardRejected) as rejected:
            contract.token(REFUSED_CARD)
        assert rejected.value.code == "card_declined"
    else:
        assert contract.charge(contract.token(REFUSED_CARD), key) == ChargeResult("declined", "card_declined")
    assert contract.charges_with_key(key) == 0 if contract.name == "stripe" else 1


def test_bil4_a_card_that_asks_for_authentication_requires_action_and_is_not_charged(
    contract: Contract, key: str
) -> None:
    expected = ChargeResult(status="requires_action", decline_reason="authentication_required")

    assert contract.charge(contract.token(AUTHENTICATION_CARD), key) == expected
    assert contract.gateway.lookup(key) == expected
    refused = contract.gateway.refund(idempotency_key=key, amount=Decimal("1.00"))
    assert (refused.status, refused.reason) == ("refused", "charge_not_succeeded")


@pytest.mark.parametrize("card", [OK_CARD, DECLINED_CARD])
def test_ren8_the_same_key_answers_the_first_outcome_without_charging_again(
    contract: Contract, key: str, card: str
) -> None:
    token = contract.token(card)
    first = contract.charge(token, key)

    again = contract.charge(token, key)

    assert again == first
    assert contract.charges_with_key(key) == 1


def test_ren8_a_key_used_for_another_charge_is_refused(contract: Contract, key: str) -> None:
    token = contract.token()
    contract.charge(token, key, amount="108.10")

    with pytest.raises(GatewayError, match="already used"):
        contract.charge(token, key, amount="99.00")
    with pytest.raises(GatewayError, match="already used"):
        contract.charge(contract.token(), key, amount="108.10")
    assert contract.charges_with_key(key) == 1


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(Decimal("0"), "CHF"), (Decimal("-1.00"), "CHF"), (Decimal("1.001"), "CHF"), (Decimal("1.00"), "chf")],
)
def test_bil4_a_charge_the_gateway_cannot_consider_raises_and_charges_nothing(
    contract: Contract, key: str, amount: Decimal, currency: str
) -> None:
    token = contract.token()

    with pytest.raises(GatewayError):
        contract.gateway.charge(amount=amount, currency=currency, token=token, idempotency_key=key, now=NOW)
    assert contract.charges_with_key(key) == 0


def test_bil4_a_token_of_no_card_is_refused(contract: Contract, key: str) -> None:
    with pytest.raises(GatewayError):
        contract.charge("tok_not_a_token", key)
    assert contract.charges_with_key(key) == 0


def test_ren8_a_timeout_is_unknown_until_looked_up(contract: Contract, key: str) -> None:
    _only_on_sandbox(contract, "it has no card that times out (and refuses to save 4000 0000 0000 0119)")
    token = contract.token(TIMEOUT_CARD)

    assert contract.charge(token, key) == ChargeResult(status="unknown")
    assert contract.gateway.lookup(key) == ChargeResult(status="succeeded")
    assert contract.charge(token, key) == ChargeResult(status="succeeded")
    assert contract.charges_with_key(key) == 1


# --- lookup ----------------------------------------------------------------------------------


def test_ren8_lookup_of_a_key_never_charged_is_none(contract: Contract, key: str) -> None:
    assert contract.gateway.lookup(key) is None
    assert contract.charges_with_key(key) == 0


def test_ren8_lookup_answers_the_outcome_of_the_charge(contract: Contract, key: str) -> None:
    contract.charge(contract.token(), key)

    assert contract.gateway.lookup(key) == ChargeResult(status="succeeded")
    assert contract.charges_with_key(key) == 1  # a look-up charges nothing


# --- refund ----------------------------------------------------------------------------------


def test_mb3_a_charge_is_refunded_in_parts_never_beyond_what_was_charged(contract: Contract, key: str) -> None:
    contract.charge(contract.token(), key, amount="100.00")

    part = contract.gateway.refund(idempotency_key=key, amount=Decimal("40.00"))
    too_much = contract.gateway.refund(idempotency_key=key, amount=Decimal("60.01"))
    rest = contract.gateway.refund(idempotency_key=key, amount=Decimal("60.00"))
    more = contract.gateway.refund(idempotency_key=key, amount=Decimal("0.01"))

    assert part == RefundResult(status="refunded", amount=Decimal("40.00"), refunded_total=Decimal("40.00"))
    assert too_much == RefundResult(
        status="refused", amount=Decimal(0), refunded_total=Decimal("40.00"), reason="amount_exceeds_charge"
    )
    assert rest == RefundResult(status="refunded", amount=Decimal("60.00"), refunded_total=Decimal("100.00"))
    assert more == RefundResult(
        status="refused", amount=Decimal(0), refunded_total=Decimal("100.00"), reason="amount_exceeds_charge"
    )
    # the charge itself had succeeded: a refund does not rewrite that
    assert contract.gateway.lookup(key) == ChargeResult(status="succeeded")


def test_mb3_a_full_refund_at_once(contract: Contract, key: str) -> None:
    contract.charge(contract.token(), key, amount="108.10")

    full = contract.gateway.refund(idempotency_key=key, amount=Decimal("108.10"))

    assert full == RefundResult(status="refunded", amount=Decimal("108.10"), refunded_total=Decimal("108.10"))


def test_mb3_a_declined_charge_is_not_refunded(contract: Contract, key: str) -> None:
    contract.charge(contract.token(DECLINED_CARD), key, amount="100.00")

    refused = contract.gateway.refund(idempotency_key=key, amount=Decimal("10.00"))

    assert refused == RefundResult(
        status="refused", amount=Decimal(0), refunded_total=Decimal(0), reason="charge_not_succeeded"
    )


def test_mb3_a_refund_of_a_key_never_charged_is_refused(contract: Contract, key: str) -> None:
    refused = contract.gateway.refund(idempotency_key=key, amount=Decimal("10.00"))

    assert refused == RefundResult(
        status="refused", amount=Decimal(0), refunded_total=Decimal(0), reason="no_such_charge"
    )


# --- many ------------------------------------------------------------------------------------


def test_ren8_charge_many_charges_each_key_once_and_a_replay_charges_nobody_twice(contract: Contract) -> None:
    ok, declined = contract.token(), contract.token(DECLINED_CARD)
    keys = [f"renewal:many:{uuid.uuid4().hex}" for _ in range(2)]
    requests = [
        ChargeRequest(amount=Decimal("108.10"), currency="CHF", token=ok, idempotency_key=keys[0]),
        ChargeRequest(amount=Decimal("58.10"), currency="CHF", token=declined, idempotency_key=keys[1]),
    ]

    first = charge_many(contract.gateway, requests, now=NOW)
    replay = charge_many(contract.gateway, requests, now=NOW)

    assert first == replay == [ChargeResult("succeeded"), ChargeResult("declined", "card_declined")]
    assert [contract.charges_with_key(k) for k in keys] == [1, 1]
    assert [contract.gateway.lookup(k) for k in keys] == first
