"""A synthetic population for the daily run's benchmark (`bench_lifecycle`) and its crash test.

Built with bulk inserts: `services` Organizations, each with a default sandbox card and one
monthly web hosting Service (a fixed-price type: Jelastic Cloud is billed by usage, USE-1, and has
its own benchmark, `bench_usage`); the first `due` of them expire on `day + 14` (their first debit attempt is on
`day`, REN-1), the others far later (the daily run must not even read them)."""

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import transaction

from accounts.benchmark import bench_organizations
from billing.models import MeansKind, PaymentMeans, Plan, Price, ServiceType
from core import clock
from subscriptions.models import Service

CHUNK = 5000


def build_population(*, services: int, due: int, day: dt.date, prefix: str = "bench") -> list[int]:
    """Create the population; return the ids of the due Services."""
    now = clock.start_of_day(day) - dt.timedelta(days=20)
    service_type = ServiceType.objects.get(slug="web-hosting")
    plan, _ = Plan.objects.get_or_create(service_type=service_type, name=f"{prefix} plan", period="monthly")
    Price.objects.get_or_create(
        plan=plan, currency="CHF", valid_from=day - dt.timedelta(days=400), defaults={"amount": Decimal("20.00")}
    )
    due_ids: list[int] = []
    for start in range(0, services, CHUNK):
        with transaction.atomic():
            count = min(CHUNK, services - start)
            organizations = bench_organizations(prefix=prefix, start=start, count=count, created_at=now)
            PaymentMeans.objects.bulk_create(
                [
                    PaymentMeans(
                        organization=organization,
                        kind=MeansKind.CARD,
                        is_default=True,
                        card_brand="visa",
                        card_last4="4242",
                        card_exp_month=12,
                        card_exp_year=day.year + 5,
                        gateway_token=f"tok_sandbox_ok_{prefix}{organization.pk}",
                        created_at=now,
                    )
                    for organization in organizations
                ]
            )
            rows = []
            for i, organization in enumerate(organizations):
                is_due = start + i < due
                expires = day + dt.timedelta(days=14 if is_due else 100)
                rows.append(
                    Service(
                        organization=organization,
                        plan=plan,
                        currency="CHF",
                        status=Service.Status.ACTIVE,
                        anchor_date=_anchor(expires)[0],
                        term=_anchor(expires)[1],
                        expires_on=expires,
                        auto_renew=True,
                        activated_at=now,
                        created_at=now,
                    )
                )
            created = Service.objects.bulk_create(rows)
            due_ids.extend(s.pk for s, i in zip(created, range(start, start + count), strict=True) if i < due)
    return due_ids


def _anchor(expires: dt.date) -> tuple[dt.date, int]:
    """An anchor and a term number that end on `expires` (TIME-3): the latest earlier month that has
    the same day of the month."""
    for months in range(1, 13):
        anchor = expires - relativedelta(months=months)
        if anchor.day == expires.day:
            return anchor, months
    raise ValueError(f"no anchor for {expires}")
