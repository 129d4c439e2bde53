"""Reads of the usage app (USE-1, USE-3, USE-7): the rate card in force, a month's totals and its
priced lines. The month-to-date pages, the budget alerts and the month-end invoices all price a
month through `month_lines`, so what a customer is shown is what the invoice will say (USE-7).

Decision (USE-1, BIL-1): the rate card that prices a month is the one in force on the month's first
day; a card valid from later in a month prices the months after it. A customer's month is never
repriced while it runs.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q

from billing import selectors as billing_selectors
from billing.models import Invoice, Plan
from billing.money import percent_of, quantize
from billing.selectors import VatTreatment
from core import clock
from subscriptions.models import Service
from usage import engine
from usage.models import (
    HOUR_COLUMNS,
    Budget,
    Limit,
    Rate,
    RateCard,
    Resource,
    Threshold,
    UsageDay,
    UsageMonth,
    UsageTotal,
)


def resources() -> list[Resource]:
    """The metered resources in their display and invoice order."""
    return list(Resource.objects.order_by("position"))


def rate_cards_in_force(keys: Iterable[tuple[int, str]], month: dt.date) -> dict[tuple[int, str], RateCard]:
    """The rate card pricing `month` for each (plan id, currency), with its rates prefetched (one
    query for the cards, one for their rates, whatever the number of keys)."""
    keys = set(keys)
    if not keys:
        return {}
    plans = {plan for plan, _currency in keys}
    found: dict[tuple[int, str], RateCard] = {}
    for card in RateCard.objects.filter(plan_id__in=plans, valid_from__lte=month).order_by(
        "plan_id", "currency", "-valid_from"
    ):
        key = (card.plan_id, card.currency)
        if key in keys and key not in found:
            found[key] = card
    rates: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for rate in Rate.objects.filter(rate_card__in=list(found.values())):
        rates[rate.rate_card_id][rate.resource_id] = rate.rate
    for card in found.values():
        card.rate_by_resource = rates[card.pk]  # type: ignore[attr-defined]
    return found


def month_totals(service_ids: Iterable[int], month: dt.date) -> dict[int, dict[int, int]]:
    """The month's quantities of each Service by resource id, in micro-units (one query)."""
    totals: dict[int, dict[int, int]] = defaultdict(dict)
    for service_id, resource_id, quantity in UsageTotal.objects.filter(
        service_id__in=list(service_ids), month=month
    ).values_list("service_id", "resource_id", "quantity"):
        totals[service_id][resource_id] = quantity
    return dict(totals)


@dataclass(frozen=True)
class MonthAmount:
    """A month of a usage Service priced: its lines and totals (in the Service's currency)."""

    lines: list[engine.Line]
    total_excl_vat: Decimal
    vat: Decimal
    total_incl_vat: Decimal


def price_month(totals: dict[int, int], card: RateCard | None, order: Sequence[int], vat_rate: Decimal) -> MonthAmount:
    """A month priced as its invoice will price it: lines rounded to the cent, VAT per line
    (billing.services.invoices builds the same lines from `engine.price_lines`)."""
    rates = getattr(card, "rate_by_resource", {}) if card is not None else {}
    lines = engine.price_lines(totals, rates, order)
    excl = engine.total_amount(lines)
    vat = sum((percent_of(line.amount, vat_rate) for line in lines), Decimal("0.00"))
    return MonthAmount(lines=lines, total_excl_vat=excl, vat=vat, total_incl_vat=excl + vat)


# --- month-to-date (USE-7) ----------------------------------------------------------------------

# The chart of invoiced amounts covers the twelve months before the current one.
INVOICED_MONTHS = 12


def thresholds_for(service: Service) -> dict[int, Threshold]:
    """The consumption threshold of each resource of a Service (USE-5): the Service's own where staff
    set one, else its plan's (one query)."""
    found: dict[int, Threshold] = {}
    for threshold in Threshold.objects.filter(Q(service=service) | Q(plan_id=service.plan_id, service__isnull=True)):
        if threshold.service_id is not None or threshold.resource_id not in found:
            found[threshold.resource_id] = threshold
    return found


def open_limits(service: Service) -> list[Limit]:
    """The Service's limits in force (USE-5, USE-6): not lifted yet."""
    return list(
        Limit.objects.filter(service=service, lifted_at__isnull=True).select_related("resource").order_by("since", "pk")
    )


def budget_of(service: Service) -> Budget | None:
    return Budget.objects.filter(service=service).first()


