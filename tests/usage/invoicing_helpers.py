"""Usage Services with months of values for the month-end, collection and USE-8 tests: the
values are written as the ingest writes them (a UsageDay row per day and resource, the month's
UsageTotal moved with them), without its door (tested by its own tests)."""

import datetime as dt
import importlib
from decimal import Decimal

from django.apps import apps as django_apps

from billing.models import Plan
from subscriptions.models import Service
from tests.billing.factories import PlanFactory, ServiceFactory, service_type
from usage import engine
from usage.models import MICRO, Rate, RateCard, Resource, UsageDay, UsageMonth, UsageTotal

RATES = {
    "reserved-cloudlets": Decimal("0.004000"),
    "dynamic-cloudlets": Decimal("0.006000"),
    "storage": Decimal("0.000150"),
    "traffic": Decimal("0.050000"),
    "public-ipv4": Decimal("0.005000"),
}


def resources_seeded() -> None:
    """The seeded resources (data migration usage 0002): a transactional test empties every table
    when it ends, seeded rows included."""
    if Resource.objects.count() < len(RATES):
        seed = importlib.import_module("usage.migrations.0002_seed_resources")
        seed.seed(django_apps, None)


def usage_plan(*, currency: str = "CHF", rates: dict[str, Decimal] | None = None,
               valid_from: dt.date = dt.date(2025, 1, 1)) -> Plan:
    resources_seeded()
    plan = PlanFactory(service_type=service_type("jelastic-cloud"), usage_based=True)
    rate_card(plan, currency=currency, rates=rates or RATES, valid_from=valid_from)
    return plan


def rate_card(plan: Plan, *, currency: str = "CHF", rates: dict[str, Decimal], valid_from: dt.date) -> RateCard:
    card = RateCard.objects.create(plan=plan, currency=currency, valid_from=valid_from,
                                   created_at=engine.local_midnight(valid_from))
    for slug, rate in rates.items():
        Rate.objects.create(rate_card=card, resource=Resource.objects.get(slug=slug), rate=rate)
    return card


def usage_service(legal, *, plan: Plan | None = None, created: dt.date = dt.date(2026, 9, 20), **fields) -> Service:  # noqa: ANN001
    defaults = {"status": "active", "anchor_date": None, "term": 0, "expires_on": None, "auto_renew": True,
                "usage_based": True, "created_at": engine.local_midnight(created),
                "activated_at": engine.local_midnight(created), "currency": legal.organization.currency}
    return ServiceFactory(organization=legal.organization, plan=plan or usage_plan(), **(defaults | fields))


def put(svc: Service, day: dt.date, slug: str, hours: dict[int, str]) -> None:
    """Values of one day and resource (slot -> quantity), added to the month's total."""
    resource = Resource.objects.get(slug=slug)
    UsageMonth.objects.get_or_create(service=svc, month=engine.month_of(day))
    row, _ = UsageDay.objects.get_or_create(service=svc, resource=resource, day=day)
    added = 0
    for slot, quantity in hours.items():
        micro = int(Decimal(quantity) * MICRO)
        setattr(row, f"h{slot:02d}", micro)
        added += micro
    row.save()
    total, _ = UsageTotal.objects.get_or_create(service=svc, month=engine.month_of(day), resource=resource)
    total.quantity += added
    total.save()


def month_of_values(svc: Service, month: dt.date, quantities: dict[str, str]) -> None:
    """One value per resource on the month's 10th, of the given quantity."""
    for slug, quantity in quantities.items():
        put(svc, month.replace(day=10), slug, {12: quantity})


NOVEMBER = {"reserved-cloudlets": "2976", "dynamic-cloudlets": "1234.5", "storage": "7440",
            "traffic": "12.345678", "public-ipv4": "744"}
