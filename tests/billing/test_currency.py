"""SPEC ENF-6 (MONEY-1, PRE-1): an Organization's currency cannot change once it has a non-zero
Prepaid Account, an open invoice or a Service not terminated — refused by the service, so by the
portal, the API and the admin alike, and nothing changes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Organization
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import LedgerEntry, Payment, PrepaidAccount
from billing.services.prepaid import prepaid_account_for, prepaid_credit, prepaid_staff_adjust
from core.errors import RuleViolation
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _balance(organization: Organization, amount: str) -> None:
    top_up = Payment.objects.create(
        organization=organization,
        kind="card",
        amount=Decimal(amount),
        currency="CHF",
        status="succeeded",
        created_at=NOW,
    )
    prepaid_credit(
        organization=organization,
        kind=LedgerEntry.Kind.TOP_UP,
        amount=Decimal(amount),
        now=NOW,
        actor=Actor.system("test"),
        rule="PRE-2",
        payment=top_up,
    )


def _with_balance(organization: Organization) -> None:
    _balance(organization, "50.00")


def _with_open_invoice(organization: Organization) -> None:
    InvoiceFactory(organization=organization)


def _with_active_service(organization: Organization) -> None:
    ServiceFactory(organization=organization)


def _with_suspended_service(organization: Organization) -> None:
    ServiceFactory(organization=organization, status="suspended")


def _state(organization: Organization) -> tuple:
    organization.refresh_from_db()
    return (
        organization.currency,
        list(PrepaidAccount.objects.values_list("currency", "balance")),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (_with_balance, "a Prepaid Account balance"),
        (_with_open_invoice, "an open invoice"),
        (_with_active_service, "a Service that is not terminated"),
        (_with_suspended_service, "a Service that is not terminated"),
    ],
)
def test_enf6_the_currency_cannot_change_with_money_or_obligations_in_the_old_one(given, reason: str) -> None:
    # given
    legal = member()
    given(legal.organization)
    before = _state(legal.organization)

    # when
    with pytest.raises(RuleViolation) as refused:
        services.organization_update_contact(
            organization=legal.organization, user=legal.user, changes={"currency": "EUR", "city": "Sion"}, now=NOW
        )

    # then
    assert (refused.value.rule, refused.value.field) == ("ENF-6", "currency")
    assert refused.value.message == f"The currency cannot be changed while your organization has {reason}."
    assert _state(legal.organization) == before
    assert legal.organization.city == "Genève"


def test_enf6_every_reason_is_named() -> None:
    legal = member()
    _with_balance(legal.organization)
    _with_open_invoice(legal.organization)
    _with_active_service(legal.organization)

    with pytest.raises(RuleViolation) as refused:
        services.organization_update_contact(
            organization=legal.organization, user=legal.user, changes={"currency": "EUR"}, now=NOW
        )

    assert refused.value.message == (
        "The currency cannot be changed while your organization has a Prepaid Account balance, an open invoice, "
        "a Service that is not terminated."
    )


def test_enf6_without_money_or_obligations_the_currency_changes_and_the_empty_account_follows() -> None:
    # given: an account emptied (a top-up then a staff correction), a paid invoice, a terminated Service
    legal = member()
    organization = legal.organization
    _balance(organization, "10.00")
    prepaid_staff_adjust(
        organization=organization,
        amount=Decimal("-10.00"),
        reason="test",
        staff_user=UserFactory(is_staff=True),
        now=NOW,
    )
    InvoiceFactory(organization=organization, status="paid", amount_paid=Decimal("108.10"))
    ServiceFactory(organization=organization, status="terminated")

    # when
    updated = services.organization_update_contact(
        organization=organization, user=legal.user, changes={"currency": "EUR"}, now=NOW
    )

    # then
    assert updated.currency == "EUR"
    assert list(PrepaidAccount.objects.values_list("currency", "balance")) == [("EUR", Decimal("0.00"))]
    moved = AuditEvent.objects.get(action="prepaid_account.currency_changed")
    assert (moved.rule, moved.before, moved.after) == (
        "ENF-6",
        {"currency": "CHF"},
        {"currency": "EUR", "balance": "0.00"},
    )
    assert AuditEvent.objects.filter(action="organization.contact_changed").count() == 1


def test_enf6_a_new_organization_switches_freely() -> None:
    legal = member()
    prepaid_account_for(legal.organization)  # opened, empty

    services.organization_update_contact(
        organization=legal.organization, user=legal.user, changes={"currency": "EUR"}, now=NOW
    )
    services.organization_update_contact(
        organization=legal.organization, user=legal.user, changes={"currency": "CHF"}, now=NOW
    )

    assert _state(legal.organization)[:2] == ("CHF", [("CHF", Decimal("0.00"))])


# --- the three doors ---------------------------------------------------------------------------


def test_enf6_the_portal_page_refuses_and_nothing_changes() -> None:
    legal = member()
    _with_balance(legal.organization)
    before = _state(legal.organization)
    client = Client()
    client.force_login(legal.user)
    url = reverse("accounts:organization_contact", args=[legal.organization_id])
    form = client.get(url).context["form"]
    data = {**{k: v for k, v in form.initial.items() if v is not None}, "currency": "EUR"}

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["form"].errors["currency"] == [
        "The currency cannot be changed while your organization has a Prepaid Account balance."
    ]
    assert "ENF-6" not in response.content.decode()  # customer pages never show rule ids
    assert _state(legal.organization) == before


def test_enf6_the_api_refuses_and_nothing_changes() -> None:
    legal = member()
    _with_open_invoice(legal.organization)
    before = _state(legal.organization)
    client = APIClient()
    client.force_authenticate(legal.user)

    response = client.patch(f"/api/v1/organizations/{legal.organization_id}/", {"currency": "EUR"}, format="json")

    assert response.status_code == 409
    assert response.json()["rule"] == "ENF-6"
    assert _state(legal.organization) == before


def test_enf6_another_organizations_user_changes_nothing() -> None:
    legal, stranger = member(), member()
    before = _state(legal.organization)
    client = APIClient()
    client.force_authenticate(stranger.user)

    response = client.patch(f"/api/v1/organizations/{legal.organization_id}/", {"currency": "EUR"}, format="json")

    assert response.status_code == 404
    assert _state(legal.organization) == before


def test_enf6_the_admin_cannot_change_the_currency() -> None:
    # given: a verified superuser (every permission) on the Organization's admin page
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    client.post(reverse("accounts:staff_otp"), {"token": token, "next": "/admin/"})
    legal = member()
    _with_balance(legal.organization)
    url = reverse("admin:accounts_organization_change", args=[legal.organization_id])
    page = client.get(url)
    before = _state(legal.organization)

    # when
    response = client.post(url, {"currency": "EUR", "name": legal.organization.name})

    # then: the page is read-only (staff act through the actions, which call the services)
    assert page.status_code == 200
    assert 'name="currency"' not in page.content.decode()
    assert response.status_code == 403
    after = _state(legal.organization)
    assert after[:2] == before[:2]
