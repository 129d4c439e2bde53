"""EVD-4, EVD-5 through the portal and the API: request, progress (htmx polling), download — and
tenancy on each: another Organization's export, a member whose role may not export, another user's
personal export all answer 404, with nothing recorded."""

import io
import zipfile

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from accounts.models import Membership
from audit.models import AuditEvent
from exports.models import Export
from exports.services import export_build, export_personal_request, export_statement_request
from tests.exports.helpers import MARCH, NOW, seed_other, seed_statement, snapshot
from tests.factories import member

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def api(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


def requested(membership: Membership) -> Export:
    return export_statement_request(
        organization_id=membership.organization_id, user=membership.user, start=MARCH[0], end=MARCH[1], now=NOW
    )


def ready(membership: Membership) -> Export:
    export = export_build(export_id=requested(membership).pk, now=NOW)
    assert export is not None
    return export


def url(name: str, membership: Membership, *args: int) -> str:
    return reverse(f"exports:{name}", args=[membership.organization_id, *args])


# --- portal: statements ----------------------------------------------------------------------------


def test_evd_4_the_page_asks_for_a_range_and_a_valid_request_is_built(django_capture_on_commit_callbacks) -> None:
    # given a Legal Responsible on the statements page
    legal = member(Role.LEGAL_RESPONSIBLE)
    seed_statement(legal)
    client = browser(legal)
    page = client.get(url("statements", legal))
    assert page.status_code == 200
    assert 'name="start"' in page.content.decode()

    # when they ask for March (the build runs after commit: eager in tests)
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(url("statements", legal), {"start": "2026-03-01", "end": "2026-03-31"})
    assert (posted.status_code, posted["Location"]) == (302, url("statements", legal))
    response = client.get(url("statements", legal))

    # then the statement is ready and listed with its download link
    (export,) = Export.objects.all()
    assert (export.status, export.user_id, str(export.start), str(export.end)) == (
        "ready",
        legal.user_id,
        "2026-03-01",
        "2026-03-31",
    )
    content = response.content.decode()
    assert "Your statement is being prepared. We will e-mail you when it is ready." in content
    assert url("statement_download", legal, export.pk) in content
    assert "01.03.2026 – 31.03.2026" in content


def test_evd_4_a_reversed_range_keeps_the_input_and_says_why() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE)
    before = snapshot()

    response = browser(legal).post(url("statements", legal), {"start": "2026-03-31", "end": "2026-03-01"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "The start date must be on or before the end date." in content
    assert 'value="2026-03-31"' in content
    assert "EVD-4" not in content
    assert snapshot() == before


def test_evd_4_a_technical_member_sees_the_reason_and_no_form() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    before = snapshot()

    client = browser(technical)
    page = client.get(url("statements", legal))
    posted = client.post(url("statements", legal), {"start": "2026-03-01", "end": "2026-03-31"})

    for response in (page, posted):
        assert response.status_code == 403
        content = response.content.decode()
        assert "Only a Legal Responsible, an administrator or a billing member can export the statement." in content
        assert 'name="start"' not in content
        assert "ORG-5" not in content
    assert snapshot() == before


def test_evd_4_a_waiting_statement_polls_its_row_until_it_is_ready() -> None:
    # given a statement waiting to be built
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = requested(legal)
    client = browser(legal)
    status_url = url("statement_status", legal, export.pk)

    # then its row polls its status with htmx, showing the progress
    row = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert f'hx-get="{status_url}"' in row
    assert 'hx-trigger="every 2s"' in row
    assert '<progress max="100" value="0"' in row

    # when it is built, then the row stops polling and offers the download
    export_build(export_id=export.pk, now=NOW)
    row = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in row
    assert url("statement_download", legal, export.pk) in row
    assert "kept until 09.04.2026" in row


def test_evd_4_the_download_is_the_zip_and_is_recorded() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE, email="ann@example.com")
    export = ready(legal)

    response = browser(legal).get(url("statement_download", legal, export.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-03-01-2026-03-31.zip"'
    assert response["Cache-Control"] == "private, no-store"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "statement.pdf" in archive.namelist()
    (event,) = AuditEvent.objects.filter(action="export.downloaded")
    assert (event.rule, event.actor_label, event.object_id, event.organization_id) == (
        "EVD-4",
        "ann@example.com",
        str(export.pk),
        legal.organization_id,
    )


@pytest.mark.parametrize("who", ["other-organization", "technical-member"])
def test_evd_4_a_statement_is_404_to_another_organization_and_to_a_member_without_the_role(who: str) -> None:
    # given a ready statement, and someone who may not have it
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = ready(legal)
    stranger = seed_other() if who == "other-organization" else member(Role.TECHNICAL, organization=legal.organization)
    before = snapshot()
    client = browser(stranger)

    # when they try its pages with the Organization's id or their own, then every one answers 404
    for org in {legal, stranger}:
        for name in ("statement_status", "statement_download"):
            assert client.get(url(name, org, export.pk)).status_code == 404
    assert snapshot() == before


# --- portal: personal data -------------------------------------------------------------------------


def test_evd_5_the_page_prepares_the_data_and_another_user_gets_404(django_capture_on_commit_callbacks) -> None:
    # given a user on their data page
    ann = member(Role.TECHNICAL, email="ann@example.com")
    client = browser(ann)
    assert client.get(reverse("exports:personal")).status_code == 200

    # when she asks for her data
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("exports:personal"))
    response = client.get(reverse("exports:personal"))

    # then it is ready and offered for download; the download is recorded
    (export,) = Export.objects.all()
    assert (export.kind, export.status, export.user_id) == ("personal", "ready", ann.user_id)
    download = reverse("exports:personal_download", args=[export.pk])
    assert download in response.content.decode()
    file = client.get(download)
    assert file["Content-Type"] == "application/json"
    assert file["Content-Disposition"] == 'attachment; filename="personal-data-2026-04-02.json"'
    assert (AuditEvent.objects.filter(action="export.downloaded").get().rule) == "EVD-5"

    # and a colleague of the same Organization gets 404 on every page of it, nothing recorded
    colleague = browser(member(Role.LEGAL_RESPONSIBLE, organization=ann.organization))
    before = snapshot()
    assert colleague.get(download).status_code == 404
    assert colleague.get(reverse("exports:personal_status", args=[export.pk])).status_code == 404
    assert snapshot() == before


def test_evd_5_a_second_request_while_one_waits_says_so() -> None:
    ann = member(Role.TECHNICAL)
    export_personal_request(user=ann.user, now=NOW)
    before = snapshot()

    response = browser(ann).post(reverse("exports:personal"), follow=True)

    assert "An export is already being prepared for you. Please wait until it is ready." in response.content.decode()
    assert snapshot() == before


# --- API ----------------------------------------------------------------------------------------------


def api_url(membership: Membership, *suffix: object) -> str:
    return "/".join([f"/api/v1/organizations/{membership.organization_id}/exports", *map(str, suffix), ""])


def test_evd_4_the_api_requests_follows_and_downloads_a_statement(django_capture_on_commit_callbacks) -> None:
    legal = member(Role.ADMINISTRATOR)
    client = api(legal)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(api_url(legal), {"start": "2026-03-01", "end": "2026-03-31"}, format="json")
    assert created.status_code == 202
    export_id = created.json()["id"]

    detail = client.get(api_url(legal, export_id)).json()
    assert {key: detail[key] for key in ("kind", "start", "end", "status", "progress", "expires_on")} == {
        "kind": "statement",
        "start": "2026-03-01",
        "end": "2026-03-31",
        "status": "ready",
        "progress": 100,
        "expires_on": "2026-04-09",
    }
    assert detail["download"].endswith(api_url(legal, export_id, "download"))
    assert [item["id"] for item in client.get(api_url(legal)).json()] == [export_id]
    download = client.get(api_url(legal, export_id, "download"))
    assert (download.status_code, download["Content-Type"]) == (200, "application/zip")


def test_evd_4_the_api_refuses_a_reversed_range_with_the_rule() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE)
    before = snapshot()

    response = api(legal).post(api_url(legal), {"start": "2026-03-31", "end": "2026-03-01"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The start date must be on or before the end date.",
        "rule": "EVD-4",
        "field": "start",
    }
    assert snapshot() == before


def test_evd_4_the_api_refuses_a_technical_member_and_hides_others_exports() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = ready(legal)
    technical = api(member(Role.TECHNICAL, organization=legal.organization))
    stranger_membership = seed_other()
    stranger = api(stranger_membership)
    before = snapshot()

    listed = technical.get(api_url(legal))
    assert (listed.status_code, listed.json()["rule"]) == (403, "ORG-5")
    assert (
        technical.post(api_url(legal), {"start": "2026-03-01", "end": "2026-03-31"}, format="json").status_code == 403
    )
    for client in (technical, stranger):
        assert client.get(api_url(legal, export.pk)).status_code == 404
        assert client.get(api_url(legal, export.pk, "download")).status_code == 404
    assert stranger.get(api_url(stranger_membership, export.pk)).status_code == 404
    assert stranger.get(api_url(legal)).status_code == 404
    assert snapshot() == before


def test_evd_5_the_api_serves_your_own_personal_export_only(django_capture_on_commit_callbacks) -> None:
    ann = member(Role.TECHNICAL)
    client = api(ann)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/me/exports/")
    assert created.status_code == 202
    export_id = created.json()["id"]
    assert client.get(f"/api/v1/me/exports/{export_id}/").json()["status"] == "ready"
    download = client.get(f"/api/v1/me/exports/{export_id}/download/")
    assert (download.status_code, download["Content-Type"]) == (200, "application/json")

    other = api(member(Role.LEGAL_RESPONSIBLE, organization=ann.organization))
    before = snapshot()
    assert other.get(f"/api/v1/me/exports/{export_id}/").status_code == 404
    assert other.get(f"/api/v1/me/exports/{export_id}/download/").status_code == 404
    assert other.get("/api/v1/me/exports/").json() == []
    assert snapshot() == before
