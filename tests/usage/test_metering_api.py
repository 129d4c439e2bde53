"""The metering door (USE-2, USE-5, USE-6): POST /api/v1/usage/ and GET /api/v1/usage/limits/ — the
metering account and verified staff only (customers 403, nothing written), exact answers value by
value, malformed bodies and oversized batches refused with the API's error body, never a 500."""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory, member
from tests.usage.metering import NOW, metering_user, resources, stored, totals, usage_service, value
from usage.models import Budget, Limit, Threshold, UsageDay, UsageMonth

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage/"
LIMITS = "/api/v1/usage/limits/"
H = "2026-03-20T06:00:00Z"


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


def api(user: Any, *, second_factor: bool = True) -> APIClient:
    client = APIClient()
    if user is not None:
        if user.is_staff:
            user.is_verified = lambda: second_factor
        client.force_authenticate(user)
    return client


def post_raw(client: APIClient, body: str | bytes) -> Any:
    return client.generic("POST", URL, body, content_type="application/json")


def nothing_written() -> bool:
    return not UsageDay.objects.exists() and not UsageMonth.objects.exists()


def test_use2_the_metering_account_reports_values_and_gets_each_answered() -> None:
    # given a usage Service and the metering account
    service = usage_service()
    body = (
        '{"values": ['
        f'{{"service": {service.pk}, "resource": "storage", "hour": "{H}", "quantity": 0.1}},'
        f'{{"service": {service.pk}, "resource": "traffic", "hour": "{H}", "quantity": NaN}},'
        f'{{"service": {service.pk}, "resource": "storage", "hour": "2026-03-20T06:15:00Z", "quantity": 1}}'
        "]}"
    )

    # when it posts a batch with one good value and two bad ones
    response = post_raw(api(metering_user()), body)

    # then 200: one accepted (read exactly: 0.1, not a float's 0.1000000000000000055…), two refused by name
    assert response.status_code == 200, response.content
    answer = response.json()
    assert {k: answer[k] for k in ("accepted", "new", "unchanged", "corrected", "refused")} == {
        "accepted": 1,
        "new": 1,
        "unchanged": 0,
        "corrected": 0,
        "refused": 2,
    }
    assert [(r["index"], r["code"], r["rule"]) for r in answer["refusals"]] == [
        (1, "quantity_not_finite", "USE-2"),
        (2, "hour_not_on_the_hour", "USE-2"),
    ]
    assert answer["refusals"][0]["value"] == {
        "service": service.pk,
        "resource": "traffic",
        "hour": H,
        "quantity": "NaN",
    }
    assert (
        answer["refusals"][1]["message"] == "The hour must be the start of an hour (minutes and seconds zero in UTC)."
    )
    assert stored(service) == {("storage", dt.datetime(2026, 3, 20, 6, tzinfo=dt.UTC)): Decimal("0.100000")}
    assert totals(service) == {(dt.date(2026, 3, 1), "storage"): 100_000}


def test_use2_staff_with_their_second_factor_may_report_too() -> None:
    service = usage_service()

    response = api(UserFactory(is_staff=True)).post(URL, {"values": [value(service, H, 2)]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["new"] == 1


@pytest.mark.parametrize("who", ["customer", "unverified staff", "user without the permission"])
def test_use2_anyone_else_is_refused_and_nothing_is_written(who: str) -> None:
    # given a customer's usage Service
    legal = member()
    service = usage_service(organization=legal.organization)
    user = {
        "customer": legal.user,
        "unverified staff": UserFactory(is_staff=True),
        "user without the permission": UserFactory(),
    }[who]
    client = api(user, second_factor=False)

    # when they post values for it, or read the limits
    posted = client.post(URL, {"values": [value(service, H, 2)]}, format="json")
    listed = client.get(LIMITS)

    # then both are refused with the rule, and nothing is written
    for response in (posted, listed):
        assert response.status_code == 403, response.content
        assert response.json()["rule"] == "USE-2"
        assert set(response.json()) == {"detail", "rule"}
    assert nothing_written()


def test_use2_the_metering_accounts_token_has_the_metering_scope_and_works_here_only() -> None:
    # given the metering account's token, asked for with its password
    service = usage_service()
    metering_user()
    asked = APIClient().post(
        "/api/v1/auth/token/", {"email": "metering@example.com", "password": PASSWORD}, format="json"
    )
    assert asked.status_code in (200, 201), asked.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {asked.json()['token']}")

    # when it reports a value, reads the limits, and tries a customer endpoint
    posted = client.post(URL, {"values": [value(service, H, 2)]}, format="json")
    listed = client.get(LIMITS)
    elsewhere = client.get("/api/v1/organizations/")

    # then the metering door answers, the rest of the API does not
    assert (posted.status_code, listed.status_code, elsewhere.status_code) == (200, 200, 403)
    assert posted.json()["new"] == 1


def test_use2_an_anonymous_caller_is_asked_to_authenticate() -> None:
    assert api(None).post(URL, {"values": []}, format="json").status_code == 401
    assert api(None).get(LIMITS).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        '{"values": [',
        b"\xff\xfe",
        "",
        "[1, 2]",
        '{"values": {"service": 1}}',
        '{"value": []}',
        "null",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["broken", "cut", "not utf-8", "empty", "a list", "values not a list", "no values", "null", "deep"],
)
def test_use2_a_malformed_body_is_refused_with_the_api_error_body(body: str | bytes) -> None:
    usage_service()

    response = post_raw(api(metering_user()), body)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert nothing_written()


def test_use2_a_value_nested_deep_is_refused_and_echoed_cut() -> None:
    service = usage_service()
    deep = "[" * 500 + "1.5" + "]" * 500
    body = f'{{"values": [{{"service": {service.pk}, "resource": "storage", "hour": "{H}", "quantity": {deep}}}]}}'

    response = post_raw(api(metering_user()), body)

    assert response.status_code == 200, response.content
    [refusal] = response.json()["refusals"]
    assert refusal["code"] == "quantity_not_a_number"
    assert refusal["value"]["quantity"] == [["…"]]
    assert nothing_written()


def test_use2_a_batch_over_10000_values_is_refused_whole() -> None:
    service = usage_service()
    body = json.dumps({"values": [value(service, H, 1)] * 10_001})

    response = post_raw(api(metering_user()), body)

    assert response.status_code == 413, response.content
    assert response.json() == {
        "detail": "A batch holds at most 10'000 values; this one has 10'001. Send it in smaller batches.",
        "rule": "USE-2",
    }
    assert nothing_written()


def test_use2_an_empty_batch_is_answered_with_nothing_done() -> None:
    response = api(metering_user()).post(URL, {"values": []}, format="json")

    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "new": 0, "unchanged": 0, "corrected": 0, "refused": 0, "refusals": []}


