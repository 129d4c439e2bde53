"""Staff site: reachable only with a TOTP second factor; staff views of customer data are recorded
(EVD-2); staff act through the services (ORG-2); the audit trail is read-only (EVD-1)."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from notifications.services import notify
from tests.factories import DocumentVersionFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


@pytest.fixture
def staff():
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def verified(staff) -> Client:
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    response = client.post(reverse("accounts:staff_otp"), {"token": _code(device), "next": "/admin/"})
    assert response.status_code == 302
    return client


def test_a_customer_never_reaches_the_admin_site() -> None:
    client = Client()
    client.force_login(member().user)

    response = client.get("/admin/", follow=True)

    assert [url for url, _ in response.redirect_chain][:2] == [
        "/admin/login/?next=/admin/",
        reverse("accounts:dashboard"),
    ]
    assert response.status_code == 200
    assert b"Administration" not in response.content


def test_staff_without_an_issued_enrolment_cannot_enrol_themselves(staff) -> None:
    client = Client()
    client.force_login(staff)

    page = client.get("/admin/", follow=True)

    assert "Ask an administrator to issue your enrolment" in page.content.decode()
    assert b"<svg" not in page.content
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert client.get("/admin/").status_code == 302


def test_staff_with_an_issued_enrolment_confirm_it_then_reach_the_admin(staff) -> None:
    call_command("staff_otp_enrol", staff.email)
    client = Client()
    client.force_login(staff)

    first = client.get("/admin/", follow=True)
    assert first.redirect_chain[-1][0] == reverse("accounts:staff_otp") + "?next=%2Fadmin%2F"
    assert b"<svg" in first.content  # the enrolment QR code
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed is False

    wrong = client.post(reverse("accounts:staff_otp"), {"token": "000000", "next": "/admin/"})
    assert "This code is not valid" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    # django-otp throttles after a failure: the next try waits a moment
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):
        right = client.post(reverse("accounts:staff_otp"), {"token": _code(device), "next": "/admin/"})
    assert right.status_code == 302
    assert right.url == "/admin/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="staff.second_factor_enrolled", actor_label=staff.email).count() == 1


def test_second_factor_page_is_not_for_customers() -> None:
    client = Client()
    client.force_login(member().user)

    assert client.get(reverse("accounts:staff_otp")).status_code == 404


def test_evd2_staff_viewing_an_organization_is_recorded(verified, staff) -> None:
    organization = member().organization

    response = verified.get(reverse("admin:accounts_organization_change", args=[organization.pk]))

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="staff.viewed")
    assert (event.rule, event.actor_type, event.actor_label, event.organization_id, event.object_id) == (
        "EVD-2",
        "staff",
        staff.email,
        organization.pk,
        str(organization.pk),
    )


def test_org2_staff_block_with_a_reason_from_the_admin(verified, django_capture_on_commit_callbacks) -> None:
    organization = member().organization
    url = reverse("admin:accounts_organization_changelist")
    common = {"action": "block", "_selected_action": [organization.pk]}

    asked = verified.post(url, common)
    assert b"Reason" in asked.content
    organization.refresh_from_db()
    assert organization.status == "active"

    with django_capture_on_commit_callbacks(execute=True):
        verified.post(url, {**common, "apply": "1", "reason": "Mobile number not reachable"})

    organization.refresh_from_db()
    assert (organization.status, organization.status_reason) == ("blocked", "Mobile number not reachable")
    assert [m.subject for m in mail.outbox] == ["Your organization is blocked"]


def test_evd1_audit_trail_is_read_only_in_the_admin(verified) -> None:
    organization = member().organization
    verified.get(reverse("admin:accounts_organization_change", args=[organization.pk]))
    event = AuditEvent.objects.get(action="staff.viewed")

    change = verified.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"rule": "X"})
    delete = verified.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"})

    assert change.status_code in (302, 403)
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.rule == "EVD-2"
    assert verified.get(reverse("admin:audit_auditevent_changelist")).status_code == 200


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:accounts_user_changelist",
        "admin:accounts_membership_changelist",
        "admin:accounts_documentversion_changelist",
        "admin:notifications_notification_changelist",
        "admin:notifications_printqueueitem_changelist",
        "admin:notifications_callqueueitem_changelist",
        "admin:accounts_guardianauthorization_changelist",
        "admin:accounts_invitation_changelist",
        "admin:accounts_acceptance_changelist",
    ],
)
def test_staff_pages_render(verified, url_name: str) -> None:
    member()

    assert verified.get(reverse(url_name)).status_code == 200


def test_evd3_a_letter_in_the_print_queue_opens_as_a_printable_page(verified) -> None:
    organization = member().organization
    (letter,) = notify(
        organization=organization,
        template="organization_blocked",
        context={"reason": "Test"},
        channels=("letter",),
        now=timezone.now(),
    )

    page = verified.get(reverse("admin:notifications_letter_print", args=[letter.pk]))

    assert page.status_code == 200
    assert "Rue du Test 1" in page.content.decode()
    assert "Your organization is blocked" in page.content.decode()
    assert AuditEvent.objects.filter(action="staff.viewed", rule="EVD-2", object_id=str(letter.pk)).count() == 1


@pytest.fixture
def clerk() -> Client:
    """A verified staff user with no model permissions at all."""
    user = UserFactory(email="clerk@example.com", is_staff=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    client.post(reverse("accounts:staff_otp"), {"token": _code(device), "next": "/admin/"})
    return client


def test_staff_without_permission_cannot_block_or_publish(clerk, django_capture_on_commit_callbacks) -> None:
    organization = member().organization
    draft = DocumentVersionFactory(label="2026-09", published_on=None, published_at=None)
    events = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        block = clerk.post(
            reverse("admin:accounts_organization_changelist"),
            {"action": "block", "_selected_action": [organization.pk], "apply": "1", "reason": "x"},
        )
        publish = clerk.post(
            reverse("admin:accounts_documentversion_changelist"), {"action": "publish", "_selected_action": [draft.pk]}
        )

    assert block.status_code in (302, 403)
    assert publish.status_code in (302, 403)
    organization.refresh_from_db()
    draft.refresh_from_db()
    assert organization.status == "active"
    assert draft.published_at is None
    assert mail.outbox == []
    assert AuditEvent.objects.count() == events


def test_evd1_staff_edits_of_a_user_are_recorded(verified, staff) -> None:
    customer = UserFactory(email="c@example.com", first_name="Old")
    url = reverse("admin:accounts_user_change", args=[customer.pk])
    form = verified.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key != "password"}
    data.update({"first_name": "New", "groups": [], "user_permissions": [], "date_of_birth": "1980-01-01"})

    response = verified.post(url, data)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="staff.changed")
    assert (event.rule, event.actor_label, event.object_id, event.after) == (
        "EVD-1",
        staff.email,
        str(customer.pk),
        {"first_name": "New"},
    )
    assert AuditEvent.objects.filter(action="staff.viewed", object_id=str(customer.pk)).count() == 1


def test_evd2_staff_searching_organizations_is_recorded(verified, staff) -> None:
    member()

    verified.get(reverse("admin:accounts_organization_changelist"), {"q": "+4179"})

    event = AuditEvent.objects.get(action="staff.listed")
    assert (event.rule, event.actor_label, event.object_type, event.object_id, event.after) == (
        "EVD-2",
        staff.email,
        "accounts.organization",
        "*",
        {"query": "q=%2B4179"},
    )
