"""SPEC BIL-5, PRE-2: the payment slip of a top-up by bank transfer — the provider's account, the
creditor, the reference to quote and, in CHF, a Swiss QR-bill carrying that reference (as a CHF
invoice has); in EUR the provider's EUR account. Only the Organization's members see it."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from stdnum import iso11649
from stdnum.ch import esr
from stdnum.iso7064 import mod_97_10

from accounts.models import Organization
from billing.models import Payment
from billing.services.topup import prepaid_top_up_by_transfer, prepaid_top_up_transfer_received
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
QR_IBAN = "CH44 3199 9123 0008 8901 2"
EUR_IBAN = "CH93 0076 2011 6238 5295 7"


@pytest.fixture(autouse=True)
def _provider(settings):  # noqa: ANN202
    settings.PROVIDER_NAME = "Nuage Suisse SA"
    settings.PROVIDER_ADDRESS_LINES = ["Avenue du Test 10", "1003 Lausanne"]
    settings.PROVIDER_COUNTRY = "CH"
    settings.PROVIDER_IBAN = QR_IBAN
    settings.PROVIDER_EUR_IBAN = EUR_IBAN
    with time_machine.travel(NOW, tick=False):
        yield


def logged_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def _svg(html: str) -> str:
    found = re.search(r"<svg.*?</svg>", html, re.DOTALL)
    assert found is not None, "no QR-bill on the page"
    return found.group(0)


def test_bil5_a_chf_transfer_top_up_shows_the_account_the_creditor_and_a_qr_bill_with_its_reference() -> None:
    # given a member of a CHF Organization
    legal = member()

    # when they announce a top-up by bank transfer in the portal
    response = logged_in(legal.user).post(
        reverse("billing:prepaid", args=[legal.organization_id]),
        {"amount": "200.00", "pay_with": "bank_transfer"},
        follow=True,
    )

    # then they land on its slip: the QR reference is "9", the payment id on 25 digits, the check digit
    payment = Payment.objects.get()
    slip_url = reverse("billing:prepaid_transfer", args=[legal.organization_id, payment.pk])
    assert response.redirect_chain == [(slip_url, 302)]
    digits = f"9{payment.pk:025d}"
    assert payment.reference == digits + esr.calc_check_digit(digits)
    html = response.content.decode()
    assert f"Please transfer CHF 200.00 quoting the reference {payment.reference}." in html
    assert '<dd id="iban">CH44 3199 9123 0008 8901 2</dd>' in html
    assert '<dd id="creditor">Nuage Suisse SA<br>Avenue du Test 10<br>1003 Lausanne<br>Switzerland</dd>' in html
    assert f'<dd id="reference"><strong>{esr.format(payment.reference)}</strong></dd>' in html
    assert '<dd id="amount">CHF 200.00</dd>' in html
    # and the QR-bill prints the same reference, account, creditor and amount
    svg = _svg(html)
    for text in (esr.format(payment.reference), "CH44 3199 9123 0008 8901 2", "Nuage Suisse SA", "200.00"):
        assert f">{text}</text>" in svg
    assert "Top-up of the Prepaid Account" in svg
    assert "style=" not in svg  # the Content-Security-Policy refuses inline styles
    assert (payment.status, payment.amount, payment.currency) == ("pending", Decimal("200.00"), "CHF")


def test_bil5_an_eur_transfer_top_up_shows_the_eur_account_and_an_rf_reference_without_qr_bill() -> None:
    # given a member of an EUR Organization and their announced transfer
    legal = member()
    Organization.objects.filter(pk=legal.organization_id).update(currency="EUR")
    legal.organization.refresh_from_db()
    payment = prepaid_top_up_by_transfer(
        organization=legal.organization, user=legal.user, amount=Decimal("75.00"), now=NOW
    )

    # when they open its slip
    response = logged_in(legal.user).get(reverse("billing:prepaid_transfer", args=[legal.organization_id, payment.pk]))

    # then it names the EUR account and an RF creditor reference ("TOPUP", the id on 8 digits); no QR-bill
    body = f"TOPUP{payment.pk:08d}"
    assert payment.reference == "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    html = response.content.decode()
    assert response.status_code == 200
    assert '<dd id="iban">CH93 0076 2011 6238 5295 7</dd>' in html
    assert '<dd id="creditor">Nuage Suisse SA<br>Avenue du Test 10<br>1003 Lausanne<br>Switzerland</dd>' in html
    assert f'<dd id="reference"><strong>{iso11649.format(payment.reference)}</strong></dd>' in html
    assert '<dd id="amount">EUR 75.00</dd>' in html
    assert "CH44" not in html
    assert "<svg" not in html


def test_org6_another_organizations_user_gets_no_slip() -> None:
    # given a pending top-up of one Organization
    legal = member()
    payment = prepaid_top_up_by_transfer(
        organization=legal.organization, user=legal.user, amount=Decimal("50.00"), now=NOW
    )
    outsider = member()

    # when a member of another Organization asks for its slip, through either Organization's address
    theirs = logged_in(outsider.user).get(
        reverse("billing:prepaid_transfer", args=[outsider.organization_id, payment.pk])
    )
    ours = logged_in(outsider.user).get(reverse("billing:prepaid_transfer", args=[legal.organization_id, payment.pk]))

    # then they get nothing
    assert (theirs.status_code, ours.status_code) == (404, 404)
    assert payment.reference not in theirs.content.decode() + ours.content.decode()


def test_bil5_a_received_top_up_has_no_slip_any_more() -> None:
    # given a transfer staff recorded as received
    legal = member()
    payment = prepaid_top_up_by_transfer(
        organization=legal.organization, user=legal.user, amount=Decimal("50.00"), now=NOW
    )
    staff = UserFactory(is_staff=True)
    prepaid_top_up_transfer_received(payment=payment, staff_user=staff, now=NOW)

    # when its member opens the slip
    response = logged_in(legal.user).get(reverse("billing:prepaid_transfer", args=[legal.organization_id, payment.pk]))

    # then nothing invites a second payment
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is nothing to transfer for this top-up of CHF 50.00 (status: succeeded)." in html
    assert "<svg" not in html
    assert 'id="iban"' not in html
