"""`bench_lifecycle`: the daily run's benchmark (SPEC PERF goals; figures in docs/performance.md)."""

import datetime as dt
import resource
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from core import clock, lifecycle, parallel
from core.benchmark import cpu_seconds, machine_busy_seconds, peak_rss_mib, throwaway_database
from subscriptions.benchmark import build_population


class Command(BaseCommand):
    help = (
        "Create a synthetic population in a fresh database next to the configured one (PostgreSQL), run one "
        "daily run with the sandbox gateway, run the same day again, print the figures, drop the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, default=10_000)
        parser.add_argument("--due-fraction", type=float, default=1.0)
        parser.add_argument("--batch-size", type=int, default=settings.LIFECYCLE_BATCH_SIZE)
        parser.add_argument(
            "--workers", type=int, default=settings.LIFECYCLE_WORKERS, help="processes per job (LIFECYCLE_WORKERS)"
        )
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")

    def handle(self, *args: object, **options: Any) -> None:
        if not 0 <= options["due_fraction"] <= 1:
            raise CommandError("--due-fraction is between 0 and 1")
        settings.LIFECYCLE_BATCH_SIZE = options["batch_size"]
        settings.LIFECYCLE_WORKERS = options["workers"]
        settings.CELERY_TASK_ALWAYS_EAGER = False  # deliveries are queued, not sent inside the run
        with throwaway_database(self.stdout, keep=options["keep"]):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
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

        first = self._timed(day)
        second = self._timed(day)
        batches = max(1, -(-due // options["batch_size"]))
        self.stdout.write(
            f"first run:  {first['seconds']:.2f} s, {due / first['seconds']:.0f} services/s, "
            f"{first['queries']} queries ({first['queries'] / batches:.1f} per batch of {options['batch_size']}), "
            f"CPU: {first['cpu']:.1f} s in this process and its workers, {first['machine']:.1f} s on the machine"
        )
        self.stdout.write(
            f"second run: {second['seconds']:.3f} s ({100 * second['seconds'] / first['seconds']:.1f}% of the first), "
            f"{second['queries']} queries"
        )
        self.stdout.write(
            f"workers: {options['workers']}; peak memory (max RSS): this process "
            f"{peak_rss_mib():.0f} MiB, largest worker {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
        )

    def _timed(self, day: dt.date) -> dict[str, Any]:
        counter = parallel.QueryCounter()
        before = parallel.child_queries
        with connection.execute_wrapper(counter):
            cpu, machine = cpu_seconds(), machine_busy_seconds()
            started = time.perf_counter()
            lifecycle.run_day(day)
            seconds = time.perf_counter() - started
            cpu, machine = cpu_seconds() - cpu, machine_busy_seconds() - machine
        queries = counter.count + parallel.child_queries - before
        return {"seconds": seconds, "cpu": cpu, "machine": machine, "queries": queries}
