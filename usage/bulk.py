"""The ingest's batch machinery (SPEC USE-2; docs/performance.md "Usage"): a fixed number of statements
per batch of up to 10,000 values, whatever it holds.

On PostgreSQL each step is one statement over arrays (`… FROM unnest(%s::bigint[], …)`): the text of
the statement, and so its plan, is the same for every batch, and no model instance is built per
value. Elsewhere (SQLite, the embedded demo and the tests' second database) the same steps with the
ORM: fewer rows, the same answers.

Locks (docs/decisions.md "Lock order"): the Services named are locked FOR KEY SHARE in id order first
(what inserting a row that points at a Service takes anyway: taken first, it cannot come after the
UsageMonth lock a month-end job waits for while holding the Service), then the (Service, month)
UsageMonth rows FOR UPDATE in (service, month) order, created first if missing. Under that lock the
UsageDay and UsageTotal rows of the Service and month are written with no lock of their own.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Q

from core.bulk import array_literal
from subscriptions.models import Service
from usage.models import HOUR_COLUMNS, Resource, UsageDay, UsageMonth, UsageTotal
from usage.values import ResourceLimit, ServiceLife, first_hour

Key = tuple[int, dt.date]  # (Service id, month)
DayKey = tuple[int, dt.date, int]  # (Service id, Zurich day, resource id)
TotalKey = tuple[int, dt.date, int]  # (Service id, month, resource id)

_DAY = UsageDay._meta.db_table
_MONTH = UsageMonth._meta.db_table
_TOTAL = UsageTotal._meta.db_table
_SERVICE = Service._meta.db_table


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def resources() -> dict[str, ResourceLimit]:
    """The metered resources by slug (one query: staff may change a maximum at any time)."""
    return {
        slug: ResourceLimit(id=pk, slug=slug, max_micro=int(maximum * 1_000_000))
        for pk, slug, maximum in Resource.objects.values_list("pk", "slug", "max_per_hour")
    }


def services_lock(ids: Iterable[int]) -> dict[int, ServiceLife]:
    """The Services named, locked FOR KEY SHARE in id order (one query)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, organization_id, plan_id, usage_based, activated_at, created_at, terminated_at "
                f"FROM {_SERVICE} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR KEY SHARE",
                [array_literal(ids)],
            )
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
    else:
        rows = list(
            Service.objects.filter(pk__in=ids)
            .order_by("pk")
            .values_list(
                "pk", "organization_id", "plan_id", "usage_based", "activated_at", "created_at", "terminated_at"
            )
        )
    return {
        pk: ServiceLife(
            id=pk,
            organization_id=organization_id,
            plan_id=plan_id,
            usage_based=usage_based,
            first_hour=first_hour(activated_at, created_at),
            ends_at=terminated_at,
        )
        for pk, organization_id, plan_id, usage_based, activated_at, created_at, terminated_at in rows
    }


def months_lock(keys: Iterable[Key]) -> set[Key]:
    """Lock the UsageMonth rows of `keys` FOR UPDATE in (Service, month) order, creating the missing
    ones; return the keys whose month is closed (billed: values refused, USE-2). Two queries."""
    keys = sorted(set(keys))
    if not keys:
        return set()
    if _postgres():
        services, months = array_literal(k[0] for k in keys), array_literal(k[1] for k in keys)
        with connection.cursor() as cursor:
            # Inserted in key order (as the rows are then locked): two batches cannot wait on each other.
            cursor.execute(
                f"INSERT INTO {_MONTH} (service_id, month) SELECT * FROM unnest(%s::bigint[], %s::date[]) "
                f"ON CONFLICT (service_id, month) DO NOTHING",
                [services, months],
            )
            cursor.execute(
                f"SELECT m.service_id, m.month, m.closed_at IS NOT NULL FROM {_MONTH} m "
                f"JOIN unnest(%s::bigint[], %s::date[]) AS k(service_id, month) "
                f"ON m.service_id = k.service_id AND m.month = k.month "
                f"ORDER BY m.service_id, m.month FOR UPDATE OF m",
                [services, months],
            )
            return {(service_id, month) for service_id, month, closed in cursor.fetchall() if closed}
    UsageMonth.objects.bulk_create(
        [UsageMonth(service_id=service_id, month=month) for service_id, month in keys], ignore_conflicts=True
    )
    wanted = set(keys)
    rows = (
        UsageMonth.objects.select_for_update()
        .filter(service_id__in={k[0] for k in keys}, month__in={k[1] for k in keys})
        .order_by("service_id", "month")
        .values_list("service_id", "month", "closed_at")
    )
    return {(s, m) for s, m, closed_at in rows if (s, m) in wanted and closed_at is not None}


