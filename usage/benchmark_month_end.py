"""The month-end phase of the usage benchmark (`bench_usage`, issue 15): the 1st's usage invoices of
a population of usage Services each with a month of totals (USE-3), then the same day again (it
must do nothing), with its rate, peak memory and queries per batch.

`build_month_end_population` makes the population with bulk inserts (Organizations, usage Services,
their last month's UsageMonth and UsageTotal rows); the kill-and-rerun test uses it too.
"""

import datetime as dt
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from accounts.benchmark import bench_organizations
from billing.models import Invoice, Plan, ServiceType
from core import batches as batch_engine
from core import clock
from subscriptions.models import Service
from usage import engine
from usage.models import MICRO, Rate, RateCard, Resource, UsageMonth, UsageTotal
from usage.services import invoicing

CHUNK = 5000

# Rates per unit (CHF, excluding VAT) and a month's quantity per Service, per resource slug.
RATES = {
    "reserved-cloudlets": Decimal("0.004000"),
    "dynamic-cloudlets": Decimal("0.006000"),
    "storage": Decimal("0.000150"),
    "traffic": Decimal("0.050000"),
    "public-ipv4": Decimal("0.005000"),
}
MONTH_QUANTITY = {
    "reserved-cloudlets": Decimal("2976"),
    "dynamic-cloudlets": Decimal("1234.5"),
    "storage": Decimal("7440"),
    "traffic": Decimal("12.345678"),
    "public-ipv4": Decimal("744"),
}


def usage_plan(prefix: str, valid_from: dt.date) -> Plan:
    """A usage-based Jelastic plan with a CHF rate card (USE-1)."""
    service_type = ServiceType.objects.get(slug="jelastic-cloud")
    plan, _ = Plan.objects.get_or_create(
        service_type=service_type, name=f"{prefix} usage plan", period="monthly", defaults={"usage_based": True}
    )
    card, created = RateCard.objects.get_or_create(
        plan=plan, currency="CHF", valid_from=valid_from, defaults={"created_at": clock.start_of_day(valid_from)}
    )
    if created:
        Rate.objects.bulk_create(
            [Rate(rate_card=card, resource=r, rate=RATES[r.slug]) for r in Resource.objects.filter(slug__in=RATES)]
        )
    return plan


def build_month_end_population(*, services: int, month: dt.date, prefix: str = "bench") -> list[int]:
    """`services` Organizations with one active usage Service each, created before `month`, with
    that month's totals (the five resources); return their ids."""
    created_at = engine.local_midnight(month) - dt.timedelta(days=3)
    plan = usage_plan(prefix, month - dt.timedelta(days=400))
    resources = list(Resource.objects.filter(slug__in=MONTH_QUANTITY))
    if len(resources) != len(MONTH_QUANTITY):
        raise ValueError("the metered resources are not seeded (migration usage 0002)")
    ids: list[int] = []
    for start in range(0, services, CHUNK):
        with transaction.atomic():
            count = min(CHUNK, services - start)
            organizations = bench_organizations(prefix=prefix, start=start, count=count, created_at=created_at)
            rows = Service.objects.bulk_create(
                [
                    Service(
                        organization=organization,
                        plan=plan,
                        currency="CHF",
                        status=Service.Status.ACTIVE,
                        usage_based=True,
                        auto_renew=False,
                        activated_at=created_at,
                        created_at=created_at,
                    )
                    for organization in organizations
                ]
            )
            UsageMonth.objects.bulk_create([UsageMonth(service=s, month=month) for s in rows])
            UsageTotal.objects.bulk_create(
                [
                    UsageTotal(
                        service=s, month=month, resource=r, quantity=int(MONTH_QUANTITY[r.slug] * MICRO)
                    )
                    for s in rows
                    for r in resources
                ]
            )
            ids.extend(s.pk for s in rows)
    return ids


