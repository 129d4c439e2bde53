"""The staff door of usage billing: rate cards (read only once used, USE-1), thresholds through
`threshold_set` (USE-5), a Service's usage by month read only with the credit-note link (BIL-6),
limits lifted with a reason and the customer told (USE-5); every staff list and view recorded
(EVD-2); a second factor required."""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditEvent
from billing.models import Invoice
from core.errors import RuleViolation
from notifications.models import Notification
from subscriptions.models import Service
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import UserFactory, member
from tests.usage.portal_helpers import D, at, put_hours, resources, usage_plan, usage_service
from usage.models import Limit, Rate, RateCard, Threshold, UsageMonth
from usage.services.thresholds import limit_lift, threshold_set

pytestmark = pytest.mark.django_db

NOW = at(2026, 4, 10, 8, 0)
APRIL = dt.date(2026, 4, 1)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
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


def events(action: str) -> list[tuple[str, dict]]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk").values_list("rule", "after"))


# --- rate cards -----------------------------------------------------------------------------------


def card_post(plan_id: int, valid_from: str, rates: list[tuple[int, str]]) -> dict[str, object]:
    data: dict[str, object] = {
        "plan": plan_id,
        "currency": "CHF",
        "valid_from": valid_from,
        "rates-TOTAL_FORMS": str(len(rates)),
        "rates-INITIAL_FORMS": "0",
        "rates-MIN_NUM_FORMS": "0",
        "rates-MAX_NUM_FORMS": "5",
    }
    for index, (resource_id, rate) in enumerate(rates):
        data[f"rates-{index}-resource"] = resource_id
        data[f"rates-{index}-rate"] = rate
    return data


def test_use1_staff_add_a_new_rate_card_from_next_month_recorded(admin_client: Client) -> None:
    plan = usage_plan()
    storage = resources()["storage"]
    response = admin_client.post(
        reverse("admin:usage_ratecard_add"), card_post(plan.pk, "2026-05-01", [(storage.pk, "0.00025")])
    )
    assert response.status_code == 302
    card = RateCard.objects.get(plan=plan, valid_from=dt.date(2026, 5, 1))
    assert list(card.rates.values_list("resource__slug", "rate")) == [("storage", D("0.000250"))]
    assert card.created_at == NOW
    assert events("usage.rate_card_created") == [
        ("USE-1", {"plan": plan.pk, "currency": "CHF", "valid_from": "2026-05-01", "rates": {"storage": "0.000250"}})
    ]


def test_use1_a_card_may_not_reprice_the_running_month(admin_client: Client) -> None:
    plan = usage_plan()
    storage = resources()["storage"]
    before = RateCard.objects.count()
    response = admin_client.post(
        reverse("admin:usage_ratecard_add"), card_post(plan.pk, "2026-04-01", [(storage.pk, "0.1")])
    )
    assert response.status_code == 200
    assert "A new rate card starts after 2026-04-01" in response.content.decode()
    assert RateCard.objects.count() == before


