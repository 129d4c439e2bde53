"""The usage benchmark (`bench_usage`; figures in docs/performance.md "Usage").

A population of usage-based Services (one Organization each, a plan with a rate card and thresholds
no Service reaches, so every batch pays for the thresholds' look-up), then one Zurich day of values —
Services × 5 resources × 24 hours — sent through the metering door's own view (APIRequestFactory and
`UsageValuesView`: parsing, authentication, permissions, the checks and the database), in batches of
10,000 values, by `clients` processes at once, hour by hour as the platform reports them (each batch:
2,000 Services × 5 resources for one hour); then the same batches again (a replay: nothing may change).

`month_end_phase` is where the month-end invoices are measured (usage/benchmark_month_end.py, the
invoicing part of issue 15); without that module the phase says it was not measured.
"""

import datetime as dt
import importlib
import json
import multiprocessing
import resource as rusage
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Permission
from django.db import connection, transaction
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.benchmark import bench_organizations
from accounts.models import User
from billing.models import Plan, ServiceType
from subscriptions.models import Service
from usage import engine
from usage.api import UsageValuesView
from usage.models import Rate, RateCard, Resource, Threshold
from usage.values import BATCH_MAX

CHUNK = 5000  # Organizations and Services inserted per statement while building the population
SLUGS = ["reserved-cloudlets", "dynamic-cloudlets", "storage", "traffic", "public-ipv4"]
RATES = {  # CHF per unit, excluding VAT
    "reserved-cloudlets": Decimal("0.004"),
    "dynamic-cloudlets": Decimal("0.006"),
    "storage": Decimal("0.000150"),
    "traffic": Decimal("0.05"),
    "public-ipv4": Decimal("0.003"),
}


def build_population(*, services: int, day: dt.date, now: dt.datetime, prefix: str = "usage-bench") -> list[int]:
    """`services` usage Services activated 40 days before `day`; their ids, in order."""
    activated = engine.local_midnight(day) - dt.timedelta(days=40)
    service_type = ServiceType.objects.get(slug="jelastic-cloud")
    plan, _ = Plan.objects.get_or_create(
        service_type=service_type, name=f"{prefix} plan", period="monthly", defaults={"usage_based": True}
    )
    card, _ = RateCard.objects.get_or_create(
        plan=plan, currency="CHF", valid_from=day.replace(day=1) - dt.timedelta(days=400), defaults={"created_at": now}
    )
    for slug, rate in RATES.items():
        resource = Resource.objects.get(slug=slug)
        Rate.objects.get_or_create(rate_card=card, resource=resource, defaults={"rate": rate})
        # A threshold every Service has and none reaches: the batches pay for looking it up.
        never = resource.max_per_hour * 1000
        Threshold.objects.get_or_create(
            plan=plan, resource=resource, service=None, defaults={"quantity": never, "updated_at": now}
        )
    ids: list[int] = []
    for start in range(0, services, CHUNK):
        count = min(CHUNK, services - start)
        with transaction.atomic():
            organizations = bench_organizations(prefix=prefix, start=start, count=count, created_at=activated)
            rows = [
                Service(
                    organization=organization,
                    plan=plan,
                    currency="CHF",
                    status=Service.Status.ACTIVE,
                    usage_based=True,
                    activated_at=activated,
                    created_at=activated,
                )
                for organization in organizations
            ]
            ids.extend(service.pk for service in Service.objects.bulk_create(rows))
    return ids


def metering_account(email: str = "metering-bench@example.com") -> User:
    user, _ = User.objects.get_or_create(email=email)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="usage", codename="report_usage"))
    return User.objects.get(pk=user.pk)  # permissions cache fresh


def quantity(service_id: int, slot: int, resource: int) -> str:
    """A plausible hourly quantity, different per Service, hour and resource, as JSON text."""
    if resource == 0:
        return str(1 + service_id % 8)  # reserved cloudlets
    if resource == 1:
        return f"{(service_id * 7 + slot) % 13 / 4:.2f}"  # dynamic cloudlets
    if resource == 2:
        return f"{10 + service_id % 100}.5"  # storage GB-hours
    if resource == 3:
        return f"{((service_id + slot) % 1000) / 1000:.3f}"  # traffic GB
    return "1"  # one public IPv4


def batches(service_ids: Sequence[int], day: dt.date) -> list[tuple[int, int, int]]:
    """The day's batches as (hour slot, first Service index, last index): hour by hour, each batch
    BATCH_MAX values (BATCH_MAX / 5 Services × 5 resources) of one hour."""
    per_batch = BATCH_MAX // len(SLUGS)
    return [
        (slot, start, min(start + per_batch, len(service_ids)))
        for slot in range(engine.hours_in_day(day))
        for start in range(0, len(service_ids), per_batch)
    ]


