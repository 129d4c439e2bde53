"""ENF-4 (TCU 6.3): staff hold an Organization's orders while an invoice is unpaid past its due
date — new orders and the renewals a member asks for are refused (accounts.permissions
`require_orders_accepted`) — and lift the hold. Both name the staff user and a reason, are
recorded as evidence and told to the customer."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import hooks
from accounts.models import Organization, User
from accounts.permissions import require_staff
from accounts.services.organizations import lock_organization
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from notifications.services import notify


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_("A reason is required."), rule="ENF-4", status=400, field="reason")
    return reason


def organization_hold_orders(
    *, organization: Organization, staff_user: User, reason: str, now: dt.datetime
) -> Organization:
    """Refuse the Organization's new orders and renewals from now on; only while one of its
    invoices is unpaid past its due date (the billing app answers through accounts.hooks)."""
    require_staff(staff_user, rule="ENF-4")
    reason = _reason(reason)
    with transaction.atomic():
        locked = lock_organization(organization)
        if locked.orders_held_at is not None:
            raise RuleViolation(_("Orders of this organization are already on hold."), rule="ENF-4")
        if locked.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")
        overdue = hooks.overdue_invoices(locked, clock.business_date(now))
        if not overdue:
            raise RuleViolation(
                _("No invoice of this organization is unpaid past its due date: its orders cannot be held."),
                rule="ENF-4",
            )
        locked.orders_held_at, locked.orders_held_by, locked.orders_held_reason = now, staff_user, reason
        locked.save(update_fields=["orders_held_at", "orders_held_by", "orders_held_reason"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="organization.orders_held",
            rule="ENF-4",
            obj=locked,
            organization=locked,
            before={"orders_held": False},
            after={"orders_held": True, "reason": reason, "overdue_invoices": overdue},
            at=now,
        )
        notify(
            organization=locked,
            template="orders_held",
            context={"reason": reason, "invoices": overdue},
            related=locked,
            now=now,
        )
    return locked


def organization_release_orders(
    *, organization: Organization, staff_user: User, reason: str, now: dt.datetime
) -> Organization:
    """Lift the hold: orders and renewals are accepted again."""
    require_staff(staff_user, rule="ENF-4")
    reason = _reason(reason)
    with transaction.atomic():
        locked = lock_organization(organization)
        if locked.orders_held_at is None:
            raise RuleViolation(_("Orders of this organization are not on hold."), rule="ENF-4")
        before = {"orders_held": True, "since": locked.orders_held_at.isoformat(), "reason": locked.orders_held_reason}
        locked.orders_held_at, locked.orders_held_by, locked.orders_held_reason = None, None, ""
        locked.save(update_fields=["orders_held_at", "orders_held_by", "orders_held_reason"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="organization.orders_released",
            rule="ENF-4",
            obj=locked,
            organization=locked,
            before=before,
            after={"orders_held": False, "reason": reason},
            at=now,
        )
        notify(organization=locked, template="orders_released", context={"reason": reason}, related=locked, now=now)
    return locked
