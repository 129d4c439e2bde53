"""The SLA API (SLA-1…SLA-9): what a member sees of incidents, maintenance, monthly reports, claimable
incidents and claims — exact payloads, tenancy (another Organization's ids answer 404, an incident of
two Organizations shows only the caller's Service), ORG-6 scopes; force-majeure termination (SLA-9).
The staff and monitoring door, query counts and the schema are in test_api_staff.py."""

from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from accounts.models import Membership
from audit.models import AuditEvent
from sla.services import claim_accept, claim_refuse
from subscriptions.models import Service
from tests.factories import member
from tests.sla import helpers
from tests.sla.helpers import (
    api,
    at,
    claim_ticket,
    incident,
    maintenance,
    org_url,
    paid_service,
    refused,
    snapshot,
    staff_user,
)
from tests.support.helpers import scoped

pytestmark = pytest.mark.django_db

Role = Membership.Role
NOW = at(2026, 3, 20, 9, 0)  # Friday 20 March 2026, 10:00 in Zurich


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    helpers.schedule()
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


@pytest.fixture
def two_orgs():  # noqa: ANN201
    """Organization A (two Services) and Organization B (one), with the incident of a region that
    hit A's first Service and B's, and one incident each."""
    mine, theirs = member(), member()
    a1, _ = paid_service(mine)
    a2, _ = paid_service(mine)
    b1, _ = paid_service(theirs)
    region = incident(a1, b1, start=at(2026, 3, 10, 8, 0), minutes=10, title="Region outage")
    only_a2 = incident(a2, start=at(2026, 3, 12, 8, 0), minutes=3, incident_class="B", title="Slow network")
    only_b1 = incident(b1, start=at(2026, 3, 14, 8, 0), title="Their outage")
    return {"mine": mine, "theirs": theirs, "a1": a1, "a2": a2, "b1": b1} | {
        "region": region,
        "only_a2": only_a2,
        "only_b1": only_b1,
    }


# --- incidents (customer) ------------------------------------------------------------------------


def test_sla8_incidents_of_the_members_services_with_only_their_service_ids(two_orgs) -> None:
    # given two Organizations hit by one incident of a region, and one incident each
    mine, theirs, a1, a2, b1 = (two_orgs[k] for k in ("mine", "theirs", "a1", "a2", "b1"))
    region, only_a2, only_b1 = two_orgs["region"], two_orgs["only_a2"], two_orgs["only_b1"]

    # when each lists the incidents
    listed = api(mine.user).get(org_url(mine, "sla/incidents/"))
    theirs_listed = api(theirs.user).get(org_url(theirs, "sla/incidents/"))

    # then each sees its own, newest first, with its own Service ids only
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": only_a2.pk,
            "incident_class": "B",
            "cause": "provider",
            "title": "Slow network",
            "description": "",
            "started_at": "2026-03-12T09:00:00+01:00",
            "resolved_at": "2026-03-12T09:03:00+01:00",
            "service_ids": [a2.pk],
        },
        {
            "id": region.pk,
            "incident_class": "A",
            "cause": "provider",
            "title": "Region outage",
            "description": "",
            "started_at": "2026-03-10T09:00:00+01:00",
            "resolved_at": "2026-03-10T09:10:00+01:00",
            "service_ids": [a1.pk],
        },
    ]
    assert [(i["id"], i["service_ids"]) for i in theirs_listed.json()] == [
        (only_b1.pk, [b1.pk]),
        (region.pk, [b1.pk]),
    ]


def test_incident_detail_shows_only_the_callers_services(two_orgs) -> None:
    mine, theirs, a1, b1, region = (two_orgs[k] for k in ("mine", "theirs", "a1", "b1", "region"))

    ours = api(mine.user).get(org_url(mine, f"sla/incidents/{region.pk}/"))
    their = api(theirs.user).get(org_url(theirs, f"sla/incidents/{region.pk}/"))

    assert ours.status_code == 200
    assert ours.json() == {
        "id": region.pk,
        "incident_class": "A",
        "cause": "provider",
        "title": "Region outage",
        "description": "",
        "started_at": "2026-03-10T09:00:00+01:00",
        "resolved_at": "2026-03-10T09:10:00+01:00",
        "service_ids": [a1.pk],
    }
    assert (their.status_code, their.json()["service_ids"]) == (200, [b1.pk])


