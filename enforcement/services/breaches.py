"""Breaches of contract (SPEC ENF-1, ENF-2, RW-6; TCU 13.1, 14.3; SC 5.7, 6, 7; TCU 9.5, 12.9).

Staff open a breach against an Organization — the whole of it or some of its Services — with a
category, a reason and evidence (tickets of that Organization, files). Its Services are suspended
by staff (data kept; a payment does not reactivate them) and lose the Renewal Warranty (RW-6); a
breach of the whole Organization also blocks it (ORG-2: its users read but do not order). The
customer is told at once through every channel on file, unless an authority request forbids it
(recorded). Staff then decide: remedied (the Services work again) or not remedied (terminated for
default, ENF-2).
"""

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.permissions import require_staff
from accounts.services.organizations import lock_organization
from audit.services import Actor, AuditSpec
from billing.services.posting import Effects
from core import clock
from core.errors import RuleViolation
from enforcement.models import Breach, BreachEvidence, CauseTermination
from notifications.models import Notification
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import Service
from subscriptions.services.staff import services_lift_staff_suspension, services_suspend_by_staff
from support.attachments import AttachmentInput, CheckedFile, check_attachments
from support.models import Ticket

Channel = Notification.Channel
# ENF-1: every channel on file, every address of each (as the Renewal Warranty's escalation, RW-5).
EVERY_CHANNEL = (Channel.EMAIL, Channel.SMS, Channel.PHONE, Channel.LETTER, Channel.INBOX)
SUSPENDABLE = (Service.Status.ACTIVE, Service.Status.TRIAL, Service.Status.SUSPENDED)


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence to add: a ticket or a file (a support Upload or an uploaded file)."""

    ticket: Ticket | None = None
    file: AttachmentInput | None = None
    visible_to_customer: bool = False


def require_reason(reason: str, *, rule: str) -> str:
    if not (reason or "").strip():
        raise RuleViolation(_("A reason is required."), rule=rule, status=400, field="reason")
    return reason.strip()


def _checked_evidence(
    organization: Organization, evidence: Sequence[Evidence]
) -> list[tuple[Evidence, CheckedFile | None]]:
    """Every piece checked before anything is written: a ticket of this same Organization, a file of a
    type and size a support message may carry (support.attachments)."""
    files = [item.file for item in evidence if item.file is not None]
    try:
        checked_files = iter(check_attachments(files))
    except RuleViolation as refused:
        raise RuleViolation(refused.message, rule="ENF-1", status=400, field="files") from refused
    checked: list[tuple[Evidence, CheckedFile | None]] = []
    seen: set[int] = set()
    for item in evidence:
        if (item.ticket is None) == (item.file is None):
            raise RuleViolation(_("Evidence is a ticket or a file."), rule="ENF-1", status=400, field="evidence")
        if item.ticket is not None:
            if item.ticket.organization_id != organization.pk:
                raise RuleViolation(
                    _("Ticket #%(id)s is not one of this organization's.") % {"id": item.ticket.pk},
                    rule="ENF-1",
                    status=400,
                    field="tickets",
                )
            if item.ticket.pk in seen:
                continue
            seen.add(item.ticket.pk)
            checked.append((item, None))
        else:
            checked.append((item, next(checked_files)))
    return checked


def _store_evidence(
    breach: Breach, checked: list[tuple[Evidence, CheckedFile | None]], *, staff_user: User, now: dt.datetime
) -> list[BreachEvidence]:
    stored = []
    for item, data in checked:
        row = BreachEvidence(
            breach=breach, ticket=item.ticket, visible_to_customer=item.visible_to_customer, added_by=staff_user
        )
        row.added_at = now
        if data is not None:
            row.original_name = data.name
            row.content_type = data.content_type
            row.size = len(data.data)
            row.sha256 = hashlib.sha256(data.data).hexdigest()
            row.file.save(f"{uuid.uuid4().hex}{data.extension}", ContentFile(data.data), save=False)
        row.save(force_insert=True)
        stored.append(row)
    return stored


def evidence_audit(breach: Breach, rows: list[BreachEvidence], actor: Actor) -> list[AuditSpec]:
    return [
        AuditSpec(
            actor=actor,
            action="breach.evidence_added",
            rule="ENF-1",
            obj=row,
            organization=breach.organization,
            after={
                "breach": breach.pk,
                "ticket": row.ticket_id,
                "file": row.original_name or None,
                "sha256": row.sha256 or None,
                "visible_to_customer": row.visible_to_customer,
            },
        )
        for row in rows
    ]


def breach_open(
    *,
    organization: Organization,
    staff_user: User,
    category: str,
    reason: str,
    services: Sequence[Service] = (),
    whole_organization: bool = False,
    remedy_deadline: dt.date | None = None,
    notice_withheld: bool = False,
    evidence: Sequence[Evidence] = (),
    now: dt.datetime,
) -> Breach:
    """ENF-1: open a breach and suspend what it concerns; tell the customer unless withheld."""
    require_staff(staff_user, rule="ENF-1")
    reason = require_reason(reason, rule="ENF-1")
    if category not in Breach.Category.values:
        raise RuleViolation(_("Choose the category of the breach."), rule="ENF-1", status=400, field="category")
    if notice_withheld and category != Breach.Category.AUTHORITY_REQUEST:
        raise RuleViolation(
            _("Only an authority request may forbid telling the customer."),
            rule="ENF-1",
            status=400,
            field="notice_withheld",
        )
    if remedy_deadline is not None and remedy_deadline <= clock.business_date(now):
        raise RuleViolation(
            _("The remedy deadline must be a day after today."), rule="ENF-2", status=400, field="remedy_deadline"
        )
    if not whole_organization and not services:
        raise RuleViolation(
            _("Choose the Services concerned, or the whole organization."), rule="ENF-1", status=400, field="services"
        )
    for service in services:
        if service.organization_id != organization.pk:
            raise RuleViolation(
                _("Service %(service)s is not one of this organization's.") % {"service": service.pk},
                rule="ENF-1",
                status=400,
                field="services",
            )
    checked = _checked_evidence(organization, evidence)
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        locked_org = lock_organization(organization)
        if locked_org.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated."), rule="ENF-1")
        if whole_organization:
            ids = list(
                Service.objects.filter(organization=locked_org, status__in=SUSPENDABLE).values_list("pk", flat=True)
            )
        else:
            ids = [service.pk for service in services]
        locked = locked_services(ids)
        for service in locked:
            if service.status not in SUSPENDABLE:
                raise RuleViolation(
                    _("Service %(service)s is not running: it cannot be suspended.") % {"service": service.pk},
                    rule="ENF-1",
                    field="services",
                )
        breach = Breach(
            organization=locked_org,
            whole_organization=whole_organization,
            category=category,
            reason=reason,
            remedy_deadline=remedy_deadline,
            notice_withheld=notice_withheld,
            opened_by=staff_user,
            opened_at=now,
        )
        effects = Effects()
        if whole_organization and locked_org.status == Organization.Status.ACTIVE:
            breach.organization_blocked = True  # ORG-2: its users read, but do not order or change data
            locked_org.status = Organization.Status.BLOCKED
            locked_org.status_reason = _("Suspended for a breach of the contract.")
            locked_org.save(update_fields=["status", "status_reason"])
            effects.audit.append(
                AuditSpec(
                    actor=actor,
                    action="organization.blocked",
                    rule="ENF-1",
                    obj=locked_org,
                    organization=locked_org,
                    before={"status": Organization.Status.ACTIVE},
                    after={"status": Organization.Status.BLOCKED, "reason": reason},
                )
            )
        breach.save(force_insert=True)
        breach.services.set(locked)
        rows = _store_evidence(breach, checked, staff_user=staff_user, now=now)
        suspended = services_suspend_by_staff(
            locked, reason=reason, rule="ENF-1", actor=actor, now=now, effects=effects, extra={"breach": breach.pk}
        )
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="breach.opened",
                rule="ENF-1",
                obj=breach,
                organization=locked_org,
                after={
                    "category": category,
                    "clause": breach.clause,
                    "reason": reason,
                    "whole_organization": whole_organization,
                    "services": [service.pk for service in locked],
                    "suspended": [service.pk for service in suspended],
                    "remedy_deadline": remedy_deadline.isoformat() if remedy_deadline else None,
                    "customer_told": not notice_withheld,
                },
            )
        )
        effects.audit.extend(evidence_audit(breach, rows, actor))
        if notice_withheld:
            # TCU 13.1: the authority forbids telling the customer; the silence is evidence too.
            effects.audit.append(
                AuditSpec(
                    actor=actor,
                    action="breach.notice_withheld",
                    rule="ENF-1",
                    obj=breach,
                    organization=locked_org,
                    after={"reason": "authority request forbids informing the customer"},
                )
            )
        else:
            effects.notices.append(
                NoticeSpec(
                    organization=locked_org,
                    template="breach_opened",
                    context={"breach": breach, "services": locked},
                    related=breach,
                    channels=EVERY_CHANNEL,
                    all_contacts=True,
                    dedupe_key=f"breach-opened:{breach.pk}",
                )
            )
        effects.flush(now)
    return breach


def breach_add_evidence(*, breach: Breach, staff_user: User, evidence: Sequence[Evidence], now: dt.datetime) -> Breach:
    """ENF-1: more evidence on a breach, each piece visible to the customer or not."""
    require_staff(staff_user, rule="ENF-1")
    if not evidence:
        raise RuleViolation(_("Add a ticket or a file."), rule="ENF-1", status=400, field="evidence")
    checked = _checked_evidence(breach.organization, evidence)
    with transaction.atomic():
        locked = Breach.objects.select_for_update().select_related("organization").get(pk=breach.pk)
        known = set(locked.evidence.filter(ticket__isnull=False).values_list("ticket_id", flat=True))
        checked = [(item, data) for item, data in checked if item.ticket is None or item.ticket.pk not in known]
        if not checked:
            raise RuleViolation(_("This evidence is on the breach already."), rule="ENF-1", field="tickets")
        rows = _store_evidence(locked, checked, staff_user=staff_user, now=now)
        effects = Effects(audit=evidence_audit(locked, rows, Actor.for_user(staff_user)))
        effects.flush(now)
    return locked


def breach_decide(
    *, breach: Breach, staff_user: User, remedied: bool, reason: str, now: dt.datetime
) -> Breach | CauseTermination:
    """ENF-2: staff decide an open breach. Remedied: its Services work again (those whose term ran
    out meanwhile wait for their payment, REN-3) and the Organization is unblocked if the breach
    blocked it. Not remedied: terminated for default — the whole Organization when the breach
    concerned it, else the breach's Services (ENF-3's ending: data deleted, invoices stay due)."""
    require_staff(staff_user, rule="ENF-2")
    reason = require_reason(reason, rule="ENF-2")
    if not remedied:
        from enforcement.services.terminations import terminate_for_default

        return terminate_for_default(breach=breach, staff_user=staff_user, reason=reason, now=now)
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        organization = lock_organization(breach.organization)
        locked = Breach.objects.select_for_update().get(pk=breach.pk)
        if locked.status != Breach.Status.OPEN:
            raise RuleViolation(_("This breach is decided already."), rule="ENF-2")
        services = locked_services(locked.services.values_list("pk", flat=True))
        effects = Effects()
        reactivated, unpaid = services_lift_staff_suspension(
            services, reason=reason, rule="ENF-2", actor=actor, now=now, effects=effects
        )
        if locked.organization_blocked and organization.status == Organization.Status.BLOCKED:
            organization.status = Organization.Status.ACTIVE
            organization.status_reason = ""
            organization.save(update_fields=["status", "status_reason"])
            effects.audit.append(
                AuditSpec(
                    actor=actor,
                    action="organization.unblocked",
                    rule="ENF-2",
                    obj=organization,
                    organization=organization,
                    before={"status": Organization.Status.BLOCKED},
                    after={"status": Organization.Status.ACTIVE, "reason": reason},
                )
            )
        locked.status = Breach.Status.REMEDIED
        locked.decided_by, locked.decided_at, locked.decision_reason = staff_user, now, reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="breach.remedied",
                rule="ENF-2",
                obj=locked,
                organization=organization,
                before={"status": Breach.Status.OPEN},
                after={
                    "status": Breach.Status.REMEDIED,
                    "reason": reason,
                    "reactivated": [s.pk for s in reactivated],
                    "awaiting_payment": [s.pk for s in unpaid],
                },
            )
        )
        if not locked.notice_withheld:
            effects.notices.append(
                NoticeSpec(
                    organization=organization,
                    template="breach_remedied",
                    context={"breach": locked, "reactivated": reactivated, "unpaid": unpaid},
                    related=locked,
                    dedupe_key=f"breach-remedied:{locked.pk}",
                )
            )
        effects.flush(now)
    return locked
