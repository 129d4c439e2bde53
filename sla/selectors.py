"""Reads of the SLA app: the schedule in force, what a member sees (tenancy, ORG-6), the monthly
availability reports (SLA-1), the occurrences of a Service's year (SLA-3) and the claimable incidents.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404

from billing.models import Invoice
from billing.periods import term_end
from core import clock
from sla import engine
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
    PenaltySchedule,
    PenaltyStep,
)
from subscriptions.models import Service
from usage.models import UsageMonth

Span = engine.Span
REPORT_MONTHS = 12  # the portal's chart and table: the last twelve months


def schedule_in_force(day: dt.date) -> PenaltySchedule:
    """The version of the SLA figures in force on `day` (SC 10 is one dated revision); for a day
    before the first version, the first one (an old incident still gets figures, and its claim the
    deadline that refuses it)."""
    schedules = PenaltySchedule.objects.prefetch_related("allowances", "steps")
    schedule = schedules.filter(valid_from__lte=day).order_by("-valid_from").first()
    schedule = schedule or schedules.order_by("valid_from").first()
    if schedule is None:
        raise LookupError("no SLA penalty schedule exists")
    return schedule


def allowance_minutes(schedule: PenaltySchedule, incident_class: str) -> int:
    for allowance in schedule.allowances.all():
        if allowance.incident_class == incident_class:
            return allowance.minutes
    raise LookupError(f"the schedule {schedule} has no allowance for class {incident_class}")


def steps_of(schedule: PenaltySchedule, group: str) -> list[tuple[int, Decimal]]:
    return [(s.from_occurrence, s.percent) for s in schedule.steps.all() if s.group == group]


def group_of(incident_class: str) -> str:
    """SLA-3: class A alone, B to E counted together."""
    return PenaltyStep.Group.A if incident_class == IncidentClass.A else PenaltyStep.Group.B_TO_E


def claim_last_day(schedule: PenaltySchedule, start: dt.datetime) -> dt.date:
    """SLA-5: the last Zurich day to file a claim for an unavailability that started at `start` —
    its start date plus the schedule's calendar months (31 December → 28/29 February)."""
    return clock.business_date(start) + relativedelta(months=schedule.claim_deadline_months)


# --- contact persons (SLA-7, SLA-8) ----------------------------------------------------------


def service_contact_persons(service: Any) -> QuerySet[Any]:
    """ORG-6: the Service's contact persons, the same as for its support tickets (SUP-4, SUP-7)."""
    from support.selectors import service_contact_persons as contacts

    return contacts(organization_id=service.organization_id, service_id=service.pk)


# --- spans of a Service ----------------------------------------------------------------------


def incident_span(incident: Incident, now: dt.datetime) -> Span:
    """An open incident lasts until now (SLA-2: open until the provider marks it resolved)."""
    return incident.started_at, incident.resolved_at or max(now, incident.started_at)


# SLA-7: a window counts only if it was recorded before it started; one recorded later excludes nothing
# (`maintenance_schedule` refuses it; this keeps any such row out of the sums all the same).
RECORDED_BEFORE_START = Q(announced_at__lte=F("starts_at"))


def maintenance_spans(service: Any, window: Span) -> list[Span]:
    low, high = window
    return list(
        Maintenance.objects.filter(
            RECORDED_BEFORE_START, links__service=service, starts_at__lt=high, ends_at__gt=low
        ).values_list("starts_at", "ends_at")
    )


# --- occurrences (SLA-2, SLA-3) --------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    incident: Incident
    counted_seconds: Decimal  # exact (SLA-2)
    rank: int  # 1 for the first occurrence of its group in the calendar year


