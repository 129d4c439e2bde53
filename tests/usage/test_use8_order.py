"""USE-1, USE-8 (with REN-7, BIL-12): ordering a usage plan — the Service at once, no order invoice,
the type's trial first when the Organization may have one; the order page shows the rates."""

import datetime as dt

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from billing.models import Invoice
from core.errors import RuleViolation
from subscriptions.models import Service
from subscriptions.services.orders import trial_convert, usage_order
from tests.factories import member
from tests.subscriptions.lifecycle.helpers import customer, snapshot
from tests.usage.invoicing_helpers import usage_plan, usage_service

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def test_use8_ordering_a_usage_plan_starts_the_trial_at_once_with_no_invoice() -> None:
    legal = customer()
    plan = usage_plan()

    service = usage_order(organization=legal.organization, user=legal.user, plan=plan, now=NOW)

    assert not Invoice.objects.filter(service=service).exists()
    assert (service.status, service.usage_based, service.trial_ends_on, service.auto_renew, service.term,
            service.expires_on) == ("trial", True, dt.date(2026, 4, 9), True, 0, None)
    assert AuditEvent.objects.get(action="service.ordered").rule == "USE-1"


def test_use1_bil2_a_second_usage_service_of_the_type_is_active_at_once() -> None:
    legal = customer(card=None)
    plan = usage_plan()
    usage_service(legal, plan=plan)

    service = usage_order(organization=legal.organization, user=legal.user, plan=plan, now=NOW)

    assert not Invoice.objects.filter(service=service).exists()
    assert (service.status, service.trial_ends_on, service.activated_at, service.auto_renew) == (
        "active", None, NOW, False)


def test_use1_a_usage_plan_without_rates_in_the_currency_is_refused_and_nothing_changes() -> None:
    legal = customer()
    plan = usage_plan(currency="EUR")
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        usage_order(organization=legal.organization, user=legal.user, plan=plan, now=NOW)

    assert refused.value.rule == "BIL-1"
    assert snapshot() == before
    assert not Service.objects.exists()


def test_use8_a_usage_trial_is_not_switched_to_paid_by_an_order_invoice_and_nothing_changes() -> None:
    legal = customer()
    svc = usage_service(legal, status="trial", trial_ends_on=dt.date(2026, 4, 1), activated_at=None)
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        trial_convert(service=svc, user=legal.user, now=NOW)

    assert refused.value.rule == "USE-8"
    assert snapshot() == before


def test_use1_the_order_page_shows_the_rates_of_a_usage_plan_and_orders_it(client) -> None:  # noqa: ANN001
    legal = customer()
    plan = usage_plan()
    client.force_login(legal.user)
    url = reverse("subscriptions:order", kwargs={"org_id": legal.organization_id})

    page = client.get(url).content.decode()
    review = client.post(url, {"plan": plan.pk}).content.decode()
    assert not Service.objects.exists()  # the review step writes nothing
    ordered = client.post(url, {"plan": plan.pk, "confirm": "on"}, follow=True)

    assert "Billed by what you use, each month: nothing is paid in advance." in review
    assert "Confirm order" in review
    assert "Billed by what you use, each month" in page
    assert "CHF 0.004324" in page  # 0.004 + 8.1 % VAT, per cloudlet-hour
    assert "per cloudlet-hours" in page
    service = Service.objects.get(organization=legal.organization)
    assert (service.usage_based, service.status) == (True, "trial")
    assert "its usage is invoiced each month" in ordered.content.decode()


def test_org6_another_organizations_member_cannot_order_for_it() -> None:
    legal = customer()
    stranger = member()
    plan = usage_plan()

    with pytest.raises(RuleViolation) as refused:
        usage_order(organization=legal.organization, user=stranger.user, plan=plan, now=NOW)

    assert refused.value.status == 404
    assert not Service.objects.exists()
