"""Every change of an export (SPEC EVD-4, EVD-5): requested by a member or a user, built by a worker,
downloaded, removed after EXPORT_RETENTION_DAYS by the daily run. Each step locks the export row and
records the evidence (EVD-1) under the export's rule.

The build reads outside any lock: it marks the export "building" (committed, so the portal shows it),
writes the file with the progress committed as it goes, then locks the row again to make it ready.
A task delivered twice (acks_late) builds twice at worst: the second to finish finds it ready and
throws its file away. One export of a kind may wait per user at a time (a conditional unique
constraint), so a member cannot queue exports without end.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.permissions import BILLING_ROLES, require_member, require_role
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from exports import personal, statement
from exports.models import Export
from exports.pdf import statement_pdf
from notifications.models import Notification
from notifications.services import notify
from subscriptions.selectors import member_is_limited

logger = logging.getLogger(__name__)

JOB_RETENTION = "exports.retention"
# EVD-4 (ORG-5, ORG-6): who may export the statement — the roles that see every invoice, payment and
# the Prepaid Account of the Organization. A member limited to some Services (ORG-6) is refused too:
# the statement covers the whole Organization.
STATEMENT_ROLES = BILLING_ROLES
# CSV dialect (docs/decisions.md, "Exports"): what Excel opens in a Swiss, German or French locale
# with a double-click — UTF-8 announced by a byte order mark, ";" between cells, CRLF line ends.
CSV_BOM = "\ufeff"
CSV_DELIMITER = ";"
CSV_LINE_END = "\r\n"

Progress = Callable[[int], None]


def statement_period_check(*, start: dt.date, end: dt.date, today: dt.date) -> None:
    """EVD-4: a range of Zurich dates, start on or before end, ending today at the latest, at most
    EXPORT_MAX_YEARS long (both days included)."""
    if start > end:
        raise RuleViolation(
            _("The start date must be on or before the end date."), rule="EVD-4", status=400, field="start"
        )
    if end > today:
        raise RuleViolation(_("The end date cannot be after today."), rule="EVD-4", status=400, field="end")
    years = settings.EXPORT_MAX_YEARS
    if start + relativedelta(years=years) <= end:
        raise RuleViolation(
            _("A statement covers at most %(years)s years: choose a later start date.") % {"years": years},
            rule="EVD-4",
            status=400,
            field="start",
        )


def statement_member(organization_id: int, user: User) -> Membership:
    """EVD-4: a member of the Organization (else 404) whose role sees all its money (else 403)."""
    membership = require_member(organization_id, user)
    refusal = _("Only a Legal Responsible, an administrator or a billing member can export the statement.")
    require_role(membership, STATEMENT_ROLES, refusal=refusal)
    if member_is_limited(membership):
        raise RuleViolation(
            _(
                "Your access is limited to some services, and the statement covers the whole organization. "
                "Please ask a Legal Responsible or an administrator."
            ),
            rule="ORG-6",
            status=403,
        )
    return membership


def _create(export: Export, *, actor: Actor, now: dt.datetime) -> Export:
    """Insert the export and its evidence; the build is queued once they are committed."""
    try:
        with transaction.atomic():
            export.save(force_insert=True)
    except IntegrityError:
        raise RuleViolation(
            _("An export is already being prepared for you. Please wait until it is ready."),
            rule=export.rule,
            status=409,
        ) from None
    audit_record(
        actor=actor,
        action="export.requested",
        rule=export.rule,
        obj=export,
        organization=export.organization_id,
        after={"kind": export.kind, "start": export.start, "end": export.end},
        at=now,
    )
    transaction.on_commit(lambda: _queue_build(export.pk))
    return export


def export_statement_request(
    *,
    organization_id: int,
    user: User,
    start: dt.date,
    end: dt.date,
    client_address: str | None = None,
    now: dt.datetime,
) -> Export:
    """EVD-4: a member asks for the Organization's statement of `start`…`end`; built in the background."""
    membership = statement_member(organization_id, user)
    statement_period_check(start=start, end=end, today=clock.business_date(now))
    export = Export(
        kind=Export.Kind.STATEMENT,
        user=user,
        organization=membership.organization,
        start=start,
        end=end,
        requested_at=now,
    )
    with transaction.atomic():
        return _create(export, actor=Actor.for_user(user, client_address=client_address), now=now)


