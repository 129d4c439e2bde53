"""What staff do to the consumption limits of usage Services (USE-5, SC 5.6): set a threshold per
resource and month on a plan (the default of its Services) or on one Service (which overrides the
plan's for that resource), remove one, and lift a limit before the month ends. Every change is
recorded with USE-5; the customer is told when a limit is lifted.

A lower threshold takes effect with the next values received: the crossing check of the ingest
compares the month so far with it then (USE-5: told at 80 % and 100 %, limited past 100 %).

Lock order (docs/decisions.md): the Service (for a Service's threshold), then the threshold or the
limit row, then the audit chain head.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.services import Actor, audit_record
from billing.models import Plan
from core.errors import RuleViolation
from notifications.services import NoticeSpec, notify_many
from subscriptions.batch import locked_services
from subscriptions.models import Service
from usage.models import RATE_DECIMAL_PLACES, Limit, Resource, Threshold

QUANTITY_MAX = Decimal("999999999999.999999")  # the column holds 12 digits before the point


def _check_quantity(quantity: Decimal) -> None:
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0 or quantity > QUANTITY_MAX:
        raise RuleViolation(_("A threshold is a quantity above zero."), rule="USE-5", status=400, field="quantity")
    if quantity != quantity.quantize(Decimal(1).scaleb(-RATE_DECIMAL_PLACES)):
        raise RuleViolation(_("A threshold has at most six decimals."), rule="USE-5", status=400, field="quantity")


def _snapshot(threshold: Threshold | None) -> dict[str, Any] | None:
    return None if threshold is None else {"quantity": f"{threshold.quantity:.6f}"}


def threshold_set(
    *,
    resource: Resource,
    quantity: Decimal | None,
    staff_user: Any,
    plan: Plan | None = None,
    service: Service | None = None,
    now: dt.datetime,
) -> Threshold | None:
    """Set the monthly threshold of `resource` on a usage plan or a usage Service (exactly one), or
    remove it with `quantity` None. The same value again changes nothing and records nothing."""
    if (plan is None) == (service is None):
        raise RuleViolation(_("A threshold is set on a plan or on a Service."), rule="USE-5", status=400)
    if quantity is not None:
        _check_quantity(quantity)
    with transaction.atomic():
        organization = None
        if service is not None:
            target: Any = locked_services([service.pk])[0]
            organization = target.organization
            rows = Threshold.objects.filter(service=target, resource=resource, plan__isnull=True)
            usage_based = target.usage_based
        else:
            target = plan
            rows = Threshold.objects.filter(plan=target, resource=resource, service__isnull=True)
            usage_based = target.usage_based
        if not usage_based:
            raise RuleViolation(_("Only usage-based plans and Services have thresholds."), rule="USE-5")
        threshold = rows.select_for_update().first()
        before = _snapshot(threshold)
        if quantity is None:
            if threshold is None:
                return None
            threshold.delete()
            after = None
            result = None
        else:
            if threshold is not None and threshold.quantity == quantity:
                return threshold
            if threshold is None:
                threshold = Threshold(plan=plan if service is None else None, service=target if service else None)
                threshold.resource = resource
            threshold.quantity, threshold.updated_at, threshold.updated_by = quantity, now, staff_user
            try:
                with transaction.atomic():
                    threshold.save()
            except IntegrityError as error:  # set at the same moment by another staff user
                raise RuleViolation(_("This threshold was just changed: try again."), rule="USE-5") from error
            after = _snapshot(threshold)
            result = threshold
        audit_record(
            actor=Actor.for_user(staff_user),
            action="usage.threshold_set" if quantity is not None else "usage.threshold_removed",
            rule="USE-5",
            obj=target,
            organization=organization,
            before={"resource": resource.slug, **(before or {})},
            after={"resource": resource.slug, **(after or {})},
            at=now,
        )
    return result


def limit_lift(*, limit: Limit, staff_user: Any, reason: str, now: dt.datetime) -> Limit:
    """Staff lift a limit before the month ends (USE-5), naming the reason; the customer is told.
    A limit already lifted is refused and nothing changes."""
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_("A reason is required."), rule="USE-5", status=400, field="reason")
    with transaction.atomic():
        service = locked_services([limit.service_id])[0]
        locked = Limit.objects.select_for_update(of=("self",)).select_related("resource").get(pk=limit.pk)
        if locked.lifted_at is not None:
            raise RuleViolation(_("This limit is already lifted."), rule="USE-5")
        locked.lifted_at, locked.lifted_by = now, staff_user
        locked.save(update_fields=["lifted_at", "lifted_by"])
        notify_many(
            [
                NoticeSpec(
                    organization=service.organization,
                    template="usage_limit_lifted",
                    context={"service": service, "limit": locked, "reason": reason},
                    related=service,
                )
            ],
            now=now,
        )
        audit_record(
            actor=Actor.for_user(staff_user),
            action="usage.limit_lifted",
            rule="USE-5",
            obj=service,
            organization=service.organization,
            before={"limit": locked.pk, "reason": locked.reason, "month": locked.month.isoformat()},
            after={"lifted_at": now.isoformat(), "by": "staff", "why": reason},
            at=now,
        )
    return locked
