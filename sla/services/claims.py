"""Claims (SLA-5, SLA-6), the penalties they earn (SLA-3, SLA-4) and their credit to the Prepaid
Account (PRE-2), and force-majeure terminations (SLA-9). The decisions where the SPEC is silent:
sla/services/__init__.py."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import TERMINATING_ROLES, require_staff
from audit.services import Actor, audit_record
from billing.models import Invoice, LedgerEntry
from billing.money import percent_of
from billing.services.prepaid import prepaid_credit
from core import clock, figures
from core.errors import RuleViolation
from sla import engine, selectors
from sla.models import (
    PENALTY_CAUSES,
    Cause,
    Claim,
    Incident,
    IncidentService,
    Penalty,
    PenaltyStep,
)
from sla.services.incidents import lock_incident, queue_task
from subscriptions.models import Service
from subscriptions.services.lifecycle import require_service_manager, service_terminate_for

Status = Claim.Status


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
            % {"months": schedule.claim_deadline_months, "day": figures.day(last_day)},
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
    if not engine.claim_decidable(locked.status):
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
        incident = lock_incident(incident)  # decided on the incident as it is now, not a stale copy
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
        queue_task("penalty_credit", penalty.pk)
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
            "amount": figures.amount(penalty.amount),
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
        not engine.force_majeure_going_on(incident.cause, incident.resolved_at)
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
        _force_majeure_incident(service, lock_incident(incident))  # still going on, under its lock
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
        _force_majeure_incident(service, lock_incident(incident))  # still going on, under its lock
        return service_terminate_for(
            service=service, reason=reason.strip(), rule="SLA-9", actor=Actor.for_user(staff_user), now=now
        )
