"""What an Organization's dashboard shows a member: what needs them, read from the other apps'
selectors — open invoices to pay, the next renewals and their cost, suspended Services and how to
reactivate them, usage so far this month, tickets waiting for the customer, documents to accept,
the Prepaid balance.

Each card is read in a fixed number of queries, whatever the number of rows (tests/dashboard assert
it): the Services are read once and sorted into their cards in Python, and every per-row figure
(renewal quote, usage total, payment being checked) is read for the whole list at once.

What a member sees follows the pages behind the cards: invoices and Services through their ORG-6
scope, tickets as the support pages show them. Money to pay and the Prepaid balance are shown to the
roles that pay (ORG-5: Legal Responsible, administrator, billing member) only.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from accounts import selectors as account_selectors
from accounts.models import Membership
from accounts.permissions import BILLING_ROLES
from accounts.selectors import PendingDocument
from billing import selectors as billing_selectors
from billing.models import Invoice, PrepaidAccount
from billing.services.payments import invoices_with_charge_in_doubt
from core import clock
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service
from subscriptions.services.renewal_invoices import due_date, open_renewal_invoices, renewal_quotes
from support import selectors as support_selectors
from support.models import Ticket
from usage import selectors as usage_selectors

# Rows shown per card: the card links to the full page for the rest.
CARD_ROWS = 10
# The renewals due within this many days are "next": the renewal reminders start 30 days before (REN-5).
RENEWAL_HORIZON_DAYS = 45

Status = Service.Status
Reason = Service.SuspensionReason
# Suspensions that paying the Service's renewal lifts (REN-3, REN-6, RW-3); staff's are lifted by staff.
REACTIVATED_BY_PAYING = frozenset({Reason.UNPAID, Reason.TRIAL_LAPSED, Reason.WARRANTY_UNPAID})


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    overdue: bool  # its due date is past
    being_checked: bool  # a card charge of it is in flight or its outcome unknown: do not pay again


@dataclass(frozen=True)
class RenewalRow:
    service: Service
    on: dt.date  # the day the next term must be paid by (E, or T for a trial)
    amount: Decimal | None  # VAT included as invoiced; None when no price is in force
    currency: str
    invoice: Invoice | None  # its renewal invoice, when already issued


@dataclass(frozen=True)
class SuspendedRow:
    service: Service
    by_paying: bool  # paying its renewal reactivates it; else staff suspended it
    invoice: Invoice | None  # the open invoice to pay, when there is one


@dataclass(frozen=True)
class UsageRow:
    service: Service
    amount: Decimal  # the month so far, as its invoice will say (VAT included where BIL-7 says so)
    currency: str


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    pays: bool  # the member's role pays: the money cards are shown
    invoices: list[InvoiceRow] = field(default_factory=list)
    renewals: list[RenewalRow] = field(default_factory=list)
    suspended: list[SuspendedRow] = field(default_factory=list)
    usage: list[UsageRow] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    documents: list[PendingDocument] = field(default_factory=list)
    balance: Balance | None = None


def open_invoice_rows(membership: Membership, today: dt.date) -> list[InvoiceRow]:
    """The member's open invoices (ORG-6), the oldest due first, with whether each is overdue and
    whether a charge of it is being checked (REN-8): three queries."""
    invoices = list(
        billing_selectors.invoices_for_member(membership)
        .filter(status=Invoice.Status.OPEN)
        .order_by("due_date", "number")[:CARD_ROWS]
    )
    checked = invoices_with_charge_in_doubt(invoice.pk for invoice in invoices)
    return [
        InvoiceRow(invoice=invoice, overdue=invoice.due_date < today, being_checked=invoice.pk in checked)
        for invoice in invoices
    ]


def _renewal_due(service: Service, today: dt.date) -> dt.date | None:
    """The day the next term is due when it falls within the horizon and the Service renews."""
    if service.usage_based or service.renewal_declined_at is not None:
        return None
    if service.status not in (Status.ACTIVE, Status.TRIAL):
        return None
    day = due_date(service)
    if day is None or day > today + dt.timedelta(days=RENEWAL_HORIZON_DAYS):
        return None
    return day


def service_rows(
    membership: Membership, *, today: dt.date, now: dt.datetime
) -> tuple[list[RenewalRow], list[SuspendedRow], list[UsageRow]]:
    """The next renewals, the suspended Services and the usage Services' month so far, from the
    member's live Services (ORG-6), read once."""
    organization = membership.organization
    services = list(subscription_selectors.services_for_member(membership).exclude(status=Status.TERMINATED))
    renewing = sorted(
        ((day, service) for service in services if (day := _renewal_due(service, today)) is not None),
        key=lambda pair: (pair[0], pair[1].pk),
    )[:CARD_ROWS]
    suspended = [service for service in services if service.status == Status.SUSPENDED][:CARD_ROWS]
    metered = [
        service for service in services if service.usage_based and service.status in (Status.ACTIVE, Status.TRIAL)
    ][:CARD_ROWS]
    quotes = renewal_quotes([service for _day, service in renewing], organization=organization, day=today)
    open_renewals: dict[int, Invoice] = {}
    for (service_id, _term), invoice in sorted(
        open_renewal_invoices([service.pk for _day, service in renewing] + [s.pk for s in suspended]).items()
    ):
        open_renewals.setdefault(service_id, invoice)  # the oldest term's first
    renewals = [
        RenewalRow(
            service=service,
            on=day,
            amount=open_renewals[service.pk].amount_due if service.pk in open_renewals else quotes.get(service.pk),
            currency=service.currency,
            invoice=open_renewals.get(service.pk),
        )
        for day, service in renewing
    ]
    suspended_rows = [
        SuspendedRow(
            service=service,
            by_paying=service.suspension_reason in REACTIVATED_BY_PAYING,
            invoice=open_renewals.get(service.pk),
        )
        for service in suspended
    ]
    so_far = usage_selectors.months_so_far(metered, organization=organization, now=now)
    usage = [
        UsageRow(service=service, amount=so_far[service.pk].total_incl_vat, currency=service.currency)
        for service in metered
    ]
    return renewals, suspended_rows, usage


def prepaid_balance(membership: Membership) -> Balance:
    """The Prepaid Account's balance (PRE-1); an account not opened yet holds nothing."""
    organization = membership.organization
    account = PrepaidAccount.objects.filter(organization=organization).first()
    if account is None:
        return Balance(amount=Decimal("0.00"), currency=organization.currency)
    return Balance(amount=account.balance, currency=account.currency)


def dashboard_for(membership: Membership, *, now: dt.datetime) -> Dashboard:
    """Everything the dashboard shows `membership`, at `now`."""
    today = clock.business_date(now)
    pays = membership.role in BILLING_ROLES
    renewals, suspended, usage = service_rows(membership, today=today, now=now)
    tickets = list(
        support_selectors.tickets_for_member(membership)
        .filter(status=Ticket.Status.WAITING_CUSTOMER)
        .order_by("updated_at", "id")[:CARD_ROWS]
    )
    documents = account_selectors.documents_to_accept(
        membership.organization, today, settings.DOCUMENT_DEEMED_ACCEPTANCE_DAYS
    )
    return Dashboard(
        today=today,
        pays=pays,
        invoices=open_invoice_rows(membership, today) if pays else [],
        renewals=renewals,
        suspended=suspended,
        usage=usage,
        tickets=tickets,
        documents=documents,
        balance=prepaid_balance(membership) if pays else None,
    )
