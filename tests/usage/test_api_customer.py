"""The customer API of a usage Service (USE-6, USE-7): the month so far with the page's figures,
the budget GET/PUT/DELETE, refusals that change nothing, tenancy on every endpoint."""

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Membership
from billing.models import Invoice
from subscriptions.models import MembershipServiceScope
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import member
from tests.usage.portal_helpers import RATES, D, at, fill, put_hours, usage_service
from usage.models import Budget, UsageMonth

pytestmark = pytest.mark.django_db

Role = Membership.Role
NOW = at(2026, 4, 10, 8, 0)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def api(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def url(membership: Membership, service_id: int, suffix: str = "usage") -> str:
    return f"/api/v1/organizations/{membership.organization_id}/services/{service_id}/{suffix}/"


def test_use7_the_api_gives_the_pages_figures() -> None:
    # given
    legal = member()
    service = usage_service(legal)
    fill(
        service,
        dt.date(2026, 4, 1),
        dt.date(2026, 4, 10),
        {"reserved-cloudlets": D("4"), "storage": D("10")},
        last_slots=10,
    )
    for day in range(1, 10):
        put_hours(service, "traffic", dt.date(2026, 4, day), {12: D("1.5")})
    march = InvoiceFactory(organization=legal.organization, service=service, kind=Invoice.Kind.USAGE)
    UsageMonth.objects.create(service=service, month=dt.date(2026, 3, 1), closed_at=NOW, invoice=march)
    Budget.objects.create(service=service, amount=D("20.00"), updated_at=NOW, updated_by=legal.user)
    # when
    response = api(legal).get(url(legal, service.pk))
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["month"], body["today"], body["currency"], body["vat_rate"]) == (
        "2026-04-01",
        "2026-04-10",
        "CHF",
        "8.10",
    )
    assert body["resources"][0] == {
        "resource": "reserved-cloudlets",
        "unit": "cloudlet-hour",
        "quantity": "904.000000",
        "rate": "0.008000",
        "amount_excl_vat": "7.23",
        "vat": "0.59",
        "amount": "7.82",
        "threshold": None,
        "threshold_percent": None,
    }
    assert (body["total_excl_vat"], body["total_vat"], body["total"], body["forecast"]) == (
        "8.36",
        "0.69",
        "9.05",
        "28.25",
    )
    assert len(body["days"]) == 10
    assert body["days"][0] == {
        "day": "2026-04-01",
        "amount": "0.96",
        "quantities": {"reserved-cloudlets": "96.000000", "storage": "240.000000", "traffic": "1.500000"},
    }
    assert body["days"][9]["amount"] == "0.37"
    assert len(body["invoiced"]) == 12
    assert body["invoiced"][0] == {
        "month": "2025-04-01",
        "invoice_id": None,
        "invoice_number": None,
        "status": None,
        "amount": "0.00",
    }
    assert body["invoiced"][-1] == {
        "month": "2026-03-01",
        "invoice_id": march.pk,
        "invoice_number": march.display_number,
        "status": "open",
        "amount": "108.10",
    }
    assert body["budget"]["amount"] == "20.00" and body["budget_percent"] == "45.3"
    assert body["limits"] == []


def test_use6_budget_get_put_delete() -> None:
    legal = member()
    service = usage_service(legal)
    client = api(legal)
    missing = client.get(url(legal, service.pk, "usage/budget"))
    assert (missing.status_code, missing.json()["rule"]) == (404, "USE-6")
    put = client.put(
        url(legal, service.pk, "usage/budget"), {"amount": "75.50", "limit_at_budget": True}, format="json"
    )
    assert put.status_code == 200
    assert put.json()["amount"] == "75.50" and put.json()["limit_at_budget"] is True
    assert client.get(url(legal, service.pk, "usage/budget")).json()["amount"] == "75.50"
    assert client.delete(url(legal, service.pk, "usage/budget")).status_code == 204
    assert not Budget.objects.exists()


def test_use6_a_refused_put_changes_nothing() -> None:
    legal = member()
    service = usage_service(legal)
    Budget.objects.create(service=service, amount=D("20.00"), updated_at=NOW, updated_by=legal.user)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    refused = api(technical).put(url(legal, service.pk, "usage/budget"), {"amount": "99.00"}, format="json")
    assert (refused.status_code, refused.json()["rule"]) == (403, "ORG-5")
    deleted = api(technical).delete(url(legal, service.pk, "usage/budget"))
    assert deleted.status_code == 403
    bad = api(legal).put(url(legal, service.pk, "usage/budget"), {"amount": "0"}, format="json")
    assert bad.status_code == 400 and "amount" in bad.json()["errors"]
    assert Budget.objects.values_list("amount", flat=True).get() == D("20.00")


@pytest.mark.parametrize("suffix", ["usage", "usage/budget"])
@pytest.mark.parametrize("case", ["other_organization", "scoped_elsewhere", "not_usage"])
def test_org6_every_usage_endpoint_answers_404_outside_what_the_member_sees(suffix: str, case: str) -> None:
    legal = member()
    service = usage_service(legal)
    Budget.objects.create(service=service, amount=D("20.00"), updated_at=NOW, updated_by=legal.user)
    viewer, target = legal, service.pk
    if case == "other_organization":
        viewer = member()
    elif case == "scoped_elsewhere":
        viewer = member(Role.BILLING, organization=legal.organization)
        MembershipServiceScope.objects.create(membership=viewer, service=usage_service(legal, plan=service.plan))
    else:
        target = ServiceFactory(organization=legal.organization).pk
    client = api(viewer)
    assert client.get(url(viewer, target, suffix)).status_code == 404
    if suffix == "usage/budget":
        assert client.put(url(viewer, target, suffix), {"amount": "1.00"}, format="json").status_code == 404
        assert client.delete(url(viewer, target, suffix)).status_code == 404
    # and through the caller's own Organization id with another's Service
    if case == "other_organization":
        assert client.get(url(legal, service.pk, suffix)).status_code == 404
    assert Budget.objects.values_list("amount", flat=True).get() == D("20.00")


def test_use7_the_api_reads_a_fixed_number_of_queries_whatever_the_month() -> None:
    legal = member()
    empty = usage_service(legal)
    full = usage_service(legal, plan=empty.plan)
    fill(full, dt.date(2026, 4, 1), dt.date(2026, 4, 10), dict.fromkeys(RATES, D("1")), last_slots=10)
    client = api(legal)
    counts = []
    for service in (empty, full):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(legal, service.pk)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 14
