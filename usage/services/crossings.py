"""Thresholds and budgets crossed by the values just accepted (SPEC USE-5, USE-6).

Called by the ingest inside its transaction, under the UsageMonth locks of the (Service, month)s whose
totals moved, so no other writer meets these rows:
- USE-5: a Service's month-to-date usage of a resource against its threshold (the Service's own for
  that resource, else its plan's): notices at 80 % and 100 %, once each per month, and at 100 % the
  Service is limited (a Limit, read by the platform) until the month is invoiced or staff lift it;
- USE-6: the month-to-date amount, VAT included at the rates in force (priced exactly as the invoice
  will be: usage.selectors.price_month), against the customer's budget: notices at 50, 80 and 100 %,
  once each per month, and a Limit at 100 % if the customer asked for one.
"Once" is the database's: Alert and Limit are unique per (Service, month, kind, resource, level).
Jumping past several levels at once records each level reached (evidence) and tells the customer
once, at the highest. A level is reached when the figure is at least that share of the threshold
or budget; a correction that lowers the figure again takes back nothing told.

Cost: two queries per batch to find the thresholds and budgets of the Services that moved; only when
some have one, a few more for all of them together (totals, Services, prices, what was already
reached), whatever their number.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts.models import Organization
from audit.services import Actor, AuditSpec, audit_record_many
from billing.selectors import vat_treatment
from core import clock
from notifications.services import NoticeSpec, notify_many
from subscriptions.models import Service
from usage import bulk, engine, selectors
from usage.models import Alert, Limit, Resource

ACTOR = Actor.system("usage_crossings")


@dataclass
class Effects:
    """What a batch tells and records, written at its end in one go each: the notices, then the
    evidence (the audit chain head is the last lock of a transaction, docs/decisions.md)."""

    audits: list[AuditSpec] = field(default_factory=list)
    notices: list[NoticeSpec] = field(default_factory=list)

    def flush(self, now: dt.datetime) -> None:
        notify_many(self.notices, now=now)
        audit_record_many(self.audits, at=now)
        self.audits, self.notices = [], []


@dataclass(frozen=True)
class _Reached:
    """A level of a threshold (per resource) or of a budget (resource None) reached in a month."""

    service_id: int
    month: dt.date
    kind: str  # Alert.Kind
    resource_id: int | None
    levels: tuple[int, ...]
    limit: Decimal  # the threshold (units) or the budget (amount, VAT included)
    figure: Decimal  # the month-to-date quantity (units) or amount (VAT included)
    limits_service: bool  # reaching 100 % limits the Service


def crossings_check(
    *, totals: dict[tuple[int, dt.date, int], int], plans: dict[int, int], now: dt.datetime, effects: Effects
) -> None:
    """USE-5, USE-6: the alerts and limits reached by the month-to-date totals that moved (micro-units
    by (Service, month, resource), as they now are); their notices and evidence are added to
    `effects`. `plans` gives each Service's plan id."""
    if not totals:
        return
    service_ids = {service_id for service_id, _month, _resource in totals}
    threshold_rows, budget_rows = bulk.watched(service_ids, {plans[service_id] for service_id in service_ids})
    if not threshold_rows and not budget_rows:
        return
    budgets = {service_id: (amount, limit) for service_id, amount, limit in budget_rows}
    reached = [
        *_threshold_levels(totals, _thresholds(threshold_rows, service_ids, plans)),
        *_budget_levels({(s, m) for s, m, _r in totals if s in budgets}, budgets, now),
    ]
    if reached:
        _record(reached, budgets, now=now, effects=effects)


def _thresholds(
    rows: list[tuple[Any, ...]], service_ids: set[int], plans: dict[int, int]
) -> dict[int, dict[int, tuple[Decimal, int]]]:
    """Each Service's threshold per resource id (in units and in micro-units): its own, else its
    plan's."""
    by_plan: dict[int, dict[int, Decimal]] = defaultdict(dict)
    own: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for service_id, plan_id, resource_id, quantity in rows:
        if service_id is not None:
            own[service_id][resource_id] = quantity
        else:
            by_plan[plan_id][resource_id] = quantity
    found = {}
    for service_id in service_ids:
        merged = {**by_plan.get(plans[service_id], {}), **own.get(service_id, {})}
        if merged:
            found[service_id] = {resource: (q, engine.to_micro(q)) for resource, q in merged.items()}
    return found


