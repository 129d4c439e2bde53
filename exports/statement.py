"""What an Organization's statement holds (SPEC EVD-4, TCU 20.1): one table per kind of evidence —
orders, invoices, payments, Prepaid Account ledger, consumption, incidents, tickets — for a range of
Zurich dates, both included (TIME-1). Reads only; `exports.services` writes them out.

Every row is the Organization's own: each query starts from `organization_id` (tenancy). Amounts are
what was stored (MONEY-1: nothing converted), each beside its currency: the Organization's, unless it
changed its currency since (ENF-6), when older rows keep theirs.

Cell formats (docs/decisions.md, "Exports"): dates ISO 8601 (2026-03-01), instants ISO 8601 in Zurich
time with their offset (2026-03-01T10:00:00+01:00), amounts with two decimals and a dot (1234.50),
quantities with six (USE-1). Text a person typed that starts like a formula (= + - @) gets a leading
apostrophe, so a spreadsheet shows it instead of computing it (CSV injection).
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from billing.models import Invoice, LedgerEntry, Payment
from core import clock
from sla.models import IncidentService
from subscriptions.models import Service
from support.models import Ticket
from usage.models import HOUR_COLUMNS, UsageDay

Row = list[str]

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Period:
    """Zurich dates `start`…`end`, both included, and the instants that bound them."""

    start: dt.date
    end: dt.date

    @property
    def since(self) -> dt.datetime:
        return clock.start_of_day(self.start)

    @property
    def until(self) -> dt.datetime:  # excluded: the start of the day after `end`
        return clock.start_of_day(self.end + dt.timedelta(days=1))


def text(value: Any) -> str:
    """Free text as a cell that a spreadsheet shows and never computes."""
    shown = "" if value is None else str(value)
    return f"'{shown}" if shown.startswith(FORMULA_LEADS) else shown


def amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def day(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def instant(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(clock.ZURICH).isoformat(timespec="seconds")


def invoice_number(number: int | None) -> str:
    return "" if number is None else f"{number:08d}"


def orders(organization_id: int, period: Period) -> Iterator[Row]:
    """The Services ordered in the period, with the order invoices that bill them."""
    services = list(
        Service.objects.filter(
            organization_id=organization_id, created_at__gte=period.since, created_at__lt=period.until
        )
        .select_related("plan__service_type")
        .order_by("created_at", "id")
    )
    numbers: dict[int, list[str]] = {}
    for service_id, number in (
        Invoice.objects.filter(organization_id=organization_id, kind=Invoice.Kind.ORDER, service__in=services)
        .order_by("number")
        .values_list("service_id", "number")
    ):
        numbers.setdefault(service_id, []).append(invoice_number(number))
    for service in services:
        yield [
            str(service.pk),
            instant(service.created_at),
            text(service.plan.service_type.name),
            text(service.plan.name),
            service.plan.period,
            "usage" if service.usage_based else "term",
            service.status,
            service.currency,
            " ".join(numbers.get(service.pk, [])),
        ]


def invoices(organization_id: int, period: Period) -> Iterator[Row]:
    """The invoices issued in the period, with what happened to them since."""
    for invoice in Invoice.objects.filter(
        organization_id=organization_id, issue_date__gte=period.start, issue_date__lte=period.end
    ).order_by("issue_date", "number"):
        yield [
            invoice_number(invoice.number),
            invoice.kind,
            day(invoice.issue_date),
            day(invoice.due_date),
            invoice.status,
            invoice.currency,
            amount(invoice.total_excl_vat),
            amount(invoice.total_vat),
            amount(invoice.total_incl_vat),
            amount(invoice.amount_paid),
            amount(invoice.amount_credited),
            amount(invoice.amount_due),
            "" if invoice.service_id is None else str(invoice.service_id),
        ]


def payments(organization_id: int, period: Period) -> Iterator[Row]:
    """Every payment made or attempted in the period, whatever its outcome."""
    for payment in (
        Payment.objects.filter(
            organization_id=organization_id, created_at__gte=period.since, created_at__lt=period.until
        )
        .select_related("invoice")
        .order_by("created_at", "id")
    ):
        yield [
            str(payment.pk),
            instant(payment.created_at),
            payment.kind,
            payment.status,
            payment.currency,
            amount(payment.amount),
            invoice_number(payment.invoice.number if payment.invoice else None),
            text(payment.reference),
        ]


def ledger(organization_id: int, period: Period) -> Iterator[Row]:
    """The Prepaid Account's movements in the period (PRE-1): + credit, - debit."""
    for entry in (
        LedgerEntry.objects.filter(
            account__organization_id=organization_id, created_at__gte=period.since, created_at__lt=period.until
        )
        .select_related("account", "invoice")
        .order_by("id")
    ):
        yield [
            str(entry.pk),
            instant(entry.created_at),
            entry.kind,
            entry.account.currency,
            amount(entry.amount),
            amount(entry.balance_after),
            invoice_number(entry.invoice.number if entry.invoice else None),
            text(entry.reason),
        ]


