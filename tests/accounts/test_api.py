"""REST API of accounts: every endpoint, and tenancy — another Organization's id answers 404."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Acceptance, DocumentNotice, Invitation, Membership, Organization
from audit.models import AuditEvent
from notifications.models import Notification
from tests.factories import PASSWORD, AcceptanceFactory, DocumentVersionFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def tcu():
    return DocumentVersionFactory(label="2026-01", published_on=dt.date(2026, 1, 1))


@pytest.fixture
def mine():
    legal = member(first_name="Mia")
    member("technical", organization=legal.organization)
    return legal


@pytest.fixture
def theirs():
    other = member()
    member("administrator", organization=other.organization)
    return other


def _everything() -> tuple:
    return (
        list(Organization.objects.values()),
        list(Membership.objects.values()),
        list(Invitation.objects.values()),
        list(Acceptance.objects.values()),
        list(Notification.objects.values()),
        list(DocumentNotice.objects.values()),
        AuditEvent.objects.count(),
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_anonymous_callers_get_401() -> None:
    assert APIClient().get("/api/v1/me/").status_code == 401
    assert APIClient().get("/api/v1/organizations/").status_code == 401


def test_token_authentication(mine) -> None:
    client = APIClient()

    bad = client.post("/api/v1/auth/token/", {"email": mine.user.email, "password": "wrong"}, format="json")
    good = client.post("/api/v1/auth/token/", {"email": mine.user.email, "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {good.json()['token']}")

    assert bad.status_code == 400
    assert good.status_code == 200
    assert client.get("/api/v1/me/").json()["email"] == mine.user.email


def test_me_lists_my_memberships_only(mine, theirs) -> None:
    response = api(mine.user).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["memberships"] == [
        {
            "organization_id": mine.organization_id,
            "organization_name": mine.organization.name,
            "role": "legal_responsible",
        }
    ]


def test_tenancy_organization_list_shows_mine_only(mine, theirs) -> None:
    response = api(mine.user).get("/api/v1/organizations/")

    assert response.status_code == 200
    assert [o["id"] for o in response.json()] == [mine.organization_id]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/organizations/{org}/", None),
        ("patch", "/api/v1/organizations/{org}/", {"city": "Bern"}),
        ("get", "/api/v1/organizations/{org}/members/", None),
        ("post", "/api/v1/organizations/{org}/members/", {"email": "x@example.com", "role": "technical"}),
        ("patch", "/api/v1/organizations/{org}/members/{member}/", {"role": "billing"}),
        ("delete", "/api/v1/organizations/{org}/members/{member}/", None),
        ("get", "/api/v1/organizations/{org}/invitations/", None),
        ("delete", "/api/v1/organizations/{org}/invitations/{invitation}/", None),
        ("get", "/api/v1/organizations/{org}/documents/", None),
        ("post", "/api/v1/organizations/{org}/documents/{version}/accept/", None),
        ("post", "/api/v1/organizations/{org}/terminate/", {"password": PASSWORD}),
    ],
)
def test_tenancy_another_organizations_id_answers_404_and_changes_nothing(
    mine, theirs, tcu, method: str, path: str, body: dict | None
) -> None:
    UserFactory(email="x@example.com")
    foreign_member = Membership.objects.filter(organization=theirs.organization).exclude(pk=theirs.pk).get()
    their_invitation = services.member_invite(
        organization=theirs.organization, user=theirs.user, email="guest@example.com", role="billing", now=NOW
    )
    url = path.format(
        org=theirs.organization_id, member=foreign_member.pk, version=tcu.pk, invitation=their_invitation.pk
    )
    before = _everything()

    response = getattr(api(mine.user), method)(url, body, format="json")

    assert response.status_code == 404
    assert theirs.organization.name not in response.content.decode()
    assert _everything() == before


def test_tenancy_a_member_id_of_another_organization_under_my_organization_is_404(mine, theirs) -> None:
    url = f"/api/v1/organizations/{mine.organization_id}/members/{theirs.pk}/"

    response = api(mine.user).patch(url, {"role": "billing"}, format="json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == "legal_responsible"


def test_create_organization_then_read_it(tcu) -> None:
    user = UserFactory(date_of_birth=None)
    body = {
        "name": "API GmbH",
        "contact_first_name": "Ana",
        "contact_last_name": "Api",
        "contact_email": "ana@example.com",
        "mobile": "+41791234567",
        "street": "Bahnhofstrasse 1",
        "postal_code": "8001",
        "city": "Zürich",
        "country": "CH",
        "billing_country": "CH",
        "language": "de",
        "accept_tcu_version": tcu.pk,
        "date_of_birth": "1990-01-01",
    }

    created = api(user).post("/api/v1/organizations/", body, format="json")

    assert created.status_code == 201
    data = created.json()
    assert (data["name"], data["mobile"], data["country"], data["currency"], data["status"]) == (
        "API GmbH",
        "+41791234567",
        "CH",
        "CHF",
        "active",
    )
    assert api(user).get(f"/api/v1/organizations/{data['id']}/").json()["city"] == "Zürich"


def test_create_organization_refusals_name_the_field_or_rule(tcu) -> None:
    user = UserFactory()
    body = {
        "name": "Bad",
        "contact_first_name": "A",
        "contact_last_name": "B",
        "contact_email": "a@example.com",
        "mobile": "+41 44 123 45 67",
        "street": "S",
        "postal_code": "1",
        "city": "C",
        "country": "CH",
        "billing_country": "CH",
        "language": "en",
        "accept_tcu_version": tcu.pk,
    }

    bad_phone = api(user).post("/api/v1/organizations/", body, format="json")
    stale = api(user).post(
        "/api/v1/organizations/", {**body, "mobile": "+41791234567", "accept_tcu_version": tcu.pk + 999}, format="json"
    )

    assert bad_phone.status_code == 400
    assert bad_phone.json() == {
        "detail": "Invalid input.",
        "rule": None,
        "errors": {"mobile": ["This is not a mobile phone number."]},
    }
    assert stale.status_code == 400
    assert stale.json()["rule"] == "ORG-7"
    assert Organization.objects.count() == 0


def test_patch_contact_validates_and_audits(mine) -> None:
    url = f"/api/v1/organizations/{mine.organization_id}/"

    refused = api(mine.user).patch(url, {"vat_number": "CHE-116.281.711 MWST"}, format="json")
    accepted = api(mine.user).patch(url, {"vat_number": "CHE-116.281.710 MWST"}, format="json")

    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["vat_number"]
    assert accepted.status_code == 200
    assert accepted.json()["vat_number"] == "CHE116281710MWST"
    assert AuditEvent.objects.filter(action="organization.contact_changed").count() == 1


def test_members_invite_accept_change_remove(mine) -> None:
    newbie = UserFactory(email="newbie@example.com")
    base = f"/api/v1/organizations/{mine.organization_id}/members/"
    client = api(mine.user)

    invited = client.post(base, {"email": "newbie@example.com", "role": "billing"}, format="json")
    pending = client.get(f"/api/v1/organizations/{mine.organization_id}/invitations/").json()
    token = Invitation.objects.get(pk=invited.json()["id"]).token
    joined = api(newbie).post(f"/api/v1/invitations/{token}/accept/")
    changed = client.patch(f"{base}{joined.json()['id']}/", {"role": "administrator"}, format="json")
    removed = client.delete(f"{base}{joined.json()['id']}/")
    listed = client.get(base)

    assert (invited.status_code, invited.json()["email"], invited.json()["role"]) == (
        202,
        "newbie@example.com",
        "billing",
    )
    assert [p["email"] for p in pending] == ["newbie@example.com"]
    assert (joined.status_code, joined.json()["role"]) == (201, "billing")
    assert (changed.status_code, changed.json()["role"]) == (200, "administrator")
    assert removed.status_code == 204
    assert sorted(m["role"] for m in listed.json()) == ["legal_responsible", "technical"]


def test_invitation_withdrawn_through_the_api(mine) -> None:
    invited = api(mine.user).post(
        f"/api/v1/organizations/{mine.organization_id}/members/",
        {"email": "x@example.com", "role": "billing"},
        format="json",
    )

    withdrawn = api(mine.user).delete(
        f"/api/v1/organizations/{mine.organization_id}/invitations/{invited.json()['id']}/"
    )

    assert withdrawn.status_code == 204
    assert api(mine.user).get(f"/api/v1/organizations/{mine.organization_id}/invitations/").json() == []


def test_refused_change_of_the_last_legal_responsible_answers_409_naming_the_rule(mine) -> None:
    url = f"/api/v1/organizations/{mine.organization_id}/members/{mine.pk}/"

    response = api(mine.user).patch(url, {"role": "technical"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The last Legal Responsible cannot be removed or given another role: make another member Legal "
        "Responsible first.",
        "rule": "ORG-5",
    }
    mine.refresh_from_db()
    assert mine.role == "legal_responsible"


def test_working_role_gets_403_on_member_management(mine) -> None:
    technical = Membership.objects.get(organization=mine.organization, role="technical")

    response = api(technical.user).post(
        f"/api/v1/organizations/{mine.organization_id}/members/",
        {"email": mine.user.email, "role": "billing"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["rule"] == "ORG-5"
    assert Membership.objects.filter(organization=mine.organization).count() == 2
    assert AuditEvent.objects.count() == 0


def test_documents_pending_and_accept(mine, tcu) -> None:
    url = f"/api/v1/organizations/{mine.organization_id}/documents/"

    pending = api(mine.user).get(url).json()["pending"]
    accepted = api(mine.user).post(f"{url}{tcu.pk}/accept/")
    after = api(mine.user).get(url).json()

    assert [(p["version_id"], p["deemed_accepted_on"]) for p in pending] == [(tcu.pk, None)]
    assert accepted.status_code == 201
    assert accepted.json()["method"] == "explicit"
    assert after["pending"] == []
    assert [(a["version"], a["user"]) for a in after["accepted"]] == [("2026-01", mine.user.email)]


def test_terminate_needs_the_password(mine) -> None:
    url = f"/api/v1/organizations/{mine.organization_id}/terminate/"

    wrong = api(mine.user).post(url, {"password": "guess"}, format="json")
    right = api(mine.user).post(url, {"password": PASSWORD}, format="json")

    assert (wrong.status_code, wrong.json()["rule"], wrong.json()["field"]) == (400, "ORG-9", "password")
    assert (right.status_code, right.json()["status"]) == (200, "terminated")


def test_openapi_schema_and_docs_are_served(client) -> None:
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/organizations/{org_id}/members/" in schema.content
    assert docs.status_code == 200


def test_acceptance_factory_is_tenant_scoped(mine, theirs, tcu) -> None:
    AcceptanceFactory(organization=theirs.organization, version=tcu, user=theirs.user)

    accepted = api(mine.user).get(f"/api/v1/organizations/{mine.organization_id}/documents/").json()["accepted"]

    assert accepted == []
