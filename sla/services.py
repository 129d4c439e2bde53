"""Every change of the SLA app (SPEC SLA-1…SLA-9, PRE-2): incidents, maintenance windows, claims, the
penalties they earn and their credit to the Prepaid Account, force-majeure terminations.

Each service checks who acts before anything is written, locks what it changes, writes the evidence
with the rule id that allowed it (EVD-1) and raises `RuleViolation`, changing nothing, when a rule
says no. Notices to the contact persons are sent by Celery after commit (`sla.tasks`), each with a
dedupe key, so a redelivered task tells nobody twice (REN-8).

Decisions where the SPEC is silent:
- A claim is filed for one Service (the support ticket's). The two-month deadline (SLA-5) is checked
  on the claimed start when it is filed, and again on the incident's start when staff accept it.
- Staff accept a claim by naming a *resolved* incident that affected the claim's Service; the penalty
  is computed then, from the incident as recorded by the provider (not the claimed times), on the
  invoice covering the Zurich day the incident started, VAT included, less what credit notes took
  off it. No invoice covers that day (a trial) → the claim is accepted with nothing to credit.
- A claim for an incident of an excluded cause (SLA-6) is refused, not accepted at 0: staff refuse it
  with that cause. An incident that stayed within its class's allowance is not an occurrence
  (SLA-2): the claim is refused with that reason.
- One accepted claim per Service and incident (database constraint): the penalty is earned once.
- The decision is posted on the claim's ticket by the deciding staff user, in the ticket's language,
  from the support address (SUP-7), and the ticket is resolved.
- A 4th (the schedule's figure) class-A occurrence in a year: when the incident is resolved, the
  contact persons are told they may end the contract (SLA-3).
- Force majeure (SLA-9): while a force-majeure incident affecting a Service goes on, its Legal
  Responsibles and administrators may terminate it at once; once it has lasted the schedule's days
  (30), staff may terminate it too. Neither earns compensation (BIL-13).
"""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import TERMINATING_ROLES, require_staff
from audit.services import Actor, audit_record
from billing.models import Invoice, LedgerEntry, Service
from billing.money import percent_of
from billing.services.lifecycle import require_service_manager, service_terminate_for
from billing.services.prepaid import prepaid_credit
from core import clock
from core.errors import RuleViolation
from sla import engine, selectors
from sla.models import (
    PENALTY_CAUSES,
    Cause,
    Claim,
    Incident,
    IncidentClass,
    IncidentService,
    Maintenance,
    MaintenanceService,
    Penalty,
    PenaltyStep,
)

Status = Claim.Status


def _require_monitoring(user: User) -> None:
    """Incidents are recorded by staff or by the monitoring system's account (SLA-8)."""
    if not (user.is_staff or user.has_perm("sla.add_incident")):
        raise RuleViolation(_("Only our staff and our monitoring record incidents."), rule="SLA-8", status=403)


def _queue(task_name: str, object_id: int) -> None:
    from sla import tasks

    transaction.on_commit(partial(tasks.queue, task_name, object_id))


# --- incidents (SLA-2, SLA-8) ----------------------------------------------------------------


def _existing_services(service_ids: Sequence[int]) -> list[Service]:
    ids = sorted(set(service_ids))
    if not ids:
        raise RuleViolation(_("Name the Services the incident affects."), rule="SLA-8", status=400, field="services")
    services = list(Service.objects.filter(pk__in=ids).order_by("pk"))
    if len(services) != len(ids):
        raise RuleViolation(_("One of these Services does not exist."), rule="SLA-8", status=400, field="services")
    return services


def _check_incident(*, incident_class: str, cause: str, title: str) -> None:
    if incident_class not in IncidentClass.values:
        raise RuleViolation(_("Choose the class of the incident."), rule="SLA-2", status=400, field="incident_class")
    if cause not in Cause.values:
        raise RuleViolation(_("Choose the cause of the incident."), rule="SLA-6", status=400, field="cause")
    if not title.strip():
        raise RuleViolation(_("Give the incident a title."), rule="SLA-8", status=400, field="title")


