"""An order ends on a review step (what, term, price, VAT, total), then "Confirm order" places it and
lands on the order invoice, which says how to pay and has the Pay button."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from billing.models import Invoice
from subscriptions.models import Service
from tests.billing.factories import PlanFactory, PriceFactory, service_type
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


def _state() -> tuple[int, int, int]:
    return Service.objects.count(), Invoice.objects.count(), AuditEvent.objects.count()


def test_the_order_button_shows_the_review_and_writes_nothing(legal, plan) -> None:
    client = logged_in(legal.user)
    before = _state()

    review = client.post(reverse("subscriptions:order", args=[legal.organization_id]), {"plan": plan.pk})

    html = review.content.decode()
    assert review.status_code == 200
    assert "Review your order" in html
    assert "Price excl. VAT</th><td>CHF 20.00" in html
    assert "8.10 % · CHF 1.62" in html
    assert "<strong>CHF 21.62</strong>" in html
    assert "Billed monthly, in advance." in html
    assert '<input type="hidden" name="confirm" value="on">' in html
    assert "Confirm order" in html
    assert _state() == before


def test_confirm_order_places_it_and_lands_on_the_invoice_with_the_pay_button(legal, plan) -> None:
    client = logged_in(legal.user)

    placed = client.post(
        reverse("subscriptions:order", args=[legal.organization_id]), {"plan": plan.pk, "confirm": "on"}, follow=True
    )

    invoice = Invoice.objects.get()
    assert placed.redirect_chain == [(reverse("billing:invoice", args=[legal.organization_id, invoice.pk]), 302)]
    html = placed.content.decode()
    assert f"Ordered. The Service starts when invoice {invoice.display_number} is paid: pay it below." in html
    assert "The Service you ordered starts as soon as this invoice is paid in full." in html
    assert "Pay now" in html
    assert "By bank transfer: use the QR-bill of the PDF." in html
    assert (invoice.kind, invoice.total_incl_vat) == ("order", Decimal("21.62"))
    assert Service.objects.get().status == "awaiting_payment"


def test_the_review_carries_the_documents_accepted_and_refuses_without_them(plan) -> None:
    legal = member()
    tcu = DocumentVersionFactory(label="tcu-2")
    client = logged_in(legal.user)
    url = reverse("subscriptions:order", args=[legal.organization_id])
    before = _state()

    refused = client.post(url, {"plan": plan.pk, "accept_tcu": tcu.pk}, follow=True)
    review = client.post(url, {"plan": plan.pk, "accept_tcu": tcu.pk, "accepted": "on"}).content.decode()

    assert "Please accept the documents to order." in refused.content.decode()
    assert _state() == before
    assert f'<input type="hidden" name="accept_tcu" value="{tcu.pk}">' in review
    assert '<input type="hidden" name="accepted" value="on">' in review


def test_tenancy_another_organizations_review_and_confirm_are_404(legal, plan) -> None:
    theirs = member()
    client = logged_in(legal.user)
    url = reverse("subscriptions:order", args=[theirs.organization_id])
    before = _state()

    codes = [
        client.post(url, {"plan": plan.pk}).status_code,
        client.post(url, {"plan": plan.pk, "confirm": "on"}).status_code,
    ]

    assert codes == [404, 404]
    assert _state() == before
