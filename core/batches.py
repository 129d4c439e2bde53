"""The batches of a daily job (SPEC PERF goals; docs/celery.md, "The Celery engine").

A job selects the due rows and hands their ids to a batch function `run(ids, *, day, now) -> int`
in batches of LIFECYCLE_BATCH_SIZE. A batch is its own transaction(s): it locks its rows, re-checks
that each is still due and is refused by a unique constraint if another runner did the work first
(REN-8), so batches may run anywhere, side by side, and twice. Two engines (LIFECYCLE_ENGINE):

- "inline": one batch after the other in this process, the ids read by keyset pagination
  (development, tests, SQLite, `run_lifecycle`, and any run inside a transaction).
- "celery" (production, PostgreSQL): the ids are streamed and written down as LifecycleBatch rows,
  one Celery task per batch is published, and this process — the orchestrator — takes pending
  batches itself (work-stealing, `SKIP LOCKED`) and waits for those running elsewhere. It returns
  when every batch is done, so the next job starts after this one (the job order is the contract).
  Completion is read from the database, never from the broker: lost messages (Redis restarted) are
  run by the orchestrator, a batch whose runner died is taken again when its lease runs out.
"""

import datetime as dt
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import BigIntegerField, F, Func, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils.module_loading import import_string

from core import clock
from core.models import LifecycleBatch

logger = logging.getLogger(__name__)

BatchRun = Callable[..., int]

INLINE, CELERY = "inline", "celery"
ENGINES = (INLINE, CELERY)
BATCH_TASK = "core.tasks.run_lifecycle_batch"

# Queries of the batches this process ran for the Celery engine (the benchmark adds the queries
# stored on the batch rows and takes these off its own count, so that none is counted twice).
local_batch_queries = 0


