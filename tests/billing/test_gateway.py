"""The payment gateway's sandbox (BIL-4, REN-8): Stripe's test cards, one charge per idempotency key,
unknown outcomes reconciled by lookup, refunds within what was charged, no card number kept. The contract
both gateways share is tests/billing/test_gateway_contract.py; this module keeps the sandbox's own."""

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.query import QuerySet

from billing.gateway import (
    CardDetails,
    CardRejected,
    ChargeRequest,
    ChargeResult,
    GatewayError,
    RefundResult,
    get_gateway,
)
from billing.gateways import sandbox as gateway
from billing.gateways.sandbox import SandboxGateway
from sandbox.models import GatewayCharge

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
OK_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
NO_FUNDS_CARD = "4000 0000 0000 9995"
TIMEOUT_CARD = "4000 0000 0000 0119"


def _token(number: str = OK_CARD) -> str:
    return SandboxGateway().tokenize_card(number=number, exp_month=3, exp_year=2027, cvc="123").token


def _charge(token: str, key: str = "renewal:1:2:2026-03-10", amount: str = "108.10") -> ChargeResult:
    return SandboxGateway().charge(amount=Decimal(amount), currency="CHF", token=token, idempotency_key=key, now=NOW)


def _row_values(row: Model) -> list[str]:
    return [str(getattr(row, field.attname)) for field in row._meta.concrete_fields]


# --- tokenize --------------------------------------------------------------------------------


def test_bil4_tokenize_keeps_brand_last_four_expiry_and_a_fingerprint_never_the_number() -> None:
    card = SandboxGateway().tokenize_card(number=OK_CARD, exp_month=3, exp_year=2027, cvc="123")

    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("Visa", "4242", 3, 2027)
    assert len(card.fingerprint) == 64
    assert card.token.startswith("tok_sandbox_")
    assert len(card.token) <= 64  # fits PaymentMeans.gateway_token and GatewayCharge.token
    assert "4242424242424242" not in repr(card)
    # The token is the behaviour and 32 random hex digits: nothing of the number or the CVC.
    assert re.fullmatch(r"tok_sandbox_ok_[0-9a-f]{32}", card.token)
    assert "cvc" not in repr(card).lower()


def test_bil4_the_same_card_gives_the_same_fingerprint_and_a_new_token_each_time() -> None:
    sandbox = SandboxGateway()

    first = sandbox.tokenize_card(number=OK_CARD, exp_month=3, exp_year=2027, cvc="123")
    again = sandbox.tokenize_card(number="4242-4242-4242-4242", exp_month=5, exp_year=2030, cvc="999")
    other = sandbox.tokenize_card(number=DECLINED_CARD, exp_month=3, exp_year=2027, cvc="123")

    assert first.fingerprint == again.fingerprint
    assert first.token != again.token
    assert other.fingerprint != first.fingerprint


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "Visa"),
        ("5555555555554444", "Mastercard"),
        ("2223003122003222", "Mastercard"),
        ("378282246310005", "American Express"),
        ("6011111111111117", "Discover"),
        ("3056930009020004", "Diners Club"),
        ("3566002020360505", "JCB"),
        ("6200000000000005", "UnionPay"),
    ],
)
def test_bil4_the_brand_comes_from_the_number_prefix(number: str, brand: str) -> None:
    card = SandboxGateway().tokenize_card(number=number, exp_month=1, exp_year=2030, cvc="1234")

    assert (card.brand, card.last4) == (brand, number[-4:])


