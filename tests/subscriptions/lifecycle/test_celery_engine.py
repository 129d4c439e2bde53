"""REN-8 on the Celery engine (core.batches, docs/celery.md): the daily run's batches as Celery tasks
on real worker processes through a real Redis, on PostgreSQL — and the kills it must survive: a
worker process SIGKILLed in the middle of a batch, a batch whose work committed but whose done-mark
was lost, two daily dispatches (two beats), the broker stopped and started in the middle of the run.
Each ends with one attempt, one charge and one paid invoice per Service, gapless invoice numbers
and an intact audit chain."""

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import batches, clock, lifecycle
from core.models import DailyDispatch, LifecycleBatch
from subscriptions.services import renewals
from tests.subscriptions.lifecycle.test_exactly_once import (
    LEASE_SECONDS,
    _batches_done_once,
    _children,
    _expected,
    _other_sessions_after,
    _population,
    _state,
    _worker,
    lifecycle_finished,
)

DEBIT = "subscriptions.jobs._debit_batch"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


@pytest.fixture
def queue() -> str:
    return f"lifecycle-engine-{os.getpid()}-{time.monotonic_ns()}"


@pytest.fixture
def orchestrator(settings, queue: str) -> Iterator[None]:  # noqa: ANN001
    """This process runs the day on the Celery engine: it publishes the batches to `queue` (not
    eagerly) and takes its share of them."""
    from config.celery import app

    settings.LIFECYCLE_ENGINE = "celery"
    settings.LIFECYCLE_BATCH_SIZE = 10
    settings.LIFECYCLE_BATCH_QUEUE = queue
    settings.LIFECYCLE_BATCH_LEASE_SECONDS = LEASE_SECONDS
    settings.LIFECYCLE_BATCH_POLL_SECONDS = 0.05
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes (orphaned by it otherwise)."""
    pool = _children(worker.pid)
    if worker.poll() is None:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    for pid in pool:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _started(worker: subprocess.Popen[bytes], processes: int) -> subprocess.Popen[bytes]:
    """Wait until the worker's pool processes are up (they take tasks from then on)."""
    deadline = time.monotonic() + 60
    while len(_children(worker.pid)) < processes:
        assert worker.poll() is None and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.1)
    time.sleep(1.0)  # connected to the broker and consuming
    return worker