def occurrences_in_year(
    service: Any, *, year: int, group: str, schedule: PenaltySchedule, now: dt.datetime
) -> list[Occurrence]:
    """The Service's occurrences of one group (A, or B–E together) in a Zurich calendar year: its
    incidents of a penalty cause (SLA-6) that lasted longer than their class allows once the
    maintenance windows are taken out (SLA-7), ranked by start."""
    year_start, _ = engine.month_span(year, 1)
    year_end, _ = engine.month_span(year + 1, 1)
    classes = [IncidentClass.A] if group == PenaltyStep.Group.A else [c for c in IncidentClass.values if c != "A"]
    incidents = list(
        Incident.objects.filter(
            links__service=service,
            incident_class__in=classes,
            cause__in=PENALTY_CAUSES,
            started_at__gte=year_start,
            started_at__lt=year_end,
        )
        .order_by("started_at", "pk")
        .distinct()
    )
    if not incidents:
        return []
    # The Service's maintenance windows over all these incidents, in one query (SLA-7).
    holes = maintenance_spans(service, (incidents[0].started_at, max(incident_span(i, now)[1] for i in incidents)))
    found: list[Occurrence] = []
    for incident in incidents:
        counted = engine.counted_seconds(incident_span(incident, now), holes)
        if engine.is_occurrence(counted, allowance_minutes(schedule, incident.incident_class)):
            found.append(Occurrence(incident=incident, counted_seconds=counted, rank=len(found) + 1))
    return found


def occurrence_of(
    incident: Incident, service: Any, *, schedule: PenaltySchedule, now: dt.datetime
) -> Occurrence | None:
    year = clock.business_date(incident.started_at).year
    for occurrence in occurrences_in_year(
        service, year=year, group=group_of(incident.incident_class), schedule=schedule, now=now
    ):
        if occurrence.incident.pk == incident.pk:
            return occurrence
    return None


def invoice_covering(service: Any, instant: dt.datetime) -> Invoice | None:
    """SLA-3: the invoice of the period in which the unavailability occurred. The Service's term
    that holds the Zurich day of `instant` (TIME-3: from the anchor) names it: term 1 is paid by the
    order invoice, term k by the renewal invoice of term k (not cancelled). A day outside every
    paid term (a trial, before the anchor) has none. A usage Service (USE-3) is invoiced by calendar
    month: the usage invoice of the Zurich month of `instant` covers it (none for a month not
    invoiced: a trial month, a zero month, the month still running)."""
    day = clock.business_date(instant)
    if service.usage_based:
        row = (
            UsageMonth.objects.filter(service=service, month=day.replace(day=1), invoice__isnull=False)
            .exclude(invoice__status=Invoice.Status.CANCELLED)
            .select_related("invoice")
            .first()
        )
        return row.invoice if row is not None else None
    if service.anchor_date is None or day < service.anchor_date:
        return None
    period = service.plan.period
    term = 1
    while term_end(service.anchor_date, period, term) <= day:
        term += 1
    invoices = Invoice.objects.filter(service=service).exclude(status=Invoice.Status.CANCELLED)
    if term == 1:
        invoices = invoices.filter(kind=Invoice.Kind.ORDER)
    else:
        invoices = invoices.filter(kind=Invoice.Kind.RENEWAL, term=term)
    return invoices.order_by("-number").first()


# --- what a member sees ----------------------------------------------------------------------


def incidents_for_service(service: Service) -> QuerySet[Incident]:
    return Incident.objects.filter(links__service=service).order_by("-started_at", "-pk")


def incidents_for_member(membership: Any) -> QuerySet[Incident]:
    """The incidents affecting the Services the member sees (ORG-6), each once."""
    from subscriptions.selectors import services_for_member

    services = services_for_member(membership).values("pk")
    return Incident.objects.filter(links__service__in=services).distinct().order_by("-started_at", "-pk")


def incident_for_member(*, membership: Any, incident_id: int) -> Incident:
    incident = incidents_for_member(membership).filter(pk=incident_id).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


def maintenance_for_service(service: Service) -> QuerySet[Maintenance]:
    return Maintenance.objects.filter(links__service=service).order_by("-starts_at", "-pk")