@pytest.mark.parametrize(
    ("number", "exp_month", "exp_year", "cvc", "code"),
    [
        ("4242 4242 4242 4241", 3, 2027, "123", "invalid_number"),  # Luhn check fails
        ("4242 4242 42", 3, 2027, "123", "invalid_number"),  # too short
        ("4242 4242 4242 424x", 3, 2027, "123", "invalid_number"),
        ("", 3, 2027, "123", "invalid_number"),
        (OK_CARD, 13, 2027, "123", "invalid_expiry"),
        (OK_CARD, 0, 2027, "123", "invalid_expiry"),
        (OK_CARD, 3, 27, "123", "invalid_expiry"),
        (OK_CARD, 3, 2027, "12", "invalid_cvc"),
        (OK_CARD, 3, 2027, "12a", "invalid_cvc"),
    ],
)
def test_bil4_tokenize_rejects_a_bad_card(number: str, exp_month: int, exp_year: int, cvc: str, code: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        SandboxGateway().tokenize_card(number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc)

    assert rejected.value.code == code


# --- charge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "status", "reason", "outcome"),
    [
        (OK_CARD, "succeeded", "", "succeeded"),
        ("5555 5555 5555 4444", "succeeded", "", "succeeded"),  # any other valid number succeeds
        (DECLINED_CARD, "declined", "card_declined", "declined"),
        (NO_FUNDS_CARD, "declined", "insufficient_funds", "declined"),
        (TIMEOUT_CARD, "unknown", "", "pending"),
    ],
)
def test_bil4_each_test_card_behaves_as_documented(number: str, status: str, reason: str, outcome: str) -> None:
    token = _token(number)

    result = _charge(token, key="order:7")

    assert result == ChargeResult(status=status, decline_reason=reason)
    row = GatewayCharge.objects.get()
    assert (row.idempotency_key, row.token, row.amount, row.currency, row.outcome, row.decline_reason) == (
        "order:7",
        token,
        Decimal("108.10"),
        "CHF",
        outcome,
        reason,
    )
    assert row.created_at == NOW


@pytest.mark.parametrize("number", [OK_CARD, DECLINED_CARD, NO_FUNDS_CARD, TIMEOUT_CARD])
def test_ren8_the_same_idempotency_key_never_charges_twice(number: str) -> None:
    token = _token(number)
    first = _charge(token)

    again = _charge(token)

    assert again == first
    assert GatewayCharge.objects.count() == 1


def test_ren8_an_idempotency_key_cannot_be_reused_for_another_charge() -> None:
    token = _token()
    _charge(token, amount="108.10")

    with pytest.raises(GatewayError, match="already used"):
        _charge(token, amount="50.00")
    with pytest.raises(GatewayError, match="already used"):
        _charge(_token(), amount="108.10")

    assert list(GatewayCharge.objects.values_list("amount", "token")) == [(Decimal("108.10"), token)]


def test_ren8_a_lost_insert_race_answers_the_winners_outcome_inside_the_callers_transaction(monkeypatch) -> None:
    # given: the winner's row is committed after our read found nothing (the read is made to miss it)
    token = _token(DECLINED_CARD)
    GatewayCharge.objects.create(
        idempotency_key="race",
        token=token,
        amount=Decimal("108.10"),
        currency="CHF",
        outcome=GatewayCharge.Outcome.DECLINED,
        decline_reason="card_declined",
        created_at=NOW,
    )
    original_first = QuerySet.first
    missed: list[bool] = []

    def first_missing_once(self: QuerySet) -> object:
        if self.model is GatewayCharge and not missed:
            missed.append(True)
            return None
        return original_first(self)

    monkeypatch.setattr(QuerySet, "first", first_missing_once)

    # when: we charge with the same key inside a transaction of our own
    with transaction.atomic():
        result = _charge(token, key="race")
        still_usable = GatewayCharge.objects.count()

    # then: the unique constraint refused our insert, we answer the stored outcome, our transaction lives on
    assert missed == [True]
    assert result == ChargeResult(status="declined", decline_reason="card_declined")
    assert still_usable == 1


def _request(token: str, key: str, amount: str = "108.10") -> ChargeRequest:
    return ChargeRequest(amount=Decimal(amount), currency="CHF", token=token, idempotency_key=key)


def _charges() -> list[tuple[str, Decimal, str]]:
    return list(GatewayCharge.objects.order_by("idempotency_key").values_list("idempotency_key", "amount", "outcome"))


def test_ren8_a_batch_charges_each_new_key_once_and_answers_a_used_key_as_the_first_time() -> None:
    ok, declined = _token(), _token(DECLINED_CARD)
    assert _charge(declined, key="b") == ChargeResult(status="declined", decline_reason="card_declined")

    results = SandboxGateway().charge_many([_request(ok, "a"), _request(declined, "b")], now=NOW)
    again = SandboxGateway().charge_many([_request(ok, "a"), _request(declined, "b")], now=NOW)

    assert results == again == [
        ChargeResult(status="succeeded"),
        ChargeResult(status="declined", decline_reason="card_declined"),
    ]
    assert _charges() == [("a", Decimal("108.10"), "succeeded"), ("b", Decimal("108.10"), "declined")]


