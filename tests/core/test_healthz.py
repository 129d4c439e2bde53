"""GET /healthz: database and broker status."""

import pytest
from django.test import Client

from config.celery import app as celery_app


@pytest.mark.django_db
@pytest.mark.redis
def test_healthz_answers_200_when_database_and_broker_answer(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_down(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # A broker on a port nothing listens on: the broker check fails, the database check still passes.
    connect = celery_app.connection_for_write
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: connect("redis://127.0.0.1:9/0"))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}
