"""The Stripe adapter's own behaviour, beyond the contract both gateways share (test_gateway_contract.py):
its tokens, minor units, one Customer per Organization, a PaymentMethod collected by Stripe, and what
localstripe cannot emulate (real Stripe's off-session authentication error, PayPal, a network failure),
shown with a recorded client."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import stripe
from django.core.exceptions import ImproperlyConfigured

from billing.gateway import CardRejected, ChargeResult, GatewayError, get_gateway
from billing.gateways.stripe import KEY_FIELD, StripeGateway, StripeToken, from_minor, to_minor

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


# --- tokens and amounts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "parsed"),
    [
        ("cus_A/pm_B", StripeToken("cus_A", "pm_B", "card")),
        ("cus_A/pm_B/paypal", StripeToken("cus_A", "pm_B", "paypal")),
    ],
)
def test_bil4_a_token_carries_the_customer_and_the_payment_method(token: str, parsed: StripeToken) -> None:
    assert StripeToken.parse(token) == parsed
    assert str(parsed) == token


@pytest.mark.parametrize("token", ["", "pm_B", "cus_A/pm_B/sepa_debit", "cus_A/card_B", "tok_sandbox_ok_1", "a/b/c/d"])
def test_bil4_a_token_of_another_shape_is_refused(token: str) -> None:
    with pytest.raises(GatewayError):
        StripeToken.parse(token)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [(Decimal("108.10"), "CHF", 10810), (Decimal("0.05"), "EUR", 5), (Decimal("500.00"), "JPY", 500)],
)
def test_money1_decimal_at_the_interface_minor_units_at_stripe(amount: Decimal, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor
    assert from_minor(minor, currency) == amount


def test_money1_a_fraction_of_a_whole_unit_currency_is_refused() -> None:
    with pytest.raises(GatewayError):
        to_minor(Decimal("500.50"), "JPY")


# --- configuration ---------------------------------------------------------------------------


def test_the_stripe_gateway_is_selected_by_its_short_name_and_needs_its_key(settings) -> None:  # noqa: ANN001
    settings.PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="STRIPE_SECRET_KEY"):
        get_gateway()

    settings.STRIPE_SECRET_KEY = "sk_test_portal"
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    gateway = get_gateway()
    assert isinstance(gateway, StripeGateway)
    assert gateway.fake is True


# --- against localstripe ---------------------------------------------------------------------


@pytest.fixture
def gateway(localstripe: str) -> StripeGateway:
    return StripeGateway(api_key="sk_test_portal", api_base=localstripe)


def test_bil4_one_customer_per_organization(gateway: StripeGateway) -> None:
    first = gateway.tokenize_card(
        number="4242424242424242", exp_month=3, exp_year=2030, cvc="123", customer_reference="organization:7"
    )
    second = gateway.tokenize_card(
        number="5555555555554444", exp_month=3, exp_year=2030, cvc="123", customer_reference="organization:7"
    )
    other = gateway.tokenize_card(
        number="4242424242424242", exp_month=3, exp_year=2030, cvc="123", customer_reference="organization:8"
    )

    assert StripeToken.parse(first.token).customer == StripeToken.parse(second.token).customer
    assert StripeToken.parse(other.token).customer != StripeToken.parse(first.token).customer
    customer = gateway.client.v1.customers.retrieve(StripeToken.parse(first.token).customer)
    assert customer.metadata.to_dict() == {"portal_customer": "organization:7"}


def test_bil4_a_payment_method_collected_by_stripe_is_saved_without_the_portal_seeing_the_number(
    gateway: StripeGateway,
) -> None:
    # given: Stripe Elements made a PaymentMethod in the customer's browser
    collected = gateway.client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": "4242424242424242", "exp_month": 3, "exp_year": 2030, "cvc": "123"}}
    )

    card = gateway.tokenize_card(number=collected.id, exp_month=0, exp_year=0, cvc="", customer_reference="org:9")

    assert StripeToken.parse(card.token).payment_method == collected.id
    assert (card.last4, card.exp_month, card.exp_year) == ("4242", 3, 2030)
    assert gateway.charge(
        amount=Decimal("10.00"), currency="CHF", token=card.token, idempotency_key=f"order:{collected.id}", now=NOW
    ) == ChargeResult("succeeded")


def test_bil4_an_unknown_payment_method_is_rejected(gateway: StripeGateway) -> None:
    with pytest.raises(CardRejected):
        gateway.tokenize_card(number="pm_does_not_exist", exp_month=0, exp_year=0, cvc="")


def test_ren8_the_key_travels_as_idempotency_key_and_in_the_metadata(gateway: StripeGateway) -> None:
    token = gateway.tokenize_card(number="4242424242424242", exp_month=3, exp_year=2030, cvc="123").token

    gateway.charge(amount=Decimal("108.10"), currency="CHF", token=token, idempotency_key="renewal:meta:1", now=NOW)

    (intent,) = [
        i
        for i in gateway.client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if i.metadata.to_dict().get(KEY_FIELD) == "renewal:meta:1"
    ]
    assert (intent.amount, intent.currency, intent.status) == (10810, "chf", "succeeded")


# --- what localstripe cannot emulate: a recorded client --------------------------------------


class _Intents:
    def __init__(self, create: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        self._create = create

    def search(self, params: dict[str, Any]) -> Any:
        return SimpleNamespace(data=[])

    def create(self, params: dict[str, Any], options: dict[str, Any]) -> Any:
        self.calls.append({"params": params, "options": options})
        return self._create()


def _recorded(create: Any) -> tuple[StripeGateway, _Intents]:
    gateway = StripeGateway(api_key="sk_test_portal", api_base="")  # as against Stripe itself
    intents = _Intents(create)
    gateway.client = SimpleNamespace(v1=SimpleNamespace(payment_intents=intents))  # type: ignore[assignment]
    return gateway, intents


def _raise(error: Exception) -> Any:
    def create() -> Any:
        raise error

    return create


def test_bil4_paypal_is_debited_off_session_like_a_card() -> None:
    gateway, intents = _recorded(lambda: SimpleNamespace(status="succeeded"))

    result = gateway.charge(
        amount=Decimal("58.10"), currency="CHF", token="cus_A/pm_B/paypal", idempotency_key="renewal:pp:1", now=NOW
    )

    assert result == ChargeResult("succeeded")
    (call,) = intents.calls
    assert call["options"] == {"idempotency_key": "renewal:pp:1"}
    assert call["params"] == {
        "amount": 5810,
        "currency": "chf",
        "customer": "cus_A",
        "payment_method": "pm_B",
        "confirm": True,
        "off_session": True,
        "metadata": {KEY_FIELD: "renewal:pp:1"},
        "allowed_payment_method_types": ["paypal"],
    }


def test_bil4_stripes_authentication_error_off_session_is_requires_action() -> None:
    error = stripe.CardError("This payment requires authentication.", None, code="authentication_required")
    gateway, _ = _recorded(_raise(error))

    result = gateway.charge(
        amount=Decimal("58.10"), currency="CHF", token="cus_A/pm_B", idempotency_key="renewal:sca:1", now=NOW
    )

    assert result == ChargeResult("requires_action", "authentication_required")


@pytest.mark.parametrize(
    "error",
    [stripe.APIConnectionError("timeout"), stripe.APIError("bad gateway"), stripe.RateLimitError("slow down")],
)
def test_ren8_no_answer_from_stripe_is_an_unknown_outcome(error: Exception) -> None:
    gateway, intents = _recorded(_raise(error))

    result = gateway.charge(
        amount=Decimal("58.10"), currency="CHF", token="cus_A/pm_B", idempotency_key="renewal:net:1", now=NOW
    )

    assert result == ChargeResult("unknown")
    assert len(intents.calls) == 1
