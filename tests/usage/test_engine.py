"""SPEC USE-1, USE-3, USE-5, USE-6, USE-7: the usage arithmetic as pure functions (no database)."""

import datetime as dt
from decimal import Decimal

import pytest

from usage import engine

D = Decimal
U = dt.UTC


def test_use3_an_hour_belongs_to_the_zurich_day_and_month_of_its_local_start() -> None:
    # 31 October 2026, 23:00 UTC is 1 November 00:00 in Zurich (winter time, UTC+1)
    assert engine.slot_of(dt.datetime(2026, 10, 31, 23, tzinfo=U)) == (dt.date(2026, 11, 1), 0)
    # 31 October 2026, 22:00 UTC is the last hour of October there
    assert engine.slot_of(dt.datetime(2026, 10, 31, 22, tzinfo=U)) == (dt.date(2026, 10, 31), 23)
    assert engine.month_of(dt.date(2026, 11, 1)) == dt.date(2026, 11, 1)
    assert engine.month_of(dt.date(2026, 10, 31)) == dt.date(2026, 10, 1)
    # summer: 30 June 22:00 UTC is 1 July 00:00 in Zurich (UTC+2)
    assert engine.slot_of(dt.datetime(2026, 6, 30, 22, tzinfo=U)) == (dt.date(2026, 7, 1), 0)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25), (dt.date(2026, 7, 1), 24)],
)
def test_use3_a_zurich_day_has_its_real_hours_and_slots_go_both_ways(day: dt.date, hours: int) -> None:
    assert engine.hours_in_day(day) == hours
    for slot in range(hours):
        assert engine.slot_of(engine.hour_of(day, slot)) == (day, slot)
    # the hour after the last slot is the next day's first
    assert engine.slot_of(engine.hour_of(day, hours)) == (day + dt.timedelta(days=1), 0)


def test_use3_the_day_the_clocks_go_back_has_two_local_two_oclocks() -> None:
    # 25 October 2026: 00:00 UTC and 01:00 UTC are both 02:xx-ish local hours, in slots 2 and 3
    assert engine.slot_of(dt.datetime(2026, 10, 25, 0, tzinfo=U)) == (dt.date(2026, 10, 25), 2)
    assert engine.slot_of(dt.datetime(2026, 10, 25, 1, tzinfo=U)) == (dt.date(2026, 10, 25), 3)
    assert engine.slot_of(dt.datetime(2026, 10, 25, 22, tzinfo=U)) == (dt.date(2026, 10, 25), 24)


def test_use1_quantities_are_exact_micro_units() -> None:
    assert engine.to_micro(D("1.000001")) == 1_000_001
    assert engine.from_micro(1_000_001) == D("1.000001")
    assert engine.from_micro(0) == D("0.000000")


def test_use1_lines_are_rounded_per_line_half_up_and_follow_the_resource_order() -> None:
    # given 744.5 cloudlet-hours at 0.012345 and 0.5 GB at 0.05 (0.025 -> 0.03)
    totals = {1: engine.to_micro(D("744.5")), 4: engine.to_micro(D("0.5"))}
    rates = {4: D("0.050000"), 1: D("0.012345"), 9: D("1")}
    # when
    lines = engine.price_lines(totals, rates, order=[1, 2, 4])
    # then: resource 2 has no rate (no line), resource 9 is not in the order
    assert lines == [
        engine.Line(resource_id=1, quantity=D("744.500000"), rate=D("0.012345"), amount=D("9.19")),
        engine.Line(resource_id=4, quantity=D("0.500000"), rate=D("0.050000"), amount=D("0.03")),
    ]
    assert engine.total_amount(lines) == D("9.22")
    # a resource with a rate and no usage is a zero line
    assert engine.price_lines({}, {1: D("0.5")}, order=[1])[0].amount == D("0.00")


def test_use7_forecast_adds_the_average_of_the_last_seven_complete_days_for_each_day_left() -> None:
    # given 10 days of November at 2.00 a day, and today (the 11th) 0.50 so far
    daily = {dt.date(2026, 11, d): D("2.00") for d in range(1, 11)} | {dt.date(2026, 11, 11): D("0.50")}
    # when: 19 days are left after the 11th
    result = engine.forecast(D("20.50"), daily, dt.date(2026, 11, 11))
    # then
    assert result == D("58.50")
    # on the 3rd: the two complete days there are
    assert engine.forecast(
        D("5.00"), {dt.date(2026, 11, 1): D("1"), dt.date(2026, 11, 2): D("3")}, dt.date(2026, 11, 3)
    ) == D("59.00")
    # on the month's first day: today's pace
    assert engine.forecast(D("1.00"), {dt.date(2026, 12, 1): D("1.00")}, dt.date(2026, 12, 1)) == D("31.00")
    # on the last day: nothing left to add
    assert engine.forecast(D("7.77"), daily, dt.date(2026, 11, 30)) == D("7.77")


def test_use5_use6_levels_are_crossed_once_at_exactly_their_share() -> None:
    levels = engine.ALERT_LEVELS_BUDGET
    assert engine.levels_crossed(D("0"), D("49.99"), D("100"), levels) == []
    assert engine.levels_crossed(D("0"), D("50"), D("100"), levels) == [50]
    assert engine.levels_crossed(D("50"), D("100"), D("100"), levels) == [80, 100]
    assert engine.levels_crossed(D("100"), D("150"), D("100"), levels) == []
    assert engine.levels_crossed(D("79"), D("81"), D("100"), engine.ALERT_LEVELS_THRESHOLD) == [80]
