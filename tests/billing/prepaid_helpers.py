"""Shared set-up of the Prepaid Account tests (test_prepaid*.py): money in, invoices, the state a refusal keeps."""

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from accounts.models import Organization, User
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import CashOutRequest, Invoice, LedgerEntry, Payment, PrepaidAccount
from billing.services.prepaid import prepaid_credit
from tests.billing.factories import InvoiceFactory
from tests.factories import UserFactory

# The factory's invoices are due on 2026-03-31: on NOW they are overdue.
NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
JOB = Actor.system("tests.prepaid")
Kind = LedgerEntry.Kind


def make_staff() -> User:
    return UserFactory(is_staff=True, email="staff@example.com")


claim_numbers = itertools.count(1)


def fund(organization: Organization, amount: str, reference: str | None = None) -> LedgerEntry:
    """Credit the account through the public door (an SLA penalty needs no payment row), each time
    for another claim (SLA-4: a claim's penalty is credited once)."""
    reference = reference or f"claim-{next(claim_numbers)}"
    return prepaid_credit(
        organization=organization,
        kind=Kind.SLA_PENALTY,
        amount=Decimal(amount),
        now=NOW,
        actor=JOB,
        rule="SLA-4",
        claim_reference=reference,
    )


def make_invoice(organization: Organization, total: str = "108.10", **fields: Any) -> Invoice:
    if total == "108.10":
        return InvoiceFactory(organization=organization, **fields)
    amount = Decimal(total)
    return InvoiceFactory(
        organization=organization, total_excl_vat=amount, total_vat=Decimal("0.00"), total_incl_vat=amount, **fields
    )


def card_payment(organization: Organization, amount: str, status: str = Payment.Status.SUCCEEDED) -> Payment:
    return Payment.objects.create(
        organization=organization,
        kind="card",
        amount=Decimal(amount),
        currency=organization.currency,
        status=status,
        created_at=NOW,
    )


def balance_of(organization: Organization) -> Decimal:
    return PrepaidAccount.objects.get(organization=organization).balance


def entries_of(organization: Organization) -> list[tuple[str, Decimal, Decimal]]:
    return list(
        LedgerEntry.objects.filter(account__organization=organization)
        .order_by("id")
        .values_list("kind", "amount", "balance_after")
    )


def state_of(organization: Organization) -> dict[str, Any]:
    """Everything a refused action must leave as it was."""
    account = PrepaidAccount.objects.filter(organization=organization).first()
    return {
        "account": (account.pk, account.balance) if account else None,
        "entries": list(LedgerEntry.objects.filter(account__organization=organization).values_list("id", "amount")),
        "invoices": list(
            Invoice.objects.filter(organization=organization).order_by("id").values_list("id", "status", "amount_paid")
        ),
        "payments": list(Payment.objects.filter(organization=organization).values_list("id", "status")),
        "cash_outs": list(
            CashOutRequest.objects.filter(account__organization=organization)
            .order_by("id")
            .values_list("id", "status", "decided_at")
        ),
        "audit_events": AuditEvent.objects.count(),
    }
