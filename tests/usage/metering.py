"""Helpers of the metering tests (USE-2, USE-5, USE-6): a usage Service, the metering account, values."""

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth.models import Permission

from audit.services import Actor
from subscriptions.models import Service
from tests.billing.factories import PlanFactory, ServiceFactory
from tests.factories import UserFactory
from usage.models import Resource, UsageDay, UsageMonth, UsageTotal

NOW = dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.UTC)  # Friday 20 March 2026, 10:30 in Zurich
ACTIVATED = dt.datetime(2026, 2, 10, 8, 15, tzinfo=dt.UTC)


def resources() -> dict[str, Resource]:
    """The seeded resources (a transactional test empties the table when it ends: seeded again)."""
    if not Resource.objects.exists():
        importlib.import_module("usage.migrations.0002_seed_resources").seed(django_apps, None)
    return {resource.slug: resource for resource in Resource.objects.all()}


def usage_service(**fields: Any) -> Service:
    """An active usage-based Service (no term), activated on 10 February 2026 at 08:15 UTC."""
    resources()
    plan = fields.pop("plan", None) or PlanFactory(usage_based=True)
    defaults: dict[str, Any] = {
        "plan": plan,
        "usage_based": True,
        "anchor_date": None,
        "term": 0,
        "expires_on": None,
        "activated_at": ACTIVATED,
        "created_at": ACTIVATED,
    }
    return ServiceFactory(**(defaults | fields))


def metering_user() -> Any:
    """The platform's metering account: no staff, the one permission to report usage."""
    user = UserFactory(email="metering@example.com")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="usage", codename="report_usage"))
    return user


def actor() -> Actor:
    return Actor.system("metering-test")


def value(service: Service | int, hour: dt.datetime | str, quantity: Any, resource: str = "storage") -> dict[str, Any]:
    return {
        "service": service if isinstance(service, int) else service.pk,
        "resource": resource,
        "hour": hour if isinstance(hour, str) else hour.isoformat().replace("+00:00", "Z"),
        "quantity": quantity,
    }


def stored(service: Service) -> dict[tuple[str, dt.datetime], Decimal]:
    """Every value stored for the Service, by (resource slug, UTC hour), in units."""
    from usage import engine
    from usage.models import HOUR_COLUMNS

    slugs = dict(Resource.objects.values_list("pk", "slug"))
    found = {}
    for row in UsageDay.objects.filter(service=service).values("day", "resource_id", *HOUR_COLUMNS):
        for slot, column in enumerate(HOUR_COLUMNS):
            if row[column] is not None:
                found[(slugs[row["resource_id"]], engine.hour_of(row["day"], slot))] = engine.from_micro(row[column])
    return found


def totals(service: Service) -> dict[tuple[dt.date, str], int]:
    slugs = dict(Resource.objects.values_list("pk", "slug"))
    return {
        (month, slugs[resource_id]): quantity
        for month, resource_id, quantity in UsageTotal.objects.filter(service=service).values_list(
            "month", "resource_id", "quantity"
        )
    }


def close_month(service: Service, month: dt.date, at: dt.datetime = NOW) -> None:
    UsageMonth.objects.update_or_create(service=service, month=month, defaults={"closed_at": at})