def _threshold_levels(
    totals: dict[tuple[int, dt.date, int], int], thresholds: dict[int, dict[int, tuple[Decimal, int]]]
) -> list[_Reached]:
    """The threshold levels the moved totals reach, compared in micro-units (a batch moves 10,000)."""
    reached = []
    lowest = min(engine.ALERT_LEVELS_THRESHOLD)
    for (service_id, month, resource_id), used in sorted(totals.items()):
        threshold = thresholds.get(service_id, {}).get(resource_id)
        if threshold is None or used * 100 < threshold[1] * lowest:
            continue
        levels = tuple(level for level in engine.ALERT_LEVELS_THRESHOLD if threshold[1] * level <= used * 100)
        figure = engine.from_micro(used)
        reached.append(
            _Reached(service_id, month, Alert.Kind.THRESHOLD, resource_id, levels, threshold[0], figure, True)
        )
    return reached


def _budget_levels(
    keys_moved: set[tuple[int, dt.date]], budgets: dict[int, tuple[Decimal, bool]], now: dt.datetime
) -> list[_Reached]:
    """The budget levels reached: the month-to-date amount VAT included, at the month's rate card and
    the VAT rates in force today (a few queries for all the Services together)."""
    keys = sorted(keys_moved)
    if not keys:
        return []
    totals: dict[tuple[int, dt.date], dict[int, int]] = {}
    for month in {month for _service_id, month in keys}:
        for service_id, by_resource in selectors.month_totals({s for s, m in keys if m == month}, month).items():
            totals[(service_id, month)] = by_resource
    services = {
        service.pk: service
        for service in Service.objects.filter(pk__in={s for s, _ in keys}).select_related(
            "organization", "plan__service_type"
        )
    }
    order = [resource.pk for resource in selectors.resources()]
    today = clock.business_date(now)
    cards: dict[dt.date, dict[tuple[int, str], Any]] = {}
    vat: dict[tuple[str, bool, bool], Decimal] = {}
    reached = []
    for service_id, month in keys:
        service, (amount, limit_at_budget) = services[service_id], budgets[service_id]
        if month not in cards:
            cards[month] = selectors.rate_cards_in_force({(s.plan_id, s.currency) for s in services.values()}, month)
        organization, service_type = service.organization, service.plan.service_type
        vat_key = (str(organization.billing_country), bool(organization.vat_number), service_type.always_swiss_vat)
        if vat_key not in vat:
            vat[vat_key] = vat_treatment(organization, service_type, today).rate
        priced = selectors.price_month(
            totals.get((service_id, month), {}),
            cards[month].get((service.plan_id, service.currency)),
            order,
            vat[vat_key],
        )
        levels = engine.levels_crossed(Decimal(0), priced.total_incl_vat, amount, engine.ALERT_LEVELS_BUDGET)
        if levels:
            reached.append(
                _Reached(
                    service_id,
                    month,
                    Alert.Kind.BUDGET,
                    None,
                    tuple(levels),
                    amount,
                    priced.total_incl_vat,
                    limit_at_budget,
                )
            )
    return reached


