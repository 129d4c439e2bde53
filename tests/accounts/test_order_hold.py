"""ENF-4 (TCU 6.3): staff hold an Organization's new orders and renewals while an invoice is unpaid past
its due date, with a reason; orders, trials, renew now and resuming a renewal are then refused with
ENF-4 and nothing changed; paying an issued invoice and the automatic renewal go on. The staff
site's actions, the customer's notices and pages (no rule id)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import Organization
from accounts.services import organization_hold_orders, organization_release_orders
from audit.models import AuditEvent
from billing.models import Invoice, PaymentMeans
from core.errors import RuleViolation
from notifications.models import Notification
from subscriptions.models import Service
from subscriptions.services.lifecycle import service_renew_now, service_resume_renewal, service_set_auto_renew
from subscriptions.services.orders import service_order, trial_convert, trial_start
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import AcceptanceFactory, DocumentVersionFactory, UserFactory
from tests.subscriptions.lifecycle.helpers import at, customer, live, service, snapshot, state

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
HELD = (
    "New orders and renewals are on hold because an invoice is unpaid past its due date. "
    "Please pay your overdue invoices (under Invoices) or contact support."
)


@pytest.fixture
def staff():  # noqa: ANN201
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


def _overdue(organization: Organization, due: dt.date = dt.date(2026, 3, 31)) -> Invoice:
    return InvoiceFactory(organization=organization, due_date=due)


def _hold(organization: Organization, staff, when: dt.datetime = NOW) -> Organization:  # noqa: ANN001
    return organization_hold_orders(
        organization=organization, staff_user=staff, reason="Invoice 3 months late", now=when
    )


def _org_row(organization: Organization) -> tuple:
    organization.refresh_from_db()
    return (organization.orders_held_at, organization.orders_held_by_id, organization.orders_held_reason)


# --- the flag --------------------------------------------------------------------------------


def test_enf_4_staff_hold_orders_with_a_reason_recorded_and_told(staff) -> None:
    # given
    legal = customer()
    invoice = _overdue(legal.organization)

    # when
    _hold(legal.organization, staff)

    # then
    assert _org_row(legal.organization) == (NOW, staff.pk, "Invoice 3 months late")
    event = AuditEvent.objects.get(action="organization.orders_held")
    assert (event.rule, event.actor_user_id, event.after) == (
        "ENF-4",
        staff.pk,
        {"orders_held": True, "reason": "Invoice 3 months late", "overdue_invoices": [invoice.display_number]},
    )
    notice = Notification.objects.get(template="orders_held", channel="email")
    assert notice.subject == "New orders and renewals are on hold"
    assert f"Overdue invoices: {invoice.display_number}" in notice.body
    assert "Reason: Invoice 3 months late" in notice.body
    assert "ENF" not in notice.body


@pytest.mark.parametrize("due", [dt.date(2026, 4, 10), dt.date(2026, 5, 1)])
def test_enf_4_hold_refused_when_no_invoice_is_past_its_due_date(staff, due: dt.date) -> None:
    legal = customer()
    _overdue(legal.organization, due=due)  # due today or later: not past due
    paid = _overdue(legal.organization)
    Invoice.objects.filter(pk=paid.pk).update(status="paid", amount_paid=paid.total_incl_vat)

    with pytest.raises(RuleViolation) as refused:
        _hold(legal.organization, staff)

    assert (refused.value.rule, refused.value.message) == (
        "ENF-4",
        "No invoice of this organization is unpaid past its due date: its orders cannot be held.",
    )
    assert _org_row(legal.organization) == (None, None, "")
    assert not AuditEvent.objects.filter(action="organization.orders_held").exists()
    assert not Notification.objects.filter(template="orders_held").exists()


def test_enf_4_hold_refused_without_reason_twice_or_by_a_customer(staff) -> None:
    legal = customer()
    _overdue(legal.organization)

    with pytest.raises(RuleViolation) as no_reason:
        organization_hold_orders(organization=legal.organization, staff_user=staff, reason="  ", now=NOW)
    with pytest.raises(RuleViolation) as customer_user:
        organization_hold_orders(organization=legal.organization, staff_user=legal.user, reason="x", now=NOW)
    assert _org_row(legal.organization) == (None, None, "")
    _hold(legal.organization, staff)
    with pytest.raises(RuleViolation) as twice:
        _hold(legal.organization, staff, NOW + dt.timedelta(hours=1))

    assert (no_reason.value.rule, no_reason.value.message) == ("ENF-4", "A reason is required.")
    assert (customer_user.value.rule, customer_user.value.status) == ("ENF-4", 403)
    assert (twice.value.rule, twice.value.message) == ("ENF-4", "Orders of this organization are already on hold.")
    assert _org_row(legal.organization) == (NOW, staff.pk, "Invoice 3 months late")
    assert AuditEvent.objects.filter(action="organization.orders_held").count() == 1


def test_enf_4_staff_lift_the_hold_with_a_reason(staff) -> None:
    legal = customer()
    _overdue(legal.organization)
    _hold(legal.organization, staff)

    with pytest.raises(RuleViolation) as no_reason:
        organization_release_orders(organization=legal.organization, staff_user=staff, reason="", now=NOW)
    organization_release_orders(organization=legal.organization, staff_user=staff, reason="Paid in full", now=NOW)
    with pytest.raises(RuleViolation) as not_held:
        organization_release_orders(organization=legal.organization, staff_user=staff, reason="again", now=NOW)

    assert no_reason.value.rule == not_held.value.rule == "ENF-4"
    assert not_held.value.message == "Orders of this organization are not on hold."
    assert _org_row(legal.organization) == (None, None, "")
    event = AuditEvent.objects.get(action="organization.orders_released")
    assert (event.rule, event.after) == ("ENF-4", {"orders_held": False, "reason": "Paid in full"})
    assert Notification.objects.filter(template="orders_released", channel="email").count() == 1


# --- what the hold refuses -------------------------------------------------------------------


@pytest.fixture
def held(staff):  # noqa: ANN201
    """A Legal Responsible who accepted the TCU, with an overdue invoice and orders held."""
    tcu = DocumentVersionFactory(label="tcu-2026")
    legal = customer()
    AcceptanceFactory(organization=legal.organization, version=tcu, user=legal.user)
    _overdue(legal.organization)
    _hold(legal.organization, staff)
    return legal


def test_enf_4_orders_trials_and_trial_conversion_are_refused_while_held(held) -> None:
    plan = PlanFactory(service_type=service_type(), name="M", period="monthly")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    trial = ServiceFactory(
        organization=held.organization,
        plan=plan,
        status=Service.Status.TRIAL,
        anchor_date=None,
        expires_on=None,
        term=0,
        trial_ends_on=dt.date(2026, 4, 30),
    )
    before = snapshot()

    with pytest.raises(RuleViolation) as order:
        service_order(organization=held.organization, user=held.user, plan=plan, now=NOW)
    with pytest.raises(RuleViolation) as trial_order:
        trial_start(organization=held.organization, user=held.user, plan=plan, now=NOW)
    with pytest.raises(RuleViolation) as converted:
        trial_convert(service=trial, user=held.user, now=NOW)

    for refused in (order, trial_order, converted):
        assert (refused.value.rule, refused.value.message) == ("ENF-4", HELD)
    assert snapshot() == before


def test_enf_4_renew_now_is_refused_but_an_issued_renewal_invoice_can_be_paid(staff) -> None:
    # given: a Service renewed by hand whose renewal invoice is not issued yet, another whose is
    legal = customer()
    _overdue(legal.organization, due=dt.date(2026, 1, 10))
    fresh = service(legal, auto_renew=False)
    invoiced = service(legal, auto_renew=False)
    card = PaymentMeans.objects.get(organization=legal.organization)
    first = service_renew_now(
        service=invoiced, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=at(dt.date(2026, 1, 20), 10)
    )
    _hold(legal.organization, staff, at(dt.date(2026, 1, 20), 11))
    before = snapshot()

    # when
    with pytest.raises(RuleViolation) as refused:
        service_renew_now(
            service=fresh, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=at(dt.date(2026, 1, 20), 12)
        )

    # then
    assert (refused.value.rule, refused.value.message) == ("ENF-4", HELD)
    assert snapshot() == before
    assert first.status == "paid"  # paid before the hold; paying issued invoices is never refused


def test_enf_4_resuming_a_declined_renewal_is_refused_while_held(held) -> None:
    svc = service(held, auto_renew=False, renewal_declined_at=NOW - dt.timedelta(days=1))
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        service_resume_renewal(service=svc, user=held.user, now=NOW)

    assert (refused.value.rule, refused.value.message) == ("ENF-4", HELD)
    svc.refresh_from_db()
    assert svc.renewal_declined_at == NOW - dt.timedelta(days=1)
    assert snapshot() == before


def test_enf_4_switching_automatic_renewal_on_is_refused_while_held(staff) -> None:
    legal = customer()
    off = service(legal, auto_renew=False)
    on = service(legal)
    _overdue(legal.organization)
    _hold(legal.organization, staff)
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        service_set_auto_renew(service=off, user=legal.user, enabled=True, now=NOW)
    kept = service_set_auto_renew(service=on, user=legal.user, enabled=True, now=NOW)

    assert (refused.value.rule, refused.value.message) == ("ENF-4", HELD)
    assert kept.auto_renew is True
    assert snapshot() == before


def test_enf_4_automatic_renewal_goes_on_while_held(staff) -> None:
    """Decision (docs/decisions.md, ENF-4): the standing automatic renewal is carried out."""
    legal = customer()
    svc = service(legal)  # auto-renewing, E = 28 Feb 2026
    _overdue(legal.organization, due=dt.date(2026, 1, 31))
    _hold(legal.organization, staff, at(dt.date(2026, 2, 1), 10))

    live(dt.date(2026, 2, 28))

    assert state(svc)[:3] == ("active", 2, dt.date(2026, 3, 31))


# --- doors -----------------------------------------------------------------------------------


@pytest.fixture
def verified(staff) -> Client:
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    response = client.post(reverse("accounts:staff_otp"), {"token": token, "next": "/admin/"})
    assert response.status_code == 302
    return client


def test_enf_4_staff_site_hold_and_lift_actions(verified, staff) -> None:
    legal = customer()
    clean = customer()
    _overdue(legal.organization)
    url = reverse("admin:accounts_organization_changelist")

    with time_machine.travel(NOW, tick=False):
        asked = verified.post(url, {"action": "hold_orders", "_selected_action": [legal.organization_id]})
        done = verified.post(
            url,
            {
                "action": "hold_orders",
                "_selected_action": [legal.organization_id, clean.organization_id],
                "apply": "1",
                "reason": "Three reminders unanswered",
            },
            follow=True,
        )
        listed = verified.get(url, {"orders_held": "yes"})

    assert "Reason" in asked.content.decode()
    page = done.content.decode()
    assert "1 done." in page
    assert "its orders cannot be held. (ENF-4)" in page
    assert _org_row(legal.organization) == (NOW, staff.pk, "Three reminders unanswered")
    assert _org_row(clean.organization) == (None, None, "")
    assert legal.organization.name in listed.content.decode()
    assert clean.organization.name not in listed.content.decode()

    with time_machine.travel(NOW, tick=False):
        verified.post(
            url,
            {
                "action": "release_orders",
                "_selected_action": [legal.organization_id],
                "apply": "1",
                "reason": "Paid",
            },
        )
    assert _org_row(legal.organization) == (None, None, "")


def test_enf_4_the_order_page_says_why_without_a_rule_id(held) -> None:
    client = Client()
    client.force_login(held.user)
    other = customer()
    other_client = Client()
    other_client.force_login(other.user)

    page = client.get(reverse("subscriptions:order", args=[held.organization_id])).content.decode()
    theirs = other_client.get(reverse("subscriptions:order", args=[other.organization_id])).content.decode()
    intruding = other_client.get(reverse("subscriptions:order", args=[held.organization_id]))

    assert "New orders and renewals are on hold because an invoice is unpaid past its due date." in page
    assert "ENF-4" not in page
    assert "are on hold" not in theirs
    assert intruding.status_code == 404


def test_enf_4_the_api_refuses_an_order_with_its_rule(held) -> None:
    plan = PlanFactory(service_type=service_type(), name="M", period="monthly")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    client = APIClient()
    client.force_authenticate(held.user)
    before = snapshot()

    with time_machine.travel(NOW, tick=False):
        response = client.post(
            f"/api/v1/organizations/{held.organization_id}/services/", {"plan_id": plan.pk}, format="json"
        )

    assert (response.status_code, response.json()["rule"]) == (409, "ENF-4")
    assert response.json()["detail"] == HELD
    assert snapshot() == before