def test_use5_use6_the_limits_list_the_services_limited_now_with_their_figures() -> None:
    # given a Service limited by the threshold of its plan, one by its own threshold and its budget,
    # and one whose limit staff lifted
    slugs = resources()
    by_plan, own, lifted = usage_service(), usage_service(currency="EUR"), usage_service()
    Threshold.objects.create(plan=by_plan.plan, resource=slugs["storage"], quantity=Decimal("500"), updated_at=NOW)
    Threshold.objects.create(plan=own.plan, resource=slugs["traffic"], quantity=Decimal("900"), updated_at=NOW)
    Threshold.objects.create(service=own, resource=slugs["traffic"], quantity=Decimal("100.5"), updated_at=NOW)
    Budget.objects.create(
        service=own, amount=Decimal("50.00"), limit_at_budget=True, updated_at=NOW, updated_by=UserFactory()
    )
    march, since = dt.date(2026, 3, 1), dt.datetime(2026, 3, 18, 10, 0, tzinfo=dt.UTC)
    Limit.objects.create(service=by_plan, month=march, reason="threshold", resource=slugs["storage"], since=since)
    Limit.objects.create(service=own, month=march, reason="threshold", resource=slugs["traffic"], since=since)
    Limit.objects.create(service=own, month=march, reason="budget", since=since + dt.timedelta(hours=1))
    Limit.objects.create(service=lifted, month=march, reason="budget", since=since, lifted_at=NOW)

    # when the platform reads the limits
    response = api(metering_user()).get(LIMITS)

    # then the three open ones, oldest first, each with its figure
    assert response.status_code == 200, response.content
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {
                "service": by_plan.pk,
                "month": "2026-03-01",
                "reason": "threshold",
                "resource": "storage",
                "threshold": "500.000000",
                "budget": None,
                "currency": None,
                "since": "2026-03-18T11:00:00+01:00",
            },
            {
                "service": own.pk,
                "month": "2026-03-01",
                "reason": "threshold",
                "resource": "traffic",
                "threshold": "100.500000",
                "budget": None,
                "currency": None,
                "since": "2026-03-18T11:00:00+01:00",
            },
            {
                "service": own.pk,
                "month": "2026-03-01",
                "reason": "budget",
                "resource": None,
                "threshold": None,
                "budget": "50.00",
                "currency": "EUR",
                "since": "2026-03-18T12:00:00+01:00",
            },
        ],
    }


def test_use2_the_openapi_schema_documents_the_metering_door_without_warnings() -> None:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()

    schema = SchemaGenerator().get_schema(request=None, public=True)

    validate_schema(schema)
    assert not GENERATOR_STATS, "drf-spectacular emitted warnings or errors (see stderr)"
    post = schema["paths"]["/api/v1/usage/"]["post"]
    assert set(post["responses"]) == {"200", "400", "401", "403", "413", "415", "429"}
    assert "200 even when some values were refused" in post["description"]
    assert set(schema["paths"]["/api/v1/usage/limits/"]["get"]["responses"]) == {"200", "400", "401", "403", "429"}
