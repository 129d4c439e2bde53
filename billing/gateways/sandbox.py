"""The sandbox gateway: the default in development and tests (PAYMENT_GATEWAY=sandbox), never in
production (config/settings/production.py refuses it, and its tables live in the dev-only `sandbox` app,
which production does not install).

Its behaviour follows Stripe's test cards, with any future expiry and any 3- or 4-digit CVC:

==========================  ==================================================================
card number                 behaviour
==========================  ==================================================================
4242 4242 4242 4242         succeeds (as does any other Luhn-valid number not listed here)
4000 0000 0000 0002         declined, reason `card_declined`
4000 0000 0000 0341         declined, reason `card_declined` (on Stripe: saved fine, declined
                            when charged; 0002 is already refused when saved there)
4000 0000 0000 9995         declined, reason `insufficient_funds`
4000 0027 6000 3184         `requires_action`, reason `authentication_required`: the bank wants strong
                            customer authentication, which an off-session debit cannot give (as
                            Stripe's card of the same number); nothing is charged
4000 0000 0000 0119         times out: `charge` answers `unknown` and records a pending charge;
                            the first `lookup` of its key settles it as *succeeded* (the money did
                            move), so a caller that retried without looking up would pay twice
==========================  ==================================================================

The sandbox keeps its "bank side" in the GatewayCharge table (sandbox.models), so `lookup` works across
processes and restarts, and one idempotency key never charges twice (a unique constraint backs it, also
against two workers racing). Its rows are written in the caller's transaction: unlike a real gateway, a
charge the caller rolls back is forgotten.
"""

import datetime as dt
import hashlib
import hmac
import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from stdnum import luhn

from billing.gateways.base import (
    DECLINE_AUTHENTICATION_REQUIRED,
    DECLINE_CARD_DECLINED,
    DECLINE_INSUFFICIENT_FUNDS,
    REFUND_CHARGE_NOT_SUCCEEDED,
    REFUND_EXCEEDS_CHARGE,
    REFUND_NO_SUCH_CHARGE,
    CardDetails,
    CardRejected,
    ChargeRequest,
    ChargeResult,
    GatewayError,
    RefundResult,
    check_amount,
    check_batch,
)
from sandbox.models import GatewayCharge

# A fixed, public pepper: sandbox fingerprints must be stable across processes and databases. It
# protects nothing; a production gateway computes fingerprints on its side.
SANDBOX_FINGERPRINT_PEPPER = b"jelastic-portal-sandbox-fingerprint-v1"

# What a charge on a test card does. The token carries the behaviour ("tok_sandbox_<behaviour>_<random>"),
# so that no table maps tokens to card numbers and no number is kept anywhere.
SUCCEED, DECLINE, NO_FUNDS, TIMEOUT, AUTHENTICATE = "ok", "declined", "nofunds", "timeout", "sca"
SANDBOX_TEST_CARDS = {
    "4242424242424242": SUCCEED,
    "4000000000000002": DECLINE,
    "4000000000000341": DECLINE,  # Stripe's card that saves fine and declines when charged
    "4000000000009995": NO_FUNDS,
    "4000000000000119": TIMEOUT,
    "4000002760003184": AUTHENTICATE,
}
SANDBOX_TOKEN_PREFIX = "tok_sandbox_"
_OUTCOMES: dict[str, tuple[str, str]] = {
    SUCCEED: (GatewayCharge.Outcome.SUCCEEDED, ""),
    DECLINE: (GatewayCharge.Outcome.DECLINED, DECLINE_CARD_DECLINED),
    NO_FUNDS: (GatewayCharge.Outcome.DECLINED, DECLINE_INSUFFICIENT_FUNDS),
    TIMEOUT: (GatewayCharge.Outcome.PENDING, ""),
    # Kept as a decline (nothing was charged), answered as requires_action (see _result).
    AUTHENTICATE: (GatewayCharge.Outcome.DECLINED, DECLINE_AUTHENTICATION_REQUIRED),
}