def export_personal_request(*, user: User, client_address: str | None = None, now: dt.datetime) -> Export:
    """EVD-5: a user asks for the personal data the portal holds about them; built in the background."""
    export = Export(kind=Export.Kind.PERSONAL, user=user, requested_at=now)
    with transaction.atomic():
        return _create(export, actor=Actor.for_user(user, client_address=client_address), now=now)


def _queue_build(export_id: int) -> None:
    """Queue the build after commit. A broker that is down loses nothing: the daily run builds the
    exports still waiting (exports.jobs)."""
    from exports.tasks import build_export

    try:
        build_export.delay(export_id)
    except Exception:  # broker down
        logger.exception("could not queue the build of export %s; the daily run builds it", export_id)


# --- the build ---------------------------------------------------------------------------------


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """One CSV file in the dialect above (RFC 4180 quoting where a cell needs it)."""
    buffer = io.StringIO()
    buffer.write(CSV_BOM)
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator=CSV_LINE_END, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def statement_file_name(export: Export) -> str:
    """The name the member's download gets: statement-2026-01-01-2026-03-31.zip."""
    assert export.start is not None
    assert export.end is not None
    return f"statement-{export.start.isoformat()}-{export.end.isoformat()}.zip"


def statement_zip(export: Export, *, progress: Progress, now: dt.datetime) -> bytes:
    """EVD-4: one CSV per kind (statement.TABLES) and the PDF, in a ZIP."""
    assert export.organization is not None
    assert export.start is not None
    assert export.end is not None
    period = statement.Period(start=export.start, end=export.end)
    steps = len(statement.TABLES) + 1
    rows: dict[str, list[statement.Row]] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, table in enumerate(statement.TABLES, start=1):
            rows[table.name] = list(table.rows(export.organization.pk, period))
            archive.writestr(f"{table.name}.csv", csv_bytes(table.header, rows[table.name]))
            progress(done * 100 // steps)
        pdf = statement_pdf(organization=export.organization, period=period, rows=rows, now=now)
        archive.writestr("statement.pdf", pdf)
    return buffer.getvalue()


def personal_json(user: User, *, progress: Progress, now: dt.datetime) -> bytes:
    """EVD-5: the person's data as one JSON document, section by section (personal.SECTIONS)."""
    document: dict[str, Any] = {"generated_at": now.astimezone(clock.ZURICH).isoformat(timespec="seconds")}
    for done, name in enumerate(personal.SECTIONS, start=1):
        document[name] = personal.READERS[name](user)
        progress(done * 100 // (len(personal.SECTIONS) + 1))
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _progress_of(export_id: int) -> Progress:
    """Committed at once (outside any transaction), so the portal's polling sees it move."""

    def report(percent: int) -> None:
        Export.objects.filter(pk=export_id, status=Export.Status.BUILDING).update(progress=min(percent, 99))

    return report


def export_build(*, export_id: int, now: dt.datetime) -> Export | None:
    """Build a waiting export; nothing to do for one that is ready, failed or removed (a task
    delivered twice, the daily run after the task). None when the export does not exist."""
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if export is None or not export.is_pending:
            return export
        export.status = Export.Status.BUILDING
        export.progress = 0
        export.save(update_fields=["status", "progress"])
    export = Export.objects.select_related("organization", "user").get(pk=export_id)
    progress = _progress_of(export_id)
    try:
        if export.kind == Export.Kind.STATEMENT:
            content, extension = statement_zip(export, progress=progress, now=now), ".zip"
        else:
            content, extension = personal_json(export.user, progress=progress, now=now), ".json"
    except Exception as error:
        logger.exception("export %s could not be built", export_id)
        return _fail(export_id, reason=f"{type(error).__name__}: {error}", now=now)
    return _finish(export_id, content=content, extension=extension, now=now)


def _fail(export_id: int, *, reason: str, now: dt.datetime) -> Export:
    with transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export_id)
        if export.status != Export.Status.BUILDING:
            return export
        export.status = Export.Status.FAILED
        export.failure = reason[:2000]
        export.save(update_fields=["status", "failure"])
        audit_record(
            actor=Actor.system("exports.build"),
            action="export.failed",
            rule=export.rule,
            obj=export,
            organization=export.organization_id,
            after={"failure": export.failure},
            at=now,
        )
    return export


def _finish(export_id: int, *, content: bytes, extension: str, now: dt.datetime) -> Export:
    with transaction.atomic():
        export = Export.objects.select_for_update(of=("self",)).select_related("organization", "user").get(pk=export_id)
        if export.status != Export.Status.BUILDING:
            return export  # another delivery of the task finished first: this file is not kept
        export.file.save(f"{uuid.uuid4().hex}{extension}", ContentFile(content), save=False)
        export.size = len(content)
        export.sha256 = hashlib.sha256(content).hexdigest()
        export.status = Export.Status.READY
        export.progress = 100
        export.built_at = now
        export.expires_on = clock.business_date(now) + dt.timedelta(days=settings.EXPORT_RETENTION_DAYS)
        export.save(update_fields=["file", "size", "sha256", "status", "progress", "built_at", "expires_on"])
        audit_record(
            actor=Actor.system("exports.build"),
            action="export.built",
            rule=export.rule,
            obj=export,
            organization=export.organization_id,
            after={"size": export.size, "sha256": export.sha256, "expires_on": export.expires_on},
            at=now,
        )
        if export.kind == Export.Kind.STATEMENT:
            _notify_ready(export, now=now)
    return export


def _notify_ready(export: Export, *, now: dt.datetime) -> None:
    """EVD-4: the member who asked is told by e-mail that the statement is ready."""
    notify(
        organization=export.organization,
        template="export_ready",
        context={
            "export": export,
            "path": reverse("exports:statements", args=[export.organization_id]),
        },
        channels=(Notification.Channel.EMAIL,),
        recipient_user=export.user,
        email_to=export.user.email,
        language=export.user.language,
        related=export,
        dedupe_key=f"export-ready:{export.pk}",
        now=now,
    )


# --- download and removal ----------------------------------------------------------------------


def export_download(*, export: Export, user: User, client_address: str | None = None, now: dt.datetime) -> bytes:
    """The file of a ready export, its download recorded. The caller found `export` through what the
    user may see (exports.selectors); one that is not ready answers 404."""
    with transaction.atomic():
        locked = Export.objects.select_for_update().get(pk=export.pk)
        if locked.status != Export.Status.READY:
            raise RuleViolation(_("This export is not available."), rule=locked.rule, status=404)
        with locked.file.open("rb") as handle:
            content = handle.read()
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="export.downloaded",
            rule=locked.rule,
            obj=locked,
            organization=locked.organization_id,
            after={"sha256": locked.sha256},
            at=now,
        )
    return content


def export_remove(*, export_id: int, day: dt.date, now: dt.datetime) -> bool:
    """Remove the file of a ready export whose retention ended on or before `day`; False when there
    is nothing to do (already removed: the daily run rerun)."""
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if (
            export is None
            or export.status != Export.Status.READY
            or export.expires_on is None
            or export.expires_on > day
        ):
            return False
        name = export.file.name
        export.status = Export.Status.REMOVED
        export.file = ""  # type: ignore[assignment]
        export.removed_at = now
        export.save(update_fields=["status", "file", "removed_at"])
        audit_record(
            actor=Actor.system(JOB_RETENTION),
            action="export.removed",
            rule=export.rule,
            obj=export,
            organization=export.organization_id,
            before={"file": name, "expires_on": export.expires_on},
            at=now,
        )
        # Last, once the row and its evidence are written: a failure above leaves the file in place.
        export.file.storage.delete(name)
    return True
