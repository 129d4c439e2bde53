"""GET /healthz: database, broker and cache status; 503 only when the database is down."""

import pytest
from django.test import Client

from config.celery import app as celery_app


@pytest.mark.django_db
@pytest.mark.redis
def test_healthz_answers_200_when_database_and_broker_answer(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_healthz_shows_the_broker_down_as_degraded(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # A broker on a port nothing listens on: the broker check fails, the database check still passes;
    # the portal goes on serving (tasks not queued are sent by the sweeps), so 200, degraded.
    connect = celery_app.connection_for_write
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: connect("redis://127.0.0.1:9/0"))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "down", "cache": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import views

    monkeypatch.setattr(views, "_database_ok", lambda: False)
    monkeypatch.setattr(views, "_broker_ok", lambda: True)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down", "broker": "ok", "cache": "ok"}
