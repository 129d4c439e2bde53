"""Exports seen by staff (EVD-2: each list and view recorded; no file, no change), a build that fails
(recorded, the member may ask again), and a blocked Organization (ORG-2: it may still read, so export)."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, User
from audit.models import AuditEvent
from exports import services
from exports.models import Export
from exports.services import export_build, export_statement_request
from tests.exports.helpers import MARCH, NOW
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


@pytest.fixture
def agent() -> User:
    return UserFactory(is_staff=True, is_superuser=True, email="agent@example.com")


@pytest.fixture
def admin_client(agent: User) -> Client:
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    client = Client()
    client.force_login(agent)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    return client


def requested(legal: Membership) -> Export:
    return export_statement_request(
        organization_id=legal.organization_id, user=legal.user, start=MARCH[0], end=MARCH[1], now=NOW
    )


def test_evd_4_staff_read_exports_in_the_admin_and_each_look_is_recorded(admin_client: Client, agent: User) -> None:
    # given a ready statement
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = export_build(export_id=requested(legal).pk, now=NOW)
    assert export is not None

    # when staff list the exports and open it
    listed = admin_client.get(reverse("admin:exports_export_changelist"))
    viewed = admin_client.get(reverse("admin:exports_export_change", args=[export.pk]))

    # then both pages show it, read-only and without the file, and both looks are evidence (EVD-2)
    assert (listed.status_code, viewed.status_code) == (200, 200)
    assert [row.pk for row in listed.context["cl"].result_list] == [export.pk]
    assert export.file.name not in viewed.content.decode()
    assert AuditEvent.objects.filter(action="staff.listed", rule="EVD-2", actor_user=agent).count() == 1
    seen = AuditEvent.objects.get(action="staff.viewed", rule="EVD-2")
    assert (seen.object_type, seen.object_id, seen.organization_id) == (
        "exports.export",
        str(export.pk),
        legal.organization_id,
    )
    assert admin_client.post(reverse("admin:exports_export_change", args=[export.pk]), {}).status_code == 403


def test_evd_4_a_build_that_fails_is_recorded_and_the_member_may_ask_again(monkeypatch) -> None:  # noqa: ANN001
    # given a statement whose build breaks
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = requested(legal)

    def broken(*args: object, **kwargs: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(services, "statement_zip", broken)

    # when the worker builds it
    failed = export_build(export_id=export.pk, now=NOW)

    # then it is marked failed, with the reason for staff and the evidence, and no file
    assert failed is not None
    assert (failed.status, failed.file.name, failed.failure) == (Export.Status.FAILED, "", "OSError: disk full")
    (event,) = AuditEvent.objects.filter(action="export.failed")
    assert (event.rule, event.object_id, event.after) == ("EVD-4", str(export.pk), {"failure": "OSError: disk full"})

    # and the member may ask again at once
    monkeypatch.undo()
    again = export_build(export_id=requested(legal).pk, now=NOW)
    assert again is not None
    assert again.status == Export.Status.READY


def test_evd_4_a_blocked_organization_may_still_export_its_statement() -> None:
    # given a blocked Organization (ORG-2: its users read but change nothing)
    legal = member(Role.LEGAL_RESPONSIBLE)
    Organization.objects.filter(pk=legal.organization_id).update(status=Organization.Status.BLOCKED)

    # when its Legal Responsible exports March, then the statement is built
    export = export_build(export_id=requested(legal).pk, now=NOW)
    assert export is not None
    assert export.status == Export.Status.READY


def test_evd_4_the_statements_page_of_another_organization_is_404() -> None:
    legal = member(Role.LEGAL_RESPONSIBLE)
    stranger = Client()
    stranger.force_login(member(Role.LEGAL_RESPONSIBLE).user)

    url = reverse("exports:statements", args=[legal.organization_id])
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, {"start": "2026-03-01", "end": "2026-03-31"}).status_code == 404
    assert not Export.objects.exists()