def test_an_open_incident_answers_resolved_at_null() -> None:
    legal = member()
    service, _ = paid_service(legal)
    ongoing = incident(service, start=at(2026, 3, 20, 8, 0))

    body = api(legal.user).get(org_url(legal, f"sla/incidents/{ongoing.pk}/")).json()

    assert (body["started_at"], body["resolved_at"]) == ("2026-03-20T09:00:00+01:00", None)


def test_org6_a_limited_member_sees_only_the_incidents_and_ids_of_their_services(two_orgs) -> None:
    # given a technical member limited to A's first Service, and an incident of both A's Services
    mine, a1, a2, region = (two_orgs[k] for k in ("mine", "a1", "a2", "region"))
    limited = scoped(mine, Role.TECHNICAL, a1)
    both = incident(a1, a2, start=at(2026, 3, 15, 8, 0), minutes=1, title="Both")

    # when the limited member and the Legal Responsible list the incidents
    seen = api(limited.user).get(org_url(mine, "sla/incidents/")).json()
    everything = api(mine.user).get(org_url(mine, "sla/incidents/")).json()

    # then the limited member sees neither the other Service's incident nor its id
    assert [(i["id"], i["service_ids"]) for i in seen] == [(both.pk, [a1.pk]), (region.pk, [a1.pk])]
    assert [i["service_ids"] for i in everything][0] == sorted([a1.pk, a2.pk])
    assert api(limited.user).get(org_url(mine, f"sla/incidents/{two_orgs['only_a2'].pk}/")).status_code == 404


# --- maintenance (customer) ----------------------------------------------------------------------


def test_sla7_maintenance_of_the_members_services_only() -> None:
    # given one window on a Service of each Organization and one on theirs only
    mine, theirs = member(), member()
    a1, _ = paid_service(mine)
    b1, _ = paid_service(theirs)
    shared = maintenance(a1, b1, start=at(2026, 3, 25, 20, 0), minutes=60)
    maintenance(b1, start=at(2026, 3, 26, 20, 0), minutes=30, urgent=True)
    limited = scoped(mine, Role.TECHNICAL, paid_service(mine)[0])

    # when they list the maintenance windows
    listed = api(mine.user).get(org_url(mine, "sla/maintenance/"))

    # then only their window, with their Service id only
    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": shared.pk,
            "title": "Storage upgrade",
            "description": "",
            "starts_at": "2026-03-25T21:00:00+01:00",
            "ends_at": "2026-03-25T22:00:00+01:00",
            "urgent": False,
            "urgent_reason": "",
            "announced_at": "2026-03-18T21:00:00+01:00",
            "service_ids": [a1.pk],
        }
    ]
    assert api(limited.user).get(org_url(mine, "sla/maintenance/")).json() == []
    assert [m["service_ids"] for m in api(theirs.user).get(org_url(theirs, "sla/maintenance/")).json()] == [
        [b1.pk],
        [b1.pk],
    ]


# --- monthly reports (SLA-1) ---------------------------------------------------------------------


def test_sla1_the_last_twelve_months_of_a_service() -> None:
    # given 10 minutes of a class-A outage in March 2026 (the month of the change to summer time)
    legal = member()
    service, _ = paid_service(legal)
    incident(service, start=at(2026, 3, 10, 8, 0), minutes=10)

    # when the reports are read
    response = api(legal.user).get(org_url(legal, f"services/{service.pk}/sla/reports/"))

    # then twelve months, oldest first, March short of the commitment's limit of 5 minutes
    assert response.status_code == 200
    reports = response.json()
    assert [(r["year"], r["month"]) for r in reports] == [(2025, m) for m in range(4, 13)] + [
        (2026, 1),
        (2026, 2),
        (2026, 3),
    ]
    assert reports[-2] == {
        "year": 2026,
        "month": 2,
        "total_minutes": 40320,
        "unavailable_minutes": "0.00",
        "availability": "100.000",
        "commitment": "99.900",
        "meets_commitment": True,
        "limit_minutes": 5,
        "limit_exceeded": False,
    }
    assert reports[-1] == {
        "year": 2026,
        "month": 3,
        "total_minutes": 27960,  # the month in progress: from 1 March 00:00 to now (20 March 10:00 in Zurich)
        "unavailable_minutes": "10.00",
        "availability": "99.964",
        "commitment": "99.900",
        "meets_commitment": True,
        "limit_exceeded": True,
        "limit_minutes": 5,
    }


