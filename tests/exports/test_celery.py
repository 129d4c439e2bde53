"""EVD-4: the statement's build is queued through the real broker (Redis) and built by a Celery
worker, as in production; the portal reads its progress from the database meanwhile."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from accounts.models import Membership
from config.celery import app as celery_app
from core import clock
from exports.models import Export
from exports.services import export_statement_request
from notifications.models import Notification
from tests.exports.helpers import MARCH
from tests.factories import member


@pytest.fixture
def real_worker():  # noqa: ANN201
    """A worker thread consuming from the configured broker (Redis); tasks no longer run eagerly."""
    assert celery_app.conf.broker_url.startswith("redis://")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = eager
        connection.close()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_evd_4_the_statement_is_built_by_a_worker_through_redis(real_worker) -> None:  # noqa: ANN001
    # given a Legal Responsible
    legal = member(Membership.Role.LEGAL_RESPONSIBLE, email="ann@example.com")

    # when they ask for a statement (committed: the task is sent through Redis)
    export = export_statement_request(
        organization_id=legal.organization_id, user=legal.user, start=MARCH[0], end=MARCH[1], now=clock.now()
    )

    # then the worker builds it and the member is told
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        export.refresh_from_db()
        if export.status == Export.Status.READY:
            break
        time.sleep(0.2)
    assert (export.status, export.progress) == (Export.Status.READY, 100)
    assert export.file.name.startswith("exports/")
    assert Notification.objects.filter(template="export_ready", address="ann@example.com").count() == 1
