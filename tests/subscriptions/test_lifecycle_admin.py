"""Staff doors of the renewal lifecycle: force a debit attempt (REN-2), suspend and reactivate with a
reason (TCU 13.1), read the debit attempts (flagged ones, REN-8) and the money-back refunds."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditEvent
from billing.services.means import means_add_card
from subscriptions.models import MoneyBackRefund, RenewalAttempt, Service
from tests.billing.factories import InvoiceFactory
from tests.factories import UserFactory
from tests.subscriptions.lifecycle.helpers import CARD_DECLINED, at, customer, service

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 2, 20)  # inside the attempt window of the helper's Services (E = 28 Feb 2026)
NOW = at(TODAY, 10)


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def staff() -> User:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(staff: User) -> Client:
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    return client


CHANGELIST = "admin:subscriptions_service_changelist"


def act(client: Client, action: str, services: list[Service], **extra: str) -> list[str]:
    response = client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [s.pk for s in services], **extra}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_force_a_retry_makes_todays_attempt_again_keyed_by_the_staff_user(admin_client: Client, staff: User) -> None:
    # given the day's attempt was declined; the customer has since added a working card
    legal = customer(card=CARD_DECLINED)
    svc = service(legal)
    RenewalAttempt.objects.create(service=svc, term=2, day=TODAY, outcome="declined", created_at=NOW)
    means_add_card(
        organization=legal.organization,
        user=legal.user,
        number="4242424242424242",
        exp_month=12,
        exp_year=2035,
        cvc="123",
        make_default=True,
        now=NOW,
    )

    # when
    shown = act(admin_client, "force_retry", [svc])

    # then
    forced = RenewalAttempt.objects.get(forced_by=staff)
    svc.refresh_from_db()
    assert (forced.term, forced.day, forced.outcome, forced.card_amount) == (2, TODAY, "succeeded", Decimal("108.10"))
    assert (svc.term, svc.expires_on) == (2, dt.date(2026, 3, 31))
    assert shown == [f"{svc}: debit attempt paid.", "1 done."]


def test_force_a_retry_outside_the_window_is_refused_and_attempts_nothing(admin_client: Client) -> None:
    svc = service(customer(), expires=dt.date(2026, 3, 31), anchor=dt.date(2026, 2, 28))

    shown = act(admin_client, "force_retry", [svc])

    assert RenewalAttempt.objects.count() == 0
    assert shown == [
        f"{svc}: Not due for a debit attempt: automatic renewal must be on and the due date at most 14 days away, "
        "not past. (REN-2)"
    ]


def test_suspend_and_reactivate_with_a_reason(admin_client: Client, staff: User) -> None:
    svc = service(customer())

    form = admin_client.post(reverse(CHANGELIST), {"action": "suspend", "_selected_action": [svc.pk]})
    suspended = act(admin_client, "suspend", [svc], apply="1", reason="Abuse report #12")
    svc.refresh_from_db()
    assert (svc.status, svc.suspension_reason, svc.suspended_at) == ("suspended", "staff", NOW)
    reactivated = act(admin_client, "reactivate", [svc], apply="1", reason="Resolved with the customer")
    svc.refresh_from_db()

    assert form.status_code == 200 and "Reason" in form.content.decode()
    assert suspended == reactivated == ["1 done."]
    assert (svc.status, svc.suspension_reason, svc.suspended_at) == ("active", "", None)
    events = AuditEvent.objects.filter(object_type="subscriptions.service", object_id=str(svc.pk), actor_user=staff)
    assert list(events.exclude(action__startswith="staff.").values_list("action", "rule", "after__reason")) == [
        ("service.suspended", "TCU 13.1", "Abuse report #12"),
        ("service.reactivated", "TCU 13.1", "Resolved with the customer"),
    ]


def test_reactivating_an_active_service_is_refused_with_the_reason(admin_client: Client) -> None:
    svc = service(customer())

    shown = act(admin_client, "reactivate", [svc], apply="1", reason="By mistake")

    svc.refresh_from_db()
    assert svc.status == "active"
    assert shown == [f"{svc}: Only a suspended Service can be reactivated. (TCU 13.1)"]


def test_the_service_page_shows_its_lifecycle_fields_and_attempts_read_only(admin_client: Client) -> None:
    svc = service(customer(), terminates_on=dt.date(2026, 3, 14), status="suspended", suspension_reason="unpaid")
    RenewalAttempt.objects.create(
        service=svc, term=2, day=dt.date(2026, 2, 19), outcome="no_means", reason="no card", created_at=NOW
    )

    response = admin_client.get(reverse("admin:subscriptions_service_change", args=[svc.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    for label in ("Terminates on", "Warranty until", "Renewal declined at", "Data deleted at", "Suspension reason"):
        assert label in html
    assert "no valid means of payment" in html
    assert AuditEvent.objects.filter(action="staff.viewed", object_id=str(svc.pk)).count() == 1


def test_attempts_list_filters_flagged_outcome_and_searches_by_organization(admin_client: Client) -> None:
    legal = customer()
    svc = service(legal)
    flagged = RenewalAttempt.objects.create(
        service=svc, term=2, day=dt.date(2026, 2, 18), outcome="unknown", flagged_at=NOW, created_at=NOW
    )
    RenewalAttempt.objects.create(service=svc, term=2, day=dt.date(2026, 2, 19), outcome="declined", created_at=NOW)
    other = RenewalAttempt.objects.create(
        service=service(customer()), term=2, day=dt.date(2026, 2, 19), outcome="declined", created_at=NOW
    )
    url = reverse("admin:subscriptions_renewalattempt_changelist")

    def listed(query: dict[str, str]) -> set[int]:
        response = admin_client.get(url, query)
        assert response.status_code == 200
        return {attempt.pk for attempt in response.context["cl"].result_list}

    assert listed({"flagged": "yes"}) == {flagged.pk}
    assert listed({"outcome": "declined", "q": other.service.organization.name}) == {other.pk}
    assert len(listed({"flagged": "no"})) == 2
    assert admin_client.get(reverse("admin:subscriptions_renewalattempt_change", args=[flagged.pk])).status_code == 200
    assert admin_client.post(reverse("admin:subscriptions_renewalattempt_add")).status_code == 403


def test_money_back_refunds_are_listed_read_only(admin_client: Client, staff: User) -> None:
    legal = customer()
    svc = service(legal, status="terminated")
    refund = MoneyBackRefund.objects.create(
        service=svc,
        invoice=InvoiceFactory(organization=legal.organization, service=svc),
        amount=Decimal("108.10"),
        currency="CHF",
        destination="card",
        card_amount=Decimal("108.10"),
        requested_by=legal.user,
        created_at=NOW,
    )

    listing = admin_client.get(reverse("admin:subscriptions_moneybackrefund_changelist"))
    detail = admin_client.get(reverse("admin:subscriptions_moneybackrefund_change", args=[refund.pk]))

    assert listing.status_code == detail.status_code == 200
    assert "108.10" in listing.content.decode()
    assert admin_client.post(reverse("admin:subscriptions_moneybackrefund_add")).status_code == 403


def test_the_admin_addresses_of_before_the_move_still_lead_to_the_service(admin_client: Client) -> None:
    svc = service(customer())

    change = admin_client.get(f"/admin/billing/service/{svc.pk}/change/")
    listing = admin_client.get("/admin/billing/renewalattempt/?outcome=unknown")

    assert (change.status_code, change["Location"]) == (
        302,
        reverse("admin:subscriptions_service_change", args=[svc.pk]),
    )
    assert (listing.status_code, listing["Location"]) == (
        302,
        reverse("admin:subscriptions_renewalattempt_changelist") + "?outcome=unknown",
    )
    assert admin_client.get(change["Location"]).status_code == 200