# --- claimable incidents and claims (SLA-5) ------------------------------------------------------


def test_sla5_claimable_incidents_with_the_last_day_and_the_prefilled_ticket() -> None:
    # given a resolved outage of the provider, an ongoing one and one beyond the provider's control
    legal = member()
    service, _ = paid_service(legal)
    outage = incident(service, start=at(2026, 3, 10, 8, 0), minutes=10)
    incident(service, start=at(2026, 3, 19, 8, 0))
    incident(service, start=at(2026, 3, 11, 8, 0), minutes=30, cause="beyond_control")

    # when the claimable incidents are read
    response = api(legal.user).get(org_url(legal, f"services/{service.pk}/sla/claimable/"))

    # then only the provider's resolved outage, claimable until two months after its start
    assert response.status_code == 200
    assert response.json() == [
        {
            "incident_id": outage.pk,
            "incident_class": "A",
            "cause": "provider",
            "title": "Region outage",
            "started_at": "2026-03-10T09:00:00+01:00",
            "resolved_at": "2026-03-10T09:10:00+01:00",
            "last_day": "2026-05-10",
            "ticket": {
                "kind": "sla_claim",
                "service_id": service.pk,
                "claim_start": "2026-03-10T09:00:00+01:00",
                "claim_end": "2026-03-10T09:10:00+01:00",
            },
        }
    ]


def test_the_prefilled_ticket_files_a_claim_through_the_support_api() -> None:
    # given a claimable outage
    legal = member()
    service, _ = paid_service(legal)
    incident(service, start=at(2026, 3, 10, 8, 0), minutes=10)
    client = api(legal.user)
    prefill = client.get(org_url(legal, f"services/{service.pk}/sla/claimable/")).json()[0]["ticket"]

    # when the customer opens the ticket with it
    opened = client.post(
        org_url(legal, "tickets/"), prefill | {"subject": "Outage", "body": "Down 10 minutes."}, format="json"
    )

    # then the claim is listed, pending, and the incident is no longer claimable
    assert opened.status_code == 201, opened.content
    claims = client.get(org_url(legal, "sla/claims/")).json()
    assert [(c["ticket_id"], c["status"], c["penalty"]) for c in claims] == [(opened.json()["id"], "pending", None)]
    assert client.get(org_url(legal, f"services/{service.pk}/sla/claimable/")).json() == []


