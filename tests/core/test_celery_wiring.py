"""The daily task reaches a real Celery worker through Redis and runs the same jobs (TIME-2, ORG-3)."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from config.celery import app as celery_app
from core import clock
from core.tasks import run_daily_lifecycle
from notifications.models import Notification
from notifications.services import notify
from tests.factories import OrganizationFactory


@pytest.fixture
def real_worker():
    """A worker thread consuming from the configured broker (Redis), tasks no longer run eagerly."""
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
def test_time2_the_daily_task_runs_on_a_worker_through_redis(real_worker) -> None:
    # given: an inbox message posted 40 days ago, never answered
    organization = OrganizationFactory()
    (message,) = notify(
        organization=organization,
        template="organization_created",
        channels=("inbox",),
        now=clock.now() - dt.timedelta(days=40),
    )

    # when: beat's task is sent through the broker
    run_daily_lifecycle.delay()

    # then: the worker ran the daily jobs as of today
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.tacitly_accepted_at is not None:
            break
        time.sleep(0.2)
    assert message.tacitly_accepted_at is not None
    assert Notification.objects.filter(tacitly_accepted_at__isnull=False).count() == 1