def _record(
    reached: list[_Reached], budgets: dict[int, tuple[Decimal, bool]], *, now: dt.datetime, effects: Effects
) -> None:
    """The alerts and limits not yet recorded this month: written, told and recorded as evidence."""
    service_ids = {r.service_id for r in reached}
    months = {r.month for r in reached}
    alerts = set(
        Alert.objects.filter(service_id__in=service_ids, month__in=months).values_list(
            "service_id", "month", "kind", "resource_id", "level"
        )
    )
    limits = set(
        Limit.objects.filter(service_id__in=service_ids, month__in=months).values_list(
            "service_id", "month", "reason", "resource_id"
        )
    )
    new_alerts: list[Alert] = []
    new_limits: list[Limit] = []
    told: list[tuple[_Reached, int, bool]] = []  # (what, the highest new level, limited now)
    for r in reached:
        levels = [level for level in r.levels if (r.service_id, r.month, r.kind, r.resource_id, level) not in alerts]
        new_alerts.extend(
            Alert(
                service_id=r.service_id,
                month=r.month,
                kind=r.kind,
                resource_id=r.resource_id,
                level=level,
                created_at=now,
            )
            for level in levels
        )
        reason = Limit.Reason.THRESHOLD if r.kind == Alert.Kind.THRESHOLD else Limit.Reason.BUDGET
        limited = r.limits_service and 100 in r.levels and (r.service_id, r.month, reason, r.resource_id) not in limits
        if limited:
            new_limits.append(
                Limit(service_id=r.service_id, month=r.month, reason=reason, resource_id=r.resource_id, since=now)
            )
        if levels or limited:
            told.append((r, max(levels or r.levels), limited))
    if not told:
        return
    Alert.objects.bulk_create(new_alerts)
    Limit.objects.bulk_create(new_limits)
    services = {
        service.pk: service
        for service in Service.objects.filter(pk__in={r.service_id for r, _, _ in told}).select_related(
            "organization", "plan__service_type"
        )
    }
    resources = {resource.pk: resource for resource in Resource.objects.all()}
    for r, level, limited in told:
        service = services[r.service_id]
        _tell(r, level, limited, service, resources, budgets.get(r.service_id), effects)
        _evidence(r, limited, service, resources, alerts, effects)


def _plain(number: Decimal) -> str:
    """A figure for a person: no trailing zeros (12.5, not 12.500000)."""
    return format(number.normalize(), "f") if number else "0"


def _tell(
    r: _Reached,
    level: int,
    limited: bool,
    service: Service,
    resources: dict[int, Resource],
    budget: tuple[Decimal, bool] | None,
    effects: Effects,
) -> None:
    context: dict[str, Any] = {"service": service, "level": level, "limited": limited, "month": r.month}
    if r.kind == Alert.Kind.THRESHOLD:
        assert r.resource_id is not None
        resource = resources[r.resource_id]
        template = "usage_threshold"
        context |= {"resource": resource.label, "unit": resource.unit_label, "used": _plain(r.figure)}
        context |= {"threshold": _plain(r.limit)}
    else:
        template = "usage_budget"
        context |= {"amount": r.figure, "budget": r.limit, "currency": service.currency}
        context |= {"limit_at_budget": bool(budget and budget[1])}
    effects.notices.append(
        NoticeSpec(organization=service.organization, template=template, context=context, related=service)
    )


def _evidence(
    r: _Reached,
    limited: bool,
    service: Service,
    resources: dict[int, Resource],
    alerts: set[tuple[Any, ...]],
    effects: Effects,
) -> None:
    rule = "USE-5" if r.kind == Alert.Kind.THRESHOLD else "USE-6"
    what: dict[str, Any] = {"month": r.month.isoformat(), "kind": r.kind}
    if r.resource_id is not None:
        what["resource"] = resources[r.resource_id].slug
    figures = {"threshold" if r.kind == Alert.Kind.THRESHOLD else "budget": str(r.limit), "figure": str(r.figure)}
    organization: Organization = service.organization
    for crossed in r.levels:
        if (r.service_id, r.month, r.kind, r.resource_id, crossed) in alerts:
            continue
        effects.audits.append(
            AuditSpec(
                actor=ACTOR,
                action=f"usage.{r.kind}_crossed",
                rule=rule,
                obj=service,
                organization=organization,
                after={**what, "level": crossed, **figures},
            )
        )
    if limited:
        effects.audits.append(
            AuditSpec(
                actor=ACTOR,
                action="usage.limited",
                rule=rule,
                obj=service,
                organization=organization,
                after={**what, "reason": r.kind, **figures},
            )
        )
