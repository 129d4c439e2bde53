"""The one clock of the code base (SPEC TIME-1, TIME-2).

Every "day" of the contract is a calendar day in Europe/Zurich; datetimes are stored in UTC.
Domain functions take `today`/`now` as arguments; only the edges (views, tasks, commands) call
these functions, once, and pass the value down. Tests travel in time with time-machine, which
moves what these functions return.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

ZURICH = ZoneInfo("Europe/Zurich")


def now() -> dt.datetime:
    """The current instant, timezone-aware (UTC)."""
    return timezone.now()


def today() -> dt.date:
    """The provider's business date: today's date in Zurich (TIME-1)."""
    return business_date(now())


def business_date(instant: dt.datetime) -> dt.date:
    """The Zurich calendar date on which `instant` falls."""
    if timezone.is_naive(instant):
        raise ValueError("business_date() needs an aware datetime")
    return instant.astimezone(ZURICH).date()


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight in Zurich at the start of `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZURICH)