def _in_thread(target) -> tuple[threading.Thread, list[BaseException]]:  # noqa: ANN001
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001  (reported by the test's assertion)
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _pid(batch: LifecycleBatch) -> int:
    return int(batch.claimed_by.rsplit(":", 1)[1])


def test_ren8_the_batches_run_on_the_worker_processes_and_a_second_run_does_nothing(orchestrator, queue) -> None:  # noqa: ANN001
    day = clock.today()
    ids = _population(200, day)
    worker = _started(_worker(queue, pool="prefork", engine="celery", concurrency=2), 2)
    try:
        lifecycle.run_day(day)
        lifecycle.run_day(day)  # the same day again: nothing more
    finally:
        _stop(worker)

    runners = {_pid(batch) for batch in LifecycleBatch.objects.filter(run=DEBIT)}
    assert runners - {os.getpid()}  # the worker processes took batches (this process took its share)
    assert LifecycleBatch.objects.filter(run=DEBIT, queries__gt=0).count() == 20  # counted where they ran
    assert _batches_done_once() == (20, 20)
    assert _state(ids) == _expected(200)


def test_ren8_a_worker_process_killed_mid_batch_leaves_the_batch_to_be_taken_again_once(orchestrator, queue) -> None:  # noqa: ANN001
    """(a) The pool process running a batch is SIGKILLed: its transaction rolls back (or had
    committed); the message comes back (reject on worker lost) and finds the lease held, and when the
    lease runs out the batch is taken again — by the orchestrator or a worker — and run to the end."""
    day = clock.today()
    ids = _population(300, day)
    worker = _started(_worker(queue, pool="prefork", engine="celery", concurrency=2), 2)
    killed: LifecycleBatch | None = None
    thread, errors = _in_thread(lambda: lifecycle.run_day(day))
    try:
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            pool = set(_children(worker.pid))
            for batch in LifecycleBatch.objects.filter(state="running", run=DEBIT):
                if _pid(batch) in pool:
                    os.kill(_pid(batch), signal.SIGKILL)
                    time.sleep(0.2)
                    batch.refresh_from_db()
                    if batch.state == "running" and batch.attempts == 1:  # died with the batch in hand
                        killed = batch
                    break
            time.sleep(0.005)
        thread.join(timeout=180)
    finally:
        _stop(worker)

    assert killed is not None, "no batch was caught running on a worker process"
    assert errors == []
    killed.refresh_from_db()
    assert (killed.state, killed.attempts) == ("done", 2)
    assert _other_sessions_after(seconds=10) == 0
    assert lifecycle_finished(day)
    assert _state(ids) == _expected(300)


def debit_then_die(ids: list[int], *, day: dt.date, now: dt.datetime) -> int:
    """The debit batch, then — once, in a worker process (LIFECYCLE_TEST_DIE_MARKER) — SIGKILL after
    its transactions committed and before the task marks the batch done."""
    from subscriptions.jobs import _debit_batch

    changed = _debit_batch(ids, day=day, now=now)
    marker = os.environ.get("LIFECYCLE_TEST_DIE_MARKER")
    if not marker:
        time.sleep(0.2)  # the orchestrator (the test's process): leave the workers most batches
        return changed
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return changed
    os.write(fd, str(ids[0]).encode())  # which batch died
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    return changed


def test_ren8_a_batch_done_but_not_marked_done_is_run_again_and_changes_nothing(  # noqa: ANN001
    orchestrator, queue, tmp_path: Path
) -> None:
    """(b) A worker dies between the batch's commit and its done-mark: the batch is taken again when
    its lease runs out, finds every Service of it charged already and changes nothing."""
    day = clock.today()
    ids = _population(200, day)
    marker = tmp_path / "died"
    worker = _worker(
        queue, pool="prefork", engine="celery", concurrency=2, env={"LIFECYCLE_TEST_DIE_MARKER": str(marker)}
    )
    worker = _started(worker, 2)
    try:
        batches.in_batches(renewals.debit_due(day), debit_then_die, day=day, now=clock.now())
        lifecycle.run_day(day)  # the rest of the day: the debit job finds nobody left to charge
    finally:
        _stop(worker)

    assert marker.exists()  # a worker process died after a batch committed
    first_id = int(marker.read_text())
    (died,) = [b for b in LifecycleBatch.objects.filter(run=f"{__name__}.debit_then_die") if b.ids[0] == first_id]
    assert (died.state, died.done) == ("done", 0)  # run again: it found nothing left to do
    assert died.attempts >= 2  # 2, unless a loaded machine let the lease (3 s) of the second run run out too
    assert _state(ids) == _expected(200)


def test_ren8_two_daily_dispatches_run_the_day_once(queue) -> None:  # noqa: ANN001
    """(c) Two beats send the 02:00 task: one dispatch claims the day and runs it on the Celery
    engine, the other does nothing; every batch is run once."""
    from config.celery import app

    day = clock.today()
    ids = _population(200, day)
    worker = _started(_worker(queue, pool="prefork", engine="celery", concurrency=2), 2)
    try:
        for _beat in range(2):
            app.send_task("core.tasks.run_daily_lifecycle", queue=queue)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not lifecycle_finished(day):
            time.sleep(0.2)
    finally:
        _stop(worker)

    assert DailyDispatch.objects.filter(day=day).count() == 1
    assert lifecycle_finished(day)
    assert _batches_done_once() == (20, 20)
    assert _state(ids) == _expected(200)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis(port: int) -> subprocess.Popen[bytes]:
    """A Redis of this test alone, keeping nothing on disk: stopped, it loses every queued message."""
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)


def test_ren8_the_broker_stopped_and_started_in_the_middle_of_the_run_loses_nothing(queue) -> None:  # noqa: ANN001
    """(d) Redis (this test's own, keeping nothing) is killed in the middle of the debit job and
    started again empty: the queued batch messages are gone, the daily task's worker goes on and its
    orchestrator runs the batches nobody took; the day finishes, everything done once."""
    from celery import Celery

    day = clock.today()
    ids = _population(300, day)
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = _redis(port)
    worker = _started(_worker(queue, pool="prefork", engine="celery", concurrency=2, env={"REDIS_URL": url}), 2)
    broker = Celery(broker=url)
    try:
        broker.send_task("core.tasks.run_daily_lifecycle", queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and LifecycleBatch.objects.filter(run=DEBIT, state="done").count() < 3:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        pending = LifecycleBatch.objects.filter(run=DEBIT).exclude(state="done").count()
        time.sleep(1.0)
        server = _redis(port)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not lifecycle_finished(day):
            time.sleep(0.2)
    finally:
        _stop(worker)
        broker.close()
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)

    assert pending > 0  # the broker went away in the middle of the job
    assert lifecycle_finished(day)
    assert LifecycleBatch.objects.exclude(state="done").count() == 0
    assert _state(ids) == _expected(300)


