"""Set-up of the dashboard tests: an Organization with one (or many) of each thing the dashboard
shows, on Friday 20 March 2026, and a reader of one card of the page."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.test import Client
from django.utils import formats

from accounts.models import Membership
from billing.models import Invoice, Plan, PrepaidAccount
from subscriptions.models import Service
from support.models import Ticket
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.usage.portal_helpers import put_hours, usage_plan

NOW = dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.UTC)  # Friday 20 March 2026, 10:30 in Zurich
TODAY = dt.date(2026, 3, 20)


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def short(day: dt.date) -> str:
    return str(formats.date_format(day, "SHORT_DATE_FORMAT"))


def card(html: str, card_id: str) -> str:
    """The text of one card (its <section id=...>), tags removed and blanks collapsed; "" if absent."""
    found = re.search(rf'<section class="card" id="{card_id}".*?</section>', html, re.S)
    if found is None:
        return ""
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def ids(html: str, card_id: str, attribute: str) -> list[int]:
    """The ids of the rows of one card, in their order."""
    found = re.search(rf'<section class="card" id="{card_id}".*?</section>', html, re.S)
    return [int(pk) for pk in re.findall(rf'data-{attribute}="(\d+)"', found.group(0))] if found else []


def monthly_plan(name: str, amount: str = "20.00") -> Plan:
    plan = PlanFactory(service_type=service_type(), name=name, period="monthly")
    PriceFactory(plan=plan, amount=Decimal(amount), valid_from=dt.date(2026, 1, 1))
    return plan


@dataclass
class Rows:
    """What `add_rows` made, in the order the dashboard lists them."""

    invoices: list[Invoice] = field(default_factory=list)
    renewing: list[Service] = field(default_factory=list)
    suspended: list[Service] = field(default_factory=list)
    metered: list[Service] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)


def add_rows(legal: Membership, count: int, *, plan: Plan, first_day: int = 1) -> Rows:
    """`count` of each: open invoices (due in March, the first overdue), Services renewing in April,
    Services suspended for an unpaid renewal with its invoice, usage Services with storage used this
    month, tickets waiting for the customer."""
    organization = legal.organization
    rows = Rows()
    metered_plan = usage_plan(name=f"Pay per use {first_day}")
    for index in range(count):
        day = first_day + index
        rows.invoices.append(
            InvoiceFactory(organization=organization, issue_date=dt.date(2026, 2, day), due_date=dt.date(2026, 3, day))
        )
        rows.renewing.append(
            ServiceFactory(
                organization=organization,
                plan=plan,
                anchor_date=dt.date(2026, 3, day),
                term=1,
                expires_on=dt.date(2026, 4, day),
            )
        )
        suspended = ServiceFactory(
            organization=organization,
            plan=plan,
            status=Service.Status.SUSPENDED,
            suspension_reason=Service.SuspensionReason.UNPAID,
            anchor_date=dt.date(2026, 2, day),
            term=1,
            expires_on=dt.date(2026, 3, day),
            terminates_on=dt.date(2026, 4, day),
        )
        rows.suspended.append(suspended)
        rows.invoices.append(
            InvoiceFactory(
                organization=organization,
                service=suspended,
                kind=Invoice.Kind.RENEWAL,
                term=2,
                issue_date=dt.date(2026, 2, day),
                due_date=dt.date(2026, 3, day),
                total_excl_vat=Decimal("20.00"),
                total_vat=Decimal("1.62"),
                total_incl_vat=Decimal("21.62"),
            )
        )
        metered = ServiceFactory(
            organization=organization,
            plan=metered_plan,
            usage_based=True,
            anchor_date=None,
            term=0,
            expires_on=None,
        )
        put_hours(metered, "storage", dt.date(2026, 3, 2), {0: Decimal("1000")})  # 1000 GB-h × 0.0002 = 0.20
        rows.metered.append(metered)
        rows.tickets.append(
            Ticket.objects.create(
                organization=organization,
                kind=Ticket.Kind.TECHNICAL,
                subject=f"Question {day}",
                language="en",
                status=Ticket.Status.WAITING_CUSTOMER,
                opened_by=legal.user,
                created_at=NOW - dt.timedelta(days=3),
                updated_at=NOW - dt.timedelta(days=2, hours=-index),
            )
        )
    rows.invoices.sort(key=lambda invoice: (invoice.due_date, invoice.number))
    return rows


def prepaid(legal: Membership, balance: str) -> PrepaidAccount:
    return PrepaidAccount.objects.create(organization=legal.organization, currency="CHF", balance=Decimal(balance))
