"""A customer's monthly budget for a usage Service (USE-6).

A Legal Responsible, administrator or billing member who manages the Service (ORG-5 roles, ORG-6
scopes) sets it: an amount in the Service's currency, VAT included, with alerts at 50, 80 and 100 %
of it (sent by the crossing check when values arrive, once each per month) and, if chosen, a limit
of the Service when it is reached. Unlike a consumption threshold (USE-5), which the provider sets
and which limits the Service, a budget only alerts unless its owner chose to be limited.

Decision: a limit placed at the budget (USE-6) is the customer's own choice, so it is lifted at
once when they withdraw that choice — remove the budget, switch "limit at budget" off, or raise the
budget above the month's amount so far. A consumption threshold's limit (USE-5) is never lifted
here: only staff or the month's end lift it.

Lock order (docs/decisions.md): the Service, then its current UsageMonth (the row the ingest locks
before it checks crossings, so a budget change and values arriving are serialized), then the
budget and its open limit, then the audit chain head.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import BILLING_ROLES
from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from subscriptions.batch import locked_services
from subscriptions.models import Service
from subscriptions.services.lifecycle import require_service_manager
from usage import engine, selectors
from usage.models import Budget, Limit, UsageMonth

# The largest budget accepted: the money columns hold up to 9,999,999,999.99.
BUDGET_MAX = Decimal("9999999999.99")


def _locked_usage_service(service: Service, user: Any) -> Service:
    """The Service locked, if `user` may manage its budget and it is a usage Service still running."""
    require_service_manager(service, user, BILLING_ROLES)  # USE-6: who may set, change or remove a budget
    locked = locked_services([service.pk])[0]
    if not locked.usage_based:
        raise RuleViolation(_("This Service is not billed by usage: it has no budget."), rule="USE-6", status=404)
    if locked.status == Service.Status.TERMINATED:
        raise RuleViolation(_("This Service is terminated."), rule="USE-6")
    return locked


def _lock_month(service: Service, now: dt.datetime) -> None:
    month = engine.month_of(clock.business_date(now))
    UsageMonth.objects.bulk_create([UsageMonth(service=service, month=month)], ignore_conflicts=True)
    UsageMonth.objects.select_for_update().filter(service=service, month=month).get()


def _lift_budget_limit(service: Service, user: Any, actor: Actor, now: dt.datetime) -> Limit | None:
    """Lift the open limit placed at the budget, if any (the decision above); recorded with USE-6."""
    limit = (
        Limit.objects.select_for_update()
        .filter(service=service, reason=Limit.Reason.BUDGET, lifted_at__isnull=True)
        .order_by("pk")
        .first()
    )
    if limit is None:
        return None
    limit.lifted_at, limit.lifted_by = now, user
    limit.save(update_fields=["lifted_at", "lifted_by"])
    audit_record(
        actor=actor,
        action="usage.limit_lifted",
        rule="USE-6",
        obj=service,
        organization=service.organization,
        before={"limit": limit.pk, "reason": limit.reason, "month": limit.month.isoformat()},
        after={"lifted_at": now.isoformat(), "by": "customer"},
        at=now,
    )
    return limit


def _snapshot(budget: Budget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {"amount": str(budget.amount), "limit_at_budget": budget.limit_at_budget}


def budget_set(
    *,
    service: Service,
    user: Any,
    amount: Decimal,
    limit_at_budget: bool,
    client_address: str | None = None,
    now: dt.datetime,
) -> Budget:
    """Set (or change) the Service's monthly budget (USE-6). The same budget again changes nothing
    and records nothing."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount > BUDGET_MAX:
        raise RuleViolation(_("A budget is an amount above zero."), rule="USE-6", status=400, field="amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise RuleViolation(_("A budget is an amount to the cent."), rule="USE-6", status=400, field="amount")
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _locked_usage_service(service, user)
        _lock_month(locked, now)
        budget = Budget.objects.select_for_update().filter(service=locked).first()
        before = _snapshot(budget)
        if budget is not None and budget.amount == amount and budget.limit_at_budget == limit_at_budget:
            return budget
        if budget is None:
            budget = Budget(service=locked)
        budget.amount = amount
        budget.limit_at_budget = limit_at_budget
        budget.updated_at = now
        budget.updated_by = user
        budget.save()
        # Rows first, the evidence last (the chain head is the last lock: docs/decisions.md).
        if (
            not limit_at_budget
            or amount > selectors.month_to_date(locked, organization=locked.organization, now=now).total
        ):
            _lift_budget_limit(locked, user, actor, now)
        audit_record(
            actor=actor,
            action="usage.budget_set",
            rule="USE-6",
            obj=locked,
            organization=locked.organization,
            before=before,
            after=_snapshot(budget),
            at=now,
        )
    return budget


def budget_remove(*, service: Service, user: Any, client_address: str | None = None, now: dt.datetime) -> None:
    """Remove the Service's budget (USE-6): no more budget alerts, and a limit placed at the budget
    is lifted. Removing none changes nothing."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _locked_usage_service(service, user)
        _lock_month(locked, now)
        budget = Budget.objects.select_for_update().filter(service=locked).first()
        if budget is None:
            return
        before = _snapshot(budget)
        budget.delete()
        _lift_budget_limit(locked, user, actor, now)
        audit_record(
            actor=actor,
            action="usage.budget_removed",
            rule="USE-6",
            obj=locked,
            organization=locked.organization,
            before=before,
            after=None,
            at=now,
        )
