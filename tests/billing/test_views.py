"""Billing pages: order from the catalog, service and invoice pages, and tenancy on each."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from subscriptions.models import Service
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
    url = reverse("subscriptions:order", args=[legal.organization_id])

    page = client.get(url)
    ordered = client.post(url, {"plan": plan.pk, "confirm": "on"})

    assert "CHF 21.62" in page.content.decode()
    assert "Free trial (30 days)" in page.content.decode()
    service = Service.objects.get()
    invoice = Invoice.objects.get()
    assert ordered.url == reverse("billing:invoice", args=[legal.organization_id, invoice.pk])
    assert service.status == "awaiting_payment"
    assert (
        invoice.display_number
        in logged_in(legal.user).get(reverse("billing:invoices", args=[legal.organization_id])).content.decode()
    )


def test_a_trial_from_the_catalog_then_its_conversion(legal, plan) -> None:
    client = logged_in(legal.user)

    client.post(reverse("subscriptions:order", args=[legal.organization_id]), {"plan": plan.pk, "trial": "on"})
    service = Service.objects.get()
    converted = client.post(reverse("subscriptions:service_convert", args=[legal.organization_id, service.pk]))

    invoice = Invoice.objects.get()
    assert service.status == "trial"
    assert converted.url == reverse("billing:invoice", args=[legal.organization_id, invoice.pk])
    page = client.get(converted.url).content.decode()
    assert "21.62" in page


def test_a_refused_order_shows_its_reason_and_changes_nothing(legal, plan) -> None:
    legal.organization.status = "blocked"
    legal.organization.save()

    response = logged_in(legal.user).post(
        reverse("subscriptions:order", args=[legal.organization_id]), {"plan": plan.pk, "confirm": "on"}, follow=True
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
        client.get(reverse("subscriptions:service", args=[mine, service.pk])),
        client.get(reverse("billing:invoice", args=[mine, invoice.pk])),
        client.post(reverse("subscriptions:service_convert", args=[mine, service.pk])),
        client.get(reverse("subscriptions:service", args=[their_org, service.pk])),
        client.get(reverse("billing:invoice", args=[their_org, invoice.pk])),
        client.post(reverse("subscriptions:order", args=[their_org]), {"plan": plan.pk}),
        client.post(reverse("subscriptions:order", args=[their_org]), {"plan": plan.pk, "confirm": "on"}),
        client.post(reverse("subscriptions:service_convert", args=[their_org, service.pk])),
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


def test_pay_an_invoice_by_card_in_the_portal_and_through_the_api(legal) -> None:
    from django.utils import timezone

    from billing.services.means import means_add_card

    card = means_add_card(
        organization=legal.organization,
        user=legal.user,
        number="4242424242424242",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=True,
        now=timezone.now(),
    )
    first = InvoiceFactory(organization=legal.organization)
    second = InvoiceFactory(organization=legal.organization)
    client = logged_in(legal.user)

    page = client.post(
        reverse("billing:invoice", args=[legal.organization_id, first.pk]),
        {"prepaid_amount": "0", "means": str(card.pk)},
        follow=True,
    )
    api = client.post(
        f"/api/v1/organizations/{legal.organization_id}/invoices/{second.pk}/pay/",
        {"prepaid_amount": "0", "means_id": card.pk},
        content_type="application/json",
    )
    again = client.post(
        f"/api/v1/organizations/{legal.organization_id}/invoices/{second.pk}/pay/",
        {"prepaid_amount": "0", "means_id": card.pk},
        content_type="application/json",
    )

    assert "Thank you, the payment is received." in page.content.decode()
    first.refresh_from_db()
    assert first.status == "paid"
    assert (api.status_code, api.json()["status"], api.json()["card_payment"]["amount"]) == (200, "paid", "108.10")
    assert (again.status_code, again.json()["rule"]) == (409, "BIL-6")


def test_a_declined_card_answers_402_and_changes_nothing(legal) -> None:
    from django.utils import timezone

    from billing.services.means import means_add_card

    card = means_add_card(
        organization=legal.organization,
        user=legal.user,
        number="4000000000000002",
        exp_month=12,
        exp_year=2030,
        cvc="123",
        make_default=True,
        now=timezone.now(),
    )
    invoice = InvoiceFactory(organization=legal.organization)

    response = logged_in(legal.user).post(
        f"/api/v1/organizations/{legal.organization_id}/invoices/{invoice.pk}/pay/",
        {"prepaid_amount": "0", "means_id": card.pk},
        content_type="application/json",
    )

    assert (response.status_code, response.json()["rule"]) == (402, "BIL-4")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))


def test_tenancy_paying_their_invoice_or_with_their_card_is_404(legal) -> None:
    from billing.models import PaymentMeans

    theirs = member()
    their_card = PaymentMeans.objects.create(
        organization=theirs.organization,
        kind="card",
        card_brand="Visa",
        card_last4="4242",
        card_exp_month=12,
        card_exp_year=2030,
        gateway_token="tok",
        created_at="2026-01-01T00:00:00Z",
    )
    mine = InvoiceFactory(organization=legal.organization)
    their_invoice = InvoiceFactory(organization=theirs.organization)
    client = logged_in(legal.user)

    codes = [
        client.post(
            f"/api/v1/organizations/{legal.organization_id}/invoices/{their_invoice.pk}/pay/",
            {"prepaid_amount": "0"},
            content_type="application/json",
        ).status_code,
        client.post(
            f"/api/v1/organizations/{legal.organization_id}/invoices/{mine.pk}/pay/",
            {"prepaid_amount": "0", "means_id": their_card.pk},
            content_type="application/json",
        ).status_code,
        client.post(
            reverse("billing:invoice", args=[theirs.organization_id, their_invoice.pk]), {"prepaid_amount": "0"}
        ).status_code,
    ]

    assert codes == [404, 404, 404]
    mine.refresh_from_db()
    their_invoice.refresh_from_db()
    assert (mine.status, their_invoice.status) == ("open", "open")
