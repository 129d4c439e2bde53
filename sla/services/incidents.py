"""Incidents (SLA-2, SLA-8), maintenance windows (SLA-7) and the notices they send the contact persons
(SLA-3, SLA-7, SLA-8). The decisions where the SPEC is silent: sla/services/__init__.py."""

import datetime as dt
from collections.abc import Sequence
from functools import partial

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import require_staff
from audit.services import Actor, audit_record
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
)
from subscriptions.models import Service

Status = Claim.Status


def _require_monitoring(user: User) -> None:
    """Incidents are recorded by staff or by the monitoring system's account (SLA-8)."""
    if not (user.is_staff or user.has_perm("sla.add_incident")):
        raise RuleViolation(_("Only our staff and our monitoring record incidents."), rule="SLA-8", status=403)

def queue_task(task_name: str, object_id: int) -> None:
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
            queue_task("incident_detected", incident.pk)
            if resolved_at is not None:
                queue_task("incident_resolved", incident.pk)
    except IntegrityError:
        if external_id is None:
            raise
        # Two deliveries of the same monitoring event raced: the other one recorded it.
        return Incident.objects.get(external_id=external_id), False
    return incident, True

def lock_incident(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)

def incident_resolve(*, incident: Incident, user: User, resolved_at: dt.datetime, now: dt.datetime) -> Incident:
    """The provider marks the incident resolved (SLA-2); the affected contact persons are told they
    may claim it (SLA-5) and, on a class-A occurrence from the schedule's rank, that they may end the
    contract (SLA-3)."""
    _require_monitoring(user)
    with transaction.atomic():
        locked = lock_incident(incident)
        if not engine.incident_resolvable(locked.resolved_at):
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
        queue_task("incident_resolved", locked.pk)
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
        locked = lock_incident(incident)
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
        queue_task("maintenance_announced", maintenance.pk)
    return maintenance
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
