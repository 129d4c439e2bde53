"""Usage invoices collected by the renewal debit engine (SPEC USE-4, PRE-3, PRE-5, REN-2, REN-3,
REN-4, REN-8): what `renewals.debit_attempts_run`, the suspension and the termination need to know
about a usage Service, kept here so that there is one engine, not two.

Decisions (docs/decisions.md "Usage invoices"):
- A usage Service with automatic debit on (BIL-12 `auto_renew`) and an open usage invoice gets one
  attempt a day from the invoice's issue date to its due date (issue + 10 days), Prepaid Account
  first, then the default means, both or neither (PRE-5) — the renewal attempts' own code.
- The attempt is a RenewalAttempt of term 0 (a usage Service has no term; renewal attempts pay a
  term >= 1), pointing at the invoice it collects: still one attempt per Service and day (REN-8).
  With several usage invoices open, each day's attempt collects the one due first. Its card
  idempotency key names the invoice: `usage:<service>:invoice:<id>:day:<date>`.
- Unpaid on its due date (after that day's attempt) -> suspended `unpaid`, data kept (REN-3), and
  terminated the type's grace days after that due date (REN-4). Paying the invoice by any means
  reactivates the Service when no other usage invoice of it is past its due date.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from audit.services import Actor, AuditSpec
from billing.models import Invoice
from billing.services.posting import Effects, of_kind, on_invoices_paid
from core import clock
from core.bulk import IdIn, bulk_update
from notifications.services import NoticeSpec
from subscriptions.models import Service

Status = Service.Status
Reason = Service.SuspensionReason
USAGE_TERM = 0  # the `term` of a usage Service's debit attempts (RenewalAttempt)
COLLECTED_KINDS = (Invoice.Kind.RENEWAL, Invoice.Kind.USAGE)


def usage_debit_q(day: dt.date) -> Q:
    """USE-4: an active usage Service with an open usage invoice issued by `day` and due on or after
    it (the debit job adds: automatic debit on, no attempt yet today)."""
    open_usage = Invoice.objects.filter(
        service=OuterRef("pk"),
        kind=Invoice.Kind.USAGE,
        status=Invoice.Status.OPEN,
        issue_date__lte=day,
        due_date__gte=day,
    )
    return Q(Exists(open_usage), usage_based=True, status=Status.ACTIVE)


def usage_overdue_q(day: dt.date) -> Q:
    """USE-4: an active usage Service with a usage invoice still open on its due date or later."""
    overdue = Invoice.objects.filter(
        service=OuterRef("pk"), kind=Invoice.Kind.USAGE, status=Invoice.Status.OPEN, due_date__lte=day
    )
    # The cheap columns first: PostgreSQL evaluates an OR's branches as written, so the subquery
    # runs for the usage Services only, not for every Service the selection scans.
    return Q(usage_based=True, status=Status.ACTIVE) & Q(Exists(overdue))


def open_collected_invoices(
    service_ids: Iterable[int], *, lock: bool = False
) -> tuple[dict[tuple[int, int], Invoice], dict[int, list[Invoice]]]:
    """The open renewal invoices of these Services by (service, term), and their open usage invoices
    by Service, due first first: one query, locked in id order when asked (invoices before Services)."""
    invoices = Invoice.objects.filter(
        IdIn("service_id", service_ids), kind__in=COLLECTED_KINDS, status=Invoice.Status.OPEN
    )
    if lock:
        invoices = invoices.select_for_update().order_by("pk")
    renewal: dict[tuple[int, int], Invoice] = {}
    usage: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        if invoice.kind == Invoice.Kind.USAGE:
            usage[invoice.service_id].append(invoice)  # type: ignore[index]
        else:
            renewal[(invoice.service_id, invoice.term)] = invoice  # type: ignore[index]
    for found in usage.values():
        found.sort(key=lambda invoice: (invoice.due_date, invoice.pk))
    return renewal, dict(usage)


def usage_invoice_to_collect(service: Service, usage: dict[int, list[Invoice]], day: dt.date) -> Invoice | None:
    """USE-4: the usage invoice `day`'s attempt collects: issued, not past due, the one due first."""
    if not (service.usage_based and service.status == Status.ACTIVE and service.auto_renew):
        return None
    for invoice in usage.get(service.pk, []):
        if invoice.issue_date <= day <= invoice.due_date:
            return invoice
    return None


def overdue_usage_invoice(service: Service, usage: dict[int, list[Invoice]], day: dt.date) -> Invoice | None:
    """The usage invoice of the Service open on or past its due date, the oldest (USE-4)."""
    for invoice in usage.get(service.pk, []):
        if invoice.due_date <= day:
            return invoice
    return None


def usage_idempotency_key(service: Service, invoice_id: int | None, day: dt.date) -> str:
    return f"usage:{service.pk}:invoice:{invoice_id}:day:{day.isoformat()}"