@dataclass(frozen=True)
class ResourceFigure:
    """One resource of the month so far: as its invoice line will say (quantity, rate, amount
    excluding VAT, VAT), the amount shown (VAT included where BIL-7 says so) and its threshold."""

    resource: Resource
    quantity: Decimal  # units, 6 decimals
    rate: Decimal  # per unit, excluding VAT
    amount_excl_vat: Decimal
    vat: Decimal
    amount: Decimal  # shown: excluding VAT + VAT
    threshold: Decimal | None  # units per month (USE-5)
    threshold_percent: Decimal | None  # share of the threshold used, one decimal


@dataclass(frozen=True)
class DayFigure:
    """One Zurich day of the month: its quantities and its amount (VAT as shown), to the cent."""

    day: dt.date
    quantities: dict[int, Decimal]  # by resource id
    amount: Decimal
    reported: bool  # any value received for the day


@dataclass(frozen=True)
class InvoicedMonth:
    month: dt.date
    invoice: Invoice | None
    amount: Decimal  # the usage invoice's total (VAT included), 0 without one


@dataclass(frozen=True)
class MonthToDate:
    """What a customer reads of a usage Service (USE-7): the month so far, priced as its invoice
    will price it, a forecast to the month's end, the days of the month and the invoiced months."""

    service: Service
    month: dt.date
    today: dt.date
    currency: str
    vat: VatTreatment
    rate_card: RateCard | None
    resources: list[ResourceFigure]
    total_excl_vat: Decimal
    total_vat: Decimal
    total: Decimal  # shown (VAT included where BIL-7 says so): what the invoice will say
    forecast: Decimal
    days: list[DayFigure]  # every day of the month; the days after today have no figures
    invoiced: list[InvoicedMonth]  # the INVOICED_MONTHS months before this one, oldest first
    budget: Budget | None
    budget_percent: Decimal | None
    limits: list[Limit]

    @property
    def invoices(self) -> list[Invoice]:
        """The usage invoices of the invoiced months, newest first."""
        return [row.invoice for row in reversed(self.invoiced) if row.invoice is not None]


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _with_vat(amount: Decimal, vat: VatTreatment) -> Decimal:
    """An amount excluding VAT as the portal shows it (BIL-7), to the cent."""
    return quantize(amount + amount * vat.rate / 100)


def _days(
    service: Service, month: dt.date, today: dt.date, rates: dict[int, Decimal], vat: VatTreatment
) -> list[DayFigure]:
    """The month's days from the hourly rows (one query: at most 5 resources × 31 days)."""
    per_day: dict[dt.date, dict[int, int]] = defaultdict(dict)
    rows = UsageDay.objects.filter(service=service, day__gte=month, day__lt=engine.next_month(month)).values_list(
        "day", "resource_id", *HOUR_COLUMNS
    )
    for day, resource_id, *hours in rows:
        per_day[day][resource_id] = sum(value for value in hours if value is not None)
    days = []
    day = month
    while day < engine.next_month(month):
        micro = per_day.get(day, {})
        quantities = {resource_id: engine.from_micro(value) for resource_id, value in micro.items()}
        excl = sum(
            (quantity * rates.get(resource_id, Decimal(0)) for resource_id, quantity in quantities.items()), Decimal(0)
        )
        days.append(
            DayFigure(
                day=day,
                quantities=quantities,
                amount=_with_vat(excl, vat) if day <= today else Decimal("0.00"),
                reported=bool(micro),
            )
        )
        day += dt.timedelta(days=1)
    return days


def _invoiced(service: Service, month: dt.date) -> list[InvoicedMonth]:
    first = month
    for _step in range(INVOICED_MONTHS):
        first = engine.month_of(first - dt.timedelta(days=1))
    by_month = {
        row.month: row.invoice
        for row in UsageMonth.objects.filter(service=service, month__gte=first, month__lt=month, invoice__isnull=False)
        .select_related("invoice")
        .only("month", "invoice")
    }
    months, current = [], first
    while current < month:
        invoice = by_month.get(current)
        months.append(
            InvoicedMonth(month=current, invoice=invoice, amount=invoice.total_incl_vat if invoice else Decimal("0.00"))
        )
        current = engine.next_month(current)
    return months


