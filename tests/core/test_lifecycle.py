"""SPEC TIME-2: one daily run, in a fixed order, as of any date; the Celery task calls the same code."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from core import lifecycle
from core.tasks import run_daily_lifecycle


def test_time2_jobs_run_in_their_documented_order() -> None:
    assert [(job.order, job.name, job.rule) for job in lifecycle.jobs()] == [
        (50, "usage.month_end", "USE-3"),
        (60, "usage.trials_resume", "USE-8"),
        (100, "billing.debit_attempts", "REN-1"),
        (110, "billing.unknown_payments", "REN-8"),
        (200, "billing.renewal_warranty", "RW-3"),
        (300, "billing.renewal_reminders", "REN-5"),
        (400, "billing.suspension", "REN-3"),
        (500, "billing.termination", "REN-4"),
        (510, "billing.order_expiry", "ENF-5"),
        (520, "enforcement.remedy_deadlines", "ENF-2"),
        (600, "sla.penalty_credits", "SLA-4"),
        (610, "sla.notices", "SLA-8"),
        (700, "support.escalation", "SUP-7"),
        (890, "accounts.document_notices", "ORG-8"),
        (900, "accounts.deemed_acceptance", "ORG-8"),
        (910, "notifications.tacit_reading", "ORG-3"),
        (950, "exports.retention", "EVD-4"),
        (990, "audit.seal", "EVD-1"),
    ]


def test_time2_a_job_name_or_order_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        lifecycle.register_job(name="accounts.deemed_acceptance", order=1, rule="X")(lambda **_: 0)
    with pytest.raises(ValueError, match="share the order 900"):
        lifecycle.register_job(name="other.job", order=900, rule="X")(lambda **_: 0)


@pytest.mark.django_db
def test_time2_run_day_records_the_real_now_even_for_a_past_day(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[dt.date, dt.datetime]] = []

    def spy(*, day: dt.date, now: dt.datetime) -> int:
        seen.append((day, now))
        return 7

    monkeypatch.setattr(lifecycle, "_registry", {"spy": lifecycle.DailyJob("spy", 1, "TIME-2", spy)})
    with time_machine.travel(dt.datetime(2026, 5, 3, 6, 0, tzinfo=dt.UTC), tick=False):
        results = lifecycle.run_day(dt.date(2026, 5, 1))
        lifecycle.run_day(dt.date(2026, 5, 3))
        lifecycle.run_day(dt.date(2026, 5, 9))  # the future: allowed in tests, as of its start

    assert [count for _, count in results] == [7]
    assert seen == [
        (dt.date(2026, 5, 1), dt.datetime(2026, 5, 3, 6, 0, tzinfo=dt.UTC)),  # caught up: not backdated
        (dt.date(2026, 5, 3), dt.datetime(2026, 5, 3, 6, 0, tzinfo=dt.UTC)),
        (dt.date(2026, 5, 9), dt.datetime(2026, 5, 8, 22, 0, tzinfo=dt.UTC)),  # Zurich midnight
    ]


def test_time2_a_future_date_is_refused_in_production(settings) -> None:
    settings.LIFECYCLE_ALLOW_FUTURE_DATES = False

    with (
        time_machine.travel(dt.datetime(2026, 5, 3, 6, 0, tzinfo=dt.UTC), tick=False),
        pytest.raises(CommandError, match="2026-05-04 is in the future"),
    ):
        call_command("run_lifecycle", "--date", "2026-05-04")


@pytest.mark.django_db
def test_time2_the_beat_task_runs_the_same_jobs_as_of_the_zurich_date(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dt.date] = []
    monkeypatch.setattr(
        lifecycle,
        "_registry",
        {"spy": lifecycle.DailyJob("spy", 1, "TIME-2", lambda *, day, now: seen.append(day) or 3)},
    )

    # 23:30 UTC on 31 December is already 1 January in Zurich
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        result = run_daily_lifecycle.delay().get()

    assert seen == [dt.date(2027, 1, 1)]
    assert result == {"2027-01-01": {"spy": 3}}


@pytest.mark.django_db
def test_time2_the_beat_task_catches_up_missed_days_and_reruns_today(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.models import DailyRun

    seen: list[dt.date] = []
    monkeypatch.setattr(
        lifecycle,
        "_registry",
        {"spy": lifecycle.DailyJob("spy", 1, "TIME-2", lambda *, day, now: seen.append(day) or 0)},
    )
    DailyRun.objects.create(day=dt.date(2027, 3, 7), finished_at=dt.datetime(2027, 3, 7, 1, 0, tzinfo=dt.UTC))

    # beat missed 8 and 9 March: the task of 10 March runs them first, in order
    with time_machine.travel(dt.datetime(2027, 3, 10, 1, 0, tzinfo=dt.UTC), tick=False):
        first = run_daily_lifecycle.delay()
        run_daily_lifecycle.apply(task_id=first.id)  # the same message redelivered: today again, nothing before it

    assert seen == [dt.date(2027, 3, 8), dt.date(2027, 3, 9), dt.date(2027, 3, 10), dt.date(2027, 3, 10)]
    assert list(DailyRun.objects.order_by("day").values_list("day", flat=True)) == [
        dt.date(2027, 3, 7),
        dt.date(2027, 3, 8),
        dt.date(2027, 3, 9),
        dt.date(2027, 3, 10),
    ]


@pytest.mark.django_db
def test_time2_catch_up_goes_back_at_most_a_week() -> None:
    from core.models import DailyRun

    DailyRun.objects.create(day=dt.date(2027, 1, 1), finished_at=dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC))

    assert lifecycle.days_to_run(dt.date(2027, 3, 10))[0] == dt.date(2027, 3, 3)
    assert lifecycle.days_to_run(dt.date(2027, 3, 10))[-1] == dt.date(2027, 3, 10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-02-30"], "not a date"),
        (["--date", "2026-03-02", "--until", "2026-03-01"], "--until is before --date"),
    ],
)
def test_time2_run_lifecycle_refuses_bad_dates(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("run_lifecycle", *args)


def test_time2_beat_schedules_the_daily_run_at_two_in_zurich(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["daily-lifecycle"]
    assert entry["task"] == "core.tasks.run_daily_lifecycle"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {0})
    assert settings.CELERY_TIMEZONE == "Europe/Zurich"
