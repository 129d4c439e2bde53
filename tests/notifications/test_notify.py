"""SPEC EVD-3 (every notification recorded with channel and send time), ORG-3 (inbox, tacit reading)."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import translation

from audit.models import AuditEvent
from audit.services import Actor
from core.errors import RuleViolation
from notifications.backends import sms
from notifications.jobs import mark_tacitly_read, tacit_acceptance_date
from notifications.models import Notification
from notifications.services import (
    inbox_message_react,
    inbox_message_read,
    notification_deliver,
    notification_mark_handled,
    notify,
)
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _notify(organization, channels, **kwargs):
    return notify(
        organization=organization,
        template="organization_blocked",
        context={"reason": "Unpaid & late"},
        channels=channels,
        now=NOW,
        **kwargs,
    )


def test_evd3_each_channel_is_recorded_and_email_and_sms_are_sent_after_commit(
    django_capture_on_commit_callbacks,
) -> None:
    # given
    organization = OrganizationFactory(
        contact_email="boss@example.com",
        secondary_email="desk@example.com",
        mobile="+41791112233",
        landline="+41441234567",
    )

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = _notify(organization, ("email", "sms", "letter", "phone", "inbox"))
    # then: nothing left the building before the commit
    assert len(mail.outbox) == 0
    assert sms.outbox == []
    for callback in callbacks:
        callback()

    rows = {n.channel: n for n in Notification.objects.all()}
    assert [n.channel for n in created] == ["email", "sms", "letter", "phone", "inbox"]
    assert rows["email"].status == "sent" and rows["email"].sent_at is not None
    assert rows["email"].address == "boss@example.com"
    assert rows["sms"].status == "sent" and rows["sms"].address == "+41791112233"
    assert rows["letter"].status == "awaiting_staff" and rows["letter"].sent_at is None
    assert "Rue du Test 1\n1200 Genève\nSwitzerland" in rows["letter"].address
    assert rows["phone"].status == "awaiting_staff" and rows["phone"].address == "+41791112233"
    assert rows["inbox"].status == "sent" and rows["inbox"].sent_at == NOW
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@example.com"]
    assert mail.outbox[0].subject == "Your organization is blocked"
    assert "Unpaid & late" in mail.outbox[0].body  # plain text: no HTML escaping
    assert sms.outbox == [{"to": "+41791112233", "text": rows["sms"].subject + "\n" + rows["sms"].body}]


def test_rw5_all_contacts_reaches_every_address_on_file(django_capture_on_commit_callbacks) -> None:
    organization = OrganizationFactory(
        contact_email="boss@example.com", secondary_email="desk@example.com", landline="+41441234567"
    )

    with django_capture_on_commit_callbacks(execute=True):
        _notify(organization, ("email", "phone"), all_contacts=True)

    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.com", "desk@example.com"]
    assert sorted(Notification.objects.filter(channel="phone").values_list("address", flat=True)) == [
        "+41441234567",
        "+41791234567",
    ]


def test_evd3_message_is_rendered_in_the_organizations_language() -> None:
    organization = OrganizationFactory(language="fr")

    (notification,) = _notify(organization, ("inbox",))

    with translation.override("fr"):
        expected = translation.gettext("Your organization is blocked")
    assert expected != "Your organization is blocked"  # a French translation exists
    assert notification.subject == expected
    assert notification.language == "fr"


def test_reng8_same_dedupe_key_records_and_sends_once(django_capture_on_commit_callbacks) -> None:
    organization = OrganizationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        first = _notify(organization, ("email", "inbox"), dedupe_key="renewal-failed:42")
        second = _notify(organization, ("email", "inbox"), dedupe_key="renewal-failed:42")

    assert len(first) == 2
    assert second == []
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 1


def test_evd3_a_failed_delivery_stays_pending_and_is_retried(settings, django_capture_on_commit_callbacks) -> None:
    settings.SMS_BACKEND = "tests.notifications.test_notify.BrokenSMSBackend"
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        (notification,) = _notify(organization, ("sms",))

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.sent_at) == ("pending", 1, None)
    assert notification.last_error == "gateway down"

    settings.SMS_BACKEND = "notifications.backends.sms.LocmemSMSBackend"
    notification_deliver(notification_id=notification.pk, now=NOW + dt.timedelta(minutes=6))
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)
    assert notification.sent_at == NOW + dt.timedelta(minutes=6)
    assert len(sms.outbox) == 1
    # delivering again does nothing
    assert notification_deliver(notification_id=notification.pk, now=NOW) is None
    assert len(sms.outbox) == 1


class BrokenSMSBackend(sms.BaseSMSBackend):
    def send(self, *, to: str, text: str) -> None:
        raise ConnectionError("gateway down")


def test_evd3_staff_mark_a_letter_posted() -> None:
    organization = OrganizationFactory()
    staff = UserFactory(is_staff=True)
    (letter,) = _notify(organization, ("letter",))

    done = notification_mark_handled(notification=letter, staff_user=staff, now=NOW + dt.timedelta(hours=2))

    assert (done.status, done.sent_at, done.handled_by) == ("sent", NOW + dt.timedelta(hours=2), staff)
    event = AuditEvent.objects.get(action="notification.letter_done")
    assert (event.rule, event.actor_label, event.organization_id) == ("EVD-3", staff.email, organization.pk)


@pytest.mark.parametrize(
    ("posted", "tacit_on"),
    [
        (dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC), dt.date(2026, 2, 15)),
        (dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.UTC), dt.date(2026, 2, 28)),  # month end clamps
        (dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC), dt.date(2026, 3, 1)),  # already 1 Feb in Zurich
    ],
)
def test_org3_tacit_acceptance_date_is_one_month_after_posting(posted: dt.datetime, tacit_on: dt.date) -> None:
    assert tacit_acceptance_date(posted) == tacit_on


def test_org3_unanswered_inbox_message_becomes_tacitly_read_and_accepted_after_one_month() -> None:
    # given: posted on 31 January (Zurich), one answered, one not, one e-mail
    organization = OrganizationFactory()
    posted = dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.UTC)
    (silent,) = notify(organization=organization, template="organization_created", channels=("inbox",), now=posted)
    (answered,) = notify(organization=organization, template="organization_created", channels=("inbox",), now=posted)
    notify(organization=organization, template="organization_created", channels=("email",), now=posted)
    inbox_message_react(notification=answered, reaction="objected", actor=Actor.system("test"), now=posted)
    run_at = dt.datetime(2026, 2, 28, 1, 0, tzinfo=dt.UTC)

    # when: the day before, nothing; on 28 February, the silent one
    assert mark_tacitly_read(day=dt.date(2026, 2, 27), now=run_at) == 0
    assert mark_tacitly_read(day=dt.date(2026, 2, 28), now=run_at) == 1
    assert mark_tacitly_read(day=dt.date(2026, 2, 28), now=run_at) == 0

    # then
    silent.refresh_from_db()
    answered.refresh_from_db()
    assert (silent.tacitly_accepted_at, silent.read_at) == (run_at, run_at)
    assert (answered.tacitly_accepted_at, answered.reaction) == (None, "objected")
    event = AuditEvent.objects.get(action="inbox.tacitly_accepted")
    assert (event.rule, event.actor_label, event.object_id) == (
        "ORG-3",
        "job:notifications.tacit_reading",
        str(silent.pk),
    )


def test_org3_reaction_is_recorded_once() -> None:
    organization = OrganizationFactory()
    user = UserFactory()
    (message,) = notify(organization=organization, template="organization_created", channels=("inbox",), now=NOW)

    inbox_message_read(notification=message, now=NOW + dt.timedelta(hours=1))
    inbox_message_react(
        notification=message, reaction="accepted", actor=Actor.for_user(user), now=NOW + dt.timedelta(hours=2)
    )
    with pytest.raises(RuleViolation, match="already been answered") as refused:
        inbox_message_react(notification=message, reaction="objected", actor=Actor.for_user(user), now=NOW)

    message.refresh_from_db()
    assert refused.value.rule == "ORG-3"
    assert (message.reaction, message.read_at, message.reacted_at) == (
        "accepted",
        NOW + dt.timedelta(hours=1),
        NOW + dt.timedelta(hours=2),
    )
    assert AuditEvent.objects.filter(action__startswith="inbox.").count() == 1


def test_evd3_notify_many_writes_the_same_rows_as_notify(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    """The daily run's notify_many copies plain rows in (no model instances): every column as
    notify() writes it, and the e-mail's delivery queued after commit."""
    from django.forms.models import model_to_dict

    from notifications.services import NoticeSpec, notify_many

    organization = OrganizationFactory(language="de")
    one_email, one_inbox = notify(organization=organization, template="organization_created", now=NOW)
    expected = [model_to_dict(n, exclude=["id"]) for n in (one_email, one_inbox)]
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        written = notify_many([NoticeSpec(organization=organization, template="organization_created")], now=NOW)

    assert written == 2
    assert [model_to_dict(n, exclude=["id"]) for n in Notification.objects.order_by("channel")] == expected
    assert expected[0]["status"] == "pending" and expected[1]["status"] == "sent"
    assert len(callbacks) == 1
    callbacks[0]()
    assert [m.subject for m in mail.outbox] == [one_email.subject]
