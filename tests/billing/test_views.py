"""Billing pages: order from the catalog, service and invoice pages, and tenancy on each."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Invoice, Service
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import AcceptanceFactory, DocumentVersionFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def legal():  # noqa: ANN201
    legal = member()
    AcceptanceFactory(organization=legal.organization, version=DocumentVersionFactory(label="tcu"), user=legal.user)
    return legal


@pytest.fixture
def plan():  # noqa: ANN201
    plan = PlanFactory(service_type=service_type(), name="M")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    return plan


def logged_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def test_catalog_shows_the_vat_included_price_and_orders(legal, plan) -> None:
    client = logged_in(legal.user)
    url = reverse("billing:order", args=[legal.organization_id])

    page = client.get(url)
    ordered = client.post(url, {"plan": plan.pk})

    assert "CHF 21.62" in page.content.decode()
    assert "Free trial (30 days)" in page.content.decode()
    service = Service.objects.get()
    assert ordered.url == reverse("billing:service", args=[legal.organization_id, service.pk])
    assert service.status == "awaiting_payment"
    invoice = Invoice.objects.get()
    assert (
        invoice.display_number
        in logged_in(legal.user).get(reverse("billing:invoices", args=[legal.organization_id])).content.decode()
    )


def test_a_trial_from_the_catalog_then_its_conversion(legal, plan) -> None:
    client = logged_in(legal.user)

    client.post(reverse("billing:order", args=[legal.organization_id]), {"plan": plan.pk, "trial": "on"})
    service = Service.objects.get()
    converted = client.post(reverse("billing:service_convert", args=[legal.organization_id, service.pk]))

    invoice = Invoice.objects.get()
    assert service.status == "trial"
    assert converted.url == reverse("billing:invoice", args=[legal.organization_id, invoice.pk])
    page = client.get(converted.url).content.decode()
    assert "21.62" in page


def test_a_refused_order_shows_its_reason_and_changes_nothing(legal, plan) -> None:
    legal.organization.status = "blocked"
    legal.organization.save()

    response = logged_in(legal.user).post(
        reverse("billing:order", args=[legal.organization_id]), {"plan": plan.pk}, follow=True
    )

    assert "This organization is blocked: it cannot order." in response.content.decode()
    assert Service.objects.count() == Invoice.objects.count() == 0


def test_tenancy_their_service_and_invoice_pages_are_404(legal, plan) -> None:
    theirs = member()
    service = ServiceFactory(
        organization=theirs.organization,
        status="trial",
        trial_ends_on=dt.date(2026, 4, 1),
        anchor_date=None,
        expires_on=None,
        term=0,
    )
    invoice = InvoiceFactory(organization=theirs.organization)
    client = logged_in(legal.user)
    mine, their_org = legal.organization_id, theirs.organization_id

    responses = [
        client.get(reverse("billing:service", args=[mine, service.pk])),
        client.get(reverse("billing:invoice", args=[mine, invoice.pk])),
        client.post(reverse("billing:service_convert", args=[mine, service.pk])),
        client.get(reverse("billing:service", args=[their_org, service.pk])),
        client.get(reverse("billing:invoice", args=[their_org, invoice.pk])),
        client.post(reverse("billing:order", args=[their_org]), {"plan": plan.pk}),
        client.post(reverse("billing:service_convert", args=[their_org, service.pk])),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert Invoice.objects.count() == 1
    assert Service.objects.get().status == "trial"


def test_invoice_pdf_for_members_only(legal) -> None:
    invoice = InvoiceFactory(organization=legal.organization)
    theirs = InvoiceFactory(organization=member().organization)
    client = logged_in(legal.user)

    pdf = client.get(reverse("billing:invoice_pdf", args=[legal.organization_id, invoice.pk]))
    foreign = client.get(reverse("billing:invoice_pdf", args=[legal.organization_id, theirs.pk]))
    api = client.get(f"/api/v1/organizations/{legal.organization_id}/invoices/{invoice.pk}/pdf/")
    api_foreign = client.get(f"/api/v1/organizations/{theirs.organization_id}/invoices/{theirs.pk}/pdf/")

    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="invoice-{invoice.display_number}.pdf"' in pdf["Content-Disposition"]
    assert (api.status_code, api.content[:4]) == (200, b"%PDF")
    assert (foreign.status_code, api_foreign.status_code) == (404, 404)
