"""What the benchmarks share (`bench_lifecycle`, `bench_usage`; docs/performance.md): a throw-away
PostgreSQL database next to the configured one, the CPU time spent, and pgbench's figure for the
same machine in the same run (the yardstick the targets are given in)."""

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

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


def pgbench_tps(*, clients: int = 2, seconds: int = 20, scale: int = 10, database: str | None = None) -> float:
    """pgbench's built-in "simple-update" script (`-N`) on this database (or on `database`, on the
    same server): transactions per second with `clients` clients for `seconds` seconds, on tables
    of `scale` (created here, in the benchmark's own database, and dropped with it)."""
    if shutil.which("pgbench") is None:
        raise CommandError("pgbench is not installed (apt-get install postgresql-client)")
    settings_dict: dict[str, Any] = connection.settings_dict
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    target = ["-h", str(settings_dict.get("HOST") or "127.0.0.1"), "-p", str(settings_dict.get("PORT") or 5432)]
    target += ["-U", str(settings_dict.get("USER") or "postgres"), database or str(settings_dict["NAME"])]
    run = {"env": env, "capture_output": True, "text": True, "check": True}
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), *target], **run)  # type: ignore[call-overload]
    done = subprocess.run(  # type: ignore[call-overload]
        ["pgbench", "-N", "-c", str(clients), "-j", str(clients), "-T", str(seconds), *target], **run
    )
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    if found is None:
        raise CommandError(f"pgbench printed no tps: {done.stdout}")
    return float(found.group(1))


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """An empty database `name` on the server of the connection for the block, then dropped."""
    quoted = connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cursor.execute(f"CREATE DATABASE {quoted}")
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


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


def database_url() -> str:
    """The URL of the connection's database (the throw-away one inside `throwaway_database`)."""
    database: dict[str, Any] = connection.settings_dict
    password = f":{quote(str(database['PASSWORD']), safe='')}" if database.get("PASSWORD") else ""
    host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    user = quote(str(database.get("USER") or "postgres"), safe="")
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


@contextmanager
def celery_workers(processes: int, *, queue: str, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`processes` Celery worker processes (one prefork worker, concurrency `processes`) on the
    configured broker, on the connection's database, taking tasks from `queue` only; stopped (warm
    shutdown, then SIGKILL) when the block ends."""
    from celery import current_app as app  # config.celery's app (config sits above core)

    name = f"bench-{os.getpid()}@{socket.gethostname()}"
    worker_env = {**os.environ, "DATABASE_URL": database_url(), "LIFECYCLE_BATCH_QUEUE": queue, **env}
    worker_env.pop("DATABASE_OWNER_URL", None)
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "prefork", "-c", str(processes)]
    command += ["-Q", queue, "-n", name, "-l", "WARNING", "--without-gossip", "--without-mingle"]
    worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=worker_env)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"the Celery worker did not start (exit code {worker.poll()})")
        yield [worker]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
