"""What staff do to a Service by hand (TCU 13.1, ENF-1, RW-6): suspend it naming a reason, lift that
suspension, and switch its Renewal Warranty on or off. A staff suspension is not lifted by a payment,
only by staff (REN-3 reactivates only Services suspended for non-payment), and it switches the
Renewal Warranty off (RW-6: the provider deactivates the option on breach of contract).

The batch functions (`services_suspend_by_staff`, `services_lift_staff_suspension`) take Services
locked by the caller and write into the caller's `Effects`: the enforcement app suspends a breach's
Services with them, in its own transaction and with its own notice (ENF-1)."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import Actor
from billing.services.posting import Effects
from core import clock
from core.bulk import bulk_update
from core.errors import RuleViolation
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import Service
from subscriptions.services import usage_collection as usage
from subscriptions.services.lifecycle import service_audit
from subscriptions.services.renewal_invoices import due_date

Status = Service.Status
Reason = Service.SuspensionReason


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="TCU 13.1", status=400, field="reason")
    return reason.strip()


def _warranty_off(service: Service, *, actor: Actor, reason: str, effects: Effects) -> None:
    """RW-6: a staff suspension (a breach of contract) ends the Renewal Warranty, recorded."""
    if not service.renewal_warranty:
        return
    service.renewal_warranty = False
    service_audit(
        effects,
        actor,
        service,
        "service.warranty_changed",
        "RW-6",
        {"renewal_warranty": True},
        extra={"reason": reason, "because": "staff suspension"},
    )


def services_suspend_by_staff(
    services: Sequence[Service],
    *,
    reason: str,
    rule: str,
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
    extra: dict[str, Any] | None = None,
) -> list[Service]:
    """Suspend locked Services by staff decision (data kept, TCU 13.5), the Renewal Warranty off
    (RW-6). An active Service or a trial is suspended; one already suspended for non-payment keeps
    its termination date but is now held by staff (a payment no longer reactivates it). No notice:
    the caller tells the customer. Returns the Services changed."""
    changed = []
    for service in services:
        if service.status not in (Status.ACTIVE, Status.TRIAL, Status.SUSPENDED):
            continue
        if service.status == Status.SUSPENDED and service.suspension_reason == Reason.STAFF:
            continue
        before = {
            "status": service.status,
            "suspension_reason": service.suspension_reason,
            "renewal_warranty": service.renewal_warranty,
        }
        _warranty_off(service, actor=actor, reason=reason, effects=effects)
        if service.status != Status.SUSPENDED:
            service.suspended_at = now
        service.status = Status.SUSPENDED
        service.suspension_reason = Reason.STAFF
        service_audit(
            effects, actor, service, "service.suspended", rule, before, extra={"reason": reason, **(extra or {})}
        )
        changed.append(service)
    bulk_update(changed, ["status", "suspension_reason", "suspended_at", "renewal_warranty"])
    return changed


def _status_when_reactivated(service: Service, today: dt.date) -> str | None:
    """The status a suspended Service works again in, or None when its term has run out (REN-3) or a
    usage invoice is past due (USE-4): then only a payment brings it back."""
    covered = due_date(service)
    if service.usage_based:  # USE-4: no term; it works again unless a usage invoice is past due
        _unused, usage_open = usage.open_collected_invoices([service.pk])
        covered = None if usage.overdue_usage_invoice(service, usage_open, today) else today + dt.timedelta(days=1)
    if covered is None or covered <= today:
        return None
    if service.usage_based:
        return Status.TRIAL if service.trial_ends_on and service.trial_ends_on > today else Status.ACTIVE
    return Status.TRIAL if service.anchor_date is None else Status.ACTIVE


def services_lift_staff_suspension(
    services: Sequence[Service], *, reason: str, rule: str, actor: Actor, now: dt.datetime, effects: Effects
) -> tuple[list[Service], list[Service]]:
    """Lift the staff suspension of locked Services (ENF-2: the breach is remedied). A Service whose
    term is still covered works again; one whose term has run out stays suspended, now for
    non-payment: paying reactivates it (REN-3), else it is terminated `grace_days` after its expiry
    or after today, whichever is later (REN-4). Returns (reactivated, left to be paid)."""
    today = clock.business_date(now)
    reactivated, unpaid = [], []
    for service in services:
        if service.status != Status.SUSPENDED or service.suspension_reason != Reason.STAFF:
            continue
        before = {
            "status": service.status,
            "suspension_reason": service.suspension_reason,
            "terminates_on": service.terminates_on,
        }
        status = _status_when_reactivated(service, today)
        if status is None:
            service.suspension_reason = Reason.UNPAID
            if service.terminates_on is None:
                start = max(service.expires_on or today, today)
                service.terminates_on = start + dt.timedelta(days=service.plan.service_type.grace_days)
            service_audit(effects, actor, service, "service.suspension_changed", rule, before, extra={"reason": reason})
            unpaid.append(service)
            continue
        service.status = status
        service.suspension_reason = ""
        service.suspended_at = None
        service.terminates_on = None
        service_audit(effects, actor, service, "service.reactivated", rule, before, extra={"reason": reason})
        reactivated.append(service)
    bulk_update([*reactivated, *unpaid], ["status", "suspension_reason", "suspended_at", "terminates_on"])
    return reactivated, unpaid


def staff_suspend(*, service: Service, staff_user: User, reason: str, now: dt.datetime) -> Service:
    """TCU 13.1: staff suspend a Service (data kept), naming the reason; it is not reactivated by a
    payment, only by staff."""
    reason = _require_reason(reason)
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        locked = locked_services([service.pk])[0]
        if locked.status not in (Status.ACTIVE, Status.TRIAL):
            raise RuleViolation(_("Only an active Service or a trial can be suspended."), rule="TCU 13.1")
        before = {"status": locked.status, "suspension_reason": locked.suspension_reason}
        effects = Effects()
        _warranty_off(locked, actor=actor, reason=reason, effects=effects)  # RW-6
        locked.status = Status.SUSPENDED
        locked.suspension_reason = Reason.STAFF
        locked.suspended_at = now
        locked.save(update_fields=["status", "suspension_reason", "suspended_at", "renewal_warranty"])
        service_audit(effects, actor, locked, "service.suspended", "TCU 13.1", before, extra={"reason": reason})
        effects.notices.append(
            NoticeSpec(
                organization=locked.organization,
                template="service_suspended",
                context={"service": locked},
                related=locked,
            )
        )
        effects.flush(now)
    return locked


def staff_reactivate(*, service: Service, staff_user: User, reason: str, now: dt.datetime) -> Service:
    """Staff lift a suspension, naming the reason. A Service whose term has run out stays due: its
    termination date stands until paid, but it works again."""
    reason = _require_reason(reason)
    actor = Actor.for_user(staff_user)
    today = clock.business_date(now)
    with transaction.atomic():
        locked = locked_services([service.pk])[0]
        if locked.status != Status.SUSPENDED:
            raise RuleViolation(_("Only a suspended Service can be reactivated."), rule="TCU 13.1")
        status = _status_when_reactivated(locked, today)
        if status is None:
            raise RuleViolation(
                _("This Service's term has run out: it works again once its renewal is paid."), rule="REN-3"
            )
        before = {"status": locked.status, "suspension_reason": locked.suspension_reason}
        locked.status = status
        locked.suspension_reason = ""
        locked.suspended_at = None
        locked.terminates_on = None
        locked.save(update_fields=["status", "suspension_reason", "suspended_at", "terminates_on"])
        effects = Effects()
        service_audit(effects, actor, locked, "service.reactivated", "TCU 13.1", before, extra={"reason": reason})
        effects.flush(now)
    return locked


def staff_set_warranty(*, service: Service, staff_user: User, enabled: bool, reason: str, now: dt.datetime) -> Service:
    """RW-6: staff switch the Renewal Warranty on or off, naming the reason; on only for an eligible
    type (RW-1) and a running Service. Switching to the state it is in already is refused."""
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="RW-6", status=400, field="reason")
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        locked = locked_services([service.pk])[0]
        if locked.status in (Status.TERMINATED, Status.AWAITING_PAYMENT):
            raise RuleViolation(_("This Service is not running."), rule="RW-6")
        if enabled and not locked.plan.service_type.warranty_eligible:
            raise RuleViolation(
                _("%(type)s is not eligible for the Renewal Warranty.") % {"type": locked.plan.service_type.name},
                rule="RW-1",
            )
        if enabled and locked.status == Status.SUSPENDED:
            raise RuleViolation(_("A suspended Service cannot be given the Renewal Warranty."), rule="RW-6")
        if locked.renewal_warranty == enabled:
            raise RuleViolation(
                _("The Renewal Warranty is already on.") if enabled else _("The Renewal Warranty is already off."),
                rule="RW-6",
            )
        before = {"renewal_warranty": locked.renewal_warranty}
        locked.renewal_warranty = enabled
        locked.save(update_fields=["renewal_warranty"])
        effects = Effects()
        service_audit(
            effects, actor, locked, "service.warranty_changed", "RW-6", before, extra={"reason": reason.strip()}
        )
        effects.flush(now)
    return locked