def incident_record(
    *,
    user: User,
    incident_class: str,
    title: str,
    started_at: dt.datetime,
    service_ids: Sequence[int],
    cause: str = Cause.PROVIDER,
    description: str = "",
    resolved_at: dt.datetime | None = None,
    external_id: str | None = None,
    now: dt.datetime,
) -> tuple[Incident, bool]:
    """Record a failure affecting one or many Services (SLA-8) and tell their contact persons.
    Idempotent by the monitoring system's `external_id`: the same id again returns the incident
    already recorded, unchanged, and `False`."""
    _require_monitoring(user)
    external_id = (external_id or "").strip() or None
    if external_id:
        existing = Incident.objects.filter(external_id=external_id).first()
        if existing is not None:
            return existing, False
    _check_incident(incident_class=incident_class, cause=cause, title=title)
    if started_at > now:
        raise RuleViolation(_("An incident cannot start in the future."), rule="SLA-2", status=400, field="started_at")
    if resolved_at is not None and not started_at < resolved_at <= now:
        raise RuleViolation(
            _("An incident is resolved after it starts, and not in the future."),
            rule="SLA-2",
            status=400,
            field="resolved_at",
        )
    services = _existing_services(service_ids)
    actor = Actor.for_user(user)
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                external_id=external_id,
                incident_class=incident_class,
                cause=cause,
                title=title.strip(),
                description=description.strip(),
                started_at=started_at,
                resolved_at=resolved_at,
                recorded_by=user,
                created_at=now,
            )
            IncidentService.objects.bulk_create([IncidentService(incident=incident, service=s) for s in services])
            audit_record(
                actor=actor,
                action="sla.incident_recorded",
                rule="SLA-8",
                obj=incident,
                after={
                    "class": incident_class,
                    "cause": cause,
                    "started_at": started_at.isoformat(),
                    "resolved_at": resolved_at.isoformat() if resolved_at else None,
                    "services": [s.pk for s in services],
                    "external_id": external_id,
                },
                at=now,
            )
            _queue("incident_detected", incident.pk)
            if resolved_at is not None:
                _queue("incident_resolved", incident.pk)
    except IntegrityError:
        if external_id is None:
            raise
        # Two deliveries of the same monitoring event raced: the other one recorded it.
        return Incident.objects.get(external_id=external_id), False
    return incident, True