def test_sla5_claims_pending_accepted_with_its_penalty_and_refused(django_capture_on_commit_callbacks) -> None:
    # given three claims: one pending, one accepted (its penalty credited), one refused
    legal = member()
    service, invoice = paid_service(legal)
    outage = incident(service, start=at(2026, 3, 10, 8, 0), minutes=10)
    accepted = claim_ticket(service, start=at(2026, 3, 10, 8, 0), end=at(2026, 3, 10, 8, 10), filed=at(2026, 3, 11))
    refused_claim = claim_ticket(service, start=at(2026, 3, 1, 8), end=at(2026, 3, 1, 9), filed=at(2026, 3, 12))
    pending = claim_ticket(service, start=at(2026, 3, 12, 8), end=at(2026, 3, 12, 9), filed=at(2026, 3, 13))
    agent = staff_user()
    with django_capture_on_commit_callbacks(execute=True):
        claim_accept(claim=accepted, incident=outage, staff_user=agent, now=at(2026, 3, 16))
    claim_refuse(claim=refused_claim, staff_user=agent, reason="Your own script", cause="customer_misuse", now=NOW)

    # when the claims are listed and one is read
    listed = api(legal.user).get(org_url(legal, "sla/claims/"))
    one = api(legal.user).get(org_url(legal, f"sla/claims/{accepted.pk}/"))

    # then newest filed first; the accepted one with 10 % + 5 × 1 % (A2) of CHF 108.10
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [pending.pk, refused_claim.pk, accepted.pk]
    assert one.status_code == 200
    assert one.json() == {
        "id": accepted.pk,
        "service_id": service.pk,
        "ticket_id": accepted.ticket_id,
        "status": "accepted",
        "claimed_start": "2026-03-10T09:00:00+01:00",
        "claimed_end": "2026-03-10T09:10:00+01:00",
        "filed_at": "2026-03-11T01:00:00+01:00",
        "incident_id": outage.pk,
        "decided_at": "2026-03-16T01:00:00+01:00",
        "refusal_reason": "",
        "refusal_cause": "",
        "penalty": {
            "percent": "15.00",
            "amount": "16.22",
            "currency": "CHF",
            "capped": False,
            "credited_at": "2026-03-20T10:00:00+01:00",
        },
    }
    assert listed.json()[1] == {
        "id": refused_claim.pk,
        "service_id": service.pk,
        "ticket_id": refused_claim.ticket_id,
        "status": "refused",
        "claimed_start": "2026-03-01T09:00:00+01:00",
        "claimed_end": "2026-03-01T10:00:00+01:00",
        "filed_at": "2026-03-12T01:00:00+01:00",
        "incident_id": None,
        "decided_at": "2026-03-20T10:00:00+01:00",
        "refusal_reason": "Your own script",
        "refusal_cause": "customer_misuse",
        "penalty": None,
    }
    assert (listed.json()[0]["status"], listed.json()[0]["penalty"]) == ("pending", None)
    assert invoice.total_incl_vat == Decimal("108.10")


def test_sla5_an_incident_whose_claim_was_refused_is_no_longer_claimable() -> None:
    # given an outage whose claim our staff refused
    legal = member()
    service, _ = paid_service(legal)
    incident(service, start=at(2026, 3, 10, 8, 0), minutes=10)
    claim = claim_ticket(service, start=at(2026, 3, 10, 8, 0), end=at(2026, 3, 10, 8, 10), filed=at(2026, 3, 11))
    claim_refuse(claim=claim, staff_user=staff_user(), reason="Not our fault", now=NOW)

    # when the claimable incidents are read
    claimable = api(legal.user).get(org_url(legal, f"services/{service.pk}/sla/claimable/")).json()

    # then it is not offered again (it is discussed on the claim's ticket)
    assert claimable == []


def test_org6_a_limited_member_sees_only_the_claims_of_their_services() -> None:
    legal = member()
    mine, _ = paid_service(legal)
    other, _ = paid_service(legal)
    limited = scoped(legal, Role.TECHNICAL, mine)
    seen = claim_ticket(mine, start=at(2026, 3, 10, 8), end=at(2026, 3, 10, 9), filed=at(2026, 3, 11))
    hidden = claim_ticket(other, start=at(2026, 3, 10, 8), end=at(2026, 3, 10, 9), filed=at(2026, 3, 11))

    assert [c["id"] for c in api(limited.user).get(org_url(legal, "sla/claims/")).json()] == [seen.pk]
    assert api(limited.user).get(org_url(legal, f"sla/claims/{hidden.pk}/")).status_code == 404
    assert api(limited.user).get(org_url(legal, f"services/{other.pk}/sla/reports/")).status_code == 404
    assert api(limited.user).get(org_url(legal, f"services/{other.pk}/sla/claimable/")).status_code == 404