def test_ren8_a_batch_with_a_key_used_for_another_charge_is_refused_before_anything_is_charged() -> None:
    token = _token()
    _charge(token, key="used", amount="50.00")

    with pytest.raises(GatewayError, match="already used for another charge"):
        SandboxGateway().charge_many([_request(token, "new"), _request(token, "used", amount="108.10")], now=NOW)

    assert _charges() == [("used", Decimal("50.00"), "succeeded")]


@pytest.mark.parametrize("keys", [["same", "same"], ["one", ""]])
def test_ren8_a_batch_whose_charges_do_not_each_have_their_own_key_charges_nothing(keys: list[str]) -> None:
    token = _token()

    with pytest.raises(GatewayError, match="its own idempotency key"):
        SandboxGateway().charge_many([_request(token, key) for key in keys], now=NOW)

    assert _charges() == []


@pytest.mark.parametrize(
    ("amount", "currency", "token", "key"),
    [
        (Decimal("0.00"), "CHF", None, "k"),
        (Decimal("-5.00"), "CHF", None, "k"),
        (Decimal("10.005"), "CHF", None, "k"),
        (Decimal("NaN"), "CHF", None, "k"),
        (Decimal("10.00"), "chf", None, "k"),
        (Decimal("10.00"), "CHF", "tok_visa", "k"),
        (Decimal("10.00"), "CHF", "tok_sandbox_bogus_abc", "k"),
        (Decimal("10.00"), "CHF", None, ""),
    ],
)
def test_a_malformed_charge_request_is_an_error_and_charges_nothing(
    amount: Decimal, currency: str, token: str | None, key: str
) -> None:
    with pytest.raises(GatewayError):
        SandboxGateway().charge(amount=amount, currency=currency, token=token or _token(), idempotency_key=key, now=NOW)

    assert GatewayCharge.objects.count() == 0


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(GatewayError):
        SandboxGateway().charge(
            amount=10.0,
            currency="CHF",
            token=_token(),
            idempotency_key="k",
            now=NOW,
        )


# --- lookup ----------------------------------------------------------------------------------


def test_ren8_an_unknown_outcome_is_resolved_by_lookup_and_stays_resolved() -> None:
    # given: the timeout card answered "unknown"
    token = _token(TIMEOUT_CARD)
    assert _charge(token, key="renewal:9") == ChargeResult(status="unknown")
    # a retry of the charge alone does not settle it: REN-8 wants a lookup first
    assert _charge(token, key="renewal:9") == ChargeResult(status="unknown")

    # when: another process (a new gateway instance) looks the key up
    resolved = get_gateway().lookup("renewal:9")

    # then: the money did move; the charge is settled and answers so from now on
    assert resolved == ChargeResult(status="succeeded")
    assert GatewayCharge.objects.get().outcome == GatewayCharge.Outcome.SUCCEEDED
    assert SandboxGateway().lookup(idempotency_key="renewal:9") == ChargeResult(status="succeeded")
    assert _charge(token, key="renewal:9") == ChargeResult(status="succeeded")
    assert GatewayCharge.objects.count() == 1


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (OK_CARD, ChargeResult(status="succeeded")),
        (DECLINED_CARD, ChargeResult(status="declined", decline_reason="card_declined")),
        (NO_FUNDS_CARD, ChargeResult(status="declined", decline_reason="insufficient_funds")),
    ],
)
def test_ren8_lookup_answers_the_settled_outcome(number: str, expected: ChargeResult) -> None:
    _charge(_token(number), key="order:3")

    assert SandboxGateway().lookup("order:3") == expected


def test_ren8_lookup_of_a_key_never_charged_is_none() -> None:
    assert SandboxGateway().lookup("renewal:never") is None
    assert GatewayCharge.objects.count() == 0


# --- refund ----------------------------------------------------------------------------------


def test_mb3_a_succeeded_charge_is_refunded_in_parts_up_to_what_was_charged() -> None:
    _charge(_token(), key="order:1", amount="100.00")
    sandbox = SandboxGateway()

    part = sandbox.refund(idempotency_key="order:1", amount=Decimal("40.00"))
    too_much = sandbox.refund(idempotency_key="order:1", amount=Decimal("60.01"))
    rest = sandbox.refund(idempotency_key="order:1", amount=Decimal("60.00"))
    more = sandbox.refund(idempotency_key="order:1", amount=Decimal("0.01"))

    assert part == RefundResult(status="refunded", amount=Decimal("40.00"), refunded_total=Decimal("40.00"))
    assert too_much == RefundResult(
        status="refused", amount=Decimal(0), refunded_total=Decimal("40.00"), reason="amount_exceeds_charge"
    )
    assert rest == RefundResult(status="refunded", amount=Decimal("60.00"), refunded_total=Decimal("100.00"))
    assert more.status == "refused"
    assert more.reason == "amount_exceeds_charge"
    row = GatewayCharge.objects.get()
    assert (row.outcome, row.refunded_amount) == (GatewayCharge.Outcome.REFUNDED, Decimal("100.00"))
    # the charge itself had succeeded: a refund does not rewrite that, nor lets the key charge again
    assert sandbox.lookup("order:1") == ChargeResult(status="succeeded")
    assert _charge(row.token, key="order:1", amount="100.00") == ChargeResult(status="succeeded")
    assert GatewayCharge.objects.count() == 1