def month_to_date(service: Service, *, organization: Any, now: dt.datetime) -> MonthToDate:
    """USE-7: a usage Service's month so far, in a fixed number of queries whatever the month's data
    (resources, the rate card and its rates, the VAT rate, the totals, the month's rows, the invoiced
    months, thresholds, budget and limits: one each). The total is `price_month` of the month's
    totals — what the month's invoice says for the values received so far; the daily amounts are
    each rounded on their own, so their sum may differ from it by cents."""
    today = clock.business_date(now)
    month = engine.month_of(today)
    order = resources()
    vat = billing_selectors.vat_treatment(organization, service.plan.service_type, today)
    card = rate_cards_in_force([(service.plan_id, service.currency)], month).get((service.plan_id, service.currency))
    rates: dict[int, Decimal] = getattr(card, "rate_by_resource", {}) if card is not None else {}
    totals = month_totals([service.pk], month).get(service.pk, {})
    priced = price_month(totals, card, [resource.pk for resource in order], vat.rate)
    lines = {line.resource_id: line for line in priced.lines}
    thresholds = thresholds_for(service)
    figures = []
    for resource in order:
        line = lines.get(resource.pk)
        quantity = line.quantity if line else engine.from_micro(totals.get(resource.pk, 0))
        threshold = thresholds[resource.pk].quantity if resource.pk in thresholds else None
        excl = line.amount if line else Decimal("0.00")
        line_vat = percent_of(excl, vat.rate)
        figures.append(
            ResourceFigure(
                resource=resource,
                quantity=quantity,
                rate=line.rate if line else Decimal("0"),
                amount_excl_vat=excl,
                vat=line_vat,
                amount=excl + line_vat,
                threshold=threshold,
                threshold_percent=_percent(quantity, threshold) if threshold else None,
            )
        )
    days = _days(service, month, today, rates, vat)
    budget = budget_of(service)
    return MonthToDate(
        service=service,
        month=month,
        today=today,
        currency=service.currency,
        vat=vat,
        rate_card=card,
        resources=figures,
        total_excl_vat=priced.total_excl_vat,
        total_vat=priced.vat,
        total=priced.total_incl_vat,
        forecast=engine.forecast(priced.total_incl_vat, {d.day: d.amount for d in days if d.day <= today}, today),
        days=days,
        invoiced=_invoiced(service, month),
        budget=budget,
        budget_percent=_percent(priced.total_incl_vat, budget.amount) if budget else None,
        limits=open_limits(service),
    )


def usage_plan_on_sale(plan: Plan, currency: str, day: dt.date) -> bool:
    """USE-1: a usage plan is on sale in a currency when a rate card prices the day's month in it
    (subscriptions.hooks: the order checks it)."""
    return bool(rate_cards_in_force([(plan.pk, currency)], engine.month_of(day)))


def usage_catalog(day: dt.date, organization: Any) -> list[tuple[Plan, list[tuple[Resource, Decimal]]]]:
    """USE-1: active usage plans with a rate card pricing this month in the Organization's currency,
    and their rates per resource as the customer sees them (VAT included for CH/EU customers, BIL-7,
    to 6 decimals): one query for the plans, two for the cards, one for the resources (the order
    page, through subscriptions.hooks)."""
    plans = list(Plan.objects.filter(is_active=True, usage_based=True).select_related("service_type"))
    cards = rate_cards_in_force({(plan.pk, organization.currency) for plan in plans}, engine.month_of(day))
    order = resources() if cards else []
    entries = []
    for plan in plans:
        card = cards.get((plan.pk, organization.currency))
        if card is None:
            continue
        vat = billing_selectors.vat_treatment(organization, plan.service_type, day).rate
        rates = card.rate_by_resource  # type: ignore[attr-defined]
        shown = [
            (resource, (rates[resource.pk] * (1 + vat / 100)).quantize(Decimal("0.000001")))
            for resource in order
            if resource.pk in rates
        ]
        entries.append((plan, shown))
    return entries


def months_so_far(services: Sequence[Service], *, organization: Any, now: dt.datetime) -> dict[int, MonthAmount]:
    """USE-7 for a list of usage Services of one Organization: each one's month so far, priced as its
    invoice will price it (`price_month`, as `month_to_date` does), in a fixed number of queries
    whatever the number of Services (resources, rate cards and rates, totals, one VAT rate per rule)."""
    if not services:
        return {}
    today = clock.business_date(now)
    month = engine.month_of(today)
    order = [resource.pk for resource in resources()]
    cards = rate_cards_in_force({(service.plan_id, service.currency) for service in services}, month)
    totals = month_totals([service.pk for service in services], month)
    vat_rates: dict[bool, Decimal] = {}
    priced = {}
    for service in services:
        service_type = service.plan.service_type
        if service_type.always_swiss_vat not in vat_rates:
            vat_rates[service_type.always_swiss_vat] = billing_selectors.vat_treatment(
                organization, service_type, today
            ).rate
        card = cards.get((service.plan_id, service.currency))
        priced[service.pk] = price_month(
            totals.get(service.pk, {}), card, order, vat_rates[service_type.always_swiss_vat]
        )
    return priced
