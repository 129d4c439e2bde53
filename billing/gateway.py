"""The payment gateway's public names (SPEC BIL-4, REN-8), as the rest of the portal imports them.

The protocol and its types live in `billing.gateways.base` (read its docstring first), the adapters
beside it: `billing.gateways.sandbox` (development and tests) and `billing.gateways.stripe`. The
sandbox's names are resolved only when asked for: importing them needs the dev-only `sandbox` app,
which production does not install.
"""

from typing import TYPE_CHECKING, Any

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
    "SandboxGateway",
    "charge_many",
    "get_gateway",
    "is_sandbox",
]

# The sandbox's names kept importable from here (tests import them so).
_SANDBOX_NAMES = frozenset(
    {"SandboxGateway", "SANDBOX_TEST_CARDS", "SUCCEED", "DECLINE", "NO_FUNDS", "TIMEOUT", "AUTHENTICATE"}
    | {"card_brand", "card_fingerprint"}
)

if TYPE_CHECKING:
    from billing.gateways.sandbox import SandboxGateway
else:

    def __getattr__(name: str) -> Any:
        if name in _SANDBOX_NAMES:
            from billing.gateways import sandbox

            return getattr(sandbox, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