# Brands by number prefix, most specific first (IIN ranges as the card schemes publish them).
_BRAND_PREFIXES: tuple[tuple[str, tuple[range, ...]], ...] = (
    ("American Express", (range(34, 35), range(37, 38))),
    ("Diners Club", (range(300, 306), range(36, 37), range(38, 40))),
    ("JCB", (range(3528, 3590),)),
    ("Discover", (range(6011, 6012), range(644, 650), range(65, 66))),
    ("UnionPay", (range(62, 63),)),
    ("Mastercard", (range(51, 56), range(2221, 2721))),
    ("Visa", (range(4, 5),)),
)


def card_brand(number: str) -> str:
    """The scheme of a card number, from its prefix; "Unknown" when none matches."""
    for brand, ranges in _BRAND_PREFIXES:
        for prefixes in ranges:
            width = len(str(prefixes.start))
            if len(number) >= width and int(number[:width]) in prefixes:
                return brand
    return "Unknown"


def card_fingerprint(number: str) -> str:
    """HMAC-SHA-256 of the digits with the sandbox pepper: 64 hex characters."""
    return hmac.new(SANDBOX_FINGERPRINT_PEPPER, number.encode(), hashlib.sha256).hexdigest()


def _digits(number: str) -> str:
    """The card number without the spaces and dashes people type; CardRejected if anything else."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
        raise CardRejected("invalid_number")
    return digits


def _behaviour(token: str) -> str:
    behaviour, _, rest = token.removeprefix(SANDBOX_TOKEN_PREFIX).partition("_")
    if not token.startswith(SANDBOX_TOKEN_PREFIX) or behaviour not in _OUTCOMES or not rest:
        raise GatewayError("not a sandbox card token")
    return behaviour


# What a repeated key is compared with and answers, read as plain values (no model instances).
_CHARGED = ("amount", "currency", "token", "outcome", "decline_reason")
Charged = tuple[Decimal, str, str, str, str]


def _replayed(charged: Charged, *, amount: Decimal, currency: str, token: str) -> ChargeResult:
    """The answer to a key already used: what it gave the first time, for the same charge only."""
    charged_amount, charged_currency, charged_token, outcome, decline_reason = charged
    if (charged_amount, charged_currency, charged_token) != (amount, currency, token):
        raise GatewayError("this idempotency key was already used for another charge")
    return _result(outcome, decline_reason)


def _result(outcome: str, decline_reason: str) -> ChargeResult:
    """A refund does not change how the charge itself went: a refunded charge had succeeded."""
    if outcome in (GatewayCharge.Outcome.SUCCEEDED, GatewayCharge.Outcome.REFUNDED):
        return ChargeResult(status="succeeded")
    if outcome == GatewayCharge.Outcome.DECLINED and decline_reason == DECLINE_AUTHENTICATION_REQUIRED:
        return ChargeResult(status="requires_action", decline_reason=decline_reason)
    if outcome == GatewayCharge.Outcome.DECLINED:
        return ChargeResult(status="declined", decline_reason=decline_reason)
    return ChargeResult(status="unknown")


class SandboxGateway:
    """The gateway of development and tests; see the module docstring for its test cards."""

    def tokenize_card(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str, customer_reference: str = ""
    ) -> CardDetails:
        """`customer_reference` is ignored: the sandbox keeps no customers."""
        digits = _digits(number)
        if not 1 <= exp_month <= 12 or not 1000 <= exp_year <= 9999:
            raise CardRejected("invalid_expiry")
        if not cvc.isascii() or not cvc.isdigit() or len(cvc) not in (3, 4):
            raise CardRejected("invalid_cvc")
        behaviour = SANDBOX_TEST_CARDS.get(digits, SUCCEED)
        return CardDetails(
            token=f"{SANDBOX_TOKEN_PREFIX}{behaviour}_{secrets.token_hex(16)}",
            brand=card_brand(digits),
            last4=digits[-4:],
            fingerprint=card_fingerprint(digits),
            exp_month=exp_month,
            exp_year=exp_year,
        )

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, now: dt.datetime
    ) -> ChargeResult:
        """A repeated key answers the stored outcome without charging again, also "unknown" while
        the charge is pending: only `lookup` settles it, as REN-8 asks callers to do before a retry."""
        check_amount(amount, currency)
        behaviour = _behaviour(token)
        if not idempotency_key:
            raise GatewayError("an idempotency key is required")
        existing = GatewayCharge.objects.filter(idempotency_key=idempotency_key).values_list(*_CHARGED).first()
        if existing is not None:
            return _replayed(existing, amount=amount, currency=currency, token=token)
        outcome, decline_reason = _OUTCOMES[behaviour]
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives a lost race
                GatewayCharge.objects.create(
                    idempotency_key=idempotency_key,
                    token=token,
                    amount=amount,
                    currency=currency,
                    outcome=outcome,
                    decline_reason=decline_reason,
                    created_at=now,
                )
        except IntegrityError:
            # Another process charged with this key between our read and our insert: its row wins.
            existing = GatewayCharge.objects.values_list(*_CHARGED).get(idempotency_key=idempotency_key)
            return _replayed(existing, amount=amount, currency=currency, token=token)
        return _result(outcome, decline_reason)

    def charge_many(self, requests: list[ChargeRequest], *, now: dt.datetime) -> list[ChargeResult]:
        """`charge` for many keys with at most three queries: read the keys already used (one used
        for another charge refuses the batch before anything is charged), insert the new ones (a key
        a concurrent process inserted first is skipped, and its row wins), read them back."""
        if not requests:
            return []
        check_batch(requests)
        keys = [r.idempotency_key for r in requests]

        def charged() -> dict[str, Charged]:
            rows = GatewayCharge.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", *_CHARGED)
            return {key: tuple(values) for key, *values in rows}

        def answer(request: ChargeRequest, rows: dict[str, Charged]) -> ChargeResult:
            first = rows[request.idempotency_key]
            return _replayed(first, amount=request.amount, currency=request.currency, token=request.token)

        existing = charged()
        new_rows = []
        for request in requests:
            if request.idempotency_key in existing:
                answer(request, existing)  # refused here if the key was used for another charge
                continue
            outcome, decline_reason = _OUTCOMES[_behaviour(request.token)]
            new_rows.append(
                GatewayCharge(
                    idempotency_key=request.idempotency_key,
                    token=request.token,
                    amount=request.amount,
                    currency=request.currency,
                    outcome=outcome,
                    decline_reason=decline_reason,
                    created_at=now,
                )
            )
        if new_rows:
            with transaction.atomic():
                GatewayCharge.objects.bulk_create(new_rows, ignore_conflicts=True)
            existing = charged()
        return [answer(request, existing) for request in requests]

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The timeout card's pending charge settles here, as succeeded, and stays so."""
        with transaction.atomic():
            row = GatewayCharge.objects.select_for_update().filter(idempotency_key=idempotency_key).first()
            if row is None:
                return None
            if row.outcome == GatewayCharge.Outcome.PENDING:
                row.outcome = GatewayCharge.Outcome.SUCCEEDED
                row.save(update_fields=["outcome"])
        return _result(row.outcome, row.decline_reason)

    def refund(self, *, idempotency_key: str, amount: Decimal) -> RefundResult:
        """Each call refunds again (this interface carries no refund key): callers record a refund
        before asking for the next one. A fully refunded charge is marked REFUNDED."""
        with transaction.atomic():
            row = GatewayCharge.objects.select_for_update().filter(idempotency_key=idempotency_key).first()
            if row is None:
                return RefundResult(
                    status="refused", amount=Decimal(0), refunded_total=Decimal(0), reason=REFUND_NO_SUCH_CHARGE
                )
            check_amount(amount, row.currency)
            if row.outcome not in (GatewayCharge.Outcome.SUCCEEDED, GatewayCharge.Outcome.REFUNDED):
                reason = REFUND_CHARGE_NOT_SUCCEEDED
            elif row.refunded_amount + amount > row.amount:
                reason = REFUND_EXCEEDS_CHARGE
            else:
                row.refunded_amount += amount
                if row.refunded_amount == row.amount:
                    row.outcome = GatewayCharge.Outcome.REFUNDED
                row.save(update_fields=["refunded_amount", "outcome"])
                return RefundResult(status="refunded", amount=amount, refunded_total=row.refunded_amount)
        return RefundResult(status="refused", amount=Decimal(0), refunded_total=row.refunded_amount, reason=reason)