def slots_read(items: Sequence[tuple[int, dt.date, int, int]]) -> list[int | None]:
    """The value already stored for each (Service, day, resource, slot) of `items` (None: none yet),
    in their order. One query."""
    if not items:
        return []
    found: list[int | None] = [None] * len(items)
    if _postgres():
        hours = ", ".join(f"d.{column}" for column in HOUR_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT k.i, (ARRAY[{hours}])[k.slot + 1] FROM {_DAY} d "
                f"JOIN unnest(%s::bigint[], %s::date[], %s::bigint[], %s::int[]) WITH ORDINALITY "
                f"AS k(service_id, day, resource_id, slot, i) "
                f"ON d.service_id = k.service_id AND d.day = k.day AND d.resource_id = k.resource_id",
                [array_literal(i[n] for i in items) for n in range(4)],
            )
            for ordinal, value in cursor.fetchall():
                found[ordinal - 1] = value
        return found
    rows = {
        (row["service_id"], row["day"], row["resource_id"]): row
        for row in UsageDay.objects.filter(
            service_id__in={i[0] for i in items}, day__in={i[1] for i in items}, resource_id__in={i[2] for i in items}
        ).values("service_id", "day", "resource_id", *HOUR_COLUMNS)
    }
    for n, (service_id, day, resource_id, slot) in enumerate(items):
        row = rows.get((service_id, day, resource_id))
        if row is not None:
            found[n] = row[HOUR_COLUMNS[slot]]
    return found


def slots_write(items: Sequence[tuple[int, dt.date, int, int, int]]) -> None:
    """Store each (Service, day, resource, slot, micro-units), creating the day's row if missing and
    keeping its other slots. One statement; the caller holds the months' locks."""
    if not items:
        return
    if _postgres():
        folded = ", ".join(f"max(v.q) FILTER (WHERE v.slot = {n})" for n in range(len(HOUR_COLUMNS)))
        kept = ", ".join(f"{c} = COALESCE(EXCLUDED.{c}, d.{c})" for c in HOUR_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_DAY} AS d (service_id, day, resource_id, {', '.join(HOUR_COLUMNS)}) "
                f"SELECT v.service_id, v.day, v.resource_id, {folded} "
                f"FROM unnest(%s::bigint[], %s::date[], %s::bigint[], %s::int[], %s::bigint[]) "
                f"AS v(service_id, day, resource_id, slot, q) "
                f"GROUP BY v.service_id, v.day, v.resource_id "
                f"ON CONFLICT (service_id, day, resource_id) DO UPDATE SET {kept}",
                [array_literal(i[n] for i in items) for n in range(5)],
            )
        return
    keys = {(i[0], i[1], i[2]) for i in items}
    rows: dict[DayKey, UsageDay] = {
        (row.service_id, row.day, row.resource_id): row
        for row in UsageDay.objects.filter(
            service_id__in={k[0] for k in keys}, day__in={k[1] for k in keys}, resource_id__in={k[2] for k in keys}
        )
        if (row.service_id, row.day, row.resource_id) in keys
    }
    for service_id, day, resource_id, slot, micro in items:
        row = rows.get((service_id, day, resource_id))
        if row is None:
            row = rows[(service_id, day, resource_id)] = UsageDay(
                service_id=service_id, day=day, resource_id=resource_id
            )
        setattr(row, HOUR_COLUMNS[slot], micro)
    UsageDay.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["service", "day", "resource"],
        update_fields=HOUR_COLUMNS,
    )


