"""`bench_pages`: the pages under load (issue 19; figures in docs/performance.md)."""

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from core.benchmark import throwaway_database
from demo import loadrun


class Command(BaseCommand):
    help = (
        "Create the seed_load Organization in a fresh database next to the configured one (PostgreSQL), serve "
        "it with gunicorn on 127.0.0.1, run locust headless against its ten most used pages, print requests/s, "
        "p50, p95 and queries per page, drop the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=20, help="concurrent users")
        parser.add_argument("--spawn-rate", type=int, default=5, help="users started per second")
        parser.add_argument("--seconds", type=int, default=60, help="length of the run")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")

    def handle(self, *args: object, **options: Any) -> None:
        with throwaway_database(self.stdout, keep=options["keep"]), tempfile.TemporaryDirectory() as scratch:
            self._run(options, Path(scratch))

    def _run(self, options: dict[str, Any], directory: Path) -> None:
        call_command("seed_load", stdout=self.stdout)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        plan_file = loadrun.write_plan(directory)
        costs = loadrun.page_costs(plan_file)
        connection.close()
        server = loadrun.start_gunicorn(port=options["port"], workers=options["workers"], log=directory / "web.log")
        try:
            before = os.getloadavg()[0]
            cpu_before = loadrun.group_cpu_seconds(server.pid)
            prefix = loadrun.run_locust(
                plan_file=plan_file,
                port=options["port"],
                users=options["users"],
                spawn_rate=options["spawn_rate"],
                seconds=options["seconds"],
                directory=directory,
            )
            after = os.getloadavg()[0]
            web_cpu = loadrun.group_cpu_seconds(server.pid) - cpu_before
        finally:
            loadrun.stop(server)
        self.stdout.write(
            f"{options['users']} users, {options['seconds']} s, {options['workers']} gunicorn workers; "
            f"load average (1 min) {before:.2f} before, {after:.2f} at the end, on {os.cpu_count()} cores"
        )
        figures = loadrun.read_figures(prefix)
        served = sum(row.requests for row in figures if row.name != "Aggregated")
        self.stdout.write(f"gunicorn CPU: {web_cpu:.1f} s, {1000 * web_cpu / max(served, 1):.1f} ms a request")
        header = ("page", "requests", "failed", "req/s", "p50 ms", "p95 ms", "queries", "CPU ms")
        self.stdout.write("{:<14} {:>8} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6}".format(*header))
        for row in figures:
            cost = costs.get(row.name)
            self.stdout.write(
                f"{row.name:<14} {row.requests:>8} {row.failures:>6} {row.per_second:>6.1f} {row.p50:>6.0f} "
                f"{row.p95:>6.0f} {cost.queries if cost else '':>7} {f'{cost.cpu_ms:.0f}' if cost else '':>6}"
            )
