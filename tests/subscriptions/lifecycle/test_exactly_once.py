"""REN-8: the daily run is exactly once whatever happens — two workers (threads) or two processes on
the same day, a process killed in the middle and started again, a charge whose outcome is unknown —
and a batch costs the same queries for 5 Services as for 50. On PostgreSQL, never on mocks of it."""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from psycopg import errors as psycopg_errors

from audit.services import audit_verify
from billing.gateway import ChargeResult
from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, Payment
from core import clock, lifecycle
from notifications.models import Notification
from sandbox.models import GatewayCharge
from subscriptions.benchmark import build_population
from subscriptions.models import RenewalAttempt, Service
from subscriptions.services import lifecycle as service_lifecycle
from subscriptions.services.renewals import debit_attempts_run
from tests.billing.factories import service_type
from tests.subscriptions.lifecycle.helpers import CARD_UNKNOWN, customer, live, service

# The tests that race connections or processes, or count the queries of PostgreSQL's bulk paths
# (COPY, unnest) carry the `postgres` marker; the others run on SQLite too.
postgres = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[3]


def _population(count: int, day: dt.date, prefix: str = "x") -> list[int]:
    service_type()  # the seeded catalog (a transactional test empties it when it ends)
    return build_population(services=count, due=count, day=day, prefix=prefix)


def _state(ids: list[int]) -> dict[str, object]:
    """What a daily run leaves for these Services, in numbers that must not depend on how it ran."""
    services = Service.objects.filter(pk__in=ids)
    invoices = Invoice.objects.filter(service__in=ids, kind=Invoice.Kind.RENEWAL)
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    checked, broken = audit_verify()
    return {
        "services renewed": services.filter(term__gte=2, status="active").count(),
        "attempts per service": set(
            RenewalAttempt.objects.filter(service__in=ids)
            .values("service")
            .annotate(n=Count("id"))
            .values_list("n", flat=True)
        ),
        "attempt outcomes": set(RenewalAttempt.objects.filter(service__in=ids).values_list("outcome", flat=True)),
        "renewal invoices": (invoices.count(), invoices.filter(status="paid").count()),
        "gateway charges": GatewayCharge.objects.filter(idempotency_key__startswith="renewal:").count(),
        "payments": Payment.objects.filter(invoice__in=invoices).count(),
        "amount paid": sum(invoices.values_list("amount_paid", flat=True), Decimal("0.00")),
        "notices": sorted(
            Notification.objects.filter(related_type="subscriptions.service", related_id__in=[str(i) for i in ids])
            .values("template", "channel")
            .annotate(n=Count("id"))
            .values_list("template", "channel", "n")
        ),
        "invoice numbers gapless": numbers == list(range(1, len(numbers) + 1)),
        "audit chain intact": broken is None and checked > 0,
    }


def _expected(count: int) -> dict[str, object]:
    return {
        "services renewed": count,
        "attempts per service": {1},
        "attempt outcomes": {"succeeded"},
        "renewal invoices": (count, count),
        "gateway charges": count,
        "payments": count,
        "amount paid": Decimal("21.62") * count,  # 20.00 + 8.1 % VAT
        "notices": [("renewal_paid", "email", count), ("renewal_paid", "inbox", count)],
        "invoice numbers gapless": True,
        "audit chain intact": True,
    }


ENGINES = ["inline", "celery"]  # core.batches: the batches in the run's process, or as Celery tasks
LEASE_SECONDS = 3  # a batch whose runner died is taken again this soon (production: minutes)


def _subprocess_env(batch_size: int, engine: str = "inline") -> dict[str, str]:
    """A separate process on the test database, with the test settings (locmem mail; tasks eager
    unless the Celery engine's workers run them)."""
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
        f"{database['NAME']}",
        "LIFECYCLE_BATCH_SIZE": str(batch_size),
        "LIFECYCLE_ENGINE": engine,
        "LIFECYCLE_BATCH_LEASE_SECONDS": str(LEASE_SECONDS),
    }


def _run_lifecycle(day: dt.date, batch_size: int, engine: str = "inline") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_lifecycle", "--date", day.isoformat(), "--engine", engine],
        cwd=ROOT,
        env=_subprocess_env(batch_size, engine),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("engine", ENGINES)
