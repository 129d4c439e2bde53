"""Plausible hourly usage of a Jelastic Service, for the demo and for trying the portal
(`manage.py usage_simulate`). Pure: the values of an hour depend only on the seed, the Service and
the hour, so a range simulated again gives the same values (the ingest answers them as unchanged)
and two overlapping runs agree.

The shape (demo figures, not measurements): a few reserved cloudlets, stepped up now and then;
dynamic cloudlets following the working day in Zurich with noise; storage growing slowly; external
traffic by the hour, busier in the day; one public IPv4 address, a second one some weeks.
"""

import datetime as dt
import math
import random
from collections.abc import Iterator
from decimal import Decimal

from core.clock import ZURICH

HOUR = dt.timedelta(hours=1)


def hours_between(first: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """The UTC starts of the hours from `first` (on the hour) up to, not including, `end`."""
    hour = first
    while hour < end:
        yield hour
        hour += HOUR


def floor_hour(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _q(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.3f}")


def hour_values(service_id: int, hour: dt.datetime, *, seed: int) -> dict[str, Decimal]:
    """The five resources' quantities of one hour of one Service."""
    profile = random.Random(f"{seed}:{service_id}")  # the Service's size, the same every hour
    base = profile.choice([2, 4, 6, 8])
    local = hour.astimezone(ZURICH)
    week = local.isocalendar()[1]
    weekly = random.Random(f"{seed}:{service_id}:{local.year}:{week}")  # steps that last a week
    noise = random.Random(f"{seed}:{service_id}:{hour.isoformat()}")
    working = local.weekday() < 5
    # 0 at night, 1 in the early afternoon (local time)
    daylight = max(0.0, math.sin(math.pi * (local.hour + local.minute / 60 - 6) / 16)) if 6 <= local.hour < 22 else 0.0
    busy = daylight * (1.0 if working else 0.4)
    days = (hour - dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) / dt.timedelta(days=1)
    return {
        "reserved-cloudlets": _q(base + 2 * weekly.randint(0, 1)),
        "dynamic-cloudlets": _q(base * 1.5 * busy + noise.uniform(0, 1.5)),
        "storage": _q(20 + base * 2 + 0.05 * max(days, 0) % 40 + noise.uniform(0, 0.2)),
        "traffic": _q(0.02 + 0.6 * busy * noise.uniform(0.5, 1.5)),
        "public-ipv4": _q(1 + weekly.choice([0, 0, 0, 1])),
    }


def values(service_id: int, hours: Iterator[dt.datetime], *, seed: int) -> Iterator[dict[str, object]]:
    """The metering door's values `{service, resource, hour, quantity}` for these hours."""
    for hour in hours:
        stamp = hour.strftime("%Y-%m-%dT%H:%M:%SZ")
        for slug, quantity in hour_values(service_id, hour, seed=seed).items():
            yield {"service": service_id, "resource": slug, "hour": stamp, "quantity": quantity}