def _lock_incident(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def incident_resolve(*, incident: Incident, user: User, resolved_at: dt.datetime, now: dt.datetime) -> Incident:
    """The provider marks the incident resolved (SLA-2); the affected contact persons are told they
    may claim it (SLA-5) and, on a class-A occurrence from the schedule's rank, that they may end the
    contract (SLA-3)."""
    _require_monitoring(user)
    with transaction.atomic():
        locked = _lock_incident(incident)
        if locked.resolved_at is not None:
            raise RuleViolation(_("This incident is already resolved."), rule="SLA-2")
        if not locked.started_at < resolved_at <= now:
            raise RuleViolation(
                _("An incident is resolved after it starts, and not in the future."),
                rule="SLA-2",
                status=400,
                field="resolved_at",
            )
        locked.resolved_at = resolved_at
        locked.save(update_fields=["resolved_at"])
        audit_record(
            actor=Actor.for_user(user),
            action="sla.incident_resolved",
            rule="SLA-2",
            obj=locked,
            before={"resolved_at": None},
            after={"resolved_at": resolved_at.isoformat()},
            at=now,
        )
        _queue("incident_resolved", locked.pk)
    incident.resolved_at = locked.resolved_at
    return locked


def incident_update(
    *, incident: Incident, user: User, title: str, description: str, incident_class: str, cause: str, now: dt.datetime
) -> Incident:
    """Staff correct what an incident is (class, cause — SLA-6 — title, public description), audited.
    A claim already decided keeps what was decided."""
    require_staff(user, rule="SLA-2")
    _check_incident(incident_class=incident_class, cause=cause, title=title)
    fields = ("title", "description", "incident_class", "cause")
    with transaction.atomic():
        locked = _lock_incident(incident)
        before = {f: getattr(locked, f) for f in fields}
        locked.title, locked.description = title.strip(), description.strip()
        locked.incident_class, locked.cause = incident_class, cause
        after = {f: getattr(locked, f) for f in fields}
        if after != before:
            locked.save(update_fields=list(fields))
            audit_record(
                actor=Actor.for_user(user),
                action="sla.incident_updated",
                rule="SLA-6" if before["cause"] != cause else "SLA-2",
                obj=locked,
                before=before,
                after=after,
                at=now,
            )
    return locked


# --- maintenance (SLA-7) ---------------------------------------------------------------------


def maintenance_schedule(
    *,
    user: User,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    service_ids: Sequence[int],
    description: str = "",
    urgent: bool = False,
    urgent_reason: str = "",
    now: dt.datetime,
) -> Maintenance:
    """Staff plan a maintenance window, announced to the affected contact persons. Planned or urgent,
    it is recorded before it starts (SLA-7). A planned one needs the schedule's notice in business hours
    (48, weekends skipped); a shorter notice is refused unless the window is marked urgent with a reason."""
    require_staff(user, rule="SLA-7")
    if not title.strip():
        raise RuleViolation(_("Give the maintenance a title."), rule="SLA-7", status=400, field="title")
    if ends_at <= starts_at:
        raise RuleViolation(_("A maintenance ends after it starts."), rule="SLA-7", status=400, field="ends_at")
    urgent_reason = urgent_reason.strip()
    if urgent and not urgent_reason:
        raise RuleViolation(
            _("An urgent maintenance needs the reason of its urgency."), rule="SLA-7", status=400, field="urgent_reason"
        )
    if starts_at < now:
        raise RuleViolation(
            _("A maintenance window, planned or urgent, is recorded before it starts: this one has already started."),
            rule="SLA-7",
            status=400,
            field="starts_at",
        )
    schedule = selectors.schedule_in_force(clock.business_date(now))
    if not urgent:
        notice = engine.business_seconds_between(now, starts_at)
        required = schedule.maintenance_notice_business_hours
        if notice < required * 3600:
            raise RuleViolation(
                _(
                    "A planned maintenance is announced at least %(hours)s business hours before it starts "
                    "(weekends do not count); this one would have %(notice)s. Mark it urgent with a reason."
                )
                % {"hours": required, "notice": f"{notice / 3600:.1f}"},
                rule="SLA-7",
                status=400,
                field="starts_at",
            )
    services = _existing_services(service_ids)
    with transaction.atomic():
        maintenance = Maintenance.objects.create(
            title=title.strip(),
            description=description.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            urgent=urgent,
            urgent_reason=urgent_reason,
            announced_at=now,
            recorded_by=user,
        )
        MaintenanceService.objects.bulk_create(
            [MaintenanceService(maintenance=maintenance, service=s) for s in services]
        )
        audit_record(
            actor=Actor.for_user(user),
            action="sla.maintenance_announced",
            rule="SLA-7",
            obj=maintenance,
            after={
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "urgent": urgent,
                "urgent_reason": urgent_reason,
                "services": [s.pk for s in services],
            },
            at=now,
        )
        _queue("maintenance_announced", maintenance.pk)
    return maintenance


# --- claims (SLA-5) --------------------------------------------------------------------------


def claim_file(*, ticket: object, user: User, now: dt.datetime) -> Claim:
    """The SLA app's part in opening a support ticket of kind "SLA claim" (registered in
    `support.hooks`): refused when filed later than the deadline after the claimed start (SLA-5),
    else the claim is recorded, pending the staff's analysis."""
    from support.models import Ticket

    assert isinstance(ticket, Ticket)
    assert ticket.claim_start is not None
    assert ticket.claim_end is not None
    assert ticket.service_id is not None
    schedule = selectors.schedule_in_force(clock.business_date(ticket.claim_start))
    last_day = selectors.claim_last_day(schedule, ticket.claim_start)
    if clock.business_date(now) > last_day:
        raise RuleViolation(
            _(
                "An SLA claim is filed no later than %(months)s months after the unavailability started: "
                "the last day for this one was %(day)s."
            )
            % {"months": schedule.claim_deadline_months, "day": last_day.isoformat()},
            rule="SLA-5",
            field="claim_start",
        )
    claim = Claim.objects.create(
        ticket=ticket,
        organization_id=ticket.organization_id,
        service_id=ticket.service_id,
        claimed_start=ticket.claim_start,
        claimed_end=ticket.claim_end,
        filed_at=now,
    )
    audit_record(
        actor=Actor.for_user(user),
        action="sla.claim_filed",
        rule="SLA-5",
        obj=claim,
        organization=ticket.organization,
        after={
            "ticket": ticket.pk,
            "service": ticket.service_id,
            "claimed_start": ticket.claim_start.isoformat(),
            "claimed_end": ticket.claim_end.isoformat(),
        },
        at=now,
    )
    return claim


def _lock_pending(claim: Claim) -> Claim:
    """The claim and its ticket locked, in this order, before anything else is locked or audited
    (the evidence's chain head is taken by the first audit record and held to the commit, so every
    row lock of a decision is taken before it, as message posting takes the ticket before it)."""
    from support.models import Ticket

    locked = (
        Claim.objects.select_for_update(of=("self",))
        .select_related("ticket", "service__plan", "organization")
        .get(pk=claim.pk)
    )
    if locked.status != Status.PENDING:
        raise RuleViolation(_("This claim is already decided."), rule="SLA-5")
    Ticket.objects.select_for_update().filter(pk=locked.ticket_id).first()
    return locked


def _post_decision(claim: Claim, staff_user: User, body: str, now: dt.datetime) -> None:
    """The decision on the claim's ticket, e-mailed from the support address (SUP-7); resolved."""
    from support.services import message_post, ticket_set_status

    message_post(ticket=claim.ticket, user=staff_user, body=body, as_staff=True, now=now)
    ticket_set_status(ticket=claim.ticket, staff_user=staff_user, status="resolved", now=now)


def penalty_compute(*, incident: Incident, service: Service, now: dt.datetime) -> Penalty:
    """SLA-2…SLA-4: what the incident earns for the Service, before the cap (an unsaved Penalty).
    Refused when the cause excludes a penalty (SLA-6) or the incident is no occurrence (SLA-2)."""
    if incident.cause not in PENALTY_CAUSES:
        raise RuleViolation(
            _("No penalty is owed for an incident of this cause: %(cause)s. Refuse the claim with it.")
            % {"cause": incident.get_cause_display()},
            rule="SLA-6",
        )
    schedule = selectors.schedule_in_force(clock.business_date(incident.started_at))
    occurrence = selectors.occurrence_of(incident, service, schedule=schedule, now=now)
    allowance = selectors.allowance_minutes(schedule, incident.incident_class)
    if occurrence is None:
        raise RuleViolation(
            _(
                "This incident lasted no longer than its class allows (%(minutes)s minutes, maintenance not "
                "counted): it is no occurrence and earns no penalty."
            )
            % {"minutes": allowance},
            rule="SLA-2",
        )
    group = selectors.group_of(incident.incident_class)
    step = engine.step_percent(selectors.steps_of(schedule, group), occurrence.rank)
    a2 = engine.a2_minutes(occurrence.counted_seconds, allowance) if group == PenaltyStep.Group.A else 0
    percent = step + schedule.a2_percent_per_minute * a2
    invoice = selectors.invoice_covering(service, incident.started_at)
    base = (invoice.total_incl_vat - invoice.amount_credited) if invoice else Decimal("0.00")
    computed = percent_of(base, percent)
    return Penalty(
        schedule=schedule,
        invoice=invoice,
        incident_class=incident.incident_class,
        counted_seconds=occurrence.counted_seconds,
        occurrence=occurrence.rank,
        step_percent=step,
        a2_minutes=a2,
        percent=percent,
        base_amount=base,
        computed_amount=computed,
        amount=computed,
        currency=invoice.currency if invoice else service.currency,
    )


def _cap(penalty: Penalty) -> None:
    """SLA-4: with the invoice row locked, lower the amount so that the penalties on one invoice never
    exceed the schedule's share of it."""
    if penalty.invoice is None:
        return
    Invoice.objects.select_for_update().filter(pk=penalty.invoice.pk).first()
    already = sum((p.amount for p in Penalty.objects.filter(invoice=penalty.invoice)), Decimal("0.00"))
    allowed = engine.capped(
        penalty.computed_amount, base=penalty.base_amount, cap_percent=penalty.schedule.cap_percent, already=already
    )
    penalty.capped = allowed < penalty.computed_amount
    penalty.amount = allowed


def claim_accept(*, claim: Claim, incident: Incident, staff_user: User, now: dt.datetime) -> Penalty:
    """Staff accept the claim, naming the incident that caused the unavailability: the penalty is
    computed and capped (SLA-3, SLA-4), the decision posted on the ticket, and the credit to the
    Prepaid Account queued (credited exactly once, `penalty_credit`)."""
    require_staff(staff_user, rule="SLA-5")
    with transaction.atomic():
        locked = _lock_pending(claim)
        incident = _lock_incident(incident)  # decided on the incident as it is now, not a stale copy
        if not IncidentService.objects.filter(incident=incident, service_id=locked.service_id).exists():
            raise RuleViolation(_("This incident did not affect the claim's Service."), rule="SLA-8", field="incident")
        if incident.resolved_at is None:
            raise RuleViolation(
                _("Resolve the incident first: its penalty depends on how long it lasted."),
                rule="SLA-2",
                field="incident",
            )
        if not selectors.incidents_matching(locked).filter(pk=incident.pk).exists():
            raise RuleViolation(
                _("This incident does not match the unavailability claimed (its dates are too far apart)."),
                rule="SLA-5",
                field="incident",
            )
        schedule = selectors.schedule_in_force(clock.business_date(incident.started_at))
        last_day = selectors.claim_last_day(schedule, incident.started_at)
        if clock.business_date(locked.filed_at) > last_day:
            raise RuleViolation(
                _("This claim was filed after %(day)s, the deadline of this incident: refuse it.")
                % {"day": last_day.isoformat()},
                rule="SLA-5",
                field="incident",
            )
        if Claim.objects.filter(service_id=locked.service_id, incident=incident, status=Status.ACCEPTED).exists():
            raise RuleViolation(
                _("Another claim for this incident and Service was already accepted."), rule="SLA-4", field="incident"
            )
        penalty = penalty_compute(incident=incident, service=locked.service, now=now)
        penalty.claim = locked
        penalty.created_at = now
        _cap(penalty)
        penalty.save(force_insert=True)
        locked.status, locked.incident = Status.ACCEPTED, incident
        locked.decided_by, locked.decided_at = staff_user, now
        locked.save(update_fields=["status", "incident", "decided_by", "decided_at"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="sla.claim_accepted",
            rule="SLA-4" if penalty.capped else "SLA-3",
            obj=locked,
            organization=locked.organization,
            before={"status": Status.PENDING},
            after={
                "status": Status.ACCEPTED,
                "incident": incident.pk,
                "invoice": penalty.invoice.pk if penalty.invoice else None,
                "occurrence": penalty.occurrence,
                "percent": str(penalty.percent),
                "computed_amount": str(penalty.computed_amount),
                "amount": str(penalty.amount),
                "capped": penalty.capped,
            },
            at=now,
        )
        with translation.override(locked.ticket.language):
            body = _accepted_message(penalty)
        _post_decision(locked, staff_user, body, now)
        _queue("penalty_credit", penalty.pk)
    claim.status, claim.incident = locked.status, incident
    return penalty


def _accepted_message(penalty: Penalty) -> str:
    if penalty.invoice is None:
        return _("Your SLA claim is accepted, but no invoice covers the period of the unavailability: nothing is owed.")
    text = _(
        "Your SLA claim is accepted: occurrence %(rank)s of the year, %(percent)s%% of invoice %(invoice)s "
        "(%(currency)s %(base)s)."
    ) % {
        "rank": penalty.occurrence,
        "percent": penalty.percent,
        "invoice": penalty.invoice.display_number,
        "currency": penalty.currency,
        "base": penalty.base_amount,
    }
    if penalty.capped:
        text += " " + _("Penalties on one invoice never exceed %(cap)s%% of it.") % {
            "cap": penalty.schedule.cap_percent
        }
    if penalty.amount > 0:
        text += " " + _("%(currency)s %(amount)s will be credited to your Prepaid Account.") % {
            "currency": penalty.currency,
            "amount": penalty.amount,
        }
    else:
        text += " " + _("This occurrence earns no amount; it counts for the next ones of the year.")
    return text


def claim_refuse(*, claim: Claim, staff_user: User, reason: str, cause: str = "", now: dt.datetime) -> Claim:
    """Staff refuse the claim with a reason, and the excluding cause where there is one (SLA-6)."""
    require_staff(staff_user, rule="SLA-5")
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_("Give the reason of the refusal."), rule="SLA-5", status=400, field="reason")
    if cause and cause not in Cause.values:
        raise RuleViolation(_("Choose the cause of the incident."), rule="SLA-6", status=400, field="cause")
    with transaction.atomic():
        locked = _lock_pending(claim)
        locked.status, locked.refusal_reason, locked.refusal_cause = Status.REFUSED, reason, cause
        locked.decided_by, locked.decided_at = staff_user, now
        locked.save(update_fields=["status", "refusal_reason", "refusal_cause", "decided_by", "decided_at"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="sla.claim_refused",
            rule="SLA-6" if cause else "SLA-5",
            obj=locked,
            organization=locked.organization,
            before={"status": Status.PENDING},
            after={"status": Status.REFUSED, "cause": cause, "reason": reason},
            at=now,
        )
        with translation.override(locked.ticket.language):
            body = _("Your SLA claim is refused: %(reason)s") % {"reason": reason}
            if cause:
                body += " " + _("(cause: %(cause)s)") % {"cause": Cause(cause).label}
        _post_decision(locked, staff_user, body, now)
    claim.status = locked.status
    return locked


# --- crediting (SLA-4, PRE-2) ----------------------------------------------------------------

JOB_CREDIT = "sla.penalty_credits"


def penalty_credit(*, penalty_id: int, now: dt.datetime) -> LedgerEntry | None:
    """Credit an accepted claim's penalty to the Prepaid Account, exactly once: the penalty row is
    locked, a credited one is left as it is, and the ledger refuses a second entry for the claim
    (a unique constraint). Returns the new entry, or None when there was nothing (more) to credit."""
    from notifications.services import notify

    with transaction.atomic():
        penalty = (
            Penalty.objects.select_for_update(of=("self",))
            .select_related("claim__organization", "claim__service__plan")
            .filter(pk=penalty_id, credited_at__isnull=True)
            .first()
        )
        if penalty is None:
            return None
        claim = penalty.claim
        actor = Actor.system(JOB_CREDIT)
        entry = None
        if penalty.amount > 0:
            entry = prepaid_credit(
                organization=claim.organization,
                kind=LedgerEntry.Kind.SLA_PENALTY,
                amount=penalty.amount,
                currency=penalty.currency,
                claim_reference=claim.reference,
                rule="SLA-4",
                actor=actor,
                now=now,
            )
        penalty.ledger_entry, penalty.credited_at = entry, now
        penalty.save(update_fields=["ledger_entry", "credited_at"])
        audit_record(
            actor=actor,
            action="sla.penalty_credited",
            rule="SLA-4",
            obj=penalty,
            organization=claim.organization,
            after={"claim": claim.pk, "amount": str(penalty.amount), "ledger_entry": entry.pk if entry else None},
            at=now,
        )
        if entry is not None:
            notify(
                organization=claim.organization,
                template="sla_penalty_credited",
                context={"penalty": penalty, "claim": claim, "service": claim.service},
                related=claim,
                dedupe_key=f"sla:penalty_credited:{penalty.pk}",
                now=now,
            )
    return entry


# --- force majeure (SLA-9) -------------------------------------------------------------------


def _force_majeure_incident(service: Service, incident: Incident) -> Incident:
    if (
        incident.cause != Cause.FORCE_MAJEURE
        or incident.resolved_at is not None
        or not IncidentService.objects.filter(incident=incident, service=service).exists()
    ):
        raise RuleViolation(_("No force majeure affecting this Service is going on."), rule="SLA-9", field="incident")
    return incident


def service_terminate_force_majeure(
    *,
    service: Service,
    incident: Incident,
    user: User,
    confirmed: bool,
    client_address: str | None = None,
    now: dt.datetime,
) -> Service:
    """SLA-9: during force majeure the customer may terminate at once (data deleted for good, SC 8.3;
    no compensation, BIL-13) — a Legal Responsible or administrator who manages the Service."""
    require_service_manager(service, user, TERMINATING_ROLES)
    _force_majeure_incident(service, incident)
    if not confirmed:
        raise RuleViolation(
            _("Please confirm that the data will be deleted for good and that no compensation is paid."),
            rule="SC 8.3",
            status=400,
            field="confirm",
        )
    with transaction.atomic():
        _force_majeure_incident(service, _lock_incident(incident))  # still going on, under its lock
        return service_terminate_for(
            service=service,
            reason=_("Terminated by the customer during force majeure"),
            rule="SLA-9",
            actor=Actor.for_user(user, client_address=client_address),
            now=now,
        )


def staff_terminate_force_majeure(
    *, service: Service, incident: Incident, staff_user: User, reason: str, now: dt.datetime
) -> Service:
    """SLA-9: after the schedule's days of force majeure (30), the provider may terminate too."""
    require_staff(staff_user, rule="SLA-9")
    if not reason.strip():
        raise RuleViolation(_("A reason is required."), rule="SLA-9", status=400, field="reason")
    _force_majeure_incident(service, incident)
    schedule = selectors.schedule_in_force(clock.business_date(incident.started_at))
    if now - incident.started_at < dt.timedelta(days=schedule.force_majeure_days):
        raise RuleViolation(
            _("The provider may terminate only after %(days)s days of force majeure.")
            % {"days": schedule.force_majeure_days},
            rule="SLA-9",
        )
    with transaction.atomic():
        _force_majeure_incident(service, _lock_incident(incident))  # still going on, under its lock
        return service_terminate_for(
            service=service, reason=reason.strip(), rule="SLA-9", actor=Actor.for_user(staff_user), now=now
        )


# --- notices to the contact persons (SLA-3, SLA-5, SLA-7, SLA-8) ----------------------------

INCIDENT_TEMPLATES = {"detected": "sla_incident_detected", "resolved": "sla_incident_resolved"}


def _tell_contacts(service: Service, *, template: str, context: dict[str, object], key: str, now: dt.datetime) -> int:
    from notifications.models import Notification
    from notifications.services import notify

    sent = 0
    for contact in selectors.service_contact_persons(service):
        sent += len(
            notify(
                organization=service.organization,
                template=template,
                context=context,
                channels=(Notification.Channel.EMAIL,),
                related=service,
                recipient_user=contact.user,
                email_to=contact.user.email,
                dedupe_key=f"{key}:{service.pk}:{contact.user_id}",
                now=now,
            )
        )
    return sent


def _affected(queryset: object) -> list[Service]:
    return list(
        Service.objects.filter(pk__in=queryset)  # type: ignore[misc]
        .exclude(status=Service.Status.TERMINATED)
        .select_related("organization", "plan__service_type")
        .order_by("pk")
    )


def incident_notify(*, incident_id: int, event: str, now: dt.datetime) -> int:
    """SLA-8: tell the contact persons of every affected Service that a failure was detected, or that
    it is resolved — then with the claim they may file (SLA-5) and, from the schedule's class-A
    occurrence on (the 4th), that they may end the contract (SLA-3). Once per contact person, Service
    and event (dedupe keys): a task delivered twice sends nothing more."""
    incident = Incident.objects.get(pk=incident_id)
    schedule = selectors.schedule_in_force(clock.business_date(incident.started_at))
    claimable = event == "resolved" and incident.cause in PENALTY_CAUSES
    sent = 0
    for service in _affected(IncidentService.objects.filter(incident=incident).values("service_id")):
        context: dict[str, object] = {"incident": incident, "service": service}
        if claimable:
            context["claim_last_day"] = selectors.claim_last_day(schedule, incident.started_at)
            if incident.incident_class == IncidentClass.A:
                occurrence = selectors.occurrence_of(incident, service, schedule=schedule, now=now)
                context["may_end_contract"] = bool(occurrence and occurrence.rank >= schedule.a_may_end_contract_from)
                context["occurrence"] = occurrence.rank if occurrence else None
        sent += _tell_contacts(
            service, template=INCIDENT_TEMPLATES[event], context=context, key=f"sla:{event}:{incident.pk}", now=now
        )
    told = "detected_notified_at" if event == "detected" else "resolved_notified_at"
    Incident.objects.filter(pk=incident.pk, **{f"{told}__isnull": True}).update(**{told: now})
    return sent


def maintenance_notify(*, maintenance_id: int, now: dt.datetime) -> int:
    """SLA-7: the announcement of a maintenance window to the affected contact persons, once each."""
    maintenance = Maintenance.objects.get(pk=maintenance_id)
    sent = 0
    for service in _affected(MaintenanceService.objects.filter(maintenance=maintenance).values("service_id")):
        sent += _tell_contacts(
            service,
            template="sla_maintenance_announced",
            context={"maintenance": maintenance, "service": service},
            key=f"sla:maintenance:{maintenance.pk}",
            now=now,
        )
    Maintenance.objects.filter(pk=maintenance.pk, notified_at__isnull=True).update(notified_at=now)
    return sent


def notices_untold() -> tuple[list[tuple[int, str]], list[int]]:
    """The incident events and maintenance windows whose contact persons were not told yet (their
    task lost with a broker that was down): what the daily job tells, once (dedupe keys)."""
    events = [
        (pk, "detected")
        for pk in Incident.objects.filter(detected_notified_at__isnull=True).values_list("pk", flat=True)
    ]
    events += [
        (pk, "resolved")
        for pk in Incident.objects.filter(resolved_at__isnull=False, resolved_notified_at__isnull=True).values_list(
            "pk", flat=True
        )
    ]
    windows = list(Maintenance.objects.filter(notified_at__isnull=True).values_list("pk", flat=True))
    return sorted(events), windows