# --- tenancy on every customer endpoint ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "sla/incidents/"),
        ("get", "sla/incidents/{incident}/"),
        ("get", "sla/maintenance/"),
        ("get", "sla/claims/"),
        ("get", "sla/claims/{claim}/"),
        ("get", "services/{service}/sla/reports/"),
        ("get", "services/{service}/sla/claimable/"),
        ("post", "services/{service}/sla/force-majeure-terminate/"),
    ],
)
@pytest.mark.parametrize("organization", ["theirs", "mine"])
def test_tenancy_another_organizations_sla_ids_answer_404(method: str, path: str, organization: str) -> None:
    # given their Service under force majeure, with an incident, a claim and a maintenance window
    mine, theirs = member(), member()
    service, _ = paid_service(theirs)
    fm = incident(service, start=at(2026, 3, 19, 8, 0), cause="force_majeure")
    claim = claim_ticket(service, start=at(2026, 3, 10, 8), end=at(2026, 3, 10, 9), filed=at(2026, 3, 11))
    maintenance(service, start=at(2026, 3, 25, 20, 0), minutes=60)
    before = snapshot()
    base = org_url(theirs if organization == "theirs" else mine, "")
    url = base + path.format(incident=fm.pk, claim=claim.pk, service=service.pk)

    # when I ask for them, under their Organization or under mine
    response = getattr(api(mine.user), method)(url, {"incident_id": fm.pk, "confirm": True}, format="json")

    # then 404 — under my Organization, the lists are simply empty — and nothing changed
    if organization == "mine" and path in ("sla/incidents/", "sla/maintenance/", "sla/claims/"):
        assert (response.status_code, response.json()) == (200, [])
    else:
        assert response.status_code == 404, response.content
    assert snapshot() == before


# --- force majeure (SLA-9) -----------------------------------------------------------------------


def fm_url(membership: Membership, service: Service) -> str:
    return org_url(membership, f"services/{service.pk}/sla/force-majeure-terminate/")


def test_sla9_the_customer_terminates_at_once_during_force_majeure() -> None:
    # given a force-majeure incident going on for the Service
    legal = member()
    service, _ = paid_service(legal)
    fm = incident(service, start=at(2026, 3, 19, 8, 0), cause="force_majeure")

    # when the Legal Responsible terminates, confirming
    response = api(legal.user).post(fm_url(legal, service), {"incident_id": fm.pk, "confirm": True}, format="json")

    # then the Service is terminated at once under SLA-9
    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["status"]) == (service.pk, "terminated")
    service.refresh_from_db()
    assert (service.status, service.terminated_at) == ("terminated", NOW)
    event = AuditEvent.objects.get(action="service.terminated")
    assert (event.rule, event.actor_user_id, event.object_id) == ("SLA-9", legal.user_id, str(service.pk))


def test_sla9_refusals_change_nothing() -> None:
    # given a Service under force majeure, an ordinary outage, and a technical colleague
    legal = member()
    service, _ = paid_service(legal)
    fm = incident(service, start=at(2026, 3, 19, 8, 0), cause="force_majeure")
    outage = incident(service, start=at(2026, 3, 19, 9, 0))
    over = incident(service, start=at(2026, 3, 1, 8, 0), minutes=60, cause="force_majeure")
    technical = member(Role.TECHNICAL, organization=legal.organization)
    before = snapshot()
    url = fm_url(legal, service)

    # when they try without confirming, with another cause, with a force majeure that is over, as technical
    unconfirmed = api(legal.user).post(url, {"incident_id": fm.pk}, format="json")
    not_fm = api(legal.user).post(url, {"incident_id": outage.pk, "confirm": True}, format="json")
    ended = api(legal.user).post(url, {"incident_id": over.pk, "confirm": True}, format="json")
    by_technical = api(technical.user).post(url, {"incident_id": fm.pk, "confirm": True}, format="json")
    unknown = api(legal.user).post(url, {"incident_id": 999999, "confirm": True}, format="json")
    no_body = api(legal.user).post(url, {}, format="json")

    # then each is refused with its rule and nothing changed
    refused(unconfirmed, 400, "SC 8.3")
    refused(not_fm, 409, "SLA-9")
    refused(ended, 409, "SLA-9")
    refused(by_technical, 403, "ORG-5")
    assert unknown.status_code == 404
    assert (no_body.status_code, list(no_body.json()["errors"])) == (400, ["incident_id"])
    assert snapshot() == before
