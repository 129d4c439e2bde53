"""`bench_lifecycle`: the daily run's benchmark (SPEC PERF goals; figures in docs/performance.md)."""

import datetime as dt
import os
import resource
import time
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from core import batches, clock, lifecycle
from core.benchmark import (
    celery_workers,
    cpu_seconds,
    machine_busy_seconds,
    peak_rss_mib,
    pgbench_tps,
    scratch_database,
    throwaway_database,
)
from subscriptions.benchmark import build_population


class Command(BaseCommand):
    help = (
        "Create a synthetic population in a fresh database next to the configured one (PostgreSQL), run one "
        "daily run with the sandbox gateway, run the same day again, print the figures, drop the database; "
        "then pgbench's simple-update rate on the same machine, and the ratio."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, default=10_000)
        parser.add_argument("--due-fraction", type=float, default=1.0)
        parser.add_argument("--batch-size", type=int, default=settings.LIFECYCLE_BATCH_SIZE)
        parser.add_argument(
            "--engine",
            choices=batches.ENGINES,
            default=batches.INLINE,
            help="inline: the batches in this process; celery: one task per batch on --workers worker processes "
            "(started here on REDIS_URL's broker), this process taking its share (core.batches)",
        )
        parser.add_argument("--workers", type=int, default=1, help="Celery worker processes (--engine celery)")
        parser.add_argument("--pgbench-seconds", type=int, default=20, help="0: no pgbench")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")

    def handle(self, *args: object, **options: Any) -> None:
        if not 0 <= options["due_fraction"] <= 1:
            raise CommandError("--due-fraction is between 0 and 1")
        if options["engine"] == batches.CELERY and not settings.REDIS_URL:
            raise CommandError("the celery engine's benchmark needs a Redis broker: set REDIS_URL")
        settings.LIFECYCLE_BATCH_SIZE = options["batch_size"]
        settings.LIFECYCLE_ENGINE = options["engine"]
        settings.CELERY_TASK_ALWAYS_EAGER = False  # deliveries are queued, not sent inside the run
        with throwaway_database(self.stdout, keep=options["keep"]):
            rate = self._run(options)
            tps = 0.0
            if options["pgbench_seconds"] > 0:
                with scratch_database(f"pgbench_{connection.settings_dict['NAME']}") as name:
                    tps = pgbench_tps(clients=2, seconds=options["pgbench_seconds"], database=name)
        if tps:
            self.stdout.write(
                f"all-due day: {rate:.0f} Services/s; pgbench simple-update: {tps:.0f} tps; "
                f"ratio X/Y = {rate / tps:.2f}×"
            )

    def _run(self, options: dict[str, Any]) -> float:
        services = options["services"]
        due = round(services * options["due_fraction"])
        day = clock.today()
        started = time.perf_counter()
        build_population(services=services, due=due, day=day)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"population: {services} services, {due} due on {day} ({time.perf_counter() - started:.1f} s)"
        )
        with ExitStack() as stack:
            if options["engine"] == batches.CELERY:
                queue = f"bench-lifecycle-{os.getpid()}"
                settings.LIFECYCLE_BATCH_QUEUE = queue
                env = {"DJANGO_DEBUG": "false", "LIFECYCLE_BATCH_SIZE": str(options["batch_size"])}
                stack.enter_context(celery_workers(options["workers"], queue=queue, env=env))
            first = self._timed(day)
            second = self._timed(day)
        batch_count = max(1, -(-due // options["batch_size"]))
        self.stdout.write(
            f"first run:  {first['seconds']:.2f} s, {due / first['seconds']:.0f} services/s, "
            f"{first['queries']} queries ({first['queries'] / batch_count:.1f} per batch of {options['batch_size']}), "
            f"CPU: {first['cpu']:.1f} s in this process, {first['machine']:.1f} s on the machine"
        )
        self.stdout.write(
            f"second run: {second['seconds']:.3f} s ({100 * second['seconds'] / first['seconds']:.1f}% of the first), "
            f"{second['queries']} queries"
        )
        engine = options["engine"] + (
            f", {options['workers']} worker processes" if options["engine"] == "celery" else ""
        )
        self.stdout.write(
            f"engine: {engine}; peak memory (max RSS): this process "
            f"{peak_rss_mib():.0f} MiB, largest worker {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
        )
        return due / first["seconds"]

    def _timed(self, day: dt.date) -> dict[str, Any]:
        counter = batches.QueryCounter()
        before_rows, before_local = batches.batch_queries(day), batches.local_batch_queries
        with connection.execute_wrapper(counter):
            cpu, machine = cpu_seconds(), machine_busy_seconds()
            started = time.perf_counter()
            lifecycle.run_day(day)
            seconds = time.perf_counter() - started
            cpu, machine = cpu_seconds() - cpu, machine_busy_seconds() - machine
        # This process's queries, less those of the batches it ran itself, plus those of every batch
        # (stored on the batch rows by whoever ran them, the workers included).
        local = batches.local_batch_queries - before_local
        queries = counter.count - local + batches.batch_queries(day) - before_rows
        return {"seconds": seconds, "cpu": cpu, "machine": machine, "queries": queries}
