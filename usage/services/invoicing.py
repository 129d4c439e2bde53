"""The month's usage invoice (SPEC USE-3, USE-4 due date, USE-5 month end, USE-7, USE-8, BIL-7).

On the 1st (Zurich), the daily run closes each usage Service's month before: one invoice with one
line per resource (quantity to 6 decimals, rate, amount rounded per line), VAT per BIL-7, due 10
days after issue (USE-4). A month whose total is zero is closed without an invoice; so is a month
spent in trial (USE-8), and the part of a month before the trial's end T is not invoiced. A
Service terminated mid-month is invoiced on its termination day (`usage_months_close`, called by
subscriptions.services.lifecycle in the terminating transaction); a money-back cancellation closes the
month without an invoice (USE-8).

Exactly once: the (Service, month) UsageMonth row is THE lock shared with the ingest; the invoice,
`closed_at` and the rate card are written in one transaction under that lock, so a rerun (or a run
killed and started again) finds the month closed and issues nothing; the invoice numbers come from
the gapless sequence inside that same transaction (BIL-6: a rollback gives them back). The work is
selected by state, not by date: a late run on the 2nd, or any earlier month left open, is caught.

One pricing (USE-7): lines come from `usage.engine.price_lines` through `usage.selectors`, the same
function the month-to-date pages use; the invoice's total is checked against it.

Lock order (docs/decisions.md): Services, then the UsageMonth rows in (service, month) order, then
the invoice sequence, then the audit chain head.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import translation

from audit.services import Actor, AuditSpec
from billing.models import Invoice
from billing.money import quantize
from billing.services.invoices import InvoiceRequest, LineSpec, VatCache, invoices_issue
from billing.services.posting import Effects
from core import clock
from core.bulk import bulk_update
from subscriptions.batch import locked_services
from subscriptions.models import Service
from usage import engine, selectors
from usage.models import HOUR_COLUMNS, Limit, Resource, UsageDay, UsageMonth

logger = logging.getLogger(__name__)

JOB_MONTH_END = "usage.month_end"
USAGE_PAYMENT_DAYS = 10  # USE-4: due 10 days after issue

Status = Service.Status


class Close:
    """Why a month is closed (kept in its evidence)."""

    INVOICED = "invoiced"
    ZERO = "zero"  # USE-3: nothing to invoice
    TRIAL = "trial"  # USE-8
    MONEY_BACK = "money_back"  # USE-8, MB-2


def previous_month(month: dt.date) -> dt.date:
    return (month - dt.timedelta(days=1)).replace(day=1)


def month_end_due(day: dt.date) -> QuerySet[Service]:
    """Usage Services with a month before `day`'s month to close: an open UsageMonth row of an earlier
    month (any, so a missed month is caught up), or no closed row for last month while the Service
    was live then (a month without a value is closed too: later values for it are refused, USE-2)."""
    this_month = engine.month_of(day)
    last_month = previous_month(this_month)
    open_earlier = UsageMonth.objects.filter(service=OuterRef("pk"), closed_at__isnull=True, month__lt=this_month)
    last_closed = UsageMonth.objects.filter(service=OuterRef("pk"), month=last_month, closed_at__isnull=False)
    return (
        Service.objects.filter(usage_based=True)
        .filter(
            Q(Exists(open_earlier))
            | (
                Q(created_at__lt=engine.local_midnight(this_month))
                & Q(status__in=[Status.TRIAL, Status.ACTIVE, Status.SUSPENDED])
                & ~Q(Exists(last_closed))
            )
        )
        .order_by("pk")
    )


def month_end_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """USE-3: close every month before `day`'s month of each Service of the batch (one transaction,
    a fixed number of queries). Returns how many months were closed."""
    actor = Actor.system(JOB_MONTH_END)
    with transaction.atomic():
        services = locked_services(service_ids)
        effects = Effects()
        closed = usage_months_close(
            services, before=engine.month_of(day), actor=actor, now=now, effects=effects, rule="USE-3"
        )
        effects.flush(now)
    return len(closed)


def usage_invoices_issue(
    service_ids: Sequence[int], month: dt.date, day: dt.date, now: dt.datetime
) -> list[UsageMonth]:
    """Close `month` and every earlier open month of these usage Services (their invoices issued),
    in one transaction; the months closed are returned. What the month-end job does for a batch."""
    with transaction.atomic():
        services = locked_services(service_ids)
        effects = Effects()
        closed = usage_months_close(
            services,
            before=engine.next_month(month),
            actor=Actor.system(JOB_MONTH_END),
            now=now,
            effects=effects,
            rule="USE-3",
        )
        effects.flush(now)
    return closed


def usage_months_close(
    services: Sequence[Service],
    *,
    before: dt.date,
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
    rule: str,
    invoice: bool = True,
) -> list[UsageMonth]:
    """Close the open months before `before` of these (locked) Services, inside the caller's
    transaction: each month's invoice issued (unless `invoice` is off: money-back, USE-8), its
    rate card and `closed_at` written, its open limits lifted (USE-5). A termination passes the
    month after today's, so the month running is invoiced to date (USE-3). Months whose plan has
    no rate card in force are left open (and logged): the catalog needs one, the next run retries."""
    usage = [s for s in services if s.usage_based]
    if not usage:
        return []
    by_pk = {s.pk: s for s in usage}
    last = previous_month(before)
    # The last month's row, so that a month without any value is closed as well (USE-2 refuses
    # values for it afterwards); not for a Service that started after it.
    UsageMonth.objects.bulk_create(
        [UsageMonth(service=s, month=last) for s in usage if s.created_at < engine.local_midnight(before)],
        ignore_conflicts=True,
    )
    rows = list(
        UsageMonth.objects.select_for_update()
        .filter(service_id__in=list(by_pk), closed_at__isnull=True, month__lt=before)
        .order_by("service_id", "month")
    )
    if not rows:
        return []
    by_month: dict[dt.date, list[UsageMonth]] = defaultdict(list)
    for row in rows:
        by_month[row.month].append(row)
    order = selectors.resources()
    positions = [resource.pk for resource in order]
    resources = {resource.pk: resource for resource in order}
    vat = VatCache(clock.business_date(now))
    requests: list[tuple[UsageMonth, InvoiceRequest, Decimal]] = []
    closed: list[tuple[UsageMonth, str]] = []
    texts: dict[str, dict[int, str]] = {}
    for month, month_rows in sorted(by_month.items()):
        ids = [row.service_id for row in month_rows]
        totals = selectors.month_totals(ids, month)
        trial_parts = _after_trial_totals([by_pk[i] for i in ids], month)
        cards = selectors.rate_cards_in_force({(by_pk[i].plan_id, by_pk[i].currency) for i in ids}, month)
        for row in month_rows:
            service = by_pk[row.service_id]
            row.service = service
            part = _trial_part(service, month)
            if part == "all" or not invoice:
                closed.append((row, Close.TRIAL if invoice else Close.MONEY_BACK))
                continue
            quantities = trial_parts.get(service.pk, {}) if part == "after" else totals.get(service.pk, {})
            card = cards.get((service.plan_id, service.currency))
            if card is None:
                logger.error("no rate card in force for %s in %s on %s", service.plan, service.currency, month)
                continue
            row.rate_card = card
            lines = selectors.price_month(quantities, card, positions, Decimal("0")).lines
            if engine.total_amount(lines) == 0:
                closed.append((row, Close.ZERO))
                continue
            start = service.trial_ends_on if part == "after" and service.trial_ends_on else month
            request = _request(
                service, row, lines, resources, start=start, before=before, now=now, rule=rule, texts=texts
            )
            requests.append((row, request, engine.total_amount(lines)))
            closed.append((row, Close.INVOICED))
    issued = invoices_issue([request for _row, request, _total in requests], actor=actor, now=now, vat=vat)
    for (row, _, total), issued_invoice in zip(requests, issued, strict=True):
        if issued_invoice.total_excl_vat != total:  # USE-7: one pricing, never two
            raise AssertionError(f"invoice {issued_invoice.number} does not price as usage.engine does")
        row.invoice = issued_invoice
    done = [row for row, _why in closed]
    for row in done:
        row.closed_at = now
    bulk_update(done, ["closed_at", "invoice", "rate_card"])
    _evidence(closed, actor=actor, rule=rule, effects=effects)
    _lift_limits(done, actor=actor, now=now, effects=effects)
    return done


def _trial_part(service: Service, month: dt.date) -> str:
    """USE-8: "all" (the month spent in trial, nothing invoiced), "after" (the trial ended during the
    month: only the days from T on are invoiced) or "none"."""
    end = service.trial_ends_on
    if end is None or end <= month:
        return "none"
    if end >= engine.next_month(month):
        return "all"
    return "after"


def _after_trial_totals(services: Iterable[Service], month: dt.date) -> dict[int, dict[int, int]]:
    """USE-8: the quantities of the days from T on, for the Services whose trial ended during the
    month (one query for all of them, none when there is none)."""
    ends = {s.pk: s.trial_ends_on for s in services if _trial_part(s, month) == "after"}
    if not ends:
        return {}
    totals: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = UsageDay.objects.filter(
        service_id__in=list(ends), day__gte=min(d for d in ends.values() if d), day__lt=engine.next_month(month)
    ).values_list("service_id", "resource_id", "day", *HOUR_COLUMNS)
    for service_id, resource_id, day, *hours in rows:
        trial_end = ends[service_id]
        if trial_end is not None and day >= trial_end:
            totals[service_id][resource_id] += sum(value for value in hours if value is not None)
    return {service_id: dict(by_resource) for service_id, by_resource in totals.items()}


def _request(
    service: Service,
    row: UsageMonth,
    lines: list[engine.Line],
    resources: dict[int, Resource],
    *,
    start: dt.date,
    before: dt.date,
    now: dt.datetime,
    rule: str,
    texts: dict[str, dict[int, str]],
) -> InvoiceRequest:
    """The invoice of a month: one line per resource (USE-3), described in the customer's language."""
    end = min(engine.next_month(row.month), clock.business_date(now) + dt.timedelta(days=1))
    descriptions = _descriptions(resources, service.organization.language, texts)
    specs = [
        LineSpec(
            description=descriptions[line.resource_id],
            unit_price_excl_vat=line.rate,
            quantity=line.quantity,
            period_start=start,
            period_end=end,
        )
        for line in lines
    ]
    for spec, line in zip(specs, lines, strict=True):  # USE-7: the line's amount is the engine's
        assert quantize(spec.unit_price_excl_vat * spec.quantity) == line.amount
    issue_date = clock.business_date(now)
    return InvoiceRequest(
        organization=service.organization,
        kind=Invoice.Kind.USAGE,
        service_type=service.plan.service_type,
        lines=specs,
        rule=rule,
        service=service,
        due_date=issue_date + dt.timedelta(days=USAGE_PAYMENT_DAYS),
    )


