"""The payment gateway's public names (SPEC BIL-4, REN-8), as the rest of the portal imports them.

The protocol and its types live in `billing.gateways.base` (read its docstring first), the adapters
beside it: `billing.gateways.sandbox` (development and tests; it needs the dev-only `sandbox` app,
which production does not install, so nothing here imports it) and `billing.gateways.stripe`.
"""


from django.utils.translation import gettext_noop

from billing.gateways.base import (
    DECLINE_AUTHENTICATION_REQUIRED,
    DECLINE_CARD_DECLINED,
    DECLINE_INSUFFICIENT_FUNDS,
    GATEWAYS,
    REFUND_CHARGE_NOT_SUCCEEDED,
    REFUND_EXCEEDS_CHARGE,
    REFUND_NO_SUCH_CHARGE,
    CardDetails,
    CardRejected,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayError,
    PaymentGateway,
    RefundResult,
    RefundStatus,
    charge_many,
    get_gateway,
    is_sandbox,
)

# Why a charge failed when the customer's bank wants it confirmed by the customer (strong customer
# authentication): an off-session charge cannot be, so the customer pays on the invoice page.
AUTHENTICATION_REQUIRED = gettext_noop("your bank asks you to confirm this payment yourself")

__all__ = [
    "AUTHENTICATION_REQUIRED",
    "DECLINE_AUTHENTICATION_REQUIRED",
    "DECLINE_CARD_DECLINED",
    "DECLINE_INSUFFICIENT_FUNDS",
    "GATEWAYS",
    "REFUND_CHARGE_NOT_SUCCEEDED",
    "REFUND_EXCEEDS_CHARGE",
    "REFUND_NO_SUCH_CHARGE",
    "CardDetails",
    "CardRejected",
    "ChargeRequest",
    "ChargeResult",
    "ChargeStatus",
    "GatewayError",
    "PaymentGateway",
    "RefundResult",
    "RefundStatus",
    "charge_many",
    "get_gateway",
    "is_sandbox",
]
