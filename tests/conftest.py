"""Test set-up: the database in use, the `postgres` and `redis` markers, shared fixtures.

On SQLite the tests marked `postgres` are skipped and a banner names them; with CI set (as in
.ci/run) a run that is not on PostgreSQL, or that lacks Redis, stops at once instead.

Each run gets a PostgreSQL test database of its own, `test_<NAME>_<run>` (and `_gw0`, `_gw1`, ... per
pytest-xdist worker), dropped when the run ends: two runs on one server never meet, and a database
left by a killed run is not in the next one's way.
"""

import datetime as dt
import os
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.utils import translation

from notifications.backends import sms
from tests.e2e.wiring import chromium_missing, chromium_path

NEEDS_POSTGRES = "needs PostgreSQL"
NEEDS_CHROMIUM = "needs Chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _vendor() -> str:
    return connection.vendor


def _redis_answers() -> bool:
    url = settings.REDIS_URL  # REDIS_URL, else Redis found on 127.0.0.1:6379 (config/settings/test.py)
    if not url:
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2):
            return True
    except OSError:
        return False


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = settings.DATABASES["default"]
    return [
        f"database: {_vendor()} ({database.get('HOST') or database.get('NAME')})",
        f"redis: {'yes' if _redis_answers() else 'no'}",
    ]


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and _vendor() != "postgresql":
        raise pytest.UsageError("CI must run the tests on PostgreSQL: set DATABASE_URL (see .ci/run).")
    if IN_CI and not _redis_answers():
        raise pytest.UsageError("CI must run the tests with Redis: set REDIS_URL (see .ci/run).")
    if IN_CI and chromium_missing():
        raise pytest.UsageError(f"CI must run the e2e suite: no Chromium at {chromium_path()} (see .ci/run).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = _vendor() == "postgresql"
    redis = _redis_answers()
    no_chromium = chromium_missing()
    for item in items:
        if "e2e" in item.keywords and no_chromium:
            item.add_marker(pytest.mark.skip(reason=f"{NEEDS_CHROMIUM} at {chromium_path()} (apt install chromium)"))
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason=NEEDS_POSTGRES))
        if "redis" in item.keywords and not redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis (REDIS_URL, or one on 127.0.0.1:6379)"))


def _skipped_for(terminalreporter: pytest.TerminalReporter, reason: str) -> list[str]:
    """From the reports, not from collection: with pytest-xdist the workers collect, the controller reports."""
    found = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and reason in str(longrepr[2]):
            found.append(report.nodeid)
    return sorted(found)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    e2e = _skipped_for(terminalreporter, NEEDS_CHROMIUM)
    if e2e:
        line = "!" * 78
        terminalreporter.write_line(line, red=True, bold=True)
        terminalreporter.write_line(
            f"!! NO CHROMIUM: the {len(e2e)} tests of the end-to-end suite (tests/e2e) were SKIPPED.",
            red=True,
            bold=True,
        )
        terminalreporter.write_line(
            f"!! Install it (apt install chromium) or set CHROMIUM; looked at {chromium_path()}.", red=True, bold=True
        )
        terminalreporter.write_line(line, red=True, bold=True)
    skipped = _skipped_for(terminalreporter, NEEDS_POSTGRES)
    if skipped:
        line = "!" * 78
        terminalreporter.write_line(line, red=True, bold=True)
        terminalreporter.write_line(
            f"!! RAN ON SQLITE: {len(skipped)} tests that need PostgreSQL were SKIPPED:",
            red=True,
            bold=True,
        )
        for nodeid in skipped:
            terminalreporter.write_line(f"!!   {nodeid}", red=True)
        terminalreporter.write_line(
            "!! Start PostgreSQL on 127.0.0.1:5432 or set DATABASE_URL to run them.", red=True, bold=True
        )
        terminalreporter.write_line(line, red=True, bold=True)


def _run_token(config: pytest.Config) -> str:
    """One token per run: the xdist controller's (shared by its workers), else a fresh one."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput:
        return str(workerinput["testrunuid"])[:8]
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request: pytest.FixtureRequest) -> None:
    """This run's own test database: test_<NAME>_<run>[_gwN] (pytest-django would reuse test_<NAME>)."""
    workerinput = getattr(request.config, "workerinput", None) or {}
    suffix = f"_{workerinput['workerid']}" if "workerid" in workerinput else ""
    token = _run_token(request.config)
    for alias, db_settings in settings.DATABASES.items():
        if connections[alias].vendor == "sqlite":
            continue  # in memory, one per process
        test = db_settings.setdefault("TEST", {})
        base = test.get("NAME") or f"test_{db_settings['NAME']}"
        # PostgreSQL names are at most 63 bytes: keep the run's token and the worker's suffix.
        test["NAME"] = f"{base[: 63 - len(token) - len(suffix) - 1]}_{token}{suffix}"


@pytest.fixture(autouse=True)
def _clean_outboxes_and_cache() -> None:
    sms.outbox.clear()
    cache.clear()


@pytest.fixture(autouse=True)
def _source_language() -> Iterator[None]:
    """Every test starts in the source language and leaves nothing behind: a request activates its
    visitor's language (LocaleMiddleware) and keeps it active after the response, so a test whose user
    speaks German used to leave German to whatever test ran next in the same process."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _own_evidence_seals(settings, tmp_path_factory: pytest.TempPathFactory) -> None:  # noqa: ANN001
    """Each test its own directory of audit seals (EVD-1): the seals a daily run writes name events of
    that test's database, which the next test no longer has."""
    settings.EVIDENCE_SEAL_DIR = tmp_path_factory.getbasetemp() / "evidence" / secrets.token_hex(8)


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