def totals_move(deltas: dict[TotalKey, int]) -> dict[TotalKey, int]:
    """Add each delta (micro-units, maybe negative for a correction) to the month-to-date total of its
    (Service, month, resource), creating it if missing; return the totals moved, as they now are (for
    the thresholds). One statement; the caller holds the months' locks (USE-7: moved in the
    transaction that accepts the values)."""
    moved = [(key, delta) for key, delta in deltas.items() if delta]
    if not moved:
        return {}
    if _postgres():
        with connection.cursor() as cursor:
            # Not INSERT … ON CONFLICT DO UPDATE: the row it proposes (a negative difference of a
            # correction) would meet the table's check that a total is not negative.
            cursor.execute(
                f"WITH v AS (SELECT * FROM unnest(%s::bigint[], %s::date[], %s::bigint[], %s::bigint[]) "
                f"AS v(service_id, month, resource_id, d)), "
                f"up AS (UPDATE {_TOTAL} t SET quantity = t.quantity + v.d FROM v "
                f"WHERE t.service_id = v.service_id AND t.month = v.month AND t.resource_id = v.resource_id "
                f"RETURNING t.service_id, t.month, t.resource_id, t.quantity), "
                f"ins AS (INSERT INTO {_TOTAL} (service_id, month, resource_id, quantity) "
                f"SELECT v.service_id, v.month, v.resource_id, v.d FROM v WHERE NOT EXISTS (SELECT 1 FROM up "
                f"WHERE up.service_id = v.service_id AND up.month = v.month AND up.resource_id = v.resource_id) "
                f"RETURNING service_id, month, resource_id, quantity) "
                f"SELECT * FROM up UNION ALL SELECT * FROM ins",
                [array_literal(k[n] for k, _ in moved) for n in range(3)] + [array_literal(d for _, d in moved)],
            )
            return {(s, m, r): q for s, m, r, q in cursor.fetchall()}
    current = {
        (t.service_id, t.month, t.resource_id): t.quantity
        for t in UsageTotal.objects.filter(
            service_id__in={k[0] for k, _ in moved}, month__in={k[1] for k, _ in moved}
        ).only("service_id", "month", "resource_id", "quantity")
    }
    after = {key: current.get(key, 0) + delta for key, delta in moved}
    UsageTotal.objects.bulk_create(
        [UsageTotal(service_id=s, month=m, resource_id=r, quantity=q) for (s, m, r), q in after.items()],
        update_conflicts=True,
        unique_fields=["service", "month", "resource"],
        update_fields=["quantity"],
    )
    return after


def watched(service_ids: set[int], plan_ids: set[int]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The thresholds (service id, plan id, resource id, quantity) of these Services or plans, and the
    budgets (service id, amount, limit at budget) of these Services: two queries (USE-5, USE-6)."""
    from usage.models import Budget, Threshold

    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT service_id, plan_id, resource_id, quantity FROM {Threshold._meta.db_table} "
                f"WHERE service_id = ANY(%s::bigint[]) OR plan_id = ANY(%s::bigint[])",
                [array_literal(service_ids), array_literal(plan_ids)],
            )
            thresholds = cursor.fetchall()
            cursor.execute(
                f"SELECT service_id, amount, limit_at_budget FROM {Budget._meta.db_table} "
                f"WHERE service_id = ANY(%s::bigint[])",
                [array_literal(service_ids)],
            )
            return thresholds, cursor.fetchall()
    thresholds = list(
        Threshold.objects.filter(Q(service_id__in=service_ids) | Q(plan_id__in=plan_ids)).values_list(
            "service_id", "plan_id", "resource_id", "quantity"
        )
    )
    budgets = list(
        Budget.objects.filter(service_id__in=service_ids).values_list("service_id", "amount", "limit_at_budget")
    )
    return thresholds, budgets
