"""What staff do to a Service by hand (TCU 13.1): suspend it naming a reason, and lift that
suspension. A staff suspension is not lifted by a payment, only by staff (REN-3 reactivates only
Services suspended for non-payment)."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import Actor
from billing.services.posting import Effects
from core import clock
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
        locked.status = Status.SUSPENDED
        locked.suspension_reason = Reason.STAFF
        locked.suspended_at = now
        locked.save(update_fields=["status", "suspension_reason", "suspended_at"])
        effects = Effects()
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
        covered = due_date(locked)
        if locked.usage_based:  # USE-4: no term; it works again unless a usage invoice is past due
            _unused, usage_open = usage.open_collected_invoices([locked.pk])
            covered = None if usage.overdue_usage_invoice(locked, usage_open, today) else today + dt.timedelta(days=1)
        if covered is None or covered <= today:
            raise RuleViolation(
                _("This Service's term has run out: it works again once its renewal is paid."), rule="REN-3"
            )
        before = {"status": locked.status, "suspension_reason": locked.suspension_reason}
        locked.status = Status.TRIAL if locked.anchor_date is None and not locked.usage_based else Status.ACTIVE
        if locked.usage_based and locked.trial_ends_on and locked.trial_ends_on > today:
            locked.status = Status.TRIAL
        locked.suspension_reason = ""
        locked.suspended_at = None
        locked.terminates_on = None
        locked.save(update_fields=["status", "suspension_reason", "suspended_at", "terminates_on"])
        effects = Effects()
        service_audit(effects, actor, locked, "service.reactivated", "TCU 13.1", before, extra={"reason": reason})
        effects.flush(now)
    return locked
