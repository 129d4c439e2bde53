"""EVD-4, EVD-5: an export's file is kept EXPORT_RETENTION_DAYS, then removed by the daily job (order
950) — once: a rerun of the day removes nothing more. Exports whose task was lost are built by it."""

import datetime as dt

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import translation

from accounts.models import Membership
from audit.models import AuditEvent
from core import lifecycle
from core.errors import RuleViolation
from exports.jobs import remove_expired_exports
from exports.models import Export
from exports.services import export_build, export_download, export_personal_request, export_statement_request
from tests.exports.helpers import MARCH, NOW
from tests.factories import member

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.fixture(autouse=True)
def frozen():  # noqa: ANN201
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def ready_statement() -> Export:
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = export_statement_request(
        organization_id=legal.organization_id, user=legal.user, start=MARCH[0], end=MARCH[1], now=NOW
    )
    built = export_build(export_id=export.pk, now=NOW)
    assert built is not None
    return built


def test_evd_4_the_retention_job_is_registered_in_the_daily_run() -> None:
    (job,) = [job for job in lifecycle.jobs() if job.name == "exports.retention"]
    assert (job.order, job.rule, job.function) == (950, "EVD-4", remove_expired_exports)


def test_evd_4_the_file_is_kept_seven_days_then_removed_once() -> None:
    # given a statement built on 2 April (kept until 9 April) and a personal export built the same day
    statement = ready_statement()
    personal = export_personal_request(user=statement.user, now=NOW)
    personal = export_build(export_id=personal.pk, now=NOW)
    assert personal is not None
    names = [statement.file.name, personal.file.name]
    assert str(statement.expires_on) == "2026-04-09"

    # when the daily run of 8 April runs, then nothing is removed yet
    assert remove_expired_exports(day=dt.date(2026, 4, 8), now=NOW + dt.timedelta(days=6)) == 0
    assert all(default_storage.exists(name) for name in names)

    # when the daily run of 9 April runs
    removed_at = NOW + dt.timedelta(days=7)
    events = AuditEvent.objects.count()
    assert remove_expired_exports(day=dt.date(2026, 4, 9), now=removed_at) == 2

    # then both files are gone, the rows stay as evidence, each removal recorded under its rule
    assert not any(default_storage.exists(name) for name in names)
    for export in (statement, personal):
        export.refresh_from_db()
        assert (export.status, export.file.name, export.removed_at) == (Export.Status.REMOVED, "", removed_at)
    removals = AuditEvent.objects.filter(action="export.removed").order_by("id")
    assert [(e.object_id, e.rule, e.actor_label) for e in removals] == [
        (str(statement.pk), "EVD-4", "job:exports.retention"),
        (str(personal.pk), "EVD-5", "job:exports.retention"),
    ]
    assert AuditEvent.objects.count() == events + 2

    # when the same day runs again, then nothing more happens
    assert remove_expired_exports(day=dt.date(2026, 4, 9), now=removed_at) == 0
    assert AuditEvent.objects.count() == events + 2


def test_evd_4_a_removed_export_cannot_be_downloaded_any_more() -> None:
    export = ready_statement()
    remove_expired_exports(day=dt.date(2026, 4, 9), now=NOW + dt.timedelta(days=7))
    events = AuditEvent.objects.count()

    with pytest.raises(RuleViolation) as refused:
        export_download(export=export, user=export.user, now=NOW + dt.timedelta(days=7))
    assert (refused.value.rule, refused.value.status, refused.value.message) == (
        "EVD-4",
        404,
        "This export is not available.",
    )
    assert AuditEvent.objects.count() == events


def test_evd_4_an_export_whose_task_was_lost_is_built_by_the_daily_run() -> None:
    # given a statement requested on 2 April whose task never ran (the broker was down)
    legal = member(Role.LEGAL_RESPONSIBLE)
    export = export_statement_request(
        organization_id=legal.organization_id, user=legal.user, start=MARCH[0], end=MARCH[1], now=NOW
    )

    # when the daily run of 3 April runs
    later = NOW + dt.timedelta(days=1)
    assert remove_expired_exports(day=dt.date(2026, 4, 3), now=later) == 1

    # then it is built, kept 7 days from then; a rerun builds nothing more
    export.refresh_from_db()
    assert (export.status, export.built_at, str(export.expires_on)) == (Export.Status.READY, later, "2026-04-10")
    assert remove_expired_exports(day=dt.date(2026, 4, 3), now=later) == 0
