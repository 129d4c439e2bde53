"""The payment gateway: the one door through which the portal moves money (SPEC BIL-4, REN-8).

The interface is deliberately narrow, so that an adapter implements it with one or two API calls per
method:

- `tokenize_card` turns a card into an opaque token plus what the portal may keep (brand, last four
  digits, expiry, fingerprint). The full number and the CVC are never stored, logged or returned.
- `charge` debits a token once per idempotency key: `succeeded`, `declined` (with a reason),
  `requires_action` or `unknown` (timeout: the money may or may not have moved).
- `lookup` asks for the outcome of an earlier charge by its idempotency key; it is how an `unknown`
  outcome is reconciled before any retry (REN-8).
- `refund` gives back all or part of a succeeded charge.

`requires_action` is strong customer authentication (3-D Secure, PSD2): the bank wants the card
holder present, which an off-session debit (a renewal, a usage invoice) cannot provide. Nothing was
charged and nothing will be without the customer: the engine treats it as a failed automatic debit
(`decline_reason` is "authentication_required") and the customer is told to pay on the invoice page,
where they are present and can authenticate. Only the Stripe adapter answers it; the sandbox never does.

Amounts are `Decimal` with two decimals beside a currency (MONEY-1); an adapter converts to integer
minor units at its own edge. Requests the gateway cannot even consider (bad amount, unknown token, an
idempotency key reused for another charge) raise `GatewayError`: they are programming errors, not
outcomes.

The setting PAYMENT_GATEWAY names the adapter: "sandbox" (the default of development and tests; its
tables live in the dev-only `sandbox` app, which production does not install), "stripe", or a dotted
path to a class. See `billing.gateways.sandbox` and `billing.gateways.stripe`.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from billing.money import quantize

ChargeStatus = Literal["succeeded", "declined", "requires_action", "unknown"]
RefundStatus = Literal["refunded", "refused"]

# Decline reasons (Stripe's codes, which other adapters map to).
DECLINE_CARD_DECLINED = "card_declined"
DECLINE_INSUFFICIENT_FUNDS = "insufficient_funds"
DECLINE_AUTHENTICATION_REQUIRED = "authentication_required"  # with status "requires_action"

# Why a refund is refused.
REFUND_NO_SUCH_CHARGE = "no_such_charge"
REFUND_CHARGE_NOT_SUCCEEDED = "charge_not_succeeded"
REFUND_EXCEEDS_CHARGE = "amount_exceeds_charge"

# PAYMENT_GATEWAY's short names.
GATEWAYS = {
    "sandbox": "billing.gateways.sandbox.SandboxGateway",
    "stripe": "billing.gateways.stripe.StripeGateway",
}


class GatewayError(Exception):
    """A request the gateway refuses to consider (a caller's bug), as opposed to an outcome."""


class CardRejected(GatewayError):
    """`tokenize_card` refused the card; `code` is one of invalid_number, invalid_expiry, invalid_cvc,
    card_declined (the issuer refused to save it: Stripe checks a card when it is attached)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CardDetails:
    """What the portal may keep of a card: never the full number, never the CVC."""

    token: str
    brand: str
    last4: str
    fingerprint: str  # the same card gives the same fingerprint, whichever Organization adds it (REN-7)
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    decline_reason: str = ""  # when declined, and "authentication_required" with requires_action


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    amount: Decimal  # refunded by this call (0 when refused)
    refunded_total: Decimal  # refunded on the charge so far
    reason: str = ""  # only when refused


class PaymentGateway(Protocol):
    def tokenize_card(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str, customer_reference: str = ""
    ) -> CardDetails:
        """Validate a card and return its token and displayable details; raise CardRejected.
        `customer_reference` names the portal's customer (an Organization), for gateways that keep
        one customer record per payer (Stripe); others ignore it."""
        ...

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, now: dt.datetime
    ) -> ChargeResult:
        """Debit `amount` once per `idempotency_key`; the same key again answers the first outcome."""
        ...

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The outcome of the charge made with this key, or None if the gateway never received it."""
        ...

    def refund(self, *, idempotency_key: str, amount: Decimal) -> RefundResult:
        """Give back `amount` of the succeeded charge made with this key, never more than was charged."""
        ...


@dataclass(frozen=True)
class ChargeRequest:
    amount: Decimal
    currency: str
    token: str
    idempotency_key: str


def check_amount(amount: Decimal, currency: str) -> None:
    """GatewayError unless `amount` is a positive Decimal of cents and `currency` an ISO 4217 code."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or quantize(amount) != amount:
        raise GatewayError("the amount must be a positive Decimal with at most two decimals")
    if len(currency) != 3 or not currency.isascii() or not currency.isupper():
        raise GatewayError("the currency must be an ISO 4217 code such as CHF")


def check_batch(requests: list[ChargeRequest]) -> None:
    """GatewayError unless each request of a batch has its own key and a valid amount."""
    keys = [r.idempotency_key for r in requests]
    if len(set(keys)) != len(keys) or not all(keys):
        raise GatewayError("each charge of a batch needs its own idempotency key")
    for request in requests:
        check_amount(request.amount, request.currency)


def charge_many(gateway: PaymentGateway, requests: list[ChargeRequest], *, now: dt.datetime) -> list[ChargeResult]:
    """Charge many tokens (the daily run's batches): the gateway's own batch call where it has one
    (the sandbox does, so a batch costs the same queries for 1 or 500 charges), else one by one.
    Each request keeps its own idempotency key: a replayed batch charges nobody twice."""
    batch = getattr(gateway, "charge_many", None)
    if batch is not None:
        return list(batch(requests, now=now))
    return [
        gateway.charge(amount=r.amount, currency=r.currency, token=r.token, idempotency_key=r.idempotency_key, now=now)
        for r in requests
    ]


def gateway_path(name: str) -> str:
    """The dotted path of the class PAYMENT_GATEWAY names (a short name or a dotted path)."""
    return GATEWAYS.get(name.strip().lower(), name.strip())


def is_sandbox(name: str) -> bool:
    """Whether PAYMENT_GATEWAY names the sandbox, which production refuses (config/settings/production.py)."""
    path = gateway_path(name)
    return path == GATEWAYS["sandbox"] or path.split(".")[0] == "sandbox" or path.endswith(".SandboxGateway")


def get_gateway() -> PaymentGateway:
    """The gateway named by the setting PAYMENT_GATEWAY."""
    path = gateway_path(settings.PAYMENT_GATEWAY)
    try:
        gateway_class = import_string(path)
    except RuntimeError as error:  # a model of an app not installed: the sandbox outside development
        raise ImproperlyConfigured(
            f"PAYMENT_GATEWAY={settings.PAYMENT_GATEWAY!r} cannot be used here: {error}"
        ) from None
    gateway: PaymentGateway = gateway_class()
    return gateway