def maintenance_for_member(membership: Any) -> QuerySet[Maintenance]:
    from subscriptions.selectors import services_for_member

    services = services_for_member(membership).values("pk")
    return Maintenance.objects.filter(links__service__in=services).distinct().order_by("-starts_at", "-pk")


def claims_for_service(service: Service) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(service=service)
        .select_related("ticket", "incident", "penalty")
        .order_by("-filed_at", "-pk")
    )


def claims_for_member(membership: Any) -> QuerySet[Claim]:
    from subscriptions.selectors import services_for_member

    services = services_for_member(membership).values("pk")
    return (
        Claim.objects.filter(organization_id=membership.organization_id, service__in=services)
        .select_related("ticket", "incident", "penalty", "service__plan__service_type")
        .order_by("-filed_at", "-pk")
    )


# SLA-5: an incident matches a claim when it started before the claim was filed and overlaps the
# claimed unavailability widened by this much on each side (customers give their own times).
CLAIM_MATCH_MARGIN = dt.timedelta(days=1)


def incidents_matching(claim: Claim) -> QuerySet[Incident]:
    """The incidents of the claim's Service that the claim may be about (SLA-5): what staff choose
    from, and what `claim_accept` allows."""
    low, high = claim.claimed_start - CLAIM_MATCH_MARGIN, claim.claimed_end + CLAIM_MATCH_MARGIN
    return (
        incidents_for_service(claim.service)
        .filter(started_at__lt=high, started_at__lte=claim.filed_at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=low))
    )


def suggested_incident(claim: Claim) -> Incident | None:
    """The incident staff most likely name when accepting the claim: the first resolved one it matches."""
    return incidents_matching(claim).filter(resolved_at__isnull=False).first()


def claim_for_member(*, membership: Any, claim_id: int) -> Claim:
    claim = claims_for_member(membership).filter(pk=claim_id).first()
    if claim is None:
        raise Http404("No such claim.")
    return claim


@dataclass(frozen=True)
class Claimable:
    """A resolved incident the customer may still claim for this Service, with what the claim form
    is pre-filled with (SLA-5)."""

    incident: Incident
    last_day: dt.date


def claimable_incidents(service: Service, *, now: dt.datetime) -> list[Claimable]:
    """Resolved incidents the customer may still claim for this Service (SLA-5): of a penalty cause
    (SLA-6), longer than their class allows once maintenance is taken out (an occurrence, SLA-2),
    within the claim deadline, and not claimed yet (a pending or refused claim whose claimed time
    overlaps it counts: a refusal is discussed on its ticket, not filed again from here)."""
    today = clock.business_date(now)
    claims = list(Claim.objects.filter(service=service))
    claimed_incidents = {c.incident_id for c in claims if c.incident_id}
    # A pending or refused claim names no incident: its claimed time covers the incidents it overlaps.
    covered_spans = [(c.claimed_start, c.claimed_end) for c in claims if c.incident_id is None]
    schedules = list(PenaltySchedule.objects.prefetch_related("allowances").order_by("-valid_from"))
    candidates = list(incidents_for_service(service).filter(resolved_at__isnull=False, cause__in=PENALTY_CAUSES))
    if not candidates:
        return []
    # The Service's maintenance windows over all the candidates at once (SLA-7), one query.
    holes = maintenance_spans(
        service, (min(i.started_at for i in candidates), max(i.resolved_at or now for i in candidates))
    )
    result = []
    for incident in candidates:
        assert incident.resolved_at is not None
        if incident.pk in claimed_incidents:
            continue
        if any(start < incident.resolved_at and end > incident.started_at for start, end in covered_spans):
            continue
        start_day = clock.business_date(incident.started_at)
        schedule = next((s for s in schedules if s.valid_from <= start_day), None)
        if schedule is None:
            continue
        last_day = claim_last_day(schedule, incident.started_at)
        if today > last_day:
            continue
        counted = engine.counted_seconds(incident_span(incident, now), holes)
        if engine.is_occurrence(counted, allowance_minutes(schedule, incident.incident_class)):
            result.append(Claimable(incident=incident, last_day=last_day))
    return result


