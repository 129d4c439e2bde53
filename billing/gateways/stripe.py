"""The Stripe gateway (PAYMENT_GATEWAY=stripe), with the official `stripe` library (SPEC BIL-4, REN-8, MB-3).

Saved means of payment are Stripe PaymentMethods attached to a Stripe Customer, one Customer per
Organization (found by its metadata `portal_customer`, which `tokenize_card`'s `customer_reference`
names). The portal's token carries both ids: ``cus_…/pm_…`` for a card, ``cus_…/pm_…/paypal`` for a
PayPal billing agreement. It fits PaymentMeans.gateway_token (64 characters) with Stripe's current ids.

- `tokenize_card`: in production the portal must never see a card number. Cards are collected by
  Stripe Elements or Checkout (in setup mode) in the customer's browser, which hands the portal a
  PaymentMethod id: `tokenize_card(number="pm_…", …)` attaches that PaymentMethod to the Organization's
  Customer. A card number is accepted too, for tests against localstripe (a fake Stripe server) and Stripe's
  test mode only: the PaymentMethod is then created from it server-side, which a live Stripe account
  refuses unless it is PCI-certified for raw card data.
- `charge`: an off-session PaymentIntent (confirm=True, off_session=True) carrying the engine's
  idempotency key twice: as Stripe's Idempotency-Key header, and in the PaymentIntent's metadata
  (`idempotency_key`), so that `lookup` can find it. Before creating, the adapter looks the key up: a key
  already used answers its first outcome without a second PaymentIntent (Stripe keeps Idempotency-Keys for
  24 hours only; the look-up covers a replay days later, the header covers two racing calls).
  Outcomes: `succeeded`; `declined` with Stripe's decline code (`card_declined`, `insufficient_funds`, …);
  `requires_action` with reason `authentication_required` when the bank wants strong customer
  authentication (an off-session PaymentIntent then fails with that code on Stripe, and stays in
  `requires_action` on localstripe): nothing was charged, the engine treats it as a failed automatic
  debit and the customer pays on the invoice page, present to authenticate; `unknown` when Stripe did not
  answer (network, 5xx, rate limit) or the payment is still `processing`: the look-up job or the
  `payment_intent.*` webhook settles it (REN-8).
- `lookup`: the PaymentIntent whose metadata holds the key. On Stripe this is the Search API
  (``metadata['idempotency_key']:'…'``), which is eventually consistent: a PaymentIntent created in the
  last minute may not be found yet, in which case a retry of the charge with the same key is still
  answered by Stripe's own idempotency (24 hours). localstripe has no Search API (STRIPE_API_BASE set):
  there the adapter lists PaymentIntents and filters them by metadata.
- `refund`: a Refund of the key's PaymentIntent, never more than its charge minus what was refunded.
- PayPal (BIL-4): where the Stripe account offers PayPal (in Switzerland and the EEA, recurring payments
  enabled by Stripe), the customer approves a billing agreement once, through Stripe Checkout in setup
  mode; `save_payment_method` attaches the resulting PaymentMethod and returns a ``…/paypal`` token, which
  `charge` debits off-session exactly as a card (allowed_payment_method_types=["paypal"]). localstripe knows no
  PayPal PaymentMethods, so this path is tested with a recorded client only (tests/billing/test_gateway_stripe.py).

Amounts are Decimal at the interface and integer minor units at Stripe's edge.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from stdnum import luhn
from stripe.params import PaymentIntentCreateParams

from billing.gateways.base import (
    DECLINE_AUTHENTICATION_REQUIRED,
    DECLINE_CARD_DECLINED,
    REFUND_CHARGE_NOT_SUCCEEDED,
    REFUND_EXCEEDS_CHARGE,
    REFUND_NO_SUCH_CHARGE,
    CardDetails,
    CardRejected,
    ChargeResult,
    GatewayError,
    RefundResult,
    check_amount,
)

KEY_FIELD = "idempotency_key"  # the PaymentIntent's metadata that names the engine's key
CUSTOMER_FIELD = "portal_customer"  # the Customer's metadata that names the Organization
DEBITABLE_TYPES = ("card", "paypal")  # PaymentMethod types the adapter debits off-session

# Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)

# Stripe's card brands as the portal shows them (the sandbox's names, billing.gateways.sandbox.card_brand).
BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal → Stripe's integer amount: 108.10 CHF is 10810; GatewayError if it has cents Stripe cannot take."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise GatewayError(f"{currency} has no minor unit for {amount}")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """Stripe's integer amount → Decimal with two decimals (MONEY-1)."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    return Decimal(minor).scaleb(-exponent).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class StripeToken:
    """What the portal stores of a saved means: the Customer and the PaymentMethod (and its type)."""

    customer: str
    payment_method: str
    type: str = "card"

    def __str__(self) -> str:
        suffix = "" if self.type == "card" else f"/{self.type}"
        return f"{self.customer}/{self.payment_method}{suffix}"

    @classmethod
    def parse(cls, token: str) -> "StripeToken":
        parts = token.split("/")
        kind = parts[2] if len(parts) == 3 else "card"
        if (
            len(parts) not in (2, 3)
            or not parts[0].startswith("cus_")
            or not parts[1].startswith("pm_")
            or kind not in DEBITABLE_TYPES
        ):
            raise GatewayError("not a Stripe token (cus_…/pm_…[/paypal])")
        return cls(customer=parts[0], payment_method=parts[1], type=kind)