@dataclass
class PhaseResult:
    seconds: float
    changed: int
    queries: int
    batches: int
    peak_rss_mib: float


def _peak_rss_mib() -> float:
    """The largest resident size of this process or of one of its ended batch processes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def run_month_end(day: dt.date, *, now: dt.datetime | None = None) -> PhaseResult:
    """The daily run's month-end job alone, as of `day` (the 1st): its time, what it changed, the
    queries of this process and of the batches wherever they ran, and how many batches there were."""
    from usage.jobs import month_end

    instant = now or clock.now()
    due = invoicing.month_end_due(day).count()
    batches = max(1, -(-due // settings.LIFECYCLE_BATCH_SIZE)) if due else 0
    before_rows, before_local = batch_engine.batch_queries(day), batch_engine.local_batch_queries
    counter = batch_engine.QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        changed = month_end(day=day, now=instant)
        seconds = time.perf_counter() - started
    # This process's queries, less those of the batches it ran itself, plus those of every batch
    # (stored on the batch rows by whoever ran them, the Celery engine's workers included).
    local = batch_engine.local_batch_queries - before_local
    queries = counter.count - local + batch_engine.batch_queries(day) - before_rows
    return PhaseResult(
        seconds=seconds, changed=changed, queries=queries, batches=batches, peak_rss_mib=_peak_rss_mib()
    )


def month_end_phase(*, services: int, day: dt.date, write: Callable[[str], None] = print, build: bool = True) -> dict:
    """Build (unless `build` is off) `services` usage Services with last month's totals, run the
    1st's month-end, then the same day again; print the figures. Returns them."""
    month = invoicing.previous_month(engine.month_of(day))
    if build:
        build_month_end_population(services=services, month=month, prefix="month-end")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    first = run_month_end(day)
    invoices = Invoice.objects.filter(kind=Invoice.Kind.USAGE).count()
    rate = first.changed / first.seconds if first.seconds else 0.0
    write(f"month-end: {rate:.0f} services/s")
    write(
        f"month-end: {first.changed} months closed, {invoices} invoices in {first.seconds:.1f} s, "
        f"{first.batches} batches, {first.queries / max(first.batches, 1):.1f} queries per batch, "
        f"peak memory {first.peak_rss_mib:.0f} MiB"
    )
    second = run_month_end(day)
    write(
        f"month-end again: {second.changed} changed in {second.seconds:.2f} s, {second.queries} queries, "
        f"peak memory {second.peak_rss_mib:.0f} MiB"
    )
    return {"first": first, "second": second, "rate": rate, "invoices": invoices}


def run(*, stdout: Any, service_ids: Sequence[int], day: dt.date, pgbench_tps: float) -> dict:
    """The month-end phase of `bench_usage` (usage/benchmark.py calls it with its population): the
    invoices of the month `day` is in, on the 1st after it, then that 1st again; each figure on its
    own line, the rate against pgbench's of the same run (target: at least 1×)."""
    first_of_next = engine.next_month(engine.month_of(day))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    first = run_month_end(first_of_next)
    rate = first.changed / first.seconds if first.seconds else 0.0
    stdout.write(f"month-end: {rate:.0f} services/s")
    stdout.write(f"ratio month-end/pgbench: {rate / pgbench_tps:.2f} (target >= 1)" if pgbench_tps else "")
    stdout.write(
        f"month-end: {first.changed} of {len(service_ids)} months closed in {first.seconds:.1f} s, "
        f"{first.batches} batches, {first.queries / max(first.batches, 1):.1f} queries per batch, "
        f"peak memory {first.peak_rss_mib:.0f} MiB"
    )
    second = run_month_end(first_of_next)
    stdout.write(
        f"month-end again: {second.changed} changed in {second.seconds:.2f} s, {second.queries} queries, "
        f"peak memory {second.peak_rss_mib:.0f} MiB"
    )
    return {"first": first, "second": second, "rate": rate}
