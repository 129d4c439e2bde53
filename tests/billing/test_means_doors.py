"""Payment methods through the portal and the API; tenancy on each (BIL-4, BIL-12)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import PaymentMeans
from tests.factories import member

pytestmark = pytest.mark.django_db


def test_add_a_card_make_it_default_and_remove_it_in_the_portal() -> None:
    legal = member()
    client = Client()
    client.force_login(legal.user)
    url = reverse("billing:means", args=[legal.organization_id])

    added = client.post(
        url,
        {
            "form": "card",
            "card-number": "4242 4242 4242 4242",
            "card-exp_month": "12",
            "card-exp_year": "2030",
            "card-cvc": "123",
            "card-make_default": "on",
        },
    )
    card = PaymentMeans.objects.get()
    page = client.get(url).content.decode()
    client.post(reverse("billing:means_remove", args=[legal.organization_id, card.pk]))

    assert added.status_code == 302
    assert (card.kind, card.card_brand, card.card_last4, card.is_default) == ("card", "Visa", "4242", True)
    assert "Visa •••• 4242 (12/2030)" in page
    card.refresh_from_db()
    assert card.revoked_at is not None
    assert "4242424242424242" not in str(list(PaymentMeans.objects.values()))


def test_an_expired_card_is_refused_with_its_reason_in_the_portal() -> None:
    legal = member()
    client = Client()
    client.force_login(legal.user)

    page = client.post(
        reverse("billing:means", args=[legal.organization_id]),
        {
            "form": "card",
            "card-number": "4242424242424242",
            "card-exp_month": "1",
            "card-exp_year": "2020",
            "card-cvc": "123",
        },
    )

    assert page.status_code == 200
    assert "expired" in page.content.decode()
    assert PaymentMeans.objects.count() == 0


def test_payment_methods_api() -> None:
    legal = member()
    client = APIClient()
    client.force_authenticate(legal.user)
    base = f"/api/v1/organizations/{legal.organization_id}/payment-methods/"

    card = client.post(
        base,
        {"kind": "card", "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        format="json",
    )
    transfer = client.post(base, {"kind": "bank_transfer"}, format="json")
    incomplete = client.post(base, {"kind": "card", "number": "4242424242424242"}, format="json")
    default = client.post(f"{base}{card.json()['id']}/default/")
    refused = client.post(f"{base}{transfer.json()['id']}/default/")
    listed = client.get(base).json()

    assert (card.status_code, transfer.status_code, incomplete.status_code) == (201, 201, 400)
    assert set(incomplete.json()["errors"]) == {"exp_month", "exp_year", "cvc"}
    assert default.json()["is_default"] is True
    assert (refused.status_code, refused.json()["rule"]) == (409, "BIL-12")
    assert [(m["kind"], m["is_default"]) for m in listed] == [("card", True), ("bank_transfer", False)]


def test_tenancy_their_means_are_404_everywhere() -> None:
    mine, theirs = member(), member()
    their_card = PaymentMeans.objects.create(
        organization=theirs.organization,
        kind="card",
        card_brand="Visa",
        card_last4="4242",
        card_exp_month=12,
        card_exp_year=2030,
        created_at="2026-01-01T00:00:00Z",
    )
    api = APIClient()
    api.force_authenticate(mine.user)
    web = Client()
    web.force_login(mine.user)

    codes = [
        api.get(f"/api/v1/organizations/{theirs.organization_id}/payment-methods/").status_code,
        api.delete(f"/api/v1/organizations/{mine.organization_id}/payment-methods/{their_card.pk}/").status_code,
        api.post(f"/api/v1/organizations/{mine.organization_id}/payment-methods/{their_card.pk}/default/").status_code,
        web.get(reverse("billing:means", args=[theirs.organization_id])).status_code,
        web.post(reverse("billing:means_remove", args=[mine.organization_id, their_card.pk])).status_code,
        web.post(reverse("billing:means_default", args=[theirs.organization_id, their_card.pk])).status_code,
    ]

    assert codes == [404] * 6
    their_card.refresh_from_db()
    assert (their_card.revoked_at, their_card.is_default) == (None, False)


def test_bil4_staff_restrict_a_means_in_the_admin_and_lift_it(client) -> None:  # noqa: ANN001
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from billing.models import MeansRestriction
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client.force_login(staff)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    organization = member().organization
    add = reverse("admin:billing_meansrestriction_add")

    created = client.post(add, {"organization": organization.pk, "kind": "card", "reason": "Chargebacks"})
    again = client.post(add, {"organization": organization.pk, "kind": "card", "reason": "Twice"})
    restriction = MeansRestriction.objects.get()
    client.post(reverse("admin:billing_meansrestriction_changelist"),
                {"action": "lift", "_selected_action": [restriction.pk], "apply": "1", "reason": "Resolved"})

    assert created.status_code == 302
    assert (restriction.kind, restriction.reason, restriction.created_by) == ("card", "Chargebacks", staff)
    assert "already restricted" in again.content.decode()
    assert MeansRestriction.objects.count() == 0
