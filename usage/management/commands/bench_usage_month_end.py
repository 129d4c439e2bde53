"""`bench_usage_month_end`: the month-end phase of the usage benchmark on its own (issue 15; figures in
docs/performance.md "Usage"), in a throw-away database next to the configured one (PostgreSQL)."""

import os
import subprocess
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from core import clock
from usage import engine
from usage.benchmark_month_end import month_end_phase


class Command(BaseCommand):
    help = (
        "Build N usage Services with last month's totals in a fresh database, run the 1st's usage invoices, "
        "then the same day again; print month-end services/s, peak memory and queries per batch, and "
        "pgbench's simple-update tps of the same server for comparison."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, default=20_000)
        parser.add_argument("--batch-size", type=int, default=settings.LIFECYCLE_BATCH_SIZE)
        parser.add_argument("--workers", type=int, default=settings.LIFECYCLE_WORKERS)
        parser.add_argument("--pgbench-seconds", type=int, default=20, help="0: no pgbench run")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")

    def handle(self, *args: object, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("the benchmark runs on PostgreSQL: set DATABASE_URL")
        settings.LIFECYCLE_BATCH_SIZE = options["batch_size"]
        settings.LIFECYCLE_WORKERS = options["workers"]
        settings.DEBUG = False
        settings.CELERY_TASK_ALWAYS_EAGER = False
        database = settings.DATABASES["default"]
        original_name = database["NAME"]
        database["TEST"] = {
            **database.get("TEST", {}),
            "NAME": f"bench_usage_{original_name}",
            "CHARSET": None,
            "TEMPLATE": None,
            "COLLATION": None,
        }
        self.stdout.write(f"creating database {database['TEST']['NAME']} ...")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            day = engine.next_month(engine.month_of(clock.today()))  # the next 1st (future dates allowed here)
            month_end_phase(services=options["services"], day=day, write=self.stdout.write)
            if options["pgbench_seconds"]:
                self._pgbench(database, options["pgbench_seconds"])
        finally:
            if not options["keep"]:
                connection.creation.destroy_test_db(original_name, verbosity=0)

    def _pgbench(self, database: dict[str, Any], seconds: int) -> None:
        """pgbench's simple-update (-N), 2 clients, on a scratch table set of the benchmark database."""
        args = ["-h", database["HOST"] or "127.0.0.1", "-p", str(database["PORT"] or 5432), "-U", database["USER"]]
        name = connection.settings_dict["NAME"]
        env = {**os.environ, "PGPASSWORD": database.get("PASSWORD") or ""}
        subprocess.run(["pgbench", *args, "-i", "-q", "-s", "1", name], check=True, capture_output=True, env=env)
        done = subprocess.run(
            ["pgbench", *args, "-N", "-c", "2", "-j", "2", "-T", str(seconds), name],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        tps = next((line for line in done.stdout.splitlines() if line.startswith("tps")), "tps = ?")
        self.stdout.write(f"pgbench simple-update: {tps.split('=')[1].split('(')[0].strip()} tps")

