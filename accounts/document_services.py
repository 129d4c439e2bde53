"""Contract documents and minors' authorizations: acceptance, publication and its notices, deemed
acceptance (SPEC ORG-4, ORG-7, ORG-8). Split from accounts.services, whose helpers it uses."""

import datetime as dt
import logging
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from accounts.models import Acceptance, DocumentNotice, DocumentVersion, GuardianAuthorization, Organization, User
from accounts.permissions import require_member
from accounts.services import lock_organization, organization_block, snapshot
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from notifications.services import notify

logger = logging.getLogger(__name__)

# --- contract documents ----------------------------------------------------------------------


def acceptance_record(
    *,
    organization: Organization,
    version: DocumentVersion,
    user: User | None,
    actor: Actor,
    now: dt.datetime,
    method: str = Acceptance.Method.EXPLICIT,
) -> Acceptance:
    """ORG-7: record an acceptance, inside the caller's transaction; the caller checked who and what."""
    acceptance = Acceptance.objects.create(
        organization=organization,
        version=version,
        user=user,
        method=method,
        language=user.language if user else "",
        accepted_at=now,
        client_address=actor.client_address,
    )
    audit_record(
        actor=actor,
        action=f"document.{method}_accepted",
        rule="ORG-7" if method == Acceptance.Method.EXPLICIT else "ORG-8",
        obj=acceptance,
        organization=organization,
        after={"document": version.document.slug, "version": version.label, "method": method},
        at=now,
    )
    return acceptance


def document_accept(
    *,
    organization: Organization,
    version: DocumentVersion,
    user: User,
    client_address: str | None = None,
    now: dt.datetime,
) -> Acceptance:
    """ORG-7: acceptance by one user binds the Organization; who, when, which version, from where."""
    if version.published_at is None or version.published_on is None or version.published_on > clock.business_date(now):
        raise RuleViolation(_("This version is not published."), rule="ORG-8", status=400)
    with transaction.atomic():
        locked = lock_organization(organization)
        require_member(locked.pk, user)
        if locked.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")
        existing = Acceptance.objects.filter(organization=locked, version=version).first()
        if existing:
            return existing
        # The deemed-acceptance job does not lock the organization: the unique constraint decides.
        try:
            with transaction.atomic():
                return acceptance_record(
                    organization=locked,
                    version=version,
                    user=user,
                    actor=Actor.for_user(user, client_address=client_address),
                    now=now,
                )
        except IntegrityError:
            return Acceptance.objects.get(organization=locked, version=version)


def document_version_publish(*, version: DocumentVersion, staff_user: User, now: dt.datetime) -> DocumentVersion:
    """ORG-8: a new version applies at once to new orders; the Organizations bound by an earlier
    version are notified (by a task, in batches) and have 30 days to accept."""
    with transaction.atomic():
        locked = DocumentVersion.objects.select_for_update(of=("self",)).select_related("document").get(pk=version.pk)
        if locked.published_at is not None:
            raise RuleViolation(_("This version is already published."), rule="ORG-8")
        if not locked.texts.exists():
            raise RuleViolation(
                _("Add the text of the version (or a link) before publishing it."), rule="ORG-8", status=400
            )
        locked.published_at = now
        locked.published_on = clock.business_date(now)
        locked.save(update_fields=["published_at", "published_on"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="document.published",
            rule="ORG-8",
            obj=locked,
            after={
                "document": locked.document.slug,
                "version": locked.label,
                "published_on": locked.published_on.isoformat(),
            },
            at=now,
        )
        transaction.on_commit(partial(_queue_document_notices, locked.pk))
    return locked


def _queue_document_notices(version_id: int) -> None:
    from accounts.tasks import send_document_notices

    try:
        send_document_notices.delay(version_id)
    except Exception:  # broker down: the daily job sends the notices (accounts.jobs)
        logger.exception("could not queue the notices of document version %s; the daily job will", version_id)


# Organizations notified per transaction when a version is published.
NOTICE_BATCH_SIZE = 200


def document_notices_send(*, version: DocumentVersion, now: dt.datetime) -> int:
    """Notify every Organization bound by an earlier version of the document (ORG-8). Idempotent:
    an Organization already notified of this version is skipped (unique notice per version)."""
    earlier = DocumentVersion.objects.filter(document=version.document, published_at__isnull=False).filter(
        Q(published_on__lt=version.published_on) | Q(published_on=version.published_on, pk__lt=version.pk)
    )
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                Organization.objects.select_for_update(no_key=True)
                .exclude(status=Organization.Status.TERMINATED)
                .filter(Exists(Acceptance.objects.filter(organization=OuterRef("pk"), version__in=earlier)))
                .exclude(Exists(DocumentNotice.objects.filter(organization=OuterRef("pk"), version=version)))
                .order_by("pk")[:NOTICE_BATCH_SIZE]
            )
            if not batch:
                return sent
            for organization in batch:
                notice = DocumentNotice.objects.create(organization=organization, version=version, notified_at=now)
                audit_record(
                    actor=Actor.system("accounts.document_notices"),
                    action="document.notified",
                    rule="ORG-8",
                    obj=notice,
                    organization=organization,
                    after={"document": version.document.slug, "version": version.label},
                    at=now,
                )
                notify(
                    organization=organization,
                    template="document_new_version",
                    context={"version": version},
                    related=notice,
                    dedupe_key=f"document-notice:{version.pk}:{organization.pk}",
                    now=now,
                )
                sent += 1