class QueryCounter:
    """A connection execute wrapper that counts the queries made through it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def engine() -> str:
    """The engine that runs batches started now: the configured one, except that the Celery engine
    needs PostgreSQL (row locks, SKIP LOCKED) and committed rows (inside a transaction, a test's or a
    caller's, the workers could not see the rows it has not committed): inline then."""
    configured = settings.LIFECYCLE_ENGINE
    if configured not in ENGINES:
        raise ValueError(f"LIFECYCLE_ENGINE is {configured!r}, not one of {ENGINES}")
    if configured == CELERY and (connection.vendor != "postgresql" or connection.in_atomic_block):
        return INLINE
    return configured


def in_batches(due: QuerySet[Any], run: BatchRun, *, day: dt.date, now: dt.datetime) -> int:
    """Feed the ids of `due` (ordered by primary key) to `run` in batches; return what they changed."""
    if engine() == CELERY:
        return _celery_batches(due, run, day=day, now=now)
    size = settings.LIFECYCLE_BATCH_SIZE
    done, last_id = 0, 0
    while True:
        ids = list(due.filter(pk__gt=last_id).values_list("pk", flat=True)[:size])
        if not ids:
            return done
        last_id = ids[-1]
        done += run_batch(run, ids, day=day, now=now)


# PostgreSQL's deadlock and serialization failures: the transaction was rolled back, run it again.
_RETRY_SQLSTATES = {"40P01", "40001"}


def run_batch(run: BatchRun, ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """One batch; run again once if it lost a race (a unique constraint refused it, REN-8) or the
    database rolled it back (deadlock, serialization failure): the second run finds what is left."""
    try:
        return run(ids, day=day, now=now)
    except IntegrityError:
        logger.warning("a batch of %s lost a race with another worker; running it again", run.__name__)
        return run(ids, day=day, now=now)
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) not in _RETRY_SQLSTATES:
            raise
        logger.warning("a batch of %s was rolled back by the database (%s); running it again", run.__name__, error)
        return run(ids, day=day, now=now)


def run_key(run: BatchRun) -> str:
    """The dotted path a worker imports `run` by: a module-level function."""
    key = f"{run.__module__}.{run.__qualname__}"
    if "<" in key:
        raise ValueError(f"{key} is not importable by a worker: batch functions are module-level")
    return key


def _celery_batches(due: QuerySet[Any], run: BatchRun, *, day: dt.date, now: dt.datetime) -> int:
    key = run_key(run)
    open_batches = LifecycleBatch.objects.filter(day=day, run=key).exclude(state=LifecycleBatch.State.DONE)
    # A job with nothing to do (most jobs of most days, every job of a second run) costs two reads,
    # not a planning transaction: what is due is read again under the planner's lock if anything is.
    # The first due id in the selection's own order, as the inline engine reads its first page: an
    # `exists()` drops the order, and PostgreSQL may then plan the debit selection's LIMIT 1 as a
    # nested loop over every Service (4.2 s for 20,000 with nothing due, against 18 ms).
    if not due.values_list("pk", flat=True)[:1] and not open_batches.exists():
        return 0
    planned = plan(due, key, day=day, now=now)
    if not planned:  # nothing due and nothing left open (a second run of the day): no polling
        return 0
    while True:
        batch = claim_next(day=day, run=key)
        if batch is not None:
            execute(batch)
            continue
        if not open_batches.exists():
            break
        time.sleep(settings.LIFECYCLE_BATCH_POLL_SECONDS)  # batches running elsewhere; leases run out
    done = LifecycleBatch.objects.filter(pk__in=planned).aggregate(done=Sum("done"))["done"]
    return int(done or 0)


# Batch rows written per insert while planning: the ids in memory at once are bounded by it
# (PLAN_CHUNK_BATCHES × LIFECYCLE_BATCH_SIZE), whatever the number of Services due.
PLAN_CHUNK_BATCHES = 100


def plan(due: QuerySet[Any], key: str, *, day: dt.date, now: dt.datetime) -> list[int]:
    """Write down the batches of `due` not yet in an open batch of this day and function, publish a
    task per new batch once committed; return the ids of the new and of the open batches (those a
    run that stopped left behind are finished by this one). One planner at a time per day and
    function (a transaction-level advisory lock): two runs at once plan each Service once.

    The due ids are streamed (a server-side cursor) and written PLAN_CHUNK_BATCHES rows at a time;
    the ids already in open batches are left out by PostgreSQL, so the planner's memory does not
    grow with the population (only its list of batch ids, one per LIFECYCLE_BATCH_SIZE Services)."""
    size = settings.LIFECYCLE_BATCH_SIZE
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"lifecycle:{day}:{key}"])
        existing = LifecycleBatch.objects.filter(day=day, run=key)
        last_seq = existing.order_by("-seq").values_list("seq", flat=True).first()
        open_batches = existing.exclude(state=LifecycleBatch.State.DONE)
        open_ids = list(open_batches.values_list("pk", flat=True))
        if open_ids:  # their Services are theirs: left out by the database (NOT IN, hashed), not a set here
            element = Func(F("ids"), function="jsonb_array_elements_text")  # ids: a JSON array
            in_open = open_batches.annotate(service=Cast(element, BigIntegerField())).values("service")
            due = due.exclude(pk__in=in_open)
        created = clock.now()
        seq = 0 if last_seq is None else last_seq + 1
        new_ids: list[int] = []
        chunk: list[int] = []

        def write(ids: list[int]) -> None:
            nonlocal seq
            rows = [
                LifecycleBatch(
                    day=day, run=key, seq=seq + n, ids=ids[start : start + size], now=now, created_at=created
                )
                for n, start in enumerate(range(0, len(ids), size))
            ]
            seq += len(rows)
            new_ids.extend(batch.pk for batch in LifecycleBatch.objects.bulk_create(rows))

        for pk in due.values_list("pk", flat=True).iterator(chunk_size=size * PLAN_CHUNK_BATCHES):
            chunk.append(pk)
            if len(chunk) == size * PLAN_CHUNK_BATCHES:
                write(chunk)
                chunk = []
        if chunk:
            write(chunk)
        if new_ids:
            transaction.on_commit(lambda: publish(new_ids))
    if open_ids:
        logger.warning(
            "%s open batches of %s on %s, left by a run that stopped: finished by this one", len(open_ids), key, day
        )
    return new_ids + open_ids