@pytest.mark.parametrize("number", [DECLINED_CARD, TIMEOUT_CARD])
def test_mb3_only_a_succeeded_charge_is_refunded(number: str) -> None:
    _charge(_token(number), key="order:2", amount="100.00")

    refused = SandboxGateway().refund(idempotency_key="order:2", amount=Decimal("10.00"))

    assert refused == RefundResult(
        status="refused", amount=Decimal(0), refunded_total=Decimal(0), reason="charge_not_succeeded"
    )
    assert GatewayCharge.objects.get().refunded_amount == Decimal(0)


def test_mb3_a_refund_of_an_unknown_key_is_refused() -> None:
    refused = SandboxGateway().refund(idempotency_key="order:none", amount=Decimal("10.00"))

    assert (refused.status, refused.reason) == ("refused", "no_such_charge")


def test_mb3_a_refund_amount_must_be_positive() -> None:
    _charge(_token(), key="order:4", amount="100.00")

    with pytest.raises(GatewayError):
        SandboxGateway().refund(idempotency_key="order:4", amount=Decimal("-1.00"))

    assert GatewayCharge.objects.get().refunded_amount == Decimal(0)


# --- configuration and secrets ---------------------------------------------------------------


def test_the_gateway_is_named_by_the_setting(settings) -> None:
    assert isinstance(get_gateway(), SandboxGateway)

    settings.PAYMENT_GATEWAY = "tests.billing.test_gateway.RecordingGateway"

    assert isinstance(get_gateway(), RecordingGateway)


class RecordingGateway(SandboxGateway):
    """A stand-in production adapter, to show the setting is honoured."""


@pytest.mark.parametrize("number", [OK_CARD, DECLINED_CARD, NO_FUNDS_CARD, TIMEOUT_CARD])
def test_bil4_no_full_card_number_is_stored(number: str) -> None:
    card: CardDetails = SandboxGateway().tokenize_card(number=number, exp_month=3, exp_year=2027, cvc="123")
    _charge(card.token, key="order:5")
    SandboxGateway().lookup("order:5")
    digits = number.replace(" ", "")

    for row in GatewayCharge.objects.all():
        for value in _row_values(row):
            assert digits not in value
            assert number not in value
            assert digits[:12] not in value  # not even the part a last-four display hides
    assert digits[:12] not in card.token
    assert digits not in repr(card)


def test_the_sandbox_table_of_test_cards_matches_the_documentation() -> None:
    assert gateway.SANDBOX_TEST_CARDS == {
        "4242424242424242": gateway.SUCCEED,
        "4000000000000002": gateway.DECLINE,
        "4000000000000341": gateway.DECLINE,
        "4000000000009995": gateway.NO_FUNDS,
        "4000000000000119": gateway.TIMEOUT,
        "4000002760003184": gateway.AUTHENTICATE,
    }


# --- concurrency -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_ren8_two_workers_charging_with_one_key_at_once_charge_once(attempt: int) -> None:
    # given: two workers about to charge the same renewal with the same idempotency key
    token = _token()
    barrier = threading.Barrier(2)
    results: list[ChargeResult | Exception] = []

    def charge() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(_charge(token, key="renewal:42:3:2026-03-10"))
        except Exception as error:  # reported by the assertions below
            results.append(error)
        finally:
            connection.close()

    # when: both charge at the same moment, on two connections
    threads = [threading.Thread(target=charge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # then: one charge at the gateway, and both workers were told the same outcome
    assert results == [ChargeResult(status="succeeded"), ChargeResult(status="succeeded")]
    assert GatewayCharge.objects.filter(idempotency_key="renewal:42:3:2026-03-10").count() == 1
