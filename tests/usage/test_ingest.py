"""USE-2: a batch of usage values recorded value by value — stored, replayed, corrected (recorded),
refused (each bad value named, with why, the others kept, nothing half-written) — and counted at once
in the month-to-date totals (USE-7); a fixed number of queries per batch."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from core.errors import RuleViolation
from tests.billing.factories import ServiceFactory
from tests.usage.metering import NOW, actor, close_month, stored, totals, usage_service, value
from usage import engine
from usage.models import HOUR_COLUMNS, UsageDay, UsageMonth, UsageTotal
from usage.services.ingest import values_record

pytestmark = pytest.mark.django_db

H = dt.datetime(2026, 3, 20, 6, 0, tzinfo=dt.UTC)  # 07:00 in Zurich
MARCH = dt.date(2026, 3, 1)


def record(values: list) -> object:
    return values_record(values=values, actor=actor(), now=NOW)


def snapshot() -> tuple:
    """Everything a batch may write."""
    days = sorted(UsageDay.objects.values_list("service_id", "day", "resource_id", *HOUR_COLUMNS))
    return (
        days,
        sorted(UsageTotal.objects.values_list("service_id", "month", "resource_id", "quantity")),
        sorted(UsageMonth.objects.values_list("service_id", "month", "closed_at")),
        AuditEvent.objects.count(),
    )


def test_use2_new_values_are_stored_and_counted_in_the_month_total_at_once() -> None:
    # given a usage Service
    service = usage_service()

    # when the platform reports three hours of storage and one of traffic
    result = record(
        [
            value(service, H, Decimal("10.5")),
            value(service, H + engine.HOUR, 12),
            value(service, H + 2 * engine.HOUR, Decimal("0.000001")),
            value(service, H, Decimal("3.25"), resource="traffic"),
        ]
    )

    # then all are new, stored exactly, and in the month's totals (micro-units)
    assert (result.accepted, result.new, result.unchanged, result.corrected, result.refused) == (4, 4, 0, 0, [])
    assert stored(service) == {
        ("storage", H): Decimal("10.500000"),
        ("storage", H + engine.HOUR): Decimal("12.000000"),
        ("storage", H + 2 * engine.HOUR): Decimal("0.000001"),
        ("traffic", H): Decimal("3.250000"),
    }
    assert totals(service) == {(MARCH, "storage"): 22_500_001, (MARCH, "traffic"): 3_250_000}
    assert UsageMonth.objects.filter(service=service, month=MARCH, closed_at=None).count() == 1
    assert AuditEvent.objects.count() == 0  # new values are their own record


def test_use2_an_hour_belongs_to_the_zurich_month_and_day_of_its_local_start() -> None:
    # given a usage Service, and the night the clocks go back (25 October 2026: 02:00 twice)
    service = usage_service()
    first_two = dt.datetime(2026, 10, 25, 0, 0, tzinfo=dt.UTC)  # 02:00 CEST
    second_two = dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC)  # 02:00 CET
    march_first = dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)  # 1 March, 00:00 in Zurich

    # when values for both 02:00 and for the first hour of March (local) arrive
    result = values_record(
        values=[value(service, first_two, 1), value(service, second_two, 2), value(service, march_first, 4)],
        actor=actor(),
        now=dt.datetime(2026, 10, 26, tzinfo=dt.UTC),
    )

    # then both 02:00 hours are kept apart, and the February UTC hour counts in March
    assert result.new == 3
    assert stored(service) == {
        ("storage", first_two): Decimal("1.000000"),
        ("storage", second_two): Decimal("2.000000"),
        ("storage", march_first): Decimal("4.000000"),
    }
    assert totals(service) == {(dt.date(2026, 10, 1), "storage"): 3_000_000, (MARCH, "storage"): 4_000_000}


def test_use2_the_same_value_again_changes_nothing_and_records_nothing() -> None:
    # given values already recorded
    service = usage_service()
    batch = [value(service, H, Decimal("10.5")), value(service, H, 2, resource="public-ipv4")]
    record(batch)
    before = snapshot()

    # when the platform sends the same batch again
    result = record(batch)

    # then both are accepted as unchanged, and nothing changed at all (no evidence either)
    assert (result.accepted, result.new, result.unchanged, result.corrected, result.refused) == (2, 0, 2, 0, [])
    assert snapshot() == before


def test_use2_a_different_value_replaces_the_stored_one_moves_the_total_and_is_recorded() -> None:
    # given 10.5 GB-hours stored for an hour, and another hour of 4
    service = usage_service()
    record([value(service, H, Decimal("10.5")), value(service, H + engine.HOUR, 4)])

    # when the platform corrects the first hour to 7.25
    result = record([value(service, H, Decimal("7.25")), value(service, H + engine.HOUR, 4)])

    # then the value is replaced, the total moves by the difference, and the correction is recorded
    assert (result.accepted, result.new, result.unchanged, result.corrected) == (2, 0, 1, 1)
    assert stored(service)[("storage", H)] == Decimal("7.250000")
    assert totals(service) == {(MARCH, "storage"): 11_250_000}
    event = AuditEvent.objects.get()
    assert (event.action, event.rule, event.object_type, event.object_id, event.organization_id) == (
        "usage.value_corrected",
        "USE-2",
        "subscriptions.service",
        str(service.pk),
        service.organization_id,
    )
    assert event.before == {"resource": "storage", "hour": "2026-03-20T06:00:00+00:00", "quantity": "10.500000"}
    assert event.after == {"resource": "storage", "hour": "2026-03-20T06:00:00+00:00", "quantity": "7.250000"}


def test_use2_values_for_a_month_already_invoiced_are_refused_and_change_nothing() -> None:
    # given February invoiced (closed) with a value stored, and March open
    service = usage_service()
    february = dt.datetime(2026, 2, 20, 10, 0, tzinfo=dt.UTC)
    record([value(service, february, 5)])
    close_month(service, dt.date(2026, 2, 1))
    before = snapshot()

    # when a correction and a new value for February arrive beside a March value
    result = record([value(service, february, 6), value(service, february + engine.HOUR, 1), value(service, H, 2)])

    # then both February values are refused by name, the March one is kept
    assert (result.accepted, result.new) == (1, 1)
    assert [(r.index, r.code, r.rule) for r in result.refused] == [
        (0, "month_closed", "USE-2"),
        (1, "month_closed", "USE-2"),
    ]
    assert result.refused[0].value == value(service, february, 6)
    assert "already invoiced" in result.refused[0].message
    after = snapshot()
    assert stored(service)[("storage", february)] == Decimal("5.000000")
    assert totals(service)[(dt.date(2026, 2, 1), "storage")] == 5_000_000
    assert after[3] == before[3]  # no evidence


# Every bad value of the list, each beside a good one: (value builder, code).
BAD = {
    "unknown service": (lambda s, o: value(999_999_999, H, 1), "service_unknown"),
    "service id beyond bigint": (lambda s, o: value(2**70, H, 1), "service_unknown"),
    "service id as text": (
        lambda s, o: {"service": str(s.pk), "resource": "storage", "hour": "2026-03-20T06:00:00Z", "quantity": 1},
        "service_invalid",
    ),
    "service not usage-based": (lambda s, o: value(o, H, 1), "service_not_usage_based"),
    "unknown resource": (lambda s, o: value(s, H, 1, resource="ram"), "resource_unknown"),
    "hour not on the hour": (lambda s, o: value(s, "2026-03-20T06:30:00Z", 1), "hour_not_on_the_hour"),
    "hour with seconds": (lambda s, o: value(s, "2026-03-20T06:00:01Z", 1), "hour_not_on_the_hour"),
    "hour without time zone": (lambda s, o: value(s, "2026-03-20T06:00:00", 1), "hour_invalid"),
    "hour not a date": (lambda s, o: value(s, "yesterday", 1), "hour_invalid"),
    "hour as a number": (
        lambda s, o: {"service": s.pk, "resource": "storage", "hour": 1774000000, "quantity": 1},
        "hour_invalid",
    ),
    "hour in the future": (lambda s, o: value(s, "2026-03-20T10:00:00Z", 1), "hour_in_future"),
    "hour before activation": (lambda s, o: value(s, "2026-02-10T07:00:00Z", 1), "hour_before_service"),
    "negative": (lambda s, o: value(s, H, Decimal("-0.5")), "quantity_negative"),
    "negative integer": (lambda s, o: value(s, H, -1), "quantity_negative"),
    "NaN": (lambda s, o: value(s, H, Decimal("NaN")), "quantity_not_finite"),
    "Infinity": (lambda s, o: value(s, H, Decimal("Infinity")), "quantity_not_finite"),
    "huge": (lambda s, o: value(s, H, Decimal("1e30")), "quantity_too_large"),
    "over the hourly maximum": (lambda s, o: value(s, H, Decimal("1000000.000001")), "quantity_too_large"),
    "more than 6 decimals": (lambda s, o: value(s, H, Decimal("1.0000001")), "quantity_too_precise"),
    "text": (lambda s, o: value(s, H, "12"), "quantity_not_a_number"),
    "true": (lambda s, o: value(s, H, True), "quantity_not_a_number"),
    "null": (lambda s, o: value(s, H, None), "quantity_not_a_number"),
    "a field missing": (
        lambda s, o: {"service": s.pk, "resource": "storage", "hour": "2026-03-20T06:00:00Z"},
        "value_invalid",
    ),
    "not an object": (lambda s, o: [s.pk, "storage", "2026-03-20T06:00:00Z", 1], "value_invalid"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_use2_each_bad_value_is_refused_by_name_and_the_good_ones_kept(case: str) -> None:
    # given a usage Service and a fixed-price one
    service = usage_service()
    fixed = ServiceFactory()
    build, code = BAD[case]
    bad = build(service, fixed)
    good = value(service, H + engine.HOUR, 3)

    # when the bad value comes between two copies of a good one
    result = record([good, bad, good])

    # then the bad value is refused, named by its place and echoed, with a code and a message
    assert [(r.index, r.code, r.rule) for r in result.refused] == [(1, code, "USE-2")]
    assert result.refused[0].value == bad
    assert result.refused[0].message
    # and the good one is kept, counted once
    assert (result.accepted, result.new, result.unchanged) == (2, 1, 1)
    assert stored(service) == {("storage", H + engine.HOUR): Decimal("3.000000")}
    assert totals(service) == {(MARCH, "storage"): 3_000_000}
    assert not UsageDay.objects.filter(service=fixed).exists()


def test_use2_hours_at_or_after_termination_are_refused() -> None:
    # given a Service terminated on 19 March at 12:30 UTC
    terminated_at = dt.datetime(2026, 3, 19, 12, 30, tzinfo=dt.UTC)
    service = usage_service(status="terminated", terminated_at=terminated_at)

    # when the hours around its end are reported
    result = record([value(service, "2026-03-19T12:00:00Z", 1), value(service, "2026-03-19T13:00:00Z", 1)])

    # then the hour it ended in is kept, the next refused
    assert result.new == 1
    assert [(r.index, r.code) for r in result.refused] == [(1, "hour_after_termination")]


def test_use2_the_activation_hour_itself_is_accepted() -> None:
    service = usage_service()  # activated at 08:15 UTC on 10 February

    result = record([value(service, "2026-02-10T08:00:00Z", 1), value(service, "2026-02-10T07:00:00Z", 1)])

    assert result.new == 1
    assert [(r.index, r.code) for r in result.refused] == [(1, "hour_before_service")]


def test_use2_a_key_twice_with_different_quantities_is_refused_every_time() -> None:
    # given a usage Service
    service = usage_service()

    # when one batch gives an hour twice with different quantities, another hour twice with the same
    result = record(
        [
            value(service, H, 1),
            value(service, H + engine.HOUR, 5),
            value(service, H, 2),
            value(service, H + engine.HOUR, Decimal("5.000")),
        ]
    )

    # then both occurrences of the first are refused; the second is counted once
    assert [(r.index, r.code) for r in result.refused] == [(0, "duplicate_conflict"), (2, "duplicate_conflict")]
    assert (result.new, result.unchanged) == (1, 1)
    assert stored(service) == {("storage", H + engine.HOUR): Decimal("5.000000")}
    assert totals(service) == {(MARCH, "storage"): 5_000_000}


def test_use2_a_batch_over_the_limit_is_refused_whole() -> None:
    service = usage_service()
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        record([value(service, H, 1)] * 10_001)

    assert (refused.value.status, refused.value.rule) == (413, "USE-2")
    assert "10'000" in refused.value.message
    assert snapshot() == before


def test_use2_a_batch_fails_whole_or_not_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a usage Service, and the totals' write failing after the values were written
    service = usage_service()
    from usage import bulk

    def broken(deltas: dict) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "totals_move", broken)

    # when a batch is recorded
    with pytest.raises(RuntimeError):
        record([value(service, H, 1)])

    # then nothing of it is left
    assert not UsageDay.objects.exists() and not UsageMonth.objects.exists()


def test_use2_use7_accepted_values_are_never_left_out_of_the_totals() -> None:
    """Random batches of new values, replays, corrections and bad values over two Services and two
    months: after each, every month's total is the sum of its stored hourly values."""
    rng = random.Random(15)
    services = [usage_service(), usage_service()]
    hours = [dt.datetime(2026, 2, 27, tzinfo=dt.UTC) + n * engine.HOUR for n in range(72)]  # across 1 March
    slugs = ["storage", "traffic", "public-ipv4"]
    for _batch in range(12):
        batch = [
            value(
                rng.choice(services),
                rng.choice(hours),
                rng.choice([Decimal(rng.randint(0, 10**8)) / 10**6, rng.randint(0, 50), Decimal("-1")]),
                resource=rng.choice(slugs),
            )
            for _ in range(rng.randint(1, 60))
        ]
        record(batch)
        for service in services:
            sums: dict[tuple[dt.date, str], int] = {}
            for (slug, hour), quantity in stored(service).items():
                key = (engine.month_of(engine.slot_of(hour)[0]), slug)
                sums[key] = sums.get(key, 0) + engine.to_micro(quantity)
            assert {key: total for key, total in totals(service).items() if total} == sums


