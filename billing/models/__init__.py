"""Billing tables, by subdomain: catalog, invoices, payments, prepaid account (Services: `subscriptions`)."""

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
