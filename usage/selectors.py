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
from decimal import Decimal

from billing.money import percent_of
from usage import engine
from usage.models import Rate, RateCard, Resource, UsageTotal


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
