"""The machinery of `bench_pages` (docs/performance.md, "The pages under load"): the ten pages, the
users' sessions and tokens handed to the locustfile (bench/locustfile.py), the queries each page costs,
gunicorn and locust as subprocesses, and locust's figures read back. Never used by the product."""

import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import tokens
from accounts.models import Organization, User
from billing.models import Invoice
from core import clock
from core.benchmark import database_url
from demo.management.commands.seed_load import LOAD_USERS
from subscriptions.models import Service
from support.models import Ticket


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # {org}, {service}, {metered}, {invoice}, {ticket}: ids of the load Organization
    weight: int  # how often a user opens it, relative to the others
    api: bool = False  # called with the user's API token, not the session


# The ten pages and endpoints a customer uses most: every visit starts on the dashboard; the lists and
# one row of each (Services, invoices, tickets); a usage Service's month so far (USE-2); the API's
# invoices and Services lists, which customers' scripts poll.
PAGES = [
    Page("dashboard", "/orgs/{org}/", 3),
    Page("services", "/orgs/{org}/services/", 2),
    Page("service", "/orgs/{org}/services/{service}/", 2),
    Page("invoices", "/orgs/{org}/invoices/", 2),
    Page("invoice", "/orgs/{org}/invoices/{invoice}/", 2),
    Page("tickets", "/orgs/{org}/support/", 2),
    Page("ticket", "/orgs/{org}/support/{ticket}/", 1),
    Page("usage", "/orgs/{org}/services/{metered}/usage/", 1),
    Page("api invoices", "/api/v1/organizations/{org}/invoices/", 1, api=True),
    Page("api services", "/api/v1/organizations/{org}/services/", 1, api=True),
]


def write_plan(directory: Path) -> Path:
    """Write what the locustfile needs (the pages, the ids, one session and one token per user; the
    logins are done here, before the run: twenty password hashes at once would time the hasher, not
    the pages) and return the file."""
    organization = Organization.objects.get(memberships__user__email=LOAD_USERS[0])
    services = Service.objects.filter(organization=organization).order_by("pk")
    ids = {
        "org": organization.pk,
        "service": [s.pk for s in services if not s.usage_based],
        "metered": [s.pk for s in services if s.usage_based],
        "invoice": list(Invoice.objects.filter(organization=organization).values_list("pk", flat=True)),
        "ticket": list(Ticket.objects.filter(organization=organization).values_list("pk", flat=True)),
    }
    users = []
    for email in LOAD_USERS:
        user = User.objects.get(email=email)
        client = Client()
        client.force_login(user)
        _token, key = tokens.token_issue(user=user, name="load run", client_address="127.0.0.1", now=clock.now())
        users.append({"session": client.cookies[settings.SESSION_COOKIE_NAME].value, "token": key})
    path = directory / "plan.json"
    pages = [{"name": p.name, "path": p.path, "weight": p.weight, "api": p.api} for p in PAGES]
    path.write_text(json.dumps({"pages": pages, "ids": ids, "users": users, "cookie": settings.SESSION_COOKIE_NAME}))
    return path


@dataclass(frozen=True)
class PageCost:
    queries: int
    cpu_ms: float  # this process's CPU for one request, the median of five (the database's apart)


def page_costs(plan_file: Path) -> dict[str, PageCost]:
    """What each page costs, asked in this process (the first id of each kind), before the run."""
    data = json.loads(plan_file.read_text())
    ids = {key: value if isinstance(value, int) else value[0] for key, value in data["ids"].items()}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = data["users"][0]
    client = Client(HTTP_AUTHORIZATION=f"Token {user['token']}")
    client.cookies[settings.SESSION_COOKIE_NAME] = user["session"]
    costs = {}
    for page in PAGES:
        url = page.path.format(**ids)
        client.get(url)  # caches warmed as in the run
        with CaptureQueriesContext(connection) as captured:
            status = client.get(url).status_code
        queries = len(captured.captured_queries)
        if status != 200:
            raise RuntimeError(f"{page.name}: {url} answered {status}")
        times = []
        for _ in range(5):
            started = time.process_time()
            client.get(url)
            times.append(1000 * (time.process_time() - started))
        costs[page.name] = PageCost(queries=queries, cpu_ms=statistics.median(times))
    return costs


def start_gunicorn(*, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn on 127.0.0.1 with the embedded settings and DEBUG off (the production settings want
    HTTPS-only cookies), on the benchmark's database, as the owner role."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
    }
    command = [_bin("gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.3)
    stop(server)
    raise RuntimeError(f"gunicorn did not answer on port {port}: see {log}")


def group_cpu_seconds(leader: int) -> float:
    """User and system CPU time of the living processes of `leader`'s process group (gunicorn's
    master and workers), from /proc (Linux; 0 elsewhere)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def run_locust(*, plan_file: Path, port: int, users: int, spawn_rate: int, seconds: int, directory: Path) -> Path:
    """locust, headless and bounded; returns the prefix of its CSV files."""
    prefix = directory / "run"
    locustfile = Path(settings.BASE_DIR) / "bench" / "locustfile.py"
    command = [_bin("locust"), "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(spawn_rate)]
    command += ["-t", f"{seconds}s", "--csv", str(prefix), "--only-summary", "--host", f"http://127.0.0.1:{port}"]
    env = {**os.environ, "LOAD_PLAN": str(plan_file)}
    subprocess.run(command, env=env, check=False, capture_output=True, cwd=directory)
    return prefix


@dataclass(frozen=True)
class PageFigures:
    name: str
    requests: int
    failures: int
    per_second: float
    p50: float
    p95: float


def read_figures(prefix: Path) -> list[PageFigures]:
    rows = {}
    with Path(f"{prefix}_stats.csv").open() as stats:
        for row in csv.DictReader(stats):
            rows[row["Name"]] = PageFigures(
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                per_second=float(row["Requests/s"]),
                p50=float(row["50%"]),
                p95=float(row["95%"]),
            )
    return [rows[p.name] for p in PAGES if p.name in rows] + [rows[n] for n in ("Aggregated",) if n in rows]


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)