def body(service_ids: Sequence[int], day: dt.date, batch: tuple[int, int, int]) -> bytes:
    slot, start, stop = batch
    hour = engine.hour_of(day, slot).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = ",".join(
        f'{{"service":{sid},"resource":"{slug}","hour":"{hour}","quantity":{quantity(sid, slot, n)}}}'
        for sid in service_ids[start:stop]
        for n, slug in enumerate(SLUGS)
    )
    return f'{{"values":[{values}]}}'.encode()


def _client(
    user_id: int, service_ids: Sequence[int], day: dt.date, mine: Sequence[tuple[int, int, int]], expect: str
) -> dict[str, Any]:
    """One metering client (a forked process): its batches through the view; its counts and figures."""
    connection.close()  # the parent's connection is not this process's
    user = User.objects.get(pk=user_id)
    view = UsageValuesView.as_view()
    factory = APIRequestFactory()
    queries = 0

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    totals = {"accepted": 0, "new": 0, "unchanged": 0, "corrected": 0, "refused": 0}
    view_seconds = 0.0
    with connection.execute_wrapper(count):
        for batch in mine:
            request = factory.post("/api/v1/usage/", body(service_ids, day, batch), content_type="application/json")
            force_authenticate(request, user=user)
            started = time.perf_counter()
            response = view(request)
            view_seconds += time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"batch {batch}: {response.status_code} {response.data}")
            answer = response.data
            for name in totals:
                totals[name] += answer[name]
            if answer[expect] != answer["accepted"] or answer["refused"]:
                raise RuntimeError(f"batch {batch}: expected every value {expect}: {json.dumps(answer)[:500]}")
    connection.close()
    return {
        **totals,
        "queries": queries,
        "batches": len(mine),
        "view_seconds": view_seconds,
        "rss_mib": rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss / 1024,
    }


def send_day(*, user: User, service_ids: Sequence[int], day: dt.date, clients: int, expect: str) -> dict[str, Any]:
    """The day's batches through the view by `clients` processes at once; the phase's figures."""
    work = batches(service_ids, day)
    shares = [work[k::clients] for k in range(clients)]
    connection.close()  # forked children must not share it
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(clients) as pool:
        results = pool.starmap(_client, [(user.pk, service_ids, day, share, expect) for share in shares])
    seconds = time.perf_counter() - started
    merged: dict[str, Any] = {name: sum(r[name] for r in results) for name in ("accepted", "new", "unchanged")}
    merged |= {name: sum(r[name] for r in results) for name in ("corrected", "refused", "queries", "batches")}
    merged |= {"seconds": seconds, "rss_mib": max(r["rss_mib"] for r in results)}
    merged["view_seconds"] = max(r["view_seconds"] for r in results)
    return merged


def state() -> tuple[Any, ...]:
    """What a replay must leave as it was: the values, the totals and the evidence, summed."""
    from usage.models import HOUR_COLUMNS

    slots = " + ".join(f"coalesce({c}, 0)" for c in HOUR_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(sum({slots}), 0) FROM usage_usageday")
        days = cursor.fetchone()
        cursor.execute("SELECT count(*), coalesce(sum(quantity), 0) FROM usage_usagetotal")
        total = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        events = cursor.fetchone()
    return (days, total, events)


def storage_bytes(*, compact: bool = False) -> dict[str, int]:
    """pg_total_relation_size (table, indexes, TOAST) of the usage tables; with `compact`, after
    VACUUM FULL (the live rows only, without the dead versions of the day's hourly updates)."""
    with connection.cursor() as cursor:
        if compact:
            cursor.execute("VACUUM FULL usage_usageday, usage_usagetotal, usage_usagemonth")
        cursor.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
            "('usage_usageday', 'usage_usagetotal', 'usage_usagemonth') ORDER BY relname"
        )
        return dict(cursor.fetchall())


def month_end_phase(stdout: Any, *, service_ids: Sequence[int], day: dt.date, pgbench_tps: float) -> None:
    """The month-end phase: usage/benchmark_month_end.py's `run(stdout=, service_ids=, day=,
    pgbench_tps=)` (the invoices of the month the day is in, on the 1st after; then the same day
    again) when that module exists."""
    try:
        module = importlib.import_module("usage.benchmark_month_end")
    except ModuleNotFoundError:
        stdout.write("month-end: not measured (usage/benchmark_month_end.py is not there yet)")
        return
    module.run(stdout=stdout, service_ids=service_ids, day=day, pgbench_tps=pgbench_tps)
