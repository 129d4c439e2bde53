"""Test settings: PostgreSQL when one answers (DATABASE_URL, else 127.0.0.1:5432), else SQLite.

Tests that need PostgreSQL (row locks, concurrency) carry the `postgres` marker; on SQLite they are
skipped and tests/conftest.py prints a loud banner naming them. With CI set they are never skipped.
"""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR, env


def _local_postgres_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=2):
            return "postgres://postgres@127.0.0.1:5432/portal"
    except Exception:
        return None


_url = os.environ.get("DATABASE_URL") or _local_postgres_url() or f"sqlite:///{VAR_DIR / 'test.sqlite3'}"
DATABASES = {"default": env.db_url_config(_url)}

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "notifications.backends.sms.LocmemSMSBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
# The test runner empties tables with TRUNCATE between transactional tests (see audit migration 0003).
AUDIT_TRUNCATE_ALLOWED = True
LIFECYCLE_ALLOW_FUTURE_DATES = True
# One process unless a test asks for more (the subprocess and parallel tests of the daily run do).
LIFECYCLE_WORKERS = env.int("LIFECYCLE_WORKERS", default=1)  # noqa: F405