@pytest.mark.django_db(transaction=False)
def test_perf_the_celery_engine_runs_inline_inside_a_transaction(settings) -> None:  # noqa: ANN001
    settings.LIFECYCLE_ENGINE = "celery"  # workers could not see this transaction's rows
    settings.LIFECYCLE_BATCH_SIZE = 10
    day = clock.today()
    _population(25, day)

    assert batches.engine() == "inline"
    assert batches.in_batches(renewals.debit_due(day), debit_then_die, day=day, now=clock.now()) == 25
    assert LifecycleBatch.objects.count() == 0


@pytest.mark.django_db(transaction=False)
def test_perf_an_unknown_engine_and_a_batch_function_a_worker_cannot_import_are_refused(settings) -> None:  # noqa: ANN001
    settings.LIFECYCLE_ENGINE = "threads"
    with pytest.raises(ValueError, match="LIFECYCLE_ENGINE is 'threads'"):
        batches.engine()
    with pytest.raises(ValueError, match="not importable by a worker"):
        batches.run_key(lambda ids, *, day, now: 0)


@pytest.mark.django_db(transaction=False)
def test_perf_the_daily_run_forgets_the_done_batches_of_days_over_30_days_old() -> None:
    today = clock.today()

    def batch(days_ago: int, state: str) -> LifecycleBatch:
        day = today - dt.timedelta(days=days_ago)
        return LifecycleBatch.objects.create(
            day=day, run=DEBIT, seq=0, ids=[1], now=clock.now(), state=state, created_at=clock.now()
        )

    batch(31, "done")
    old_open, recent = batch(32, "pending"), batch(30, "done")

    lifecycle.run_day(today)

    assert set(LifecycleBatch.objects.values_list("pk", flat=True)) == {old_open.pk, recent.pk}


@pytest.mark.django_db(transaction=False)
def test_perf_planning_streams_the_due_ids_and_leaves_out_those_of_open_batches(settings, monkeypatch) -> None:  # noqa: ANN001
    """The planner writes its batch rows a few at a time from a cursor (its memory bounded whatever
    the population), in order, their numbers following the day's last one; the Services of a batch
    still open (a run that stopped) are not planned twice, those of a done batch still due are."""
    settings.LIFECYCLE_BATCH_SIZE = 4
    monkeypatch.setattr(batches, "PLAN_CHUNK_BATCHES", 2)  # 8 ids per insert: three inserts for 22
    day, now = clock.today(), clock.now()
    ids = sorted(_population(25, day))
    open_batch = LifecycleBatch.objects.create(
        day=day, run=DEBIT, seq=0, ids=ids[:3], now=now, state="running", created_at=now
    )
    done_batch = LifecycleBatch.objects.create(
        day=day, run=DEBIT, seq=1, ids=ids[3:5], now=now, state="done", created_at=now
    )

    planned = batches.plan(renewals.debit_due(day), DEBIT, day=day, now=now)

    new = list(LifecycleBatch.objects.filter(day=day, run=DEBIT, seq__gte=2).order_by("seq"))
    assert [(batch.seq, batch.ids, batch.state) for batch in new] == [
        (2, ids[3:7], "pending"),
        (3, ids[7:11], "pending"),
        (4, ids[11:15], "pending"),
        (5, ids[15:19], "pending"),
        (6, ids[19:23], "pending"),
        (7, ids[23:25], "pending"),
    ]
    assert planned == [batch.pk for batch in new] + [open_batch.pk]
    assert LifecycleBatch.objects.get(pk=done_batch.pk).ids == ids[3:5]
    assert LifecycleBatch.objects.get(pk=open_batch.pk).state == "running"


@pytest.mark.django_db(transaction=False)
def test_perf_a_job_with_nothing_to_do_costs_two_reads_and_writes_no_batch() -> None:
    """A second run of a day (and most jobs of most days): no planning transaction, no batch row."""
    day, now = clock.today(), clock.now()
    _population(3, day)
    nothing_due = renewals.debit_due(day).filter(pk__lt=0)  # the job's own selection, empty

    with CaptureQueriesContext(connection) as queries:
        assert batches._celery_batches(nothing_due, renewals.renewal_invoices_run, day=day, now=now) == 0

    assert len(queries) == 2  # is anything due; is a batch of the day left open
    assert LifecycleBatch.objects.count() == 0
