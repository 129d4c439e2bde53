"""`bench_usage`: the usage benchmark (issue 15; figures in docs/performance.md "Usage")."""

import datetime as dt
import resource
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from core import clock
from core.benchmark import peak_rss_mib, pgbench_tps, throwaway_database
from usage import benchmark, engine


class Command(BaseCommand):
    help = (
        "Create usage Services in a fresh database next to the configured one (PostgreSQL), send one day of "
        "their hourly values through the metering door's view from several processes, send it again, run the "
        "month-end phase, measure pgbench's simple-update rate, print the figures, drop the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, default=10_000)
        parser.add_argument("--clients", type=int, default=2, help="metering client processes")
        parser.add_argument("--pgbench-seconds", type=int, default=20)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")

    def handle(self, *args: object, **options: Any) -> None:
        with throwaway_database(self.stdout, keep=options["keep"]):
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        now = clock.now()
        day = clock.business_date(now) - dt.timedelta(days=1)  # yesterday in Zurich: every hour is past
        clients = options["clients"]
        # pgbench first, on a quiet machine and a small database: the yardstick of the targets
        tps = pgbench_tps(clients=2, seconds=options["pgbench_seconds"])
        started = time.perf_counter()
        ids = benchmark.build_population(services=options["services"], day=day, now=now)
        user = benchmark.metering_account()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        values = len(ids) * len(benchmark.SLUGS) * engine.hours_in_day(day)
        self.stdout.write(
            f"population: {len(ids)} usage Services; one day ({day}) = {values} values "
            f"({time.perf_counter() - started:.1f} s)"
        )

        ingest = benchmark.send_day(user=user, service_ids=ids, day=day, clients=clients, expect="new")
        sizes = benchmark.storage_bytes()
        before = benchmark.state()
        replay = benchmark.send_day(user=user, service_ids=ids, day=day, clients=clients, expect="unchanged")
        after = benchmark.state()
        if before != after:
            raise RuntimeError(f"the replay changed something: {before} -> {after}")
        if ingest["new"] != values or replay["unchanged"] != values:
            raise RuntimeError(f"not every value was counted once: {ingest} / {replay}")

        rate_ingest, rate_replay = values / ingest["seconds"], values / replay["seconds"]
        self.stdout.write(f"ingest: {rate_ingest:.0f} values/s")
        self.stdout.write(f"replay: {rate_replay:.0f} values/s")
        benchmark.month_end_phase(self.stdout, service_ids=ids, day=day, pgbench_tps=tps)
        self.stdout.write(f"pgbench simple-update: {tps:.0f} tps")
        self.stdout.write(f"ratio ingest/pgbench: {rate_ingest / tps:.1f} (target >= 10)")
        self.stdout.write(f"ratio replay/pgbench: {rate_replay / tps:.1f} (target >= 10)")
        for name, phase in (("ingest", ingest), ("replay", replay)):
            self.stdout.write(
                f"{name}: {phase['seconds']:.1f} s for {phase['batches']} batches of up to {benchmark.BATCH_MAX} "
                f"on {clients} clients; {phase['queries'] / phase['batches']:.1f} queries per batch; in the view "
                f"{phase['view_seconds']:.1f} s per client; peak RSS of a client {phase['rss_mib']:.0f} MiB"
            )
        for label, found in (
            ("after the day", sizes),
            ("live rows (VACUUM FULL)", benchmark.storage_bytes(compact=True)),
        ):
            self.stdout.write(
                f"storage {label}: "
                + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in found.items())
                + f"; {sum(found.values()) / values:.1f} bytes per value"
            )
        self.stdout.write(
            f"peak memory (max RSS): this process {peak_rss_mib():.0f} MiB, "
            f"largest client {peak_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
        )
