"""The Service page offers no "Renew now" while a card payment of its open invoice is in doubt
(REN-8), and a form sent from an older page changes nothing."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from billing.models import Invoice, Payment, PaymentMeans
from tests.factories import member
from tests.subscriptions.lifecycle.helpers import at, customer, service

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 2, 20), 10)


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


def test_an_unknown_renewal_charge_hides_renew_now_and_a_second_try_changes_nothing() -> None:
    legal = customer(card="4000000000000119")  # the sandbox's card whose charge times out
    svc = service(legal)
    card = PaymentMeans.objects.get(organization=legal.organization, kind="card")
    client = Client()
    client.force_login(legal.user)
    url = reverse("subscriptions:service", args=[svc.organization_id, svc.pk])

    first = client.post(url, {"prepaid_amount": "0", "means": str(card.pk)}, follow=True)
    before = (list(Payment.objects.values()), list(Invoice.objects.values()))
    again = client.post(url, {"prepaid_amount": "0", "means": str(card.pk)}, follow=True)

    html = first.content.decode()
    assert "A card payment of this Service's renewal is being checked" in html
    assert ">Renew now</button>" not in html
    assert "A card payment of this invoice is being checked with the payment provider." in again.content.decode()
    assert (list(Payment.objects.values()), list(Invoice.objects.values())) == before
    assert list(Payment.objects.values_list("status", flat=True)) == ["unknown"]


def test_without_a_charge_in_doubt_renew_now_is_offered_with_a_way_back_from_adding_a_card() -> None:
    legal = customer()
    svc = service(legal)
    client = Client()
    client.force_login(legal.user)
    url = reverse("subscriptions:service", args=[svc.organization_id, svc.pk])

    html = client.get(url).content.decode()

    assert ">Renew now</button>" in html
    means = reverse("billing:means", args=[svc.organization_id])
    assert f'href="{means}?next=/orgs/{svc.organization_id}/services/{svc.pk}/"' in html


def test_tenancy_another_organizations_service_page_is_404() -> None:
    legal = customer()
    svc = service(legal)
    client = Client()
    client.force_login(member().user)

    assert client.get(reverse("subscriptions:service", args=[svc.organization_id, svc.pk])).status_code == 404
