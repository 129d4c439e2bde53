"""The daily run (SPEC TIME-2): every daily job of every app, in one fixed order, as of one date.

Apps register their jobs in `AppConfig.ready()` with `register_job`. A job is a function
`job(*, day: date, now: datetime) -> int` that does the day's work and returns how many
things it changed. Jobs select their work by state and date, so running the same day twice
finds nothing to do the second time (REN-8).

Order of the run (lower first; later issues fill the gaps):
  50 usage month-end invoices (USE-3) · 100 debit attempts · 200 renewal warranty ·
  300 manual-renewal invoices and reminders ·
  400 suspension · 500 termination · 510 unpaid order invoices (ENF-5) ·
  520 breaches past their remedy deadline (ENF-2) · 600 SLA penalty credits ·
  610 SLA notices untold ·
  700 support escalation · 900 contract documents deemed accepted (ORG-8) ·
  910 inbox messages tacitly read (ORG-3) · 950 expired exports removed (EVD-4) ·
  990 the audit chain's daily seal (EVD-1)
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings

from core import clock

logger = logging.getLogger(__name__)

JobFunction = Callable[..., int]


@dataclass(frozen=True)
class DailyJob:
    name: str
    order: int
    rule: str
    function: JobFunction


_registry: dict[str, DailyJob] = {}


def register_job(*, name: str, order: int, rule: str) -> Callable[[JobFunction], JobFunction]:
    def decorator(function: JobFunction) -> JobFunction:
        existing = _registry.get(name)
        if existing and existing.function is not function:
            raise ValueError(f"daily job {name!r} is registered twice")
        if any(job.order == order and job.name != name for job in _registry.values()):
            raise ValueError(f"two daily jobs share the order {order}")
        _registry[name] = DailyJob(name=name, order=order, rule=rule, function=function)
        return function

    return decorator


def jobs() -> list[DailyJob]:
    return sorted(_registry.values(), key=lambda job: job.order)


def days(start: dt.date, until: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= until:
        yield day
        day += dt.timedelta(days=1)


def run_day(day: dt.date, *, now: dt.datetime | None = None) -> list[tuple[DailyJob, int]]:
    """Run every registered job as of `day`, in order; return what each changed.

    `now` is the instant recorded on what the jobs write: the real now, so that evidence is never
    backdated when a missed day is caught up. A day after today is refused, except where
    LIFECYCLE_ALLOW_FUTURE_DATES is on (development and tests), and then its start is used.
    """
    from core import batches
    from core.models import DailyRun

    instant = now or _instant_for(day)
    results = []
    for job in jobs():
        count = job.function(day=day, now=instant)
        logger.info("daily job %s as of %s: %s", job.name, day.isoformat(), count)
        results.append((job, count))
    DailyRun.objects.update_or_create(day=day, defaults={"finished_at": instant})
    batches.forget_before(day)  # the Celery engine's record of old days' batches
    return results


def days_to_run(today: dt.date) -> list[dt.date]:
    """The days the daily task runs: those after the last finished run, through `today`, at most
    LIFECYCLE_CATCH_UP_DAYS back; today again if it finished already (a rerun does nothing twice)."""
    from core.models import DailyRun

    last = DailyRun.objects.filter(day__lte=today).order_by("-day").values_list("day", flat=True).first()
    earliest = today - dt.timedelta(days=settings.LIFECYCLE_CATCH_UP_DAYS)
    start = today if last is None or last >= today else max(last + dt.timedelta(days=1), earliest)
    return list(days(start, today))


class FutureDateRefused(ValueError):
    pass


def _instant_for(day: dt.date) -> dt.datetime:
    real_now = clock.now()
    if day <= clock.business_date(real_now):
        return real_now
    if not settings.LIFECYCLE_ALLOW_FUTURE_DATES:
        raise FutureDateRefused(f"{day.isoformat()} is in the future; the daily run does not run ahead")
    return clock.start_of_day(day)
