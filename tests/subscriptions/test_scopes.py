"""SPEC ORG-6: a member's management rights limited to chosen Services."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from subscriptions.models import MembershipServiceScope
from tests.billing.factories import ServiceFactory
from tests.factories import member

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_org6_limit_a_technical_member_to_one_service_then_lift_it() -> None:
    legal = member()
    technical = member("technical", organization=legal.organization)
    kept = ServiceFactory(organization=legal.organization)
    ServiceFactory(organization=legal.organization)
    url = f"/api/v1/organizations/{legal.organization_id}/members/{technical.pk}/services/"

    limited = api(legal.user).put(url, {"service_ids": [kept.pk]}, format="json")
    seen = api(technical.user).get(f"/api/v1/organizations/{legal.organization_id}/services/").json()
    lifted = api(legal.user).put(url, {"service_ids": []}, format="json")

    assert limited.json() == {"service_ids": [kept.pk]}
    assert [s["id"] for s in seen] == [kept.pk]
    assert lifted.json() == {"service_ids": []}
    assert len(api(technical.user).get(f"/api/v1/organizations/{legal.organization_id}/services/").json()) == 2
    assert list(AuditEvent.objects.filter(rule="ORG-6").values_list("before", "after")) == [
        ({"services": []}, {"services": [kept.pk], "user": technical.user.email}),
        ({"services": [kept.pk]}, {"services": [], "user": technical.user.email}),
    ]


@pytest.mark.parametrize("case", ["legal responsible", "by a technical member", "foreign service"])
def test_org6_refusals_change_nothing(case: str) -> None:
    legal = member()
    technical = member("technical", organization=legal.organization)
    own = ServiceFactory(organization=legal.organization)
    foreign = ServiceFactory()
    target, actor, ids, status = {
        "legal responsible": (legal, legal, [own.pk], 400),
        "by a technical member": (technical, technical, [own.pk], 403),
        "foreign service": (technical, legal, [foreign.pk], 404),
    }[case]

    response = api(actor.user).put(
        f"/api/v1/organizations/{legal.organization_id}/members/{target.pk}/services/",
        {"service_ids": ids},
        format="json",
    )

    assert response.status_code == status
    assert MembershipServiceScope.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_tenancy_scopes_of_another_organizations_member_are_404() -> None:
    legal, theirs = member(), member()
    their_technical = member("technical", organization=theirs.organization)

    codes = [
        api(legal.user)
        .get(f"/api/v1/organizations/{theirs.organization_id}/members/{their_technical.pk}/services/")
        .status_code,
        api(legal.user)
        .put(
            f"/api/v1/organizations/{legal.organization_id}/members/{their_technical.pk}/services/",
            {"service_ids": []},
            format="json",
        )
        .status_code,
    ]

    assert codes == [404, 404]
