"""Billing tables, by subdomain: catalog, services, invoices, payments, prepaid account."""

from billing.models.catalog import AddOn, AddOnPrice, Period, Plan, Price, ServiceType, VatRate
from billing.models.invoices import CreditNote, Invoice, InvoiceLine, InvoiceSequence
from billing.models.payments import GatewayCharge, MeansKind, MeansRestriction, Payment, PaymentMeans
from billing.models.prepaid import CashOutRequest, LedgerEntry, PrepaidAccount
from billing.models.renewals import MoneyBackRefund, RenewalAttempt
from billing.models.services import MembershipServiceScope, Service, ServiceAddOn, TrialFlag

__all__ = [
    "AddOn",
    "AddOnPrice",
    "CashOutRequest",
    "CreditNote",
    "GatewayCharge",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "LedgerEntry",
    "MeansKind",
    "MeansRestriction",
    "MembershipServiceScope",
    "MoneyBackRefund",
    "Payment",
    "PaymentMeans",
    "Period",
    "Plan",
    "PrepaidAccount",
    "Price",
    "RenewalAttempt",
    "Service",
    "ServiceAddOn",
    "ServiceType",
    "TrialFlag",
    "VatRate",
]