def _descriptions(resources: dict[int, Resource], language: str, texts: dict[str, dict[int, str]]) -> dict[int, str]:
    """The invoice line text of each resource in the customer's language — "Storage (GB-hours)" —
    made once per language and batch (`texts`), not once per line."""
    if language not in texts:
        with translation.override(language):
            texts[language] = {pk: f"{r.label} ({r.unit_label})" for pk, r in resources.items()}
    return texts[language]


def _evidence(closed: list[tuple[UsageMonth, str]], *, actor: Actor, rule: str, effects: Effects) -> None:
    for row, why in closed:
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="usage_month.closed",
                rule="USE-8" if why in (Close.TRIAL, Close.MONEY_BACK) else rule,
                obj=row,
                organization=row.service.organization,
                after={
                    "service": row.service_id,
                    "month": row.month.isoformat(),
                    "closed": why,
                    "invoice": row.invoice.number if row.invoice is not None else None,
                    "rate_card": row.rate_card_id,
                },
            )
        )


def _lift_limits(rows: list[UsageMonth], *, actor: Actor, now: dt.datetime, effects: Effects) -> None:
    """USE-5: a Service is limited until its month ends: the closed months' open limits are lifted."""
    if not rows:
        return
    months = {(row.service_id, row.month) for row in rows}
    organizations = {row.service_id: row.service.organization for row in rows}
    limits = [
        limit
        for limit in Limit.objects.select_for_update()
        .filter(service_id__in={s for s, _m in months}, month__in={m for _s, m in months}, lifted_at__isnull=True)
        .order_by("pk")
        if (limit.service_id, limit.month) in months
    ]
    for limit in limits:
        limit.lifted_at = now
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="usage_limit.lifted",
                rule="USE-5",
                obj=limit,
                organization=organizations[limit.service_id],
                after={"service": limit.service_id, "month": limit.month.isoformat(), "reason": "month end"},
            )
        )
    if limits:
        bulk_update(limits, ["lifted_at"])


def usage_on_termination(
    services: Sequence[Service], *, actor: Actor, now: dt.datetime, effects: Effects, invoice: bool
) -> None:
    """USE-3: terminated Services' usage to date is invoiced now and their months closed — without an
    invoice when `invoice` is off (money-back, USE-8). subscriptions.hooks, from `services_terminate`."""
    usage_months_close(
        services,
        before=engine.next_month(engine.month_of(clock.business_date(now))),
        actor=actor,
        now=now,
        effects=effects,
        rule="USE-3",
        invoice=invoice,
    )