@pytest.mark.postgres
def test_use2_a_batch_costs_the_same_queries_for_5_values_as_for_5000() -> None:
    # given two Services each with values already stored (so each batch corrects some)
    small, large = usage_service(), usage_service()
    hours = [dt.datetime(2026, 3, 1, tzinfo=dt.UTC) + n * engine.HOUR for n in range(450)]
    record([value(small, hours[0], 1)])
    record([value(large, hours[0], 1)])
    record([value(small, hours[0], 5)])  # a first correction: the audit chain's head exists
    batches = {
        "small": [value(small, hour, 2, resource=slug) for hour in hours[:1] for slug in ("storage", "traffic")]
        + [value(small, hours[1], 3), value(small, hours[2], Decimal("NaN")), value(small, hours[3], 1)],
        "large": [
            value(large, hour, 2, resource=slug)
            for hour in hours
            for slug in ("storage", "traffic", "public-ipv4", "reserved-cloudlets", "dynamic-cloudlets")
        ][:4999]
        + [value(large, hours[2], Decimal("NaN"))],
    }

    # when each is recorded
    counts = {}
    for name, batch in batches.items():
        with CaptureQueriesContext(connection) as queries:
            result = record(batch)
        counts[name] = len(queries)
        assert result.corrected == 1

    # then both cost the same fixed number of queries
    # the Services, the resources, the months (2), the stored slots, their write, the totals, the thresholds
    # and budgets (2), the evidence of the correction (chain head, ids, insert, head update) and savepoints
    assert counts["small"] == counts["large"] == 16, counts