def force_majeure_incidents(service: Service) -> QuerySet[Incident]:
    """SLA-9: the force-majeure incidents affecting the Service that are still going on."""
    return incidents_for_service(service).filter(cause=Cause.FORCE_MAJEURE, resolved_at__isnull=True)


def force_majeure_terminable(incident: Incident) -> QuerySet[Service]:
    """SLA-9: the Services of a force-majeure incident that are not terminated yet."""
    services = incident.services.exclude(status=Service.Status.TERMINATED)
    return services.select_related("organization", "plan").order_by("pk")


def schedule_frozen(schedule: PenaltySchedule | None) -> bool:
    """A schedule version that may no longer change (engine.schedule_frozen); an unsaved one may."""
    if schedule is None:
        return False
    if engine.schedule_frozen(valid_from=schedule.valid_from, today=clock.today(), used_by_penalty=False):
        return True  # in force: no need to ask whether a penalty used it
    used = Penalty.objects.filter(schedule_id=schedule.pk).exists()
    return engine.schedule_frozen(valid_from=schedule.valid_from, today=clock.today(), used_by_penalty=used)


# --- monthly availability (SLA-1) ------------------------------------------------------------


@dataclass(frozen=True)
class MonthlyReport:
    year: int
    month: int
    total_seconds: int
    unavailable_seconds: Decimal  # exact; class A, penalty causes only, less maintenance (SLA-1, SLA-6, SLA-7)
    availability: Decimal  # percent, three decimals
    commitment: Decimal  # percent (99.9)
    limit_minutes: int  # 5

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def total_minutes(self) -> int:
        return self.total_seconds // 60

    @property
    def unavailable_minutes(self) -> Decimal:
        return (Decimal(self.unavailable_seconds) / 60).quantize(Decimal("0.01"))

    @property
    def meets_commitment(self) -> bool:
        return self.availability >= self.commitment

    @property
    def limit_exceeded(self) -> bool:
        """SLA-1 (10.1.2): more than the monthly limit of unavailability."""
        return self.unavailable_seconds > self.limit_minutes * 60


def _months_back(today: dt.date, count: int) -> list[tuple[int, int]]:
    first = today.replace(day=1)
    return [((first - relativedelta(months=i)).year, (first - relativedelta(months=i)).month) for i in range(count)][
        ::-1
    ]


def _counted_spans(service_ids: list[int], window: Span, now: dt.datetime) -> dict[int, list[Span]]:
    """SLA-1, SLA-6, SLA-7: per Service, the spans of counted unavailability overlapping `window` —
    class-A incidents of a penalty cause, their union, less the Service's maintenance windows. Two
    queries whatever the number of Services and incidents."""
    low, high = window
    incidents: dict[int, list[Span]] = {pk: [] for pk in service_ids}
    rows = (
        IncidentService.objects.filter(
            service_id__in=service_ids,
            incident__incident_class=IncidentClass.A,
            incident__cause__in=PENALTY_CAUSES,
            incident__started_at__lt=high,
        )
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gt=low))
        .values_list("service_id", "incident__started_at", "incident__resolved_at")
    )
    for service_id, started_at, resolved_at in rows:
        incidents[service_id].append((started_at, resolved_at or max(now, started_at)))
    holes: dict[int, list[Span]] = {pk: [] for pk in service_ids}
    for service_id, starts_at, ends_at in MaintenanceService.objects.filter(
        service_id__in=service_ids,
        maintenance__starts_at__lt=high,
        maintenance__ends_at__gt=low,
        maintenance__announced_at__lte=F("maintenance__starts_at"),  # SLA-7, as RECORDED_BEFORE_START
    ).values_list("service_id", "maintenance__starts_at", "maintenance__ends_at"):
        holes[service_id].append((starts_at, ends_at))
    return {pk: engine.subtract(incidents[pk], holes[pk]) for pk in service_ids}