def acceptance_deem(*, notice: DocumentNotice, now: dt.datetime, job_name: str) -> Acceptance | None:
    """ORG-8: no acceptance 30 days after the notification: the version binds (continued use)."""
    try:
        with transaction.atomic():
            return acceptance_record(
                organization=notice.organization,
                version=notice.version,
                user=None,
                actor=Actor.system(job_name),
                now=now,
                method=Acceptance.Method.DEEMED,
            )
    except IntegrityError:
        return None  # accepted meanwhile, or by a concurrent run


# --- minors (ORG-4) -------------------------------------------------------------------------


def guardian_authorization_decide(
    *, authorization: GuardianAuthorization, staff_user: User, approve: bool, reason: str = "", now: dt.datetime
) -> GuardianAuthorization:
    """Staff approve a minor as Legal Responsible only with the letter and the representative's
    identity both recorded; they may still refuse (ORG-4)."""
    with transaction.atomic():
        locked = GuardianAuthorization.objects.select_for_update().get(pk=authorization.pk)
        if approve and (locked.letter_received_at is None or locked.identity_verified_at is None):
            raise RuleViolation(
                _("Record the authorization letter and the representative's identity verification first."),
                rule="ORG-4",
                status=400,
            )
        if not approve and not reason.strip():
            raise RuleViolation(_("A reason is required to refuse."), rule="ORG-4", status=400)
        before = {"decision": locked.decision}
        locked.decision = GuardianAuthorization.Decision.APPROVED if approve else GuardianAuthorization.Decision.REFUSED
        locked.decided_by = staff_user
        locked.decided_at = now
        locked.reason = reason
        locked.save(update_fields=["decision", "decided_by", "decided_at", "reason"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action=f"guardian_authorization.{locked.decision}",
            rule="ORG-4",
            obj=locked,
            organization=locked.organization,
            before=before,
            after={"decision": locked.decision, "reason": reason},
            at=now,
        )
        if not approve and locked.organization.status == Organization.Status.ACTIVE:
            # ORG-4: an Organization held by an unauthorised minor may not go on: staff block it.
            organization_block(organization=locked.organization, staff_user=staff_user, reason=reason, now=now)
    return locked


def guardian_authorization_record(
    *,
    authorization: GuardianAuthorization,
    staff_user: User,
    letter: bool = False,
    identity: bool = False,
    representative_name: str = "",
    now: dt.datetime,
) -> GuardianAuthorization:
    """Staff record the representative's letter and/or identity verification (ORG-4)."""
    with transaction.atomic():
        locked = GuardianAuthorization.objects.select_for_update().get(pk=authorization.pk)
        changed: list[str] = []
        if letter and locked.letter_received_at is None:
            locked.letter_received_at = now
            changed.append("letter_received_at")
        if identity and locked.identity_verified_at is None:
            locked.identity_verified_at = now
            changed.append("identity_verified_at")
        if representative_name and representative_name != locked.representative_name:
            locked.representative_name = representative_name
            changed.append("representative_name")
        if not changed:
            return locked
        locked.save(update_fields=changed)
        audit_record(
            actor=Actor.for_user(staff_user),
            action="guardian_authorization.evidence_recorded",
            rule="ORG-4",
            obj=locked,
            organization=locked.organization,
            after=snapshot(locked, changed),
            at=now,
        )
    return locked
