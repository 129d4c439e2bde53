"""EVD-5: a user's personal data as JSON — each section holds exactly their rows (never another
member's), the request and the build are recorded, one export waits at a time."""

import json

import pytest
import time_machine
from axes.models import AccessLog
from django.core.files.storage import default_storage
from django.utils import translation

from accounts.models import Invitation, Membership
from accounts.tokens import token_issue
from audit.models import AuditEvent
from core.errors import RuleViolation
from exports.models import Export
from exports.services import export_build, export_personal_request
from notifications.models import Notification
from notifications.services import notify
from support.models import Message, Ticket
from tests.exports.helpers import NOW, at, snapshot
from tests.factories import AcceptanceFactory, DocumentVersionFactory, member

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def personal_data(export: Export) -> dict:
    with default_storage.open(export.file.name, "rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


def test_evd_5_the_json_holds_the_persons_own_data_and_nothing_of_a_colleague() -> None:
    # given a user with a membership, an acceptance, a notice, a log-in, a token and a ticket, and a
    # colleague of the same Organization with theirs
    ann = member(Role.ADMINISTRATOR, email="ann@example.com", first_name="Ann", last_name="Muster")
    colleague = member(Role.TECHNICAL, organization=ann.organization, email="bob@example.com")
    version = DocumentVersionFactory(label="2026-01")
    AcceptanceFactory(organization=ann.organization, version=version, user=ann.user, accepted_at=at(2026, 1, 6, 9, 0))
    notify(
        organization=ann.organization,
        template="member_invited",
        context={"invitation": None, "inviter": colleague.user, "role": "x", "path": "/"},
        channels=(Notification.Channel.EMAIL,),
        email_to="ann@example.com",
        now=at(2026, 2, 1, 9, 0),
    )
    notify(
        organization=ann.organization,
        template="member_invited",
        context={"invitation": None, "inviter": ann.user, "role": "x", "path": "/"},
        channels=(Notification.Channel.EMAIL,),
        email_to="bob@example.com",
        now=at(2026, 2, 1, 9, 0),
    )
    AccessLog.objects.create(username="ann@example.com", ip_address="192.0.2.7", user_agent="Firefox", path_info="/")
    AccessLog.objects.create(username="bob@example.com", ip_address="192.0.2.8", user_agent="Chrome", path_info="/")
    token_issue(user=ann.user, name="ci", now=at(2026, 3, 1, 9, 0))
    invited = Invitation.objects.create(
        organization=colleague.organization,
        email="ann@example.com",
        role="billing",
        token="t-ann",
        invited_by=colleague.user,
        created_at=at(2026, 3, 1, 9, 0),
        expires_at=at(2026, 3, 15, 9, 0),
    )
    Invitation.objects.create(
        organization=colleague.organization,
        email="carl@example.com",
        role="billing",
        token="t-carl",
        invited_by=colleague.user,
        created_at=at(2026, 3, 1, 9, 0),
        expires_at=at(2026, 3, 15, 9, 0),
    )
    mine = Ticket.objects.create(
        organization=ann.organization,
        kind="technical",
        subject="Help",
        language="en",
        opened_by=ann.user,
        created_at=at(2026, 3, 2, 9, 0),
        updated_at=at(2026, 3, 2, 9, 0),
    )
    Message.objects.create(ticket=mine, author=ann.user, body="Please help.", created_at=at(2026, 3, 2, 9, 0))
    Message.objects.create(ticket=mine, author=colleague.user, body="Bob's words.", created_at=at(2026, 3, 2, 10, 0))
    Ticket.objects.create(
        organization=ann.organization,
        kind="technical",
        subject="Bob's",
        language="en",
        opened_by=colleague.user,
        created_at=at(2026, 3, 3, 9, 0),
        updated_at=at(2026, 3, 3, 9, 0),
    )

    # when Ann exports her data
    export = export_personal_request(user=ann.user, now=NOW)
    built = export_build(export_id=export.pk, now=NOW)

    # then the JSON holds exactly her data, section by section
    assert built is not None
    assert built.status == Export.Status.READY
    data = personal_data(built)
    assert list(data) == [
        "generated_at",
        "profile",
        "memberships",
        "invitations",
        "acceptances",
        "notifications",
        "log_ins",
        "api_tokens",
        "tickets",
    ]
    assert data["generated_at"] == "2026-04-02T09:00:00+02:00"
    assert data["profile"] == {
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Muster",
        "language": "en",
        "date_of_birth": "1980-01-01",
        "date_joined": "2026-04-02T09:00:00+02:00",
        "active": True,
        "second_factor": False,
    }
    assert data["memberships"] == [
        {
            "organization_id": ann.organization_id,
            "organization": ann.organization.name,
            "role": "administrator",
            "since": "2026-01-05T11:00:00+01:00",
        }
    ]
    assert data["invitations"] == [
        {
            "organization_id": invited.organization_id,
            "organization": ann.organization.name,
            "role": "billing",
            "invited_at": "2026-03-01T10:00:00+01:00",
            "expires_at": "2026-03-15T10:00:00+01:00",
            "accepted_at": None,
            "revoked_at": None,
        }
    ]
    assert data["acceptances"] == [
        {
            "organization_id": ann.organization_id,
            "document": "Terms and Conditions of Use",
            "version": "2026-01",
            "language": "",
            "accepted_at": "2026-01-06T10:00:00+01:00",
            "client_address": None,
        }
    ]
    assert [(n["address"], n["channel"], n["created_at"]) for n in data["notifications"]] == [
        ("ann@example.com", "email", "2026-02-01T10:00:00+01:00")
    ]
    assert data["log_ins"] == [
        {
            "logged_in_at": "2026-04-02T09:00:00+02:00",
            "logged_out_at": None,
            "client_address": "192.0.2.7",
            "user_agent": "Firefox",
        }
    ]
    assert [(t["name"], t["scope"], t["created_at"]) for t in data["api_tokens"]] == [
        ("ci", "full", "2026-03-01T10:00:00+01:00")
    ]
    assert data["tickets"] == [
        {
            "ticket_id": mine.pk,
            "organization_id": ann.organization_id,
            "subject": "Help",
            "kind": "technical",
            "status": "open",
            "opened_by_you": True,
            "opened_at": "2026-03-02T10:00:00+01:00",
            "your_messages": [{"written_at": "2026-03-02T10:00:00+01:00", "body": "Please help."}],
        }
    ]
    assert "bob@example.com" not in json.dumps(data["notifications"] + data["log_ins"])


def test_evd_5_the_request_and_the_build_are_recorded_without_an_organization() -> None:
    # given a user
    ann = member(Role.TECHNICAL, email="ann@example.com")

    # when she exports her data
    export = export_personal_request(user=ann.user, client_address="192.0.2.7", now=NOW)
    export_build(export_id=export.pk, now=NOW)

    # then both steps are evidence under EVD-5, tied to no Organization; no notice is sent
    events = AuditEvent.objects.filter(object_type="exports.export", object_id=str(export.pk)).order_by("id")
    assert [(e.action, e.rule, e.actor_label, e.organization_id) for e in events] == [
        ("export.requested", "EVD-5", "ann@example.com", None),
        ("export.built", "EVD-5", "job:exports.build", None),
    ]
    assert events[0].client_address == "192.0.2.7"
    assert not Notification.objects.filter(template="export_ready").exists()


def test_evd_5_one_personal_export_waits_at_a_time() -> None:
    # given a personal export waiting
    ann = member(Role.TECHNICAL)
    export_personal_request(user=ann.user, now=NOW)
    before = snapshot()

    # when she asks again, then it is refused and nothing changed
    with pytest.raises(RuleViolation) as refused:
        export_personal_request(user=ann.user, now=NOW)
    assert (refused.value.rule, refused.value.status) == ("EVD-5", 409)
    assert refused.value.message == "An export is already being prepared for you. Please wait until it is ready."
    assert snapshot() == before
