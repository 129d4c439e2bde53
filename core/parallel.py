"""The batches of a daily job on several processes (SPEC PERF goals; docs/performance.md).

A job's batches are independent transactions: each locks its own rows, re-checks that they are
still due and is refused by the database if another process did the work first (REN-8). So they
can run side by side. `map_batches` runs them on LIFECYCLE_WORKERS forked processes, each with
its own database connection; the batches then meet only on the few rows every batch writes (the
invoice sequence, BIL-6, and the audit chain head, EVD-1), which they lock as late as they can.

It runs them one after the other, in this process, when there is one worker, fewer than two
batches, or a database other than PostgreSQL (SQLite takes one writer), and inside a transaction
(a test's, or a caller's): forked processes could not see its uncommitted rows.

The processes come from billiard, Celery's fork of multiprocessing: the daily task runs in a
Celery pool process, which multiprocessing refuses to let have children, and billiard's fork
hooks give each child its own broker connection pool.
"""

import ctypes
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, connections

logger = logging.getLogger(__name__)

Batch = Sequence[int]


# Queries the worker processes made, added up (the benchmark's "queries per batch"; the parent's
# own queries are counted on its connection as usual).
child_queries = 0


class BatchFailed(RuntimeError):
    """A batch failed in a worker process (the message carries its traceback)."""


def available() -> bool:
    """Whether batches started now could run on worker processes."""
    return settings.LIFECYCLE_WORKERS > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block


def workers_for(batches: int) -> int:
    """How many processes would run this many batches now."""
    return min(settings.LIFECYCLE_WORKERS, batches) if batches > 1 and available() else 1


def map_batches(function: Callable[..., int], batches: Sequence[Batch], **kwargs: Any) -> list[int]:
    """`function(batch, **kwargs)` for each batch; the results in no particular order."""
    processes = workers_for(len(batches))
    if processes == 1:
        return [function(batch, **kwargs) for batch in batches]
    import billiard

    # The children must not share the parent's connection: closed here, each opens its own.
    connections.close_all()
    pool = billiard.get_context("fork").Pool(processes=processes, initializer=_child_started, initargs=(os.getpid(),))
    global child_queries
    try:
        results = []
        for result, queries in pool.imap_unordered(_call, [(function, batch, kwargs) for batch in batches]):
            results.append(result)
            child_queries += queries
        pool.close()
    except BaseException:
        pool.terminate()  # the batches still running roll back; a rerun does them
        raise
    finally:
        pool.join()
    logger.info("%s batches of %s on %s processes", len(batches), function.__name__, processes)
    return results


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _child_started(parent: int) -> None:
    from billiard.util import Finalize

    # Die with the process that forked us (a SIGKILLed task process, say): nothing else would stop
    # this child, which would go on taking the batches still queued in the pool's pipe. Its open
    # batch rolls back with its connection; the redelivered task does it again.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    # Close this process's connection when it ends, rather than leave the server an abrupt EOF.
    Finalize(None, connections.close_all, exitpriority=10)


def _call(task: tuple[Callable[..., int], Batch, dict[str, Any]]) -> tuple[int, int]:
    function, batch, kwargs = task
    counter = QueryCounter()
    try:
        with connection.execute_wrapper(counter):
            return function(batch, **kwargs), counter.count
    except BaseException as error:
        # Database errors do not always pickle: the parent gets the story as text.
        raise BatchFailed(f"in process {os.getpid()}: {error!r}\n{traceback.format_exc()}") from None