def test_ren8_two_workers_racing_on_the_same_day_attempt_charge_and_notify_once(settings, engine) -> None:  # noqa: ANN001
    settings.LIFECYCLE_BATCH_SIZE = 10
    settings.LIFECYCLE_ENGINE = engine  # celery: two orchestrators plan once and share the batches
    day = clock.today()
    ids = _population(40, day)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            lifecycle.run_day(day)
        except BaseException as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert _state(ids) == _expected(40)
    if engine == "celery":
        assert _batches_done_once() == (4, 4)  # 40 due / 10 per batch, each run to the end once


def _batches_done_once(run: str = "subscriptions.jobs._debit_batch") -> tuple[int, int]:
    """The debit batches of the Celery engine: how many, and how many were run to the end once."""
    from core.models import LifecycleBatch

    rows = LifecycleBatch.objects.filter(run=run)
    return rows.count(), rows.filter(state="done", attempts=1).count()


@postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("engine", ENGINES)
def test_ren8_two_processes_running_the_same_day_at_once_change_things_once(engine) -> None:  # noqa: ANN001
    day = clock.today()
    ids = _population(60, day)

    runs = [_run_lifecycle(day, batch_size=10, engine=engine) for _ in range(2)]
    outputs = [run.communicate(timeout=180) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert _state(ids) == _expected(60)


@postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("engine", ENGINES)
def test_ren8_a_run_killed_in_the_middle_and_started_again_ends_as_an_uninterrupted_run(engine) -> None:  # noqa: ANN001
    """Celery engine: the killed process is the orchestrator, holding the lease of the batch it ran;
    the rerun finishes the batches it planned (the killed one once its lease ran out)."""
    day = clock.today()
    ids = _population(600, day)

    killed = _run_lifecycle(day, batch_size=10, engine=engine)
    deadline = time.monotonic() + 120
    attempted = 0
    while time.monotonic() < deadline and killed.poll() is None:
        attempted = RenewalAttempt.objects.count()
        if attempted >= 20:
            killed.send_signal(signal.SIGKILL)  # no cleanup, no rollback by the process itself
            break
        time.sleep(0.01)
    killed.wait(timeout=30)
    partial = RenewalAttempt.objects.count()

    # the kill landed in the middle of the run (else this test proves nothing)
    assert killed.returncode == -signal.SIGKILL
    assert 20 <= partial < 600
    assert _other_sessions_after(seconds=3) == 0  # its session ended with it: its open batch rolled back

    rerun = _run_lifecycle(day, batch_size=10, engine=engine)
    output = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert _state(ids) == _expected(600)


def _other_sessions_after(*, seconds: float) -> int:
    """Sessions on the test database other than this one, once they are gone or `seconds` passed
    (a killed client's session ends when the server sees its socket close)."""
    deadline = time.monotonic() + seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (count,) = cursor.fetchone()
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def _worker(
    queue: str, pool: str = "solo", *, engine: str = "inline", concurrency: int = 1, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real Celery worker process on the Redis broker, consuming only `queue`; tasks it is given
    are not acknowledged before they end (acks late) and come back after the visibility timeout.
    With the Celery engine its daily task publishes the batches to `queue` (not run eagerly)."""
    env = _subprocess_env(batch_size=10, engine=engine) | {"CELERY_VISIBILITY_TIMEOUT": "2"} | (env or {})
    if engine == "celery":
        env |= {"LIFECYCLE_BATCH_QUEUE": queue, "CELERY_TASK_ALWAYS_EAGER": "false"}
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", pool, "-c", str(concurrency)]
    command += ["-Q", queue, "-l", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_ren8_a_celery_worker_killed_mid_run_leaves_the_task_to_the_next_worker_which_finishes_it_once() -> None:
    engine = "celery"  # production's (the inline engine's kills: run_lifecycle above)
    from config.celery import app as celery_app

    day = clock.today()
    ids = _population(600, day)
    queue = f"lifecycle-test-{os.getpid()}-{time.monotonic_ns()}"
    first = _worker(queue, engine=engine)
    second = None
    try:
        celery_app.send_task("core.tasks.run_daily_lifecycle", queue=queue)  # as beat sends it
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and RenewalAttempt.objects.count() < 20:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)  # the worker dies under the task: nothing acknowledged it
        first.wait(timeout=30)
        partial = RenewalAttempt.objects.count()
        assert 20 <= partial < 600  # killed in the middle of the run
        assert _other_sessions_after(seconds=3) == 0  # its session ended with it

        time.sleep(3)  # past the (test's) visibility timeout and batch lease: the task is delivered again
        second = _worker(queue, engine=engine)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (RenewalAttempt.objects.count() == 600 and lifecycle_finished(day)):
            time.sleep(0.2)
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=30)
        leftover = _other_sessions_after(seconds=10)

    assert leftover == 0

    assert lifecycle_finished(day)
    assert _state(ids) == _expected(600)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_ren8_a_pool_process_killed_mid_run_gives_the_task_back_and_the_worker_finishes_it_once() -> None:
    engine = "celery"  # production's (the inline engine's kills: run_lifecycle above)
    """The worker's pool process dies under the daily task (SIGKILL, as the OOM killer does): with
    late acknowledgement and reject-on-worker-lost the task goes back to the queue at once and the
    worker runs it again in a new process — without them it would be acknowledged as failed."""
    from config.celery import app as celery_app

    day = clock.today()
    ids = _population(600, day)
    queue = f"lifecycle-test-{os.getpid()}-{time.monotonic_ns()}"
    worker = _worker(queue, pool="prefork", engine=engine)
    try:
        celery_app.send_task("core.tasks.run_daily_lifecycle", queue=queue)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and RenewalAttempt.objects.count() < 20:
            time.sleep(0.01)
        (child,) = _children(worker.pid)
        os.kill(child, signal.SIGKILL)
        partial = RenewalAttempt.objects.count()
        assert 20 <= partial < 600  # killed in the middle of the run

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not lifecycle_finished(day):
            time.sleep(0.2)
    finally:
        orphans = _children(worker.pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        for orphan in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGKILL)
        leftover = _other_sessions_after(seconds=10)

    assert leftover == 0

    assert lifecycle_finished(day)
    assert _state(ids) == _expected(600)


def lifecycle_finished(day: dt.date) -> bool:
    from core.models import DailyRun

    return DailyRun.objects.filter(day=day).exists()


@pytest.mark.django_db
def test_ren8_an_unknown_outcome_is_looked_up_before_any_new_attempt_and_charged_once() -> None:
    legal = customer(card=CARD_UNKNOWN)
    svc = service(legal)  # E = 28 Feb 2026

    live(dt.date(2026, 2, 14))  # E - 14: the gateway times out

    first = RenewalAttempt.objects.get(service=svc)
    invoice = Invoice.objects.get(service=svc, kind="renewal")
    assert (first.outcome, first.day, first.card_amount) == ("unknown", dt.date(2026, 2, 14), Decimal("108.10"))
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))
    assert Payment.objects.filter(invoice=invoice).count() == 0
    assert not Notification.objects.filter(template="renewal_attempt_failed").exists()

    live(dt.date(2026, 2, 15))  # looked up: it had succeeded; booked, and no second charge

    first.refresh_from_db()
    invoice.refresh_from_db()
    svc.refresh_from_db()
    assert (first.outcome, first.settled_at is not None) == ("reconciled", True)
    assert RenewalAttempt.objects.filter(service=svc).count() == 1
    assert GatewayCharge.objects.filter(idempotency_key__startswith=f"renewal:{svc.pk}:").count() == 1
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert list(Payment.objects.filter(invoice=invoice).values_list("kind", "status", "amount")) == [
        ("card", "succeeded", Decimal("108.10"))
    ]
    assert (svc.term, svc.expires_on, svc.status) == (2, dt.date(2026, 3, 31), "active")


@pytest.mark.django_db
def test_ren8_an_outcome_still_unknown_blocks_new_charges_is_flagged_after_a_day_and_does_not_suspend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SandboxGateway, "lookup", lambda self, key: ChargeResult(status="unknown"))
    legal = customer(card=CARD_UNKNOWN)
    svc = service(legal)

    live(dt.date(2026, 2, 14), dt.date(2026, 3, 1))

    attempts = list(RenewalAttempt.objects.filter(service=svc).order_by("day").values_list("day", "outcome"))
    assert attempts[0] == (dt.date(2026, 2, 14), "unknown")
    assert {outcome for _day, outcome in attempts[1:]} == {"awaiting_lookup"}
    assert len(attempts) == 15  # 14 Feb .. 28 Feb, one a day
    assert GatewayCharge.objects.count() == 1  # never charged a second time
    first = RenewalAttempt.objects.get(service=svc, outcome="unknown")
    assert first.flagged_at == clock.start_of_day(dt.date(2026, 2, 15)) + dt.timedelta(hours=2)
    svc.refresh_from_db()
    assert svc.status == "active"  # in doubt: staff check it before anything is suspended


def _capture(run, ids: list[int], day: dt.date) -> int:  # noqa: ANN001
    """The queries of one batch; the batch must have changed every Service given."""
    with CaptureQueriesContext(connection) as queries:
        changed = run(ids, day=day, now=clock.start_of_day(day) + dt.timedelta(hours=2))
    assert changed >= len(ids)
    return len(queries)


@postgres
@pytest.mark.django_db
def test_perf_a_debit_batch_costs_the_same_queries_for_5_and_for_50_services() -> None:
    day = clock.today()
    _capture(debit_attempts_run, _population(1, day, prefix="warm"), day)  # creates the counters' rows
    small = _population(5, day, prefix="small")
    large = _population(50, day, prefix="large")

    assert _capture(debit_attempts_run, small, day) == _capture(debit_attempts_run, large, day)
    assert RenewalAttempt.objects.filter(outcome="succeeded").count() == 56


@postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "run"),
    [
        ({"expires_on_offset": 0}, service_lifecycle.suspend_run),
        ({"status": "suspended", "terminates_on_offset": 0}, service_lifecycle.terminate_run),
        ({"auto_renew": False, "expires_on_offset": 14}, service_lifecycle.reminders_run),
    ],
)
def test_perf_lifecycle_batches_cost_the_same_queries_for_5_and_for_50_services(state, run) -> None:  # noqa: ANN001
    day = clock.today()
    counts = []
    for size, prefix in ((1, "warm"), (5, "small"), (50, "large")):
        ids = _population(size, day, prefix=prefix)
        changes: dict[str, object] = {}
        if "expires_on_offset" in state:
            changes["expires_on"] = day + dt.timedelta(days=state["expires_on_offset"])
        if "terminates_on_offset" in state:
            changes["terminates_on"] = day + dt.timedelta(days=state["terminates_on_offset"])
            changes["suspension_reason"] = "unpaid"
        changes |= {k: v for k, v in state.items() if not k.endswith("_offset")}
        Service.objects.filter(pk__in=ids).update(**changes)
        counts.append(_capture(run, ids, day))
    assert counts[1] == counts[2]


def test_celery_settings_make_the_daily_run_safe_to_redeliver() -> None:
    """docs/celery.md: late acknowledgement, requeued when the worker dies, one task prefetched,
    and a Redis visibility timeout longer than the daily run (no countdowns or ETAs are used)."""
    from config.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert settings.CELERY_VISIBILITY_TIMEOUT >= 6 * 3600


def _refused_once(error: Exception) -> tuple[list[tuple[int, ...]], object]:
    calls: list[tuple[int, ...]] = []

    def run(ids, *, day, now) -> int:  # noqa: ANN001
        calls.append(tuple(ids))
        if len(calls) == 1:
            raise error
        return len(ids)

    return calls, run


@pytest.mark.parametrize("cause", [psycopg_errors.DeadlockDetected, psycopg_errors.SerializationFailure])
def test_ren8_a_batch_rolled_back_by_a_deadlock_is_run_again_once(cause) -> None:  # noqa: ANN001
    from django.db import OperationalError

    from core.batches import run_batch

    error = OperationalError("rolled back")
    error.__cause__ = cause()
    calls, run = _refused_once(error)

    assert run_batch(run, [1, 2], day=clock.today(), now=clock.now()) == 2
    assert calls == [(1, 2), (1, 2)]


def test_ren8_another_operational_error_fails_the_batch_without_a_second_run() -> None:
    from django.db import OperationalError

    from core.batches import run_batch

    error = OperationalError("server closed the connection")
    error.__cause__ = psycopg_errors.AdminShutdown()
    calls, run = _refused_once(error)

    with pytest.raises(OperationalError, match="server closed"):
        run_batch(run, [1, 2], day=clock.today(), now=clock.now())
    assert calls == [(1, 2)]
