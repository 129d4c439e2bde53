"""Test settings: PostgreSQL when one answers (DATABASE_URL, else 127.0.0.1:5432), else SQLite;
Redis when one answers (REDIS_URL, else 127.0.0.1:6379), else the filesystem broker.

Tests that need PostgreSQL (row locks, concurrency) carry the `postgres` marker, those that need a
Redis broker the `redis` marker; without the server they are skipped and tests/conftest.py prints a
loud banner naming them. With CI set they are never skipped. Each run (and each pytest-xdist worker)
gets a test database of its own: tests/conftest.py names it.
"""

import os
import socket
import tempfile
import uuid
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import CELERY_VISIBILITY_TIMEOUT, INSTALLED_APPS, REDIS_URL, VAR_DIR, env


def _local_postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=2):
            return "postgres://postgres@127.0.0.1:5432/portal"
    except Exception:
        return None


def _local_redis_url() -> str | None:
    """Redis on 127.0.0.1:6379 when it answers PING, as PostgreSQL is found on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/0"
    except OSError:
        pass
    return None


_url = os.environ.get("DATABASE_URL") or _local_postgres_url() or f"sqlite:///{VAR_DIR / 'test.sqlite3'}"
DATABASES = {"default": env.db_url_config(_url)}
DATABASE_OWNER_URL = ""  # the suite connects as one user; tests/audit/test_roles.py makes the application role

if not REDIS_URL:  # not in the environment
    REDIS_URL = _local_redis_url() or ""
    if REDIS_URL:
        CELERY_BROKER_URL = REDIS_URL
        CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Tasks sent through a real broker go to a queue of this process alone: runs (and xdist workers)
# sharing one Redis never take each other's tasks. Production keeps Celery's default queue.
CELERY_TASK_DEFAULT_QUEUE = f"portal-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"

DEBUG = False
# The payment gateway sandbox's tables (billing.gateways.sandbox): development and tests only.
INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]
# The tests' gateway is the sandbox whatever the environment says (tests/billing/test_gateway_contract.py
# runs the Stripe adapter against localstripe by itself).
PAYMENT_GATEWAY = "sandbox"
STRIPE_API_BASE = ""
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "notifications.backends.sms.LocmemSMSBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)  # off: the Celery engine's workers
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
# The test runner empties tables with TRUNCATE between transactional tests (see audit migration 0003).
AUDIT_TRUNCATE_ALLOWED = True
LIFECYCLE_ALLOW_FUTURE_DATES = True
# Seals of the audit chain (EVD-1) out of the work tree; tests/conftest.py gives each test its own.
EVIDENCE_SEAL_DIR = env.path(
    "EVIDENCE_SEAL_DIR", default=Path(tempfile.gettempdir()) / "portal-test-evidence" / str(os.getpid())
)
