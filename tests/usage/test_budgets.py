"""The customer's monthly budget (USE-6): who sets it (ORG-5 roles, ORG-6 scopes), its evidence,
refusals that change nothing, the limit at the budget lifted when its owner withdraws it, and the
budget form of the portal page."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Membership
from audit.models import AuditEvent
from core.errors import RuleViolation
from subscriptions.models import MembershipServiceScope, Service
from tests.billing.factories import ServiceFactory
from tests.factories import member
from tests.usage.portal_helpers import D, at, fill, resources, usage_service
from usage.models import Budget, Limit
from usage.services.budgets import budget_remove, budget_set

pytestmark = pytest.mark.django_db

Role = Membership.Role
NOW = at(2026, 4, 10, 8, 0)
APRIL = dt.date(2026, 4, 1)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def snapshot() -> dict[str, Any]:
    return {
        "budgets": list(Budget.objects.values_list("service_id", "amount", "limit_at_budget").order_by("pk")),
        "limits": list(Limit.objects.values_list("pk", "lifted_at").order_by("pk")),
        "events": AuditEvent.objects.count(),
    }


def budget_events(service: Service) -> list[tuple[str, str, Any, Any]]:
    return list(
        AuditEvent.objects.filter(object_id=str(service.pk), action__startswith="usage.")
        .order_by("pk")
        .values_list("action", "rule", "before", "after")
    )


@pytest.mark.parametrize("role", [Role.LEGAL_RESPONSIBLE, Role.ADMINISTRATOR, Role.BILLING])
def test_use6_a_legal_responsible_administrator_or_billing_member_sets_the_budget(role: str) -> None:
    # given
    legal = member()
    service = usage_service(legal)
    actor = legal if role == Role.LEGAL_RESPONSIBLE else member(role, organization=legal.organization)
    # when
    budget = budget_set(service=service, user=actor.user, amount=D("50.00"), limit_at_budget=True, now=NOW)
    # then
    assert (budget.service_id, budget.amount, budget.limit_at_budget, budget.updated_by) == (
        service.pk,
        D("50.00"),
        True,
        actor.user,
    )
    assert budget_events(service) == [("usage.budget_set", "USE-6", {}, {"amount": "50.00", "limit_at_budget": True})]
    # and the same budget again records nothing; a change records before and after
    budget_set(service=service, user=actor.user, amount=D("50.00"), limit_at_budget=True, now=NOW)
    budget_set(service=service, user=actor.user, amount=D("80.00"), limit_at_budget=True, now=NOW)
    assert budget_events(service)[1:] == [
        (
            "usage.budget_set",
            "USE-6",
            {"amount": "50.00", "limit_at_budget": True},
            {"amount": "80.00", "limit_at_budget": True},
        )
    ]
    assert Budget.objects.get().amount == D("80.00")


def _refused(service: Service, user: Any, **kwargs: Any) -> RuleViolation:
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        budget_set(service=service, user=user, now=NOW, **{"amount": D("50.00"), "limit_at_budget": False, **kwargs})
    assert snapshot() == before
    return refused.value


def test_use6_a_technical_member_may_not_set_a_budget() -> None:
    legal = member()
    service = usage_service(legal)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    refusal = _refused(service, technical.user)
    assert (refusal.status, refusal.rule) == (403, "ORG-5")


def test_org6_another_organization_or_a_member_scoped_elsewhere_gets_404() -> None:
    legal = member()
    service = usage_service(legal)
    stranger = member()
    assert _refused(service, stranger.user).status == 404
    scoped = member(Role.BILLING, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=scoped, service=usage_service(legal, plan=service.plan))
    assert _refused(service, scoped.user).status == 404


def test_use6_refusals_bad_amounts_a_fixed_price_or_terminated_service() -> None:
    legal = member()
    service = usage_service(legal)
    for amount in (D("0"), D("-5.00"), D("10.005"), D("NaN"), D("10000000000.00")):
        refusal = _refused(service, legal.user, amount=amount)
        assert (refusal.status, refusal.rule, refusal.field) == (400, "USE-6", "amount")
    fixed = ServiceFactory(organization=legal.organization)
    assert (_refused(fixed, legal.user).status, _refused(fixed, legal.user).rule) == (404, "USE-6")
    ended = usage_service(legal, plan=service.plan, status=Service.Status.TERMINATED)
    assert _refused(ended, legal.user).rule == "USE-6"


def test_use6_removing_the_budget_lifts_the_limit_at_the_budget_not_the_thresholds() -> None:
    # given a budget reached with its limit, and a threshold limit
    legal = member()
    service = usage_service(legal)
    budget_set(service=service, user=legal.user, amount=D("5.00"), limit_at_budget=True, now=NOW)
    at_budget = Limit.objects.create(service=service, month=APRIL, reason=Limit.Reason.BUDGET, since=NOW)
    threshold = Limit.objects.create(
        service=service, month=APRIL, reason=Limit.Reason.THRESHOLD, resource=resources()["traffic"], since=NOW
    )
    # when
    budget_remove(service=service, user=legal.user, now=NOW)
    # then
    assert not Budget.objects.exists()
    at_budget.refresh_from_db()
    threshold.refresh_from_db()
    assert (at_budget.lifted_at, at_budget.lifted_by) == (NOW, legal.user)
    assert threshold.lifted_at is None
    assert [e[0] for e in budget_events(service)] == ["usage.budget_set", "usage.limit_lifted", "usage.budget_removed"]
    # and removing none changes nothing
    before = snapshot()
    budget_remove(service=service, user=legal.user, now=NOW)
    assert snapshot() == before


def test_use6_a_budget_raised_above_the_month_so_far_lifts_its_limit_one_still_reached_does_not() -> None:
    # given 9 days of 100 reserved cloudlets: 9 × 2,400 × 0.008 = 172.80, with VAT 186.80
    legal = member()
    service = usage_service(legal)
    fill(service, APRIL, dt.date(2026, 4, 9), {"reserved-cloudlets": D("100")})
    budget_set(service=service, user=legal.user, amount=D("150.00"), limit_at_budget=True, now=NOW)
    limit = Limit.objects.create(service=service, month=APRIL, reason=Limit.Reason.BUDGET, since=NOW)
    # when raised, still below the month so far: the limit stays
    budget_set(service=service, user=legal.user, amount=D("186.80"), limit_at_budget=True, now=NOW)
    limit.refresh_from_db()
    assert limit.lifted_at is None
    # when raised above it: lifted
    budget_set(service=service, user=legal.user, amount=D("186.81"), limit_at_budget=True, now=NOW)
    limit.refresh_from_db()
    assert limit.lifted_at == NOW


def test_use6_switching_the_limit_at_budget_off_lifts_it() -> None:
    legal = member()
    service = usage_service(legal)
    budget_set(service=service, user=legal.user, amount=D("1.00"), limit_at_budget=True, now=NOW)
    limit = Limit.objects.create(service=service, month=APRIL, reason=Limit.Reason.BUDGET, since=NOW)
    budget_set(service=service, user=legal.user, amount=D("1.00"), limit_at_budget=False, now=NOW)
    limit.refresh_from_db()
    assert limit.lifted_at == NOW


# --- the portal's form --------------------------------------------------------------------------


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def urls(membership: Membership, service: Service) -> tuple[str, str, str]:
    args = [membership.organization_id, service.pk]
    return (
        reverse("usage:service_usage", args=args),
        reverse("usage:service_budget", args=args),
        reverse("usage:service_budget_remove", args=args),
    )


def test_use6_the_page_form_sets_and_removes_the_budget() -> None:
    legal = member()
    service = usage_service(legal)
    page, form, remove = urls(legal, service)
    client = browser(legal)
    response = client.post(form, {"amount": "120.00", "limit_at_budget": "on"})
    assert response.status_code == 302 and response["Location"] == page
    assert Budget.objects.values_list("amount", "limit_at_budget").get() == (D("120.00"), True)
    assert "CHF 120.00 a month" in client.get(page).content.decode()
    assert client.post(remove).status_code == 302
    assert not Budget.objects.exists()


def test_use6_the_page_form_shows_a_bad_amount_and_changes_nothing() -> None:
    legal = member()
    service = usage_service(legal)
    _page, form, _remove = urls(legal, service)
    before = snapshot()
    response = browser(legal).post(form, {"amount": "-3"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0.01." in response.content.decode()
    assert snapshot() == before


def test_use6_org6_the_form_answers_403_to_a_technical_member_and_404_to_others() -> None:
    legal = member()
    service = usage_service(legal)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    stranger = member()
    before = snapshot()
    _page, form, remove = urls(technical, service)
    assert browser(technical).post(form, {"amount": "10.00"}).status_code == 403
    assert browser(technical).post(remove).status_code == 403
    for url in urls(stranger, service):
        assert browser(stranger).post(url, {"amount": "10.00"}).status_code == 404
    assert snapshot() == before
