"""API throttling knows the client by the one client-address rule (core.http.client_address,
TRUSTED_PROXY_COUNT) that the audit trail and the log-in lockout use: X-Forwarded-For as the
client wrote it never picks the identity (issue 14: 65 token attempts, none throttled)."""

import pytest
from rest_framework.request import Request
from rest_framework.test import APIClient

from config.settings import base
from core.throttling import AnonRateThrottle, UserRateThrottle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"


def _token_attempts(count: int, headers) -> list[int]:  # noqa: ANN001
    """Token requests with an empty body (refused by validation, so the log-in lockout stays out)."""
    return [APIClient().post("/api/v1/auth/token/", {}, format="json", **headers(i)).status_code for i in range(count)]


def test_token_throttle_behind_a_proxy_ignores_what_the_client_put_in_x_forwarded_for(settings) -> None:
    # given: one proxy in front; the client writes a new X-Forwarded-For on every request, the proxy
    # appends the address it saw
    settings.TRUSTED_PROXY_COUNT = 1

    # when: 65 token attempts (the anonymous rate is 60 a minute)
    statuses = _token_attempts(
        65, lambda i: {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"192.0.2.{i}, 203.0.113.7"}
    )

    # then: the 61st and after are throttled
    assert statuses == [400] * 60 + [429] * 5


def test_token_throttle_without_a_proxy_ignores_x_forwarded_for(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 0

    statuses = _token_attempts(65, lambda i: {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": f"192.0.2.{i}"})

    assert statuses == [400] * 60 + [429] * 5


def test_token_throttle_counts_each_real_client_apart(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    _token_attempts(60, lambda i: {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.7"})

    other = _token_attempts(1, lambda i: {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.8"})

    assert other == [400]


def test_api_throttles_default_to_the_client_address_rule() -> None:
    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ]


def test_user_throttle_is_per_user_and_anon_throttle_per_client_address(rf, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    user = UserFactory()
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7")

    drf_request = Request(request)
    drf_request.user = user

    assert UserRateThrottle().get_cache_key(drf_request, None) == f"throttle_user_{user.pk}"
    assert AnonRateThrottle().get_ident(drf_request) == "203.0.113.7"
