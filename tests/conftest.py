"""Test set-up: the database in use, the `postgres` and `redis` markers, shared fixtures.

On SQLite the tests marked `postgres` are skipped and a banner names them; with CI set (as in
.ci/run) a run that is not on PostgreSQL, or that lacks Redis, stops at once instead.
"""

import datetime as dt
import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache

from notifications.backends import sms

SKIPPED_FOR_POSTGRES: list[str] = []
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _vendor() -> str:
    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]


def _redis_answers() -> bool:
    url = os.environ.get("REDIS_URL")
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = _vendor() == "postgresql"
    redis = _redis_answers()
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL"))
            SKIPPED_FOR_POSTGRES.append(item.nodeid)
        if "redis" in item.keywords and not redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis (REDIS_URL)"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SKIPPED_FOR_POSTGRES:
        line = "!" * 78
        terminalreporter.write_line(line, red=True, bold=True)
        terminalreporter.write_line(
            f"!! RAN ON SQLITE: {len(SKIPPED_FOR_POSTGRES)} tests that need PostgreSQL were SKIPPED:",
            red=True,
            bold=True,
        )
        for nodeid in SKIPPED_FOR_POSTGRES:
            terminalreporter.write_line(f"!!   {nodeid}", red=True)
        terminalreporter.write_line(
            "!! Start PostgreSQL on 127.0.0.1:5432 or set DATABASE_URL to run them.", red=True, bold=True
        )
        terminalreporter.write_line(line, red=True, bold=True)


@pytest.fixture(autouse=True)
def _clean_outboxes_and_cache() -> None:
    sms.outbox.clear()
    cache.clear()


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
