"""What the benchmarks share (`bench_lifecycle`, `bench_usage`; docs/performance.md): a throw-away
PostgreSQL database next to the configured one, the CPU time spent, and pgbench's figure for the
same machine in the same run (the yardstick the targets are given in)."""

import os
import re
import resource
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, OutputWrapper
from django.db import connection


@contextmanager
def throwaway_database(stdout: OutputWrapper, *, keep: bool = False) -> Iterator[str]:
    """Create `bench_<NAME>` next to the configured database, migrate it, point the connection at
    it for the block, then drop it (unless `keep`). Yields its name. PostgreSQL only."""
    if connection.vendor != "postgresql":
        raise CommandError("the benchmark runs on PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False  # as in production: no query log kept by the connections
    database = settings.DATABASES["default"]
    original_name = database["NAME"]
    name = f"bench_{original_name}"
    database["TEST"] = {**database.get("TEST", {}), "NAME": name, "CHARSET": None, "TEMPLATE": None, "COLLATION": None}
    stdout.write(f"creating database {name} ...")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        if not keep:
            connection.creation.destroy_test_db(original_name, verbosity=0)


def pgbench_tps(*, clients: int = 2, seconds: int = 20, scale: int = 10) -> float:
    """pgbench's built-in "simple-update" script (`-N`) on this database: transactions per second
    with `clients` clients for `seconds` seconds, on tables of `scale` (created here, in the
    benchmark's own database, and dropped with it)."""
    if shutil.which("pgbench") is None:
        raise CommandError("pgbench is not installed (apt-get install postgresql-client)")
    database: dict[str, Any] = connection.settings_dict
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    target = ["-h", str(database.get("HOST") or "127.0.0.1"), "-p", str(database.get("PORT") or 5432)]
    target += ["-U", str(database.get("USER") or "postgres"), str(database["NAME"])]
    run = {"env": env, "capture_output": True, "text": True, "check": True}
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), *target], **run)  # type: ignore[call-overload]
    done = subprocess.run(  # type: ignore[call-overload]
        ["pgbench", "-N", "-c", str(clients), "-j", str(clients), "-T", str(seconds), *target], **run
    )
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    if found is None:
        raise CommandError(f"pgbench printed no tps: {done.stdout}")
    return float(found.group(1))


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak memory (max RSS) of this process, or of its largest ended child, in MiB (Linux: KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User and system time of this process and of its ended workers (not the database's)."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent working (the database's included): user, nice, system, irq
    and softirq time, not idle, I/O wait or time stolen by the hypervisor. Linux; 0 elsewhere."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    except OSError:
        return 0.0
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
