"""Billing API: catalog, services (list, retrieve, order, trial, convert), invoices — tenancy (another
Organization's ids answer 404), ORG-6 scopes, and constant query counts for lists."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing.models import Invoice
from subscriptions.models import MembershipServiceScope, Service
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import AcceptanceFactory, DocumentVersionFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine():  # noqa: ANN201
    legal = member()
    AcceptanceFactory(organization=legal.organization, version=DocumentVersionFactory(label="tcu"), user=legal.user)
    return legal


@pytest.fixture
def theirs():  # noqa: ANN201
    return member()


@pytest.fixture
def plan():  # noqa: ANN201
    plan = PlanFactory(service_type=service_type(), name="M")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    return plan


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_catalog_shows_vat_included_prices_for_a_swiss_customer(mine, plan) -> None:
    response = api(mine.user).get(f"/api/v1/organizations/{mine.organization_id}/catalog/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "plan_id": plan.pk,
            "service_type": "jelastic-cloud",
            "service_type_name": "Jelastic Cloud",
            "plan": "M",
            "period": "monthly",
            "currency": "CHF",
            "price_excl_vat": "20.00",
            "price_shown": "21.62",
            "trial_days": 30,
        }
    ]


def test_order_trial_and_convert_through_the_api(mine, plan) -> None:
    client = api(mine.user)
    base = f"/api/v1/organizations/{mine.organization_id}"

    ordered = client.post(f"{base}/services/", {"plan_id": plan.pk}, format="json")
    trial = client.post(f"{base}/trials/", {"plan_id": plan.pk}, format="json")
    converted = client.post(f"{base}/services/{trial.json()['id']}/convert/")
    listed = client.get(f"{base}/services/")
    invoices = client.get(f"{base}/invoices/")

    assert ordered.status_code == 201
    assert (ordered.json()["service"]["status"], ordered.json()["invoice"]["total_incl_vat"]) == (
        "awaiting_payment",
        "21.62",
    )
    assert (trial.status_code, trial.json()["status"]) == (201, "trial")
    assert (converted.status_code, converted.json()["kind"]) == (201, "order")
    assert sorted(s["status"] for s in listed.json()) == ["awaiting_payment", "trial"]
    assert [i["number"] for i in invoices.json()] == ["00000002", "00000001"]


def test_a_refused_trial_names_its_rule(mine, plan) -> None:
    hosting = PlanFactory(service_type=service_type("web-hosting"))

    response = api(mine.user).post(
        f"/api/v1/organizations/{mine.organization_id}/trials/", {"plan_id": hosting.pk}, format="json"
    )

    assert (response.status_code, response.json()["rule"]) == (400, "REN-7")
    assert Service.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/catalog/"),
        ("get", "/services/"),
        ("post", "/services/"),
        ("post", "/trials/"),
        ("get", "/services/{service}/"),
        ("post", "/services/{service}/convert/"),
        ("get", "/invoices/"),
        ("get", "/invoices/{invoice}/"),
    ],
)
def test_tenancy_another_organizations_billing_answers_404(mine, theirs, plan, method: str, path: str) -> None:
    service = ServiceFactory(
        organization=theirs.organization,
        status="trial",
        trial_ends_on=dt.date(2026, 4, 1),
        anchor_date=None,
        expires_on=None,
        term=0,
    )
    invoice = InvoiceFactory(organization=theirs.organization)
    before = (list(Service.objects.values()), list(Invoice.objects.values()))
    url = f"/api/v1/organizations/{theirs.organization_id}" + path.format(service=service.pk, invoice=invoice.pk)

    response = getattr(api(mine.user), method)(url, {"plan_id": plan.pk}, format="json")

    assert response.status_code == 404
    assert (list(Service.objects.values()), list(Invoice.objects.values())) == before


def test_tenancy_their_service_or_invoice_under_my_organization_is_404(mine, theirs) -> None:
    service = ServiceFactory(organization=theirs.organization)
    invoice = InvoiceFactory(organization=theirs.organization)
    base = f"/api/v1/organizations/{mine.organization_id}"

    assert api(mine.user).get(f"{base}/services/{service.pk}/").status_code == 404
    assert api(mine.user).get(f"{base}/invoices/{invoice.pk}/").status_code == 404


def test_org6_a_member_limited_to_one_service_sees_only_it_and_its_invoices(mine) -> None:
    technical = member("technical", organization=mine.organization)
    visible = ServiceFactory(organization=mine.organization)
    hidden = ServiceFactory(organization=mine.organization)
    MembershipServiceScope.objects.create(membership=technical, service=visible)
    InvoiceFactory(organization=mine.organization, service=visible, number=11)
    InvoiceFactory(organization=mine.organization, service=hidden, number=12)
    base = f"/api/v1/organizations/{mine.organization_id}"

    services = api(technical.user).get(f"{base}/services/").json()
    invoices = api(technical.user).get(f"{base}/invoices/").json()

    assert [s["id"] for s in services] == [visible.pk]
    assert [i["number"] for i in invoices] == ["00000011"]
    assert api(technical.user).get(f"{base}/services/{hidden.pk}/").status_code == 404
    assert len(api(mine.user).get(f"{base}/services/").json()) == 2  # not limited


@pytest.mark.parametrize("path", ["/services/", "/invoices/"])
def test_list_endpoints_cost_the_same_queries_for_1_and_50_rows(mine, path: str) -> None:
    client = api(mine.user)
    url = f"/api/v1/organizations/{mine.organization_id}{path}"

    def make(count: int) -> None:
        for _ in range(count):
            if path == "/services/":
                ServiceFactory(organization=mine.organization)
            else:
                InvoiceFactory(organization=mine.organization)

    make(1)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url).json()) == 1
    make(49)
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(url).json()) == 50

    assert len(fifty.captured_queries) == len(one.captured_queries)