def reactivate_if_settled(
    services: Sequence[Service], *, day: dt.date, actor: Actor, effects: Effects, invoice: Invoice
) -> list[Service]:
    """USE-4, REN-3: a usage Service suspended for an unpaid usage invoice works again once none of
    its usage invoices is open past its due date (the caller saves the Services returned)."""
    suspended = [
        s
        for s in services
        if s.usage_based and s.status == Status.SUSPENDED and s.suspension_reason == Service.SuspensionReason.UNPAID
    ]
    if not suspended:
        return []
    still_overdue = set(
        Invoice.objects.filter(
            IdIn("service_id", [s.pk for s in suspended]),
            kind=Invoice.Kind.USAGE,
            status=Invoice.Status.OPEN,
            due_date__lte=day,
        ).values_list("service_id", flat=True)
    )
    changed = []
    for service in suspended:
        if service.pk in still_overdue:
            continue
        before = {"status": service.status, "terminates_on": service.terminates_on}
        service.status = Status.ACTIVE
        service.suspended_at = None
        service.suspension_reason = ""
        service.terminates_on = None
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="service.reactivated",
                rule="USE-4",
                obj=service,
                organization=service.organization,
                before=before,
                after={"status": service.status, "invoice": invoice.number},
            )
        )
        effects.notices.append(
            NoticeSpec(
                organization=service.organization,
                template="service_reactivated",
                context={"service": service, "invoice": invoice},
                related=service,
            )
        )
        changed.append(service)
    return changed


@on_invoices_paid
def usage_invoices_paid(
    *, invoices: list[Invoice], actor: Actor, now: dt.datetime, effects: Effects, services: dict[int, Service]
) -> None:
    """USE-4: a usage invoice paid in full by any means (invoice page, Prepaid Account, staff, the
    daily run) reactivates its Service when it was suspended for it."""
    paid = of_kind(invoices, Invoice.Kind.USAGE)
    if not paid:
        return
    known = [services[i.service_id] for i in paid if i.service_id in services]
    missing = [i.service_id for i in paid if i.service_id not in services]
    if missing:
        known += list(
            Service.objects.select_for_update(of=("self",))
            .select_related("plan", "organization")
            .filter(IdIn("pk", missing))
            .order_by("pk")
        )
    by_service = {invoice.service_id: invoice for invoice in paid}
    day = clock.business_date(now)
    changed = [
        service
        for service in known
        if reactivate_if_settled([service], day=day, actor=actor, effects=effects, invoice=by_service[service.pk])
    ]
    bulk_update(changed, ["status", "suspended_at", "suspension_reason", "terminates_on"])


# --- the end of a usage trial (USE-8) -------------------------------------------------------


def _audit(effects: Effects, actor: Actor, service: Service, action: str, before: dict) -> None:  # type: ignore[type-arg]
    effects.audit.append(
        AuditSpec(
            actor=actor,
            action=action,
            rule="USE-8",
            obj=service,
            organization=service.organization,
            before=before,
            after={"status": service.status},
        )
    )


def usage_trials_end(
    services: Sequence[Service], *, day: dt.date, now: dt.datetime, actor: Actor, effects: Effects
) -> list[Service]:
    """USE-8 (Decision): at T a usage trial becomes active — nothing is paid in advance — when its
    usage can be collected: a default means that allows automatic debit that day, or a positive
    Prepaid balance. Otherwise it lapses as any trial (suspended, REN-6) and `usage_trials_resume_run`
    reactivates it once either is there. Returns the Services made active (the caller saves them)."""
    ending = [
        s for s in services if s.usage_based and s.status == Status.TRIAL and s.trial_ends_on and s.trial_ends_on <= day
    ]
    if not ending:
        return []
    collectable = _collectable({s.organization_id for s in ending}, day)
    changed = []
    for service in ending:
        if service.organization_id not in collectable:
            continue
        before = {"status": service.status}
        service.status = Status.ACTIVE
        service.activated_at = service.activated_at or now
        _audit(effects, actor, service, "service.trial_ended", before)
        changed.append(service)
    return changed


def _collectable(organization_ids: set[int], day: dt.date) -> set[int]:
    """The Organizations a usage invoice can be collected from on `day` (USE-4, PRE-5): a usable
    default auto-debit means, or a positive Prepaid balance."""
    from billing.models import PrepaidAccount
    from subscriptions.services.renewals import AutoDebitMeans

    means = AutoDebitMeans.load(organization_ids)
    usable = {org for org in organization_ids if means.usable(org, day)[0] is not None}
    funded = set(
        PrepaidAccount.objects.filter(IdIn("organization_id", organization_ids), balance__gt=0).values_list(
            "organization_id", flat=True
        )
    )
    return usable | funded


def usage_trials_resume_due(day: dt.date) -> QuerySet[Service]:
    """USE-8: usage trials suspended at T for want of a means, not yet terminated."""
    return Service.objects.filter(
        usage_based=True, status=Status.SUSPENDED, suspension_reason=Reason.TRIAL_LAPSED
    ).order_by("pk")


def usage_trials_resume_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """USE-8: a lapsed usage trial works again (active) once its Organization has a means to collect
    from — a default auto-debit means or a positive Prepaid balance — checked by each daily run."""
    from subscriptions.batch import locked_services

    actor = Actor.system("billing.suspension")
    with transaction.atomic():
        services = [
            s
            for s in locked_services(service_ids)
            if s.usage_based and s.status == Status.SUSPENDED and s.suspension_reason == Reason.TRIAL_LAPSED
        ]
        collectable = _collectable({s.organization_id for s in services}, day) if services else set()
        effects = Effects()
        changed = []
        for service in services:
            if service.organization_id not in collectable:
                continue
            before = {"status": service.status, "terminates_on": service.terminates_on}
            service.status, service.suspension_reason = Status.ACTIVE, ""
            service.suspended_at = service.terminates_on = None
            service.activated_at = service.activated_at or now
            _audit(effects, actor, service, "service.reactivated", before)
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="service_reactivated",
                    context={"service": service, "invoice": None},
                    related=service,
                )
            )
            changed.append(service)
        bulk_update(changed, ["status", "suspension_reason", "suspended_at", "terminates_on", "activated_at"])
        effects.flush(now)
    return len(changed)