def usage(organization_id: int, period: Period) -> Iterator[Row]:
    """Consumption per Service, Zurich day and resource (USE-2), in the resource's unit."""
    days = (
        UsageDay.objects.filter(service__organization_id=organization_id, day__gte=period.start, day__lte=period.end)
        .select_related("resource")
        .order_by("service_id", "day", "resource__position")
    )
    for usage_day in days.iterator(chunk_size=2000):
        values = [getattr(usage_day, column) for column in HOUR_COLUMNS]
        if all(value is None for value in values):
            continue
        total = sum(value for value in values if value is not None)
        yield [
            str(usage_day.service_id),
            day(usage_day.day),
            usage_day.resource.slug,
            usage_day.resource.unit,
            f"{Decimal(total).scaleb(-6):.6f}",  # millionths of the unit (usage.models.MICRO)
        ]


def incidents(organization_id: int, period: Period) -> Iterator[Row]:
    """Incidents that touched one of the Organization's Services during the period (SLA-2)."""
    links = (
        IncidentService.objects.filter(service__organization_id=organization_id, incident__started_at__lt=period.until)
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=period.since))
        .select_related("incident")
        .order_by("incident__started_at", "incident_id", "service_id")
    )
    for link in links:
        incident = link.incident
        yield [
            str(incident.pk),
            str(link.service_id),
            incident.incident_class,
            incident.cause,
            text(incident.title),
            instant(incident.started_at),
            instant(incident.resolved_at),
        ]


def tickets(organization_id: int, period: Period) -> Iterator[Row]:
    """The support tickets opened in the period (the customer's view: no internal notes counted)."""
    for ticket in (
        Ticket.objects.filter(
            organization_id=organization_id, created_at__gte=period.since, created_at__lt=period.until
        )
        .select_related("invoice")
        .order_by("created_at", "id")
    ):
        yield [
            str(ticket.pk),
            instant(ticket.created_at),
            ticket.kind,
            text(ticket.subject),
            ticket.status,
            ticket.priority,
            "" if ticket.service_id is None else str(ticket.service_id),
            invoice_number(ticket.invoice.number if ticket.invoice else None),
        ]


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's name, without ".csv"
    header: Row
    rows: Callable[[int, Period], Iterator[Row]]


# The order of the ZIP and of the build's progress.
TABLES = (
    Table(
        "orders",
        [
            "service_id",
            "ordered_at",
            "service_type",
            "plan",
            "period",
            "billing",
            "status",
            "currency",
            "order_invoices",
        ],
        orders,
    ),
    Table(
        "invoices",
        [
            "number",
            "kind",
            "issue_date",
            "due_date",
            "status",
            "currency",
            "total_excl_vat",
            "total_vat",
            "total_incl_vat",
            "amount_paid",
            "amount_credited",
            "amount_due",
            "service_id",
        ],
        invoices,
    ),
    Table(
        "payments",
        ["payment_id", "created_at", "kind", "status", "currency", "amount", "invoice", "reference"],
        payments,
    ),
    Table(
        "ledger", ["entry_id", "created_at", "kind", "currency", "amount", "balance_after", "invoice", "reason"], ledger
    ),
    Table("usage", ["service_id", "day", "resource", "unit", "quantity"], usage),
    Table(
        "incidents", ["incident_id", "service_id", "class", "cause", "title", "started_at", "resolved_at"], incidents
    ),
    Table(
        "tickets", ["ticket_id", "opened_at", "kind", "subject", "status", "priority", "service_id", "invoice"], tickets
    ),
)