def _report(
    year: int, month: int, counted: list[Span], schedules: list[PenaltySchedule], now: dt.datetime
) -> MonthlyReport:
    span = engine.month_span(year, month)
    span = (span[0], min(span[1], max(now, span[0])))  # the month in progress: up to now
    schedule = next((s for s in schedules if s.valid_from <= dt.date(year, month, 1)), schedules[-1])
    total = int((span[1] - span[0]).total_seconds())
    unavailable = engine.seconds(engine.clip(counted, span))
    return MonthlyReport(
        year=year,
        month=month,
        total_seconds=total,
        unavailable_seconds=unavailable,
        availability=engine.availability_percent(total, unavailable),
        commitment=schedule.commitment_percent,
        limit_minutes=schedule.monthly_limit_minutes,
    )


def monthly_reports(service: Service, *, now: dt.datetime, months: int = REPORT_MONTHS) -> list[MonthlyReport]:
    """SLA-1: one report per Zurich month, oldest first, ending with the month in progress (measured
    from its start up to now, not flattered by the time still to come). Three queries whatever the
    number of months: the schedules, the incidents and the maintenance windows."""
    keys = _months_back(clock.business_date(now), months)
    window = (engine.month_span(*keys[0])[0], engine.month_span(*keys[-1])[1])
    counted = _counted_spans([service.pk], window, now)[service.pk]
    schedules = list(PenaltySchedule.objects.order_by("-valid_from"))
    return [_report(year, month, counted, schedules, now) for year, month in keys]


def current_month_reports(services: list[Service], *, now: dt.datetime) -> dict[int, MonthlyReport]:
    """SLA-1: the month in progress of each Service, by id, in three queries for them all."""
    if not services:
        return {}
    today = clock.business_date(now)
    window = engine.month_span(today.year, today.month)
    counted = _counted_spans([s.pk for s in services], window, now)
    schedules = list(PenaltySchedule.objects.order_by("-valid_from"))
    return {pk: _report(today.year, today.month, spans, schedules, now) for pk, spans in counted.items()}


def recent_incidents_for_member(membership: Any, *, limit: int = 20) -> list[tuple[Incident, list[Service]]]:
    """The latest incidents affecting the member's Services, each with those of its Services the
    member sees — never another Organization's (tenancy) — in two queries."""
    from subscriptions.selectors import services_for_member

    visible = services_for_member(membership).values("pk")
    incidents = list(incidents_for_member(membership)[:limit])
    links = (
        IncidentService.objects.filter(incident__in=[i.pk for i in incidents], service__in=visible)
        .select_related("service__plan__service_type")
        .order_by("service_id")
    )
    services: dict[int, list[Service]] = {i.pk: [] for i in incidents}
    for link in links:
        services[link.incident_id].append(link.service)
    return [(incident, services[incident.pk]) for incident in incidents]


# --- what the API shows of an incident's or a window's Services --------------------------------
# Prefetched into `visible_links`, which the API's serializers read (and fail without).


def incident_links_seen_by(membership: Any | None) -> Prefetch:
    """Tenancy and ORG-6: a member sees the links to their own Services only; staff (None) all."""
    from subscriptions.selectors import services_for_member

    links = IncidentService.objects.order_by("service_id")
    if membership is not None:
        links = links.filter(service__in=services_for_member(membership).values("pk"))
    return Prefetch("links", queryset=links, to_attr="visible_links")


def maintenance_links_seen_by(membership: Any | None) -> Prefetch:
    """The same for a maintenance window."""
    from subscriptions.selectors import services_for_member

    links = MaintenanceService.objects.order_by("service_id")
    if membership is not None:
        links = links.filter(service__in=services_for_member(membership).values("pk"))
    return Prefetch("links", queryset=links, to_attr="visible_links")