def test_use1_a_card_used_by_an_invoice_is_read_only(admin_client: Client) -> None:
    legal = member()
    service = usage_service(legal)
    card = RateCard.objects.get(plan=service.plan)
    invoice = InvoiceFactory(organization=legal.organization, service=service, kind=Invoice.Kind.USAGE)
    UsageMonth.objects.create(
        service=service, month=dt.date(2026, 3, 1), closed_at=NOW, invoice=invoice, rate_card=card
    )
    rates = list(Rate.objects.filter(rate_card=card).values_list("pk", "rate"))
    url = reverse("admin:usage_ratecard_change", args=[card.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="valid_from"' not in page.content.decode()  # shown read only
    admin_client.post(url, {"plan": card.plan_id, "currency": "EUR", "valid_from": "2027-01-01"})
    card.refresh_from_db()
    assert (card.currency, card.valid_from) == ("CHF", dt.date(2026, 1, 1))
    assert list(Rate.objects.filter(rate_card=card).values_list("pk", "rate")) == rates


# --- thresholds -----------------------------------------------------------------------------------


def test_use5_staff_set_a_plan_and_a_service_threshold_through_the_service(admin_client: Client, staff: User) -> None:
    legal = member()
    service = usage_service(legal)
    traffic = resources()["traffic"]
    add = reverse("admin:usage_threshold_add")
    assert (
        admin_client.post(add, {"plan": service.plan_id, "resource": traffic.pk, "quantity": "500"}).status_code == 302
    )
    assert (
        admin_client.post(add, {"service_id": service.pk, "resource": traffic.pk, "quantity": "50.5"}).status_code
        == 302
    )
    assert set(Threshold.objects.values_list("plan_id", "service_id", "quantity")) == {
        (service.plan_id, None, D("500")),
        (None, service.pk, D("50.5")),
    }
    assert [after for _rule, after in events("usage.threshold_set")] == [
        {"resource": "traffic", "quantity": "500.000000"},
        {"resource": "traffic", "quantity": "50.500000"},
    ]
    assert {rule for rule, _after in events("usage.threshold_set")} == {"USE-5"}
    service_event = AuditEvent.objects.filter(action="usage.threshold_set").order_by("pk").last()
    assert service_event is not None and service_event.organization_id == legal.organization_id
    # the change list and the removal action
    assert admin_client.get(reverse("admin:usage_threshold_changelist")).status_code == 200
    own = Threshold.objects.get(service=service)
    admin_client.post(
        reverse("admin:usage_threshold_changelist"), {"action": "remove", "_selected_action": [own.pk]}, follow=True
    )
    assert list(Threshold.objects.values_list("service_id", flat=True)) == [None]
    assert events("usage.threshold_removed")[0][1] == {"resource": "traffic"}


def test_use5_threshold_refusals_change_nothing(admin_client: Client, staff: User) -> None:
    legal = member()
    service = usage_service(legal)
    fixed = ServiceFactory(organization=legal.organization)
    traffic = resources()["traffic"]
    before = (list(Threshold.objects.values_list("pk")), AuditEvent.objects.filter(rule="USE-5").count())
    add = reverse("admin:usage_threshold_add")
    both = admin_client.post(
        add, {"plan": service.plan_id, "service_id": service.pk, "resource": traffic.pk, "quantity": "1"}
    )
    assert "Choose a plan or give a Service id, not both." in both.content.decode()
    refused = admin_client.post(add, {"service_id": fixed.pk, "resource": traffic.pk, "quantity": "1"})
    assert "Only usage-based plans and Services have thresholds. (USE-5)" in refused.content.decode()
    for quantity in (D("0"), D("1.0000001"), D("NaN")):
        with pytest.raises(RuleViolation):
            threshold_set(resource=traffic, quantity=quantity, service=service, staff_user=staff, now=NOW)
    assert (list(Threshold.objects.values_list("pk")), AuditEvent.objects.filter(rule="USE-5").count()) == before


# --- usage by month -------------------------------------------------------------------------------


def test_use3_a_services_month_read_only_with_the_credit_note_link_and_evd2(admin_client: Client) -> None:
    legal = member()
    service = usage_service(legal)
    put_hours(service, "storage", dt.date(2026, 3, 5), {0: D("2.5"), 1: D("2.5")})
    invoice = InvoiceFactory(organization=legal.organization, service=service, kind=Invoice.Kind.USAGE)
    month = UsageMonth.objects.get(service=service, month=dt.date(2026, 3, 1))
    month.closed_at, month.invoice = NOW, invoice
    month.save()
    listing = admin_client.get(reverse("admin:usage_usagemonth_changelist"), {"q": str(service.pk)})
    assert listing.status_code == 200
    page = admin_client.get(reverse("admin:usage_usagemonth_change", args=[month.pk]))
    html = page.content.decode()
    assert "<td>Storage</td><td>5.000000 GB-hour</td>" in html
    assert f"{reverse('admin:billing_invoice_changelist')}?q={invoice.number}" in html
    assert "corrected only by a credit note" in html
    assert AuditEvent.objects.filter(
        action="staff.viewed", rule="EVD-2", organization_id=legal.organization_id, object_id=str(month.pk)
    ).exists()
    assert AuditEvent.objects.filter(action="staff.listed", rule="EVD-2", object_type="usage.usagemonth").exists()
    # no door to change it
    assert admin_client.post(reverse("admin:usage_usagemonth_change", args=[month.pk]), {}).status_code == 403


# --- limits ---------------------------------------------------------------------------------------


def test_use5_staff_lift_a_limit_with_a_reason_and_the_customer_is_told(admin_client: Client, staff: User) -> None:
    legal = member()
    service = usage_service(legal)
    limit = Limit.objects.create(
        service=service, month=APRIL, reason=Limit.Reason.THRESHOLD, resource=resources()["traffic"], since=NOW
    )
    response = admin_client.post(
        reverse("admin:usage_limit_changelist"),
        {"action": "lift", "_selected_action": [limit.pk], "apply": "1", "reason": "Customer confirmed the campaign."},
        follow=True,
    )
    assert response.status_code == 200
    limit.refresh_from_db()
    assert (limit.lifted_at, limit.lifted_by) == (NOW, staff)
    assert events("usage.limit_lifted") == [
        ("USE-5", {"lifted_at": NOW.isoformat(), "by": "staff", "why": "Customer confirmed the campaign."})
    ]
    notice = Notification.objects.get(template="usage_limit_lifted", channel="email")
    assert "consumption threshold of External traffic is lifted" in notice.body
    assert "Customer confirmed the campaign." in notice.body
    # lifting again is refused and changes nothing
    before = (AuditEvent.objects.count(), Notification.objects.count())
    with pytest.raises(RuleViolation):
        limit_lift(limit=limit, staff_user=staff, reason="again", now=NOW)
    with pytest.raises(RuleViolation):
        limit_lift(limit=limit, staff_user=staff, reason=" ", now=NOW)
    assert (AuditEvent.objects.count(), Notification.objects.count()) == before


def test_staff_without_a_second_factor_do_not_reach_the_usage_admin(staff: User) -> None:
    client = Client()
    client.force_login(staff)
    for name in ("usage_ratecard", "usage_threshold", "usage_usagemonth", "usage_limit"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 302


def test_use5_the_service_status_is_unchanged_by_a_threshold(staff: User) -> None:
    legal = member()
    service = usage_service(legal)
    threshold_set(resource=resources()["storage"], quantity=Decimal("1"), service=service, staff_user=staff, now=NOW)
    service.refresh_from_db()
    assert service.status == Service.Status.ACTIVE
