"""Set-up of the portal-side usage tests: a usage plan with its CHF rate card, a usage Service and
its values written as the ingest writes them (hourly rows, the month's totals and its UsageMonth),
so these tests do not depend on the metering door."""

import datetime as dt
import importlib
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps

from accounts.models import Membership
from billing.models import Plan
from subscriptions.models import Service
from tests.billing.factories import ServiceFactory, service_type
from tests.factories import member
from usage import engine
from usage.models import HOUR_COLUMNS, Rate, RateCard, Resource, UsageDay, UsageMonth, UsageTotal

UTC = dt.UTC
D = Decimal
# The demo's figures (CHF per unit, excluding VAT).
RATES = {
    "reserved-cloudlets": D("0.008"),
    "dynamic-cloudlets": D("0.012"),
    "storage": D("0.0002"),
    "traffic": D("0.05"),
    "public-ipv4": D("0.004"),
}


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def resources() -> dict[str, Resource]:
    """The seeded resources (usage 0002); seeded again after a transactional test emptied them."""
    if not Resource.objects.exists():
        importlib.import_module("usage.migrations.0002_seed_resources").seed(django_apps, None)
    return {resource.slug: resource for resource in Resource.objects.all()}


def usage_plan(name: str = "Pay per use", rates: dict[str, Decimal] | None = None, currency: str = "CHF") -> Plan:
    plan = Plan.objects.create(
        service_type=service_type("jelastic-cloud"), name=name, period="monthly", usage_based=True
    )
    rate_card(plan, rates or RATES, currency=currency)
    return plan


def rate_card(
    plan: Plan, rates: dict[str, Decimal], *, currency: str = "CHF", valid_from: dt.date = dt.date(2026, 1, 1)
) -> RateCard:
    card = RateCard.objects.create(plan=plan, currency=currency, valid_from=valid_from, created_at=at(2025, 12, 1))
    by_slug = resources()
    Rate.objects.bulk_create([Rate(rate_card=card, resource=by_slug[slug], rate=rate) for slug, rate in rates.items()])
    return card


def usage_service(legal: Membership | None = None, plan: Plan | None = None, **fields: Any) -> Service:
    legal = legal or member()
    defaults: dict[str, Any] = {
        "organization": legal.organization,
        "plan": plan or usage_plan(),
        "usage_based": True,
        "status": Service.Status.ACTIVE,
        "anchor_date": None,
        "term": 0,
        "expires_on": None,
        "auto_renew": True,
    }
    defaults.update(fields)
    return ServiceFactory(**defaults)


def put_hours(service: Service, slug: str, day: dt.date, hours: dict[int, Decimal]) -> None:
    """Values of one resource and day by slot, written as the ingest writes them (no checks)."""
    resource = resources()[slug]
    row, _ = UsageDay.objects.get_or_create(service=service, resource=resource, day=day)
    added = 0
    for slot, quantity in hours.items():
        column = HOUR_COLUMNS[slot]
        old = getattr(row, column) or 0
        setattr(row, column, engine.to_micro(quantity))
        added += engine.to_micro(quantity) - old
    row.save()
    month = engine.month_of(day)
    UsageMonth.objects.get_or_create(service=service, month=month)
    total, _ = UsageTotal.objects.get_or_create(service=service, month=month, resource=resource)
    total.quantity += added
    total.save()


def fill(
    service: Service, first: dt.date, last: dt.date, per_hour: dict[str, Decimal], *, last_slots: int = 24
) -> None:
    """Every hour of the days first..last (the last day up to `last_slots` hours) with these values."""
    day = first
    while day <= last:
        slots = engine.hours_in_day(day) if day < last else last_slots
        for slug, quantity in per_hour.items():
            put_hours(service, slug, day, dict.fromkeys(range(slots), quantity))
        day += dt.timedelta(days=1)


def totals(service: Service, month: dt.date) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for total in UsageTotal.objects.filter(service=service, month=month).select_related("resource"):
        found[total.resource.slug] = total.quantity
    return dict(found)
