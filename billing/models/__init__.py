"""Billing tables, by subdomain: catalog, invoices, payments, prepaid account (Services: `subscriptions`)."""

from typing import TYPE_CHECKING, Any

from billing.models.catalog import AddOn, AddOnPrice, Period, Plan, Price, ServiceType, VatRate
from billing.models.gateway_events import GatewayEvent
from billing.models.invoices import CreditNote, Invoice, InvoiceLine, InvoiceSequence
from billing.models.payments import MeansKind, MeansRestriction, Payment, PaymentMeans
from billing.models.prepaid import CashOutRequest, LedgerEntry, PrepaidAccount

__all__ = [
    "AddOn",
    "AddOnPrice",
    "CashOutRequest",
    "CreditNote",
    "GatewayEvent",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "LedgerEntry",
    "MeansKind",
    "MeansRestriction",
    "Payment",
    "PaymentMeans",
    "Period",
    "Plan",
    "PrepaidAccount",
    "Price",
    "ServiceType",
    "VatRate",
]

if TYPE_CHECKING:
    from sandbox.models import GatewayCharge  # noqa: F401
else:

    def __getattr__(name: str) -> Any:
        """`billing.models.GatewayCharge`, as it was imported before it moved to the dev-only sandbox app:
        kept for the tests that still import it from here, resolved only when asked for (production,
        without the sandbox app, never asks)."""
        if name == "GatewayCharge":
            from sandbox.models import GatewayCharge  # noqa: F401

            return GatewayCharge
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
