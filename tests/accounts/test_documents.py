"""SPEC ORG-7 (acceptance recorded: who, when, which version, from where) and ORG-8 (new versions:
notified, binding when accepted and at the latest 30 days after the notification)."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from accounts import document_services, selectors
from accounts.jobs import deem_documents_accepted, send_missing_document_notices
from accounts.models import Acceptance, DocumentNotice, DocumentText, DocumentVersion
from audit.models import AuditEvent
from core.errors import RuleViolation
from tests.factories import AcceptanceFactory, DocumentVersionFactory, UserFactory, member

pytestmark = pytest.mark.django_db

PUBLISHED_AT = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)  # 1 April 2026 in Zurich


@pytest.fixture
def published(world, django_capture_on_commit_callbacks):
    """The draft published on 1 April 2026 (the notices are sent by a task after commit)."""
    with time_machine.travel(PUBLISHED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        document_services.document_version_publish(version=world["draft"], staff_user=world["staff"], now=PUBLISHED_AT)
    mail.outbox.clear()
    world["draft"].refresh_from_db()
    return world


@pytest.fixture
def world():
    """Two Organizations bound by TCU 2026-01, one terminated one, one that never accepted it, and a
    draft 2026-04 ready to publish."""
    v1 = DocumentVersionFactory(label="2026-01")
    bound = [member(), member()]
    for membership in bound:
        AcceptanceFactory(organization=membership.organization, version=v1, user=membership.user)
    gone = member()
    AcceptanceFactory(organization=gone.organization, version=v1, user=gone.user)
    gone.organization.status = "terminated"
    gone.organization.save()
    member()  # never accepted anything
    draft = DocumentVersion.objects.create(
        document=v1.document, label="2026-04", summary_of_changes="Clearer renewal dates."
    )
    DocumentText.objects.create(version=draft, language="en", body="New summary.")
    return {"v1": v1, "bound": bound, "draft": draft, "staff": UserFactory(is_staff=True)}


def test_org8_publishing_notifies_each_bound_organization_once(world, django_capture_on_commit_callbacks) -> None:
    with time_machine.travel(PUBLISHED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        published = document_services.document_version_publish(
            version=world["draft"], staff_user=world["staff"], now=PUBLISHED_AT
        )

    assert (published.published_on, published.published_at) == (dt.date(2026, 4, 1), PUBLISHED_AT)
    notified = set(DocumentNotice.objects.values_list("organization_id", flat=True))
    assert notified == {m.organization_id for m in world["bound"]}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.organization.contact_email for m in world["bound"])
    assert mail.outbox[0].subject == "New version of the Terms and Conditions of Use"
    assert "Clearer renewal dates." in mail.outbox[0].body
    # sending again notifies nobody twice
    assert document_services.document_notices_send(version=published, now=PUBLISHED_AT) == 0
    assert DocumentNotice.objects.count() == 2
    assert AuditEvent.objects.filter(action="document.published", rule="ORG-8").count() == 1


def test_org8_publish_refusals(world) -> None:
    document_services.document_version_publish(version=world["draft"], staff_user=world["staff"], now=PUBLISHED_AT)
    empty = DocumentVersion.objects.create(document=world["v1"].document, label="2026-05")

    with pytest.raises(RuleViolation, match="already published"):
        document_services.document_version_publish(version=world["draft"], staff_user=world["staff"], now=PUBLISHED_AT)
    with pytest.raises(RuleViolation, match="Add the text"):
        document_services.document_version_publish(version=empty, staff_user=world["staff"], now=PUBLISHED_AT)

    empty.refresh_from_db()
    assert empty.published_at is None
    assert AuditEvent.objects.filter(action="document.published").count() == 1
    assert not DocumentNotice.objects.filter(version=empty).exists()


def test_org8_the_new_version_applies_at_once_to_new_organizations(world) -> None:
    document_services.document_version_publish(version=world["draft"], staff_user=world["staff"], now=PUBLISHED_AT)

    assert selectors.current_tcu(dt.date(2026, 3, 31)) == world["v1"]
    assert selectors.current_tcu(dt.date(2026, 4, 1)) == world["draft"]


def test_org7_an_explicit_acceptance_binds_and_is_not_deemed_later(published) -> None:
    world = published
    first, second = world["bound"]
    accepted_at = PUBLISHED_AT + dt.timedelta(days=3)

    acceptance = document_services.document_accept(
        organization=first.organization,
        version=world["draft"],
        user=first.user,
        client_address="192.0.2.1",
        now=accepted_at,
    )
    again = document_services.document_accept(
        organization=first.organization, version=world["draft"], user=first.user, now=accepted_at + dt.timedelta(days=1)
    )

    assert again == acceptance
    assert (acceptance.user, acceptance.method, acceptance.accepted_at, acceptance.client_address) == (
        first.user,
        "explicit",
        accepted_at,
        "192.0.2.1",
    )
    pending = selectors.documents_to_accept(second.organization, dt.date(2026, 4, 5), 30)
    assert [(p.version, p.deadline) for p in pending] == [(world["draft"], dt.date(2026, 5, 1))]
    assert selectors.documents_to_accept(first.organization, dt.date(2026, 4, 5), 30) == []


def test_org8_deemed_accepted_exactly_30_days_after_notification(published) -> None:
    world = published
    first, second = world["bound"]
    document_services.document_accept(
        organization=first.organization, version=world["draft"], user=first.user, now=PUBLISHED_AT
    )
    run_at = dt.datetime(2026, 5, 1, 0, 5, tzinfo=dt.UTC)

    assert deem_documents_accepted(day=dt.date(2026, 4, 30), now=run_at) == 0
    assert deem_documents_accepted(day=dt.date(2026, 5, 1), now=run_at) == 1
    assert deem_documents_accepted(day=dt.date(2026, 5, 1), now=run_at) == 0

    deemed = Acceptance.objects.get(organization=second.organization, version=world["draft"])
    assert (deemed.method, deemed.user, deemed.accepted_at) == ("deemed", None, run_at)
    event = AuditEvent.objects.get(action="document.deemed_accepted")
    assert (event.rule, event.actor_label) == ("ORG-8", "job:accounts.deemed_acceptance")


def test_org8_run_lifecycle_prints_counts_and_a_second_run_does_nothing(published, capsys) -> None:
    call_command("run_lifecycle", "--date", "2026-04-30", "--until", "2026-05-01")
    first = capsys.readouterr().out
    call_command("run_lifecycle", "--date", "2026-05-01")
    second = capsys.readouterr().out

    # The accounts, notifications and audit jobs (the billing, SLA, support, usage, enforcement and
    # exports jobs have nothing to do).
    others = ("billing.", "sla.", "support.", "usage.", "enforcement.", "exports.")
    assert [line for line in first.splitlines() if not any(name in line for name in others)] == [
        "2026-04-30",
        "   890 accounts.document_notices                      0  (ORG-8)",
        "   900 accounts.deemed_acceptance                     0  (ORG-8)",
        "   910 notifications.tacit_reading                    0  (ORG-3)",
        "   990 audit.seal                                     1  (EVD-1)",
        "2026-05-01",
        "   890 accounts.document_notices                      0  (ORG-8)",
        "   900 accounts.deemed_acceptance                     2  (ORG-8)",
        "   910 notifications.tacit_reading                    2  (ORG-3)",
        "   990 audit.seal                                     1  (EVD-1)",
    ]
    assert "   900 accounts.deemed_acceptance                     0  (ORG-8)" in second.splitlines()
    assert "   910 notifications.tacit_reading                    0  (ORG-3)" in second.splitlines()
    assert "   990 audit.seal                                     0  (EVD-1)" in second.splitlines()  # sealed once
    assert Acceptance.objects.filter(method="deemed").count() == 2


def test_org8_a_draft_or_future_version_cannot_be_accepted(world) -> None:
    first = world["bound"][0]

    with pytest.raises(RuleViolation, match="not published") as refused:
        document_services.document_accept(
            organization=first.organization, version=world["draft"], user=first.user, now=PUBLISHED_AT
        )

    assert refused.value.rule == "ORG-8"
    assert not Acceptance.objects.filter(version=world["draft"]).exists()


def test_org8_when_the_broker_is_down_the_daily_job_sends_the_notices(world, monkeypatch) -> None:
    from accounts import tasks

    def broker_down(*args: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.send_document_notices, "delay", broker_down)
    with time_machine.travel(PUBLISHED_AT, tick=False):
        document_services.document_version_publish(version=world["draft"], staff_user=world["staff"], now=PUBLISHED_AT)
    assert DocumentNotice.objects.count() == 0

    assert deem_documents_accepted(day=dt.date(2026, 5, 2), now=PUBLISHED_AT) == 0  # never notified: not deemed
    assert send_missing_document_notices(day=dt.date(2026, 4, 2), now=PUBLISHED_AT + dt.timedelta(days=1)) == 2
    assert send_missing_document_notices(day=dt.date(2026, 4, 2), now=PUBLISHED_AT + dt.timedelta(days=1)) == 0
    assert set(DocumentNotice.objects.values_list("organization_id", flat=True)) == {
        m.organization_id for m in world["bound"]
    }


def test_org8_an_organization_that_accepted_only_the_new_version_is_not_notified_of_it(published) -> None:
    newcomer = member()
    AcceptanceFactory(organization=newcomer.organization, version=published["draft"], user=newcomer.user)

    assert send_missing_document_notices(day=dt.date(2026, 4, 10), now=PUBLISHED_AT) == 0
    assert not DocumentNotice.objects.filter(organization=newcomer.organization).exists()