def _rejection(error: stripe.StripeError) -> CardRejected:
    """Stripe's refusal of a card, as CardRejected's codes."""
    code = getattr(error, "code", None) or ""
    if "expiry" in code or "exp_" in code:
        return CardRejected("invalid_expiry")
    if "cvc" in code:
        return CardRejected("invalid_cvc")
    if code == DECLINE_CARD_DECLINED or (isinstance(error, stripe.CardError) and "number" not in code):
        return CardRejected("card_declined")
    return CardRejected("invalid_number")


def _decline(error: stripe.StripeError) -> ChargeResult:
    """A CardError of an off-session PaymentIntent: declined, or authentication required (SCA)."""
    code = getattr(error, "code", None) or ""
    if code == DECLINE_AUTHENTICATION_REQUIRED:
        return ChargeResult(status="requires_action", decline_reason=DECLINE_AUTHENTICATION_REQUIRED)
    detail = getattr(error, "error", None)
    reason = getattr(detail, "decline_code", None) or code or DECLINE_CARD_DECLINED
    return ChargeResult(status="declined", decline_reason=reason)


def _plain(value: Any) -> dict[str, Any]:
    """A Stripe object (or None) as a plain dict: stripe>=15 objects are not dicts."""
    return value.to_dict() if value else {}


def _result(intent: Any) -> ChargeResult:
    """The outcome a PaymentIntent stands at."""
    status = intent.status
    if status in ("succeeded", "requires_capture"):
        return ChargeResult(status="succeeded")
    if status == "requires_action":
        return ChargeResult(status="requires_action", decline_reason=DECLINE_AUTHENTICATION_REQUIRED)
    if status in ("requires_payment_method", "canceled"):
        error = _plain(getattr(intent, "last_payment_error", None))
        code = error.get("decline_code") or error.get("code") or DECLINE_CARD_DECLINED
        if code in (DECLINE_AUTHENTICATION_REQUIRED, "payment_intent_authentication_failure"):
            return ChargeResult(status="requires_action", decline_reason=DECLINE_AUTHENTICATION_REQUIRED)
        return ChargeResult(status="declined", decline_reason=code)
    return ChargeResult(status="unknown")  # processing, requires_confirmation: not settled yet


