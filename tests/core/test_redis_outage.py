"""A Redis outage (issue 14): the API and the pages go on answering, never a 500; API throttling
degrades (logged once, /healthz shows it); work queued while the broker is away is not lost.

The cache is the production one (core.cache.DegradableRedisCache, as config/settings/production.py
sets it) pointed at a port nothing listens on."""

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import ApiToken, Organization
from accounts.tokens import key_digest
from core import cache as core_cache
from core import views as core_views
from core.throttling import AnonRateThrottle, UserRateThrottle
from notifications import tasks as notification_tasks
from notifications.models import Notification
from notifications.services import notify
from tests.factories import PASSWORD, OrganizationFactory, member

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_DOWN = {"default": {"BACKEND": "core.cache.DegradableRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture(autouse=True)
def _fresh_outage_state():
    core_cache._outages.clear()
    yield
    core_cache._outages.clear()


@pytest.fixture
def throttled_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's throttles as in production (the test settings switch them off)."""
    monkeypatch.setattr(APIView, "throttle_classes", [AnonRateThrottle, UserRateThrottle])


@pytest.fixture
def redis_down():
    with override_settings(CACHES=REDIS_DOWN):
        yield


def test_api_answers_with_the_cache_down_and_logs_the_outage_once(throttled_api, redis_down, caplog) -> None:
    # given: a member and the cache on a closed port
    legal = member()
    caplog.set_level(logging.WARNING, logger="core.cache")

    # when: a token is asked for, then the API used with it, and a refused call made
    token = APIClient().post("/api/v1/auth/token/", {"email": legal.user.email, "password": PASSWORD}, format="json")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    me = api.get("/api/v1/me/")
    organizations = api.get("/api/v1/organizations/")
    anonymous = APIClient().get("/api/v1/me/")

    # then: every call answered as with a cache up; the outage logged once
    assert token.status_code == 200
    assert ApiToken.objects.get(user=legal.user).key_digest == key_digest(token.json()["token"])
    assert (me.status_code, me.json()["email"]) == (200, legal.user.email)
    assert (organizations.status_code, [o["id"] for o in organizations.json()]) == (200, [legal.organization_id])
    assert anonymous.status_code == 401
    outage_logs = [r for r in caplog.records if r.name == "core.cache"]
    assert [r.levelname for r in outage_logs] == ["ERROR"]
    assert "the cache (Redis) does not answer" in outage_logs[0].getMessage()


def test_pages_answer_with_the_cache_down(redis_down) -> None:
    # given: a Legal Responsible logged in while the cache is down
    legal = member()
    client = Client()
    logged_in = client.post(reverse("accounts:login"), {"username": legal.user.email, "password": PASSWORD})

    # when: a page, and an action whose re-authentication counts wrong passwords in the cache (ORG-9)
    dashboard = client.get(reverse("accounts:organization", args=[legal.organization_id]))
    refused = client.post(
        reverse("accounts:organization_terminate", args=[legal.organization_id]), {"password": "wrong", "confirm": "on"}
    )

    # then: both answer; the wrong password is refused and nothing changed
    assert logged_in.status_code == 302
    assert dashboard.status_code == 200
    assert refused.status_code == 200
    assert "The password is not correct." in refused.content.decode()
    assert Organization.objects.get(pk=legal.organization_id).status == legal.organization.status


def test_healthz_shows_the_cache_down_as_degraded_not_as_an_error(redis_down, client, monkeypatch) -> None:
    monkeypatch.setattr(core_views, "_broker_ok", lambda: True)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "ok", "cache": "down"}


def test_healthz_shows_the_cache_up_again(client, monkeypatch) -> None:
    monkeypatch.setattr(core_views, "_broker_ok", lambda: True)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"}


def test_the_degradable_cache_answers_as_an_empty_cache_while_redis_is_down(redis_down) -> None:
    from django.core.cache import cache

    assert cache.get("k", "default") == "default"
    cache.set("k", 1)
    assert cache.add("k", 1) is False
    assert cache.incr("k", 3) == 3
    assert cache.get_many(["k"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.has_key("k") is False
    assert cache.delete("k") is False
    assert cache.degraded is True


@pytest.mark.redis
def test_the_degradable_cache_works_when_redis_answers() -> None:
    with override_settings(
        CACHES={"default": {"BACKEND": "core.cache.DegradableRedisCache", "LOCATION": settings.REDIS_URL}}
    ):
        from django.core.cache import cache

        cache.set("outage-test", 41, 30)
        assert cache.incr("outage-test") == 42
        assert cache.get("outage-test") == 42
        assert cache.degraded is False
        cache.delete("outage-test")


def test_evd3_notices_queued_while_the_broker_is_down_are_sent_by_the_sweep(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    # given: the broker refuses every task while a notice is recorded
    def broker_down(*args: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(notification_tasks.deliver_notification, "delay", broker_down)
    monkeypatch.setattr(notification_tasks.deliver_notifications, "delay", broker_down)
    organization = OrganizationFactory(contact_email="boss@example.com")
    recorded = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        (notice,) = notify(
            organization=organization, template="organization_created", channels=("email",), now=recorded
        )
    notice.refresh_from_db()
    assert (notice.status, len(mail.outbox)) == ("pending", 0)

    # when: the sweep runs once the broker is back, and again
    sent = notification_tasks.deliver_pending_notifications()
    again = notification_tasks.deliver_pending_notifications()

    # then: the notice went out once
    notice.refresh_from_db()
    assert (sent, again, notice.status) == (1, 0, "sent")
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    assert Notification.objects.count() == 1


def test_production_uses_the_degradable_cache(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "k8Qe2-zT1v9Rx0pL5sNw7mYh3cJd6fGb4aUiOoPq2rSt8uVxWyZ1!@#",
        "DJANGO_ALLOWED_HOSTS": "portal.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EVIDENCE_SEAL_KEY": "Zq4v-8Lr2xN6pT0wYb3mK7sJ1dF5hG9cV2eR4uA8iO6lP0",  # EVD-1: required in production
        "STRIPE_SECRET_KEY": "sk_test_deploy",  # production's gateway is Stripe
        "STRIPE_WEBHOOK_SECRET": "whsec_deploy",
    }
    code = "import django; django.setup(); from django.core.cache import caches; print(type(caches['default']))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.stdout.strip() == "<class 'core.cache.DegradableRedisCache'>", result.stderr
