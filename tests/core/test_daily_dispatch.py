"""TIME-2: one dispatch of the daily task runs a day. Two beat processes both send the 02:00 task:
the second message of the day does nothing and logs why; the same message delivered again (its
worker died) finishes the run; a failed run leaves the day to another dispatch. The jobs'
idempotency (REN-8) stays the real guarantee; this spares the second run."""

import datetime as dt
import logging
import threading

import pytest
import time_machine
from django.db import connection

from config.celery import app as celery_app
from core import lifecycle
from core.dispatch import daily_dispatch_claim
from core.models import DailyDispatch, DailyRun
from core.tasks import run_daily_lifecycle

pytestmark = pytest.mark.django_db

AT_TWO_IN_ZURICH = dt.datetime(2027, 3, 10, 1, 0, tzinfo=dt.UTC)
DAY = dt.date(2027, 3, 10)
TASK = "core.tasks.run_daily_lifecycle"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[dt.date]:
    days: list[dt.date] = []
    monkeypatch.setattr(
        lifecycle,
        "_registry",
        {"spy": lifecycle.DailyJob("spy", 1, "TIME-2", lambda *, day, now: days.append(day) or 1)},
    )
    return days


def test_time2_a_second_dispatch_of_the_same_day_does_nothing_and_logs_why(seen, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="core.tasks")
    with time_machine.travel(AT_TWO_IN_ZURICH, tick=False):
        # given: beat A's message ran the day
        first = run_daily_lifecycle.apply(task_id="beat-a")
        # when: beat B's message of the same day arrives
        second = run_daily_lifecycle.apply(task_id="beat-b")

    # then: the jobs ran once; the second dispatch did nothing and said why
    assert first.get() == {"2027-03-10": {"spy": 1}}
    assert second.get() == {}
    assert seen == [DAY]
    assert list(DailyDispatch.objects.values_list("task", "day", "dispatch_id")) == [(TASK, DAY, "beat-a")]
    assert [r.getMessage() for r in caplog.records if r.name == "core.tasks"] == [
        "daily run of 2027-03-10: this dispatch (beat-b) does nothing; the day was claimed by dispatch beat-a "
        "at 2027-03-10T01:00:00+00:00"
    ]


def test_time2_the_same_message_delivered_again_finishes_the_run(seen) -> None:
    with time_machine.travel(AT_TWO_IN_ZURICH, tick=False):
        run_daily_lifecycle.apply(task_id="beat-a")
        again = run_daily_lifecycle.apply(task_id="beat-a")  # acks_late: the worker died, redelivered

    assert again.get() == {"2027-03-10": {"spy": 1}}
    assert seen == [DAY, DAY]  # the jobs themselves find nothing left to do (REN-8)


def test_time2_the_next_day_is_dispatched_again(seen) -> None:
    with time_machine.travel(AT_TWO_IN_ZURICH, tick=False):
        run_daily_lifecycle.apply(task_id="beat-a")
    with time_machine.travel(AT_TWO_IN_ZURICH + dt.timedelta(days=1), tick=False):
        run_daily_lifecycle.apply(task_id="beat-a-next")

    assert seen == [DAY, DAY + dt.timedelta(days=1)]
    assert DailyDispatch.objects.count() == 2


def test_time2_a_failed_run_leaves_the_day_to_another_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dt.date] = []

    def flaky(*, day: dt.date, now: dt.datetime) -> int:
        calls.append(day)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return 1

    monkeypatch.setattr(lifecycle, "_registry", {"flaky": lifecycle.DailyJob("flaky", 1, "TIME-2", flaky)})

    with time_machine.travel(AT_TWO_IN_ZURICH, tick=False):
        with pytest.raises(RuntimeError, match="database went away"):
            run_daily_lifecycle.apply(task_id="beat-a").get()
        second = run_daily_lifecycle.apply(task_id="beat-b")

    assert second.get() == {"2027-03-10": {"flaky": 1}}
    assert calls == [DAY, DAY]
    assert list(DailyDispatch.objects.values_list("dispatch_id", flat=True)) == ["beat-b"]
    assert DailyRun.objects.filter(day=DAY).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_time2_two_dispatches_racing_for_a_day_one_claims_it() -> None:
    barrier = threading.Barrier(2)
    holders: list[str] = []
    errors: list[BaseException] = []
    now = dt.datetime(2027, 3, 10, 1, 0, tzinfo=dt.UTC)

    def dispatch(dispatch_id: str) -> None:
        try:
            barrier.wait()
            holders.append(daily_dispatch_claim(task=TASK, day=DAY, dispatch_id=dispatch_id, now=now).dispatch_id)
        except BaseException as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch, args=(name,)) for name in ("beat-a", "beat-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(holders) == 2 and len(set(holders)) == 1  # both see the same single holder
    assert DailyDispatch.objects.count() == 1


def test_workers_and_beat_reconnect_to_the_broker_without_a_limit() -> None:
    assert celery_app.conf.broker_connection_retry is True
    assert celery_app.conf.broker_connection_retry_on_startup is True
    assert celery_app.conf.broker_connection_max_retries is None