class StripeGateway:
    """See the module docstring. Keys from the settings STRIPE_SECRET_KEY and STRIPE_API_BASE."""

    def __init__(self, *, api_key: str | None = None, api_base: str | None = None) -> None:
        api_key = api_key if api_key is not None else settings.STRIPE_SECRET_KEY
        api_base = api_base if api_base is not None else settings.STRIPE_API_BASE
        if not api_key:
            raise ImproperlyConfigured("PAYMENT_GATEWAY=stripe needs STRIPE_SECRET_KEY")
        # A fake Stripe (localstripe, STRIPE_API_BASE set) has no Search API (look-ups list and filter
        # instead) and knows PaymentIntent parameters only as they were before `allowed_payment_method_types`.
        self.fake = bool(api_base)
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            # Retries of a request that carries an Idempotency-Key are safe: Stripe answers the first result.
            max_network_retries=2,
        )

    # --- customers and means -------------------------------------------------------------------

    def _customer(self, reference: str) -> str:
        """The Customer of one Organization, created on first use."""
        if reference:
            found = self._find("customers", CUSTOMER_FIELD, reference)
            if found is not None:
                return str(found.id)
        customer = self.client.v1.customers.create(
            params={"metadata": {CUSTOMER_FIELD: reference}} if reference else {},
            # Two cards added within a minute (Search lags): Stripe answers the first Customer.
            options={"idempotency_key": f"customer:{reference}"} if reference else {},
        )
        return str(customer.id)

    def save_payment_method(self, payment_method: str, *, customer_reference: str = "") -> tuple[str, Any]:
        """Attach a PaymentMethod collected by Stripe (Elements, Checkout) to the Organization's Customer;
        its token and the PaymentMethod. Card or PayPal; CardRejected if the issuer refuses to save it."""
        try:
            method = self.client.v1.payment_methods.retrieve(payment_method)
        except stripe.InvalidRequestError:
            raise CardRejected("invalid_number") from None
        if method.type not in DEBITABLE_TYPES:
            raise GatewayError(f"a {method.type} PaymentMethod cannot be debited off-session here")
        attached = method.customer
        customer = str(getattr(attached, "id", attached)) if attached else self._customer(customer_reference)
        if not attached:
            try:
                method = self.client.v1.payment_methods.attach(payment_method, params={"customer": customer})
            except stripe.StripeError as error:
                raise _rejection(error) from None
        return str(StripeToken(customer=customer, payment_method=method.id, type=method.type)), method

    def tokenize_card(
        self, *, number: str, exp_month: int, exp_year: int, cvc: str, customer_reference: str = ""
    ) -> CardDetails:
        """A PaymentMethod id ("pm_…", production) or a card number (tests); see the module docstring."""
        if number.startswith("pm_"):
            payment_method = number
        else:
            digits = number.replace(" ", "").replace("-", "")
            if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
                raise CardRejected("invalid_number")
            if not 1 <= exp_month <= 12 or not 1000 <= exp_year <= 9999:
                raise CardRejected("invalid_expiry")
            if not cvc.isascii() or not cvc.isdigit() or len(cvc) not in (3, 4):
                raise CardRejected("invalid_cvc")
            try:
                created = self.client.v1.payment_methods.create(
                    params={
                        "type": "card",
                        "card": {"number": digits, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc},
                    }
                )
            except stripe.StripeError as error:
                raise _rejection(error) from None
            payment_method = created.id
        token, method = self.save_payment_method(payment_method, customer_reference=customer_reference)
        if method.type != "card":
            raise GatewayError("not a card PaymentMethod")
        card = method.card
        return CardDetails(
            token=token,
            brand=BRANDS.get(card.brand, card.brand.title()),
            last4=card.last4,
            fingerprint=card.fingerprint,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    # --- charges -------------------------------------------------------------------------------

    def _find(self, resource: str, field: str, value: str) -> Any | None:
        """The newest object of `resource` whose metadata `field` is `value`, or None."""
        service = getattr(self.client.v1, resource)
        if not self.fake:
            quoted = value.replace("\\", "\\\\").replace("'", "\\'")
            found = service.search(params={"query": f"metadata['{field}']:'{quoted}'", "limit": 1})
            return found.data[0] if found.data else None
        newest = None
        for item in service.list(params={"limit": 100}).auto_paging_iter():
            if _plain(item.metadata).get(field) == value and (newest is None or item.created >= newest.created):
                newest = item
        return newest

    def _intent(self, idempotency_key: str) -> Any | None:
        return self._find("payment_intents", KEY_FIELD, idempotency_key) if idempotency_key else None

    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, now: dt.datetime
    ) -> ChargeResult:
        check_amount(amount, currency)
        saved = StripeToken.parse(token)
        if not idempotency_key:
            raise GatewayError("an idempotency key is required")
        minor = to_minor(amount, currency)
        try:
            existing = self._intent(idempotency_key)
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError):
            return ChargeResult(status="unknown")  # cannot tell whether it was charged: look it up later
        if existing is not None:
            if (existing.amount, existing.currency, existing.customer, existing.payment_method) != (
                minor,
                currency.lower(),
                saved.customer,
                saved.payment_method,
            ):
                raise GatewayError("this idempotency key was already used for another charge")
            return _result(existing)
        params: PaymentIntentCreateParams = {
            "amount": minor,
            "currency": currency.lower(),
            "customer": saved.customer,
            "payment_method": saved.payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": {KEY_FIELD: idempotency_key},
        }
        if not self.fake:  # the saved means' own type only (the API version of stripe==16.1.0 names it so)
            params["allowed_payment_method_types"] = [saved.type]  # type: ignore[typeddict-item]
        try:
            intent = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as error:
            return _decline(error)
        except stripe.IdempotencyError:
            raise GatewayError("this idempotency key was already used for another charge") from None
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError):
            return ChargeResult(status="unknown")
        except stripe.InvalidRequestError as error:
            raise GatewayError(f"Stripe refused the charge request: {error.user_message or error}") from None
        return _result(intent)

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        intent = self._intent(idempotency_key)
        return None if intent is None else _result(intent)

    # --- refunds -------------------------------------------------------------------------------

    def refund(self, *, idempotency_key: str, amount: Decimal) -> RefundResult:
        """Each call refunds again (the interface carries no refund key); two identical calls racing
        share one Stripe Idempotency-Key (the key, what was refunded before, the amount)."""
        intent = self._intent(idempotency_key)
        if intent is None:
            return RefundResult(
                status="refused", amount=Decimal(0), refunded_total=Decimal(0), reason=REFUND_NO_SUCH_CHARGE
            )
        currency = intent.currency.upper()
        check_amount(amount, currency)
        if intent.status != "succeeded" or not getattr(intent, "latest_charge", None):
            return RefundResult(
                status="refused", amount=Decimal(0), refunded_total=Decimal(0), reason=REFUND_CHARGE_NOT_SUCCEEDED
            )
        charge = intent.latest_charge
        if isinstance(charge, str):
            charge = self.client.v1.charges.retrieve(charge)
        refunded, minor = int(charge.amount_refunded), to_minor(amount, currency)
        if refunded + minor > int(charge.amount):
            return RefundResult(
                status="refused",
                amount=Decimal(0),
                refunded_total=from_minor(refunded, currency),
                reason=REFUND_EXCEEDS_CHARGE,
            )
        self.client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": minor, "metadata": {KEY_FIELD: idempotency_key}},
            options={"idempotency_key": f"refund:{idempotency_key}:{refunded}+{minor}"},
        )
        return RefundResult(status="refunded", amount=amount, refunded_total=from_minor(refunded + minor, currency))


def construct_event(payload: bytes, signature: str, *, secret: str | None = None) -> stripe.Event:
    """A webhook's event, once its Stripe-Signature header is verified with STRIPE_WEBHOOK_SECRET
    (Stripe's default tolerance: five minutes); GatewayError when it is not."""
    secret = secret if secret is not None else settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise ImproperlyConfigured("the Stripe webhook needs STRIPE_WEBHOOK_SECRET")
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError):
        raise GatewayError("a Stripe event whose signature does not verify") from None
