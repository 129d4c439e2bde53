"""The SLA API's staff and monitoring door (SLA-2, SLA-7, SLA-8): record idempotently by
`external_id`, resolve, list, schedule maintenance; anyone else 403/401 and nothing written; staff
without their second factor get no staff powers; constant query counts for lists; a schema without
warnings."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from audit.models import AuditEvent
from notifications.models import Notification
from sla.models import Incident, Maintenance
from subscriptions.models import Service
from tests.factories import PASSWORD, member
from tests.sla import helpers
from tests.sla.helpers import (
    api,
    at,
    claim_ticket,
    incident,
    maintenance,
    monitoring_user,
    org_url,
    paid_service,
    refused,
    snapshot,
    staff_user,
)

pytestmark = pytest.mark.django_db

NOW = at(2026, 3, 20, 9, 0)  # Friday 20 March 2026, 10:00 in Zurich


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    helpers.schedule()
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


# --- staff and monitoring: recording and resolving incidents (SLA-2, SLA-8) -----------------------

STAFF_INCIDENTS = "/api/v1/sla/incidents/"


def record_body(*services: Service, **fields: Any) -> dict[str, Any]:
    return {
        "incident_class": "A",
        "cause": "provider",
        "title": "Geneva region down",
        "description": "A power failure in the Geneva data centre.",
        "started_at": "2026-03-20T08:30:00Z",
        "service_ids": [s.pk for s in services],
        "external_id": "mon-4711",
    } | fields


def token_client(user: Any) -> APIClient:
    """As the monitoring system calls: a token from POST /api/v1/auth/token/."""
    token = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json")
    assert token.status_code == 200, token.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return client


def test_sla8_the_monitoring_records_an_incident_idempotently(django_capture_on_commit_callbacks) -> None:
    # given two Organizations' Services and the monitoring system's token
    mine, theirs = member(), member()
    a1, _ = paid_service(mine)
    b1, _ = paid_service(theirs)
    client = token_client(monitoring_user())

    # when it posts the incident, then the same event again
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(STAFF_INCIDENTS, record_body(a1, b1), format="json")
    told = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        second = client.post(STAFF_INCIDENTS, record_body(a1, b1, title="Retry"), format="json")

    # then one incident, told once to each Organization's contact person; the retry answers it, 200
    created = Incident.objects.get()
    assert first.status_code == 201, first.content
    assert first.json() == {
        "id": created.pk,
        "incident_class": "A",
        "cause": "provider",
        "title": "Geneva region down",
        "description": "A power failure in the Geneva data centre.",
        "started_at": "2026-03-20T09:30:00+01:00",
        "resolved_at": None,
        "service_ids": sorted([a1.pk, b1.pk]),
        "external_id": "mon-4711",
        "created_at": "2026-03-20T10:00:00+01:00",
    }
    assert (second.status_code, second.json()) == (200, first.json())
    assert sorted(Notification.objects.values_list("template", "recipient_user_id")) == sorted(
        [("sla_incident_detected", mine.user_id), ("sla_incident_detected", theirs.user_id)]
    )
    assert (told, Notification.objects.count(), len(second_callbacks)) == (2, 2, 0)
    assert created.recorded_by.email == "monitoring@example.com"
    assert AuditEvent.objects.filter(action="sla.incident_recorded", rule="SLA-8").count() == 1


def test_sla2_the_monitoring_resolves_the_incident(django_capture_on_commit_callbacks) -> None:
    # given an open incident
    legal = member()
    service, _ = paid_service(legal)
    ongoing = incident(service, start=at(2026, 3, 20, 8, 0))
    client = token_client(monitoring_user())
    url = f"/api/v1/sla/incidents/{ongoing.pk}/resolve/"

    # when the monitoring resolves it, then once more
    with django_capture_on_commit_callbacks(execute=True):
        resolved = client.post(url, {"resolved_at": "2026-03-20T08:20:00Z"}, format="json")
    again = client.post(url, {"resolved_at": "2026-03-20T08:25:00Z"}, format="json")

    # then it is resolved, the contact person told they may claim; the second time is refused
    assert resolved.status_code == 200, resolved.content
    assert (resolved.json()["id"], resolved.json()["resolved_at"], resolved.json()["service_ids"]) == (
        ongoing.pk,
        "2026-03-20T09:20:00+01:00",
        [service.pk],
    )
    ongoing.refresh_from_db()
    assert ongoing.resolved_at == at(2026, 3, 20, 8, 20)
    assert list(Notification.objects.values_list("template", "recipient_user_id")) == [
        ("sla_incident_resolved", legal.user_id)
    ]
    refused(again, 409, "SLA-2")
    unknown = client.post("/api/v1/sla/incidents/999999/resolve/", {"resolved_at": "2026-03-20T08:25:00Z"})
    assert unknown.status_code == 404


def test_staff_record_an_already_resolved_incident(django_capture_on_commit_callbacks) -> None:
    legal = member()
    service, _ = paid_service(legal)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(staff_user()).post(
            STAFF_INCIDENTS,
            record_body(service, external_id=None, resolved_at="2026-03-20T08:40:00Z", cause="beyond_control"),
            format="json",
        )

    assert response.status_code == 201, response.content
    assert (response.json()["resolved_at"], response.json()["cause"], response.json()["external_id"]) == (
        "2026-03-20T09:40:00+01:00",
        "beyond_control",
        None,
    )
    assert sorted(Notification.objects.values_list("template", flat=True)) == [
        "sla_incident_detected",
        "sla_incident_resolved",
    ]


@pytest.mark.parametrize(
    ("fields", "rule", "field"),
    [
        ({"resolved_at": "2026-03-20T08:00:00Z"}, "SLA-2", "resolved_at"),  # before the start
        ({"resolved_at": "2026-03-20T09:30:00Z"}, "SLA-2", "resolved_at"),  # in the future
        ({"started_at": "2026-03-20T09:01:00Z"}, "SLA-2", "started_at"),  # in the future
        ({"service_ids": [999999]}, "SLA-8", "services"),  # no such Service
        ({"service_ids": []}, "SLA-8", "services"),
    ],
)
def test_refused_incidents_answer_400_with_the_rule_and_change_nothing(
    django_capture_on_commit_callbacks, fields: dict[str, Any], rule: str, field: str
) -> None:
    legal = member()
    service, _ = paid_service(legal)
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        response = api(monitoring_user()).post(STAFF_INCIDENTS, record_body(service, **fields), format="json")

    refused(response, 400, rule)
    assert response.json()["field"] == field
    assert snapshot() == before


def test_a_resolution_before_the_start_is_refused_and_changes_nothing() -> None:
    legal = member()
    service, _ = paid_service(legal)
    ongoing = incident(service, start=at(2026, 3, 20, 8, 0))
    before = snapshot()

    response = api(monitoring_user()).post(
        f"/api/v1/sla/incidents/{ongoing.pk}/resolve/", {"resolved_at": "2026-03-20T07:00:00Z"}, format="json"
    )

    refused(response, 400, "SLA-2")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/sla/incidents/"),
        ("post", "/api/v1/sla/incidents/"),
        ("post", "/api/v1/sla/incidents/{incident}/resolve/"),
        ("post", "/api/v1/sla/maintenance/"),
    ],
)
def test_a_customer_may_not_use_the_staff_door_and_nothing_changes(
    django_capture_on_commit_callbacks, method: str, path: str
) -> None:
    # given a customer (a Legal Responsible), and an open incident of their Service
    legal = member()
    service, _ = paid_service(legal)
    ongoing = incident(service, start=at(2026, 3, 20, 8, 0))
    url = path.format(incident=ongoing.pk)
    body = record_body(service) | {
        "resolved_at": "2026-03-20T08:50:00Z",
        "starts_at": "2026-03-30T20:00:00Z",
        "ends_at": "2026-03-30T21:00:00Z",
    }
    before = snapshot()

    # when the customer, then an anonymous caller, call the staff door
    with django_capture_on_commit_callbacks(execute=True):
        customer = getattr(api(legal.user), method)(url, body, format="json")
        anonymous = getattr(APIClient(), method)(url, body, format="json")

    # then 403 with the rule, 401, and nothing written
    refused(customer, 403, "SLA-7" if "maintenance" in path else "SLA-8")
    assert anonymous.status_code == 401
    assert snapshot() == before


def test_staff_list_every_incident_newest_first_paginated() -> None:
    # given incidents of two Organizations
    a1, _ = paid_service(member())
    b1, _ = paid_service(member())
    older = incident(a1, b1, start=at(2026, 3, 10, 8, 0), minutes=10, external_id="mon-1")
    newer = incident(b1, start=at(2026, 3, 11, 8, 0))

    # when the monitoring lists them
    response = api(monitoring_user()).get(STAFF_INCIDENTS)

    # then every incident with every affected Service, newest first
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [(i["id"], i["service_ids"], i["external_id"]) for i in body["results"]] == [
        (newer.pk, [b1.pk], None),
        (older.pk, sorted([a1.pk, b1.pk]), "mon-1"),
    ]


# --- staff: maintenance (SLA-7) ------------------------------------------------------------------


def test_sla7_staff_schedule_a_maintenance_with_enough_notice(django_capture_on_commit_callbacks) -> None:
    # given a Service; now is Friday 10:00 in Zurich
    legal = member()
    service, _ = paid_service(legal)
    body = {
        "title": "Storage upgrade",
        "starts_at": "2026-03-25T09:00:00Z",  # Wednesday 10:00: 72 business hours ahead
        "ends_at": "2026-03-25T10:00:00Z",
        "service_ids": [service.pk],
    }

    # when staff schedule it
    with django_capture_on_commit_callbacks(execute=True):
        response = api(staff_user()).post("/api/v1/sla/maintenance/", body, format="json")

    # then it is announced to the contact person
    created = Maintenance.objects.get()
    assert response.status_code == 201, response.content
    assert response.json() == {
        "id": created.pk,
        "title": "Storage upgrade",
        "description": "",
        "starts_at": "2026-03-25T10:00:00+01:00",
        "ends_at": "2026-03-25T11:00:00+01:00",
        "urgent": False,
        "urgent_reason": "",
        "announced_at": "2026-03-20T10:00:00+01:00",
        "service_ids": [service.pk],
    }
    assert list(Notification.objects.values_list("template", "recipient_user_id")) == [
        ("sla_maintenance_announced", legal.user_id)
    ]


def test_sla7_a_short_notice_is_refused_unless_urgent() -> None:
    legal = member()
    service, _ = paid_service(legal)
    body = {
        "title": "Storage upgrade",
        "starts_at": "2026-03-23T09:00:00Z",  # Monday 10:00: 24 business hours ahead
        "ends_at": "2026-03-23T10:00:00Z",
        "service_ids": [service.pk],
    }
    before = snapshot()

    short = api(staff_user()).post("/api/v1/sla/maintenance/", body, format="json")
    by_monitoring = api(monitoring_user()).post("/api/v1/sla/maintenance/", body, format="json")
    unchanged = snapshot()
    urgent = api(staff_user()).post(
        "/api/v1/sla/maintenance/", body | {"urgent": True, "urgent_reason": "Security fix"}, format="json"
    )

    refused(short, 400, "SLA-7")
    refused(by_monitoring, 403, "SLA-7")
    assert unchanged == before
    assert (urgent.status_code, urgent.json()["urgent"], urgent.json()["urgent_reason"]) == (201, True, "Security fix")


def test_sla7_an_urgent_window_that_already_started_is_refused() -> None:
    # given a Service
    service, _ = paid_service(member())
    body = {
        "title": "Hypervisor fix",
        "starts_at": "2026-03-20T08:00:00Z",  # an hour before NOW
        "ends_at": "2026-03-20T10:00:00Z",
        "service_ids": [service.pk],
        "urgent": True,
        "urgent_reason": "Security fix",
    }
    before = snapshot()
    # when staff record it
    response = api(staff_user()).post("/api/v1/sla/maintenance/", body, format="json")
    # then it is refused with SLA-7 and why, and nothing changed
    refused(response, 400, "SLA-7")
    assert response.json()["detail"] == (
        "A maintenance window, planned or urgent, is recorded before it starts: this one has already started."
    )
    assert snapshot() == before


# --- query counts --------------------------------------------------------------------------------


def _count_queries(client: APIClient, url: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
    body = response.json()
    assert len(body["results"] if isinstance(body, dict) else body) == rows
    return len(queries.captured_queries)


@pytest.mark.parametrize("what", ["incidents", "maintenance", "claims", "staff"])
def test_list_endpoints_cost_the_same_queries_for_1_and_20_rows(what: str) -> None:
    # given a member with two Services
    legal = member()
    service, _ = paid_service(legal)
    other, _ = paid_service(legal)
    client = api(monitoring_user() if what == "staff" else legal.user)
    url = STAFF_INCIDENTS if what == "staff" else org_url(legal, f"sla/{what}/")

    def make(count: int, offset: int) -> None:
        for i in range(offset, offset + count):
            start = at(2026, 3, 1, 8, 0) + dt.timedelta(hours=i)
            if what == "maintenance":
                maintenance(service, other, start=start, minutes=30)
            elif what == "claims":
                claim_ticket(service, start=start, end=start + dt.timedelta(minutes=9), filed=at(2026, 3, 19))
            else:
                incident(service, other, start=start, minutes=9)

    # when the list is read with one row, then with twenty (after a first call: a user's permissions are
    # read once, then cached on the user)
    client.get(url)
    make(1, 0)
    one = _count_queries(client, url, 1)
    make(19, 1)
    twenty = _count_queries(client, url, 20)

    # then it costs the same queries
    assert twenty == one


def test_the_reports_cost_the_same_queries_for_1_and_20_incidents() -> None:
    legal = member()
    service, _ = paid_service(legal)
    client = api(legal.user)
    url = org_url(legal, f"services/{service.pk}/sla/reports/")
    incident(service, start=at(2026, 1, 1, 8, 0), minutes=9)
    one = _count_queries(client, url, 12)
    for i in range(19):
        incident(service, start=at(2026, 2, 1, 8, 0) + dt.timedelta(days=i), minutes=9)
    twenty = _count_queries(client, url, 12)

    assert twenty == one


def test_the_claimable_incidents_cost_the_same_queries_for_1_and_20_rows() -> None:
    legal = member()
    service, _ = paid_service(legal)
    client = api(legal.user)
    url = org_url(legal, f"services/{service.pk}/sla/claimable/")
    incident(service, start=at(2026, 3, 1, 8, 0), minutes=9)
    one = _count_queries(client, url, 1)
    for i in range(19):
        incident(service, start=at(2026, 3, 2, 8, 0) + dt.timedelta(hours=i), minutes=9)
    twenty = _count_queries(client, url, 20)

    assert (one, twenty) == (one, one), f"{one} queries for 1 row, {twenty} for 20"


# --- the schema ----------------------------------------------------------------------------------


def test_the_openapi_schema_has_the_sla_endpoints_and_no_warning() -> None:
    GENERATOR_STATS.reset()

    schema = SchemaGenerator().get_schema(request=None, public=True)

    validate_schema(schema)
    assert not GENERATOR_STATS, "drf-spectacular emitted warnings or errors (see stderr)"
    paths = schema["paths"]
    assert {
        "/api/v1/organizations/{org_id}/sla/incidents/",
        "/api/v1/organizations/{org_id}/sla/incidents/{incident_id}/",
        "/api/v1/organizations/{org_id}/sla/maintenance/",
        "/api/v1/organizations/{org_id}/sla/claims/",
        "/api/v1/organizations/{org_id}/sla/claims/{claim_id}/",
        "/api/v1/organizations/{org_id}/services/{service_id}/sla/reports/",
        "/api/v1/organizations/{org_id}/services/{service_id}/sla/claimable/",
        "/api/v1/organizations/{org_id}/services/{service_id}/sla/force-majeure-terminate/",
        "/api/v1/sla/incidents/",
        "/api/v1/sla/incidents/{incident_id}/resolve/",
        "/api/v1/sla/maintenance/",
    } <= set(paths)
    assert '"sla_claim"' in paths["/api/v1/organizations/{org_id}/sla/claims/"]["get"]["description"]
    assert set(paths["/api/v1/sla/incidents/"]) == {"get", "post"}


def test_sla8_staff_without_their_second_factor_get_no_staff_powers_through_the_api() -> None:
    # given a staff user holding an API token (password only) and a Service
    service, _ = paid_service()
    staff = staff_user(email="agent@provider.example")
    token = APIClient().post("/api/v1/auth/token/", {"email": staff.email, "password": PASSWORD}, format="json")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    body = {"incident_class": "A", "title": "Down", "started_at": "2026-03-20T08:00:00Z", "service_ids": [service.pk]}
    before = helpers.snapshot()
    # when it records an incident or a maintenance window, or lists the incidents
    answers = [
        client.post("/api/v1/sla/incidents/", body, format="json"),
        client.get("/api/v1/sla/incidents/"),
        api(staff, second_factor=False).post("/api/v1/sla/maintenance/", body, format="json"),
    ]
    # then each is refused and nothing changed
    assert [(a.status_code, a.json()["rule"]) for a in answers] == [(403, "SLA-8"), (403, "SLA-8"), (403, "SLA-7")]
    assert helpers.snapshot() == before