def publish(batch_ids: Sequence[int]) -> None:
    """One task per batch to the workers. A message that does not reach the broker is no loss: the
    orchestrator runs every batch still pending itself."""
    from celery import current_app as app  # config.celery's app (config sits above core)

    if app.conf.task_always_eager:  # no workers (development, tests): the orchestrator runs them
        return
    queue = settings.LIFECYCLE_BATCH_QUEUE or None
    try:
        with app.producer_or_acquire() as producer:
            for batch_id in batch_ids:
                app.send_task(BATCH_TASK, args=[batch_id], queue=queue, producer=producer, retry=False)
    except Exception as error:  # noqa: BLE001  (the broker is away: the orchestrator runs them)
        logger.warning("%s batches not published (%r): the orchestrator runs them", len(batch_ids), error)


def _claimable(now: dt.datetime) -> Q:
    State = LifecycleBatch.State
    return Q(state=State.PENDING) | Q(state=State.RUNNING, lease_until__lt=now)


def _claim(rows: QuerySet[LifecycleBatch]) -> LifecycleBatch | None:
    now = clock.now()
    with transaction.atomic():
        batch = rows.select_for_update(skip_locked=True).filter(_claimable(now)).order_by("seq").first()
        if batch is None:
            return None
        batch.state = LifecycleBatch.State.RUNNING
        batch.lease_until = now + dt.timedelta(seconds=settings.LIFECYCLE_BATCH_LEASE_SECONDS)
        batch.attempts += 1
        batch.claimed_by = f"{socket.gethostname()}:{os.getpid()}"
        batch.save(update_fields=["state", "lease_until", "attempts", "claimed_by"])
    if batch.attempts > 1:
        logger.warning("batch %s taken again (attempt %s): its runner stopped or failed", batch, batch.attempts)
    return batch


def claim(batch_id: int) -> LifecycleBatch | None:
    """The batch, leased to this process, if it is pending or its lease ran out; else None."""
    return _claim(LifecycleBatch.objects.filter(pk=batch_id))


def claim_next(*, day: dt.date, run: str) -> LifecycleBatch | None:
    """The first claimable batch of this day and function, not locked by another claimer."""
    return _claim(LifecycleBatch.objects.filter(day=day, run=run))


def execute(batch: LifecycleBatch) -> int:
    """Run a claimed batch and mark it done, with what it changed and the queries it made. A batch
    that raises goes back to pending (the orchestrator then runs it, and fails with it)."""
    global local_batch_queries
    counter = QueryCounter()
    try:
        with connection.execute_wrapper(counter):
            done = run_batch(import_string(batch.run), batch.ids, day=batch.day, now=batch.now)
    except BaseException:
        LifecycleBatch.objects.filter(pk=batch.pk, state=LifecycleBatch.State.RUNNING).update(
            state=LifecycleBatch.State.PENDING, lease_until=None, last_error=traceback.format_exc()
        )
        raise
    finally:
        local_batch_queries += counter.count
    # The first done-mark stands: a runner whose lease ran out while it worked, finishing after the
    # one that took the batch over (or the other way round), does not overwrite what was recorded.
    LifecycleBatch.objects.filter(pk=batch.pk).exclude(state=LifecycleBatch.State.DONE).update(
        state=LifecycleBatch.State.DONE, done=done, queries=counter.count, lease_until=None, finished_at=clock.now()
    )
    return done


def batch_queries(day: dt.date) -> int:
    """The queries stored on the batch rows of `day` (the batches the workers ran included)."""
    return int(LifecycleBatch.objects.filter(day=day).aggregate(n=Sum("queries"))["n"] or 0)


def forget_before(day: dt.date) -> int:
    """Delete the done batches of the days more than LIFECYCLE_BATCH_KEEP_DAYS before `day` (their
    work is in the records the batches wrote; the rows only said who ran what). Open ones stay."""
    cutoff = day - dt.timedelta(days=settings.LIFECYCLE_BATCH_KEEP_DAYS)
    deleted, _ = LifecycleBatch.objects.filter(day__lt=cutoff, state=LifecycleBatch.State.DONE).delete()
    return deleted
