"""SPEC TIME-1, TIME-2: one clock; the business date is the Zurich date."""

import datetime as dt

import pytest
import time_machine

from core import clock


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Winter (UTC+1): 23:00 UTC is already the next day in Zurich.
        (dt.datetime(2026, 1, 31, 22, 59, 59, tzinfo=dt.UTC), dt.date(2026, 1, 31)),
        (dt.datetime(2026, 1, 31, 23, 0, 0, tzinfo=dt.UTC), dt.date(2026, 2, 1)),
        # Summer (UTC+2): 22:00 UTC is the next day in Zurich.
        (dt.datetime(2026, 6, 30, 21, 59, 59, tzinfo=dt.UTC), dt.date(2026, 6, 30)),
        (dt.datetime(2026, 6, 30, 22, 0, 0, tzinfo=dt.UTC), dt.date(2026, 7, 1)),
    ],
)
def test_time1_business_date_is_the_zurich_calendar_date(instant: dt.datetime, expected: dt.date) -> None:
    assert clock.business_date(instant) == expected


def test_time1_business_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        clock.business_date(dt.datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001


def test_time1_start_of_day_is_zurich_midnight_across_dst() -> None:
    assert clock.start_of_day(dt.date(2026, 3, 29)).astimezone(dt.UTC) == dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    assert clock.start_of_day(dt.date(2026, 3, 30)).astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)


def test_time2_today_follows_time_travel() -> None:
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        assert clock.today() == dt.date(2027, 1, 1)
        assert clock.now() == dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
