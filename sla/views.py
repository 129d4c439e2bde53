"""Browser pages of the SLA (SLA-1…SLA-9): a Service's availability month by month, its incidents,
maintenance windows and claims, the claim form pre-filled from an incident (SLA-5), and the
force-majeure termination (SLA-9). Organizations resolve through the user's memberships and Services
through what the member sees (ORG-6): anything else answers 404. A refusal of a service is shown on
its form, with its reason, and changes nothing."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.permissions import TERMINATING_ROLES
from accounts.views import member_required
from core import clock, figures
from core.errors import RuleViolation
from core.forms import raise_unless_the_forms, show_refusal
from core.http import client_address
from sla import selectors
from sla.charts import availability_svg
from sla.forms import ForceMajeureTerminateForm
from sla.models import Claim, Incident, Penalty
from sla.services import service_terminate_force_majeure
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service

# The format of the claim form's datetime-local inputs (support.forms.TicketForm), Zurich time.
CLAIM_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
SUBJECT_MAX_LENGTH = 200  # support.forms.TicketForm.subject


def _page(membership: Membership, service: Service, **context: Any) -> dict[str, Any]:
    return {
        "organization": membership.organization,
        "membership": membership,
        "section": "services",
        "service": service,
        **context,
    }


def _minute_floor(instant: dt.datetime) -> dt.datetime:
    return timezone.localtime(instant, clock.ZURICH).replace(second=0, microsecond=0)


def _minute_ceiling(instant: dt.datetime) -> dt.datetime:
    floor = _minute_floor(instant)
    return floor if floor == instant else floor + dt.timedelta(minutes=1)


def claim_url(organization_id: int, service: Service, incident: Incident) -> str:
    """The support form for an SLA claim (SLA-5), pre-filled with the Service and the incident's
    start and resolution in Zurich time — widened to whole minutes (the form's inputs have no
    seconds), so the claimed span always covers the incident."""
    assert incident.resolved_at is not None  # only resolved incidents are claimable
    start = _minute_floor(incident.started_at)
    subject = _("SLA claim: %(title)s of %(date)s") % {
        "title": incident.title,
        "date": figures.day(start.date()),
    }
    query = urlencode(
        {
            "kind": "sla_claim",
            "service": service.pk,
            "claim_start": start.strftime(CLAIM_INPUT_FORMAT),
            "claim_end": _minute_ceiling(incident.resolved_at).strftime(CLAIM_INPUT_FORMAT),
            "subject": subject[:SUBJECT_MAX_LENGTH],
        }
    )
    return f"{reverse('support:ticket_new', args=[organization_id])}?{query}"


def _plain(value: Decimal) -> Decimal:
    """99.900 → 99.9, 100.000 → 100 (never 1E+2)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    claim_last_day: dt.date | None  # claimable until then (SLA-5); None: not claimable here
    claim_url: str
    filed: Claim | None = None  # the claim already filed for it, if any: its ticket instead of a button


def claim_filed_for(incident: Incident, claims: list[Claim]) -> Claim | None:
    """The claim filed for an incident (SLA-5): the one staff linked to it, else one whose claimed
    time overlaps it and names no incident yet (as `claimable_incidents` counts them)."""
    linked = next((c for c in claims if c.incident_id == incident.pk), None)
    if linked is not None:
        return linked
    end = incident.resolved_at
    if end is None:
        return None
    return next(
        (c for c in claims if c.incident_id is None and c.claimed_start < end and c.claimed_end > incident.started_at),
        None,
    )


@dataclass(frozen=True)
class ClaimRow:
    claim: Claim
    penalty: Penalty | None


def _penalty_of(claim: Claim) -> Penalty | None:
    try:
        return claim.penalty  # selected with the claim (claims_for_service): no query
    except Penalty.DoesNotExist:
        return None


@member_required
def service_sla(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """The SLA of one Service: the availability of the last twelve months as a chart and a table
    (SLA-1), its incidents with a "Claim" button while a claim may be filed (SLA-5), the maintenance
    windows (SLA-7), its claims and their penalties (SLA-3, SLA-4), and during force majeure the
    customer's right to terminate at once (SLA-9). The page's own reads are a fixed number of
    queries, whatever the number of months, incidents or claims (the selectors select and prefetch
    what the page shows)."""
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    now = clock.now()
    reports = selectors.monthly_reports(found, now=now)
    claimable = {c.incident.pk: c for c in selectors.claimable_incidents(found, now=now)}
    claims = list(selectors.claims_for_service(found))
    incidents = [
        IncidentRow(
            incident=incident,
            claim_last_day=claimable[incident.pk].last_day if incident.pk in claimable else None,
            claim_url=claim_url(membership.organization_id, found, incident) if incident.pk in claimable else "",
            filed=None if incident.pk in claimable else claim_filed_for(incident, claims),
        )
        for incident in selectors.incidents_for_service(found)
    ]
    force_majeure = [] if found.status == Service.Status.TERMINATED else list(selectors.force_majeure_incidents(found))
    return render(
        request,
        "sla/service_sla.html",
        _page(
            membership,
            found,
            reports=reports,
            chart=availability_svg(reports),
            commitment=_plain(reports[-1].commitment) if reports else None,
            limit_minutes=reports[-1].limit_minutes if reports else None,
            incidents=incidents,
            maintenances=list(selectors.maintenance_for_service(found)),
            claims=[ClaimRow(claim=c, penalty=_penalty_of(c)) for c in claims],
            force_majeure=force_majeure,
            can_terminate=membership.role in TERMINATING_ROLES,
        ),
    )


@member_required
def force_majeure_terminate(
    request: AuthenticatedHttpRequest, membership: Membership, service_id: int, incident_id: int
) -> HttpResponse:
    """SLA-9: terminate the Service at once during force majeure, after a confirmation page: the data
    is deleted for good (SC 8.3) and no compensation is paid (BIL-13). For the Legal Responsibles and
    administrators (403 for the other roles); an incident that did not affect the Service is 404."""
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    incident = selectors.incidents_for_service(found).filter(pk=incident_id).first()
    if incident is None:
        raise Http404("No such incident.")
    if request.method != "POST" and membership.role not in TERMINATING_ROLES:
        raise PermissionDenied(_("Your role does not allow this action on the Service."))
    now = clock.now()
    form = ForceMajeureTerminateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        try:
            service_terminate_force_majeure(
                service=found,
                incident=incident,
                user=request.user,
                confirmed=bool(form.is_valid() and form.cleaned_data["confirm"]),
                client_address=client_address(request),
                now=now,
            )
        except RuleViolation as violation:
            raise_unless_the_forms(violation)
            show_refusal(form, violation)
        else:
            messages.success(request, _("The Service is terminated and its data deleted."))
            return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)
    ongoing = found.status != Service.Status.TERMINATED and (
        selectors.force_majeure_incidents(found).filter(pk=incident.pk).exists()
    )
    return render(
        request,
        "sla/force_majeure_terminate.html",
        _page(membership, found, incident=incident, form=form, ongoing=ongoing),
    )


@member_required
def overview(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """The SLA section: each Service the member sees with its availability this month (SLA-1) and a
    link to its SLA page, the latest incidents (SLA-8), the coming maintenance (SLA-7) and the claims
    (SLA-5). A fixed number of queries, whatever the number of Services."""
    now = clock.now()
    services = list(
        subscription_selectors.services_for_member(membership)
        .exclude(status__in=(Service.Status.TERMINATED, Service.Status.AWAITING_PAYMENT))
        .select_related("plan__service_type")
        .order_by("pk")
    )
    this_month = selectors.current_month_reports(services, now=now)
    return render(
        request,
        "sla/overview.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "sla",
            "rows": [(service, this_month[service.pk]) for service in services],
            "incidents": selectors.recent_incidents_for_member(membership),
            "maintenances": list(
                selectors.maintenance_for_member(membership).filter(ends_at__gte=now).order_by("starts_at", "pk")[:20]
            ),
            "claims": list(selectors.claims_for_member(membership)[:20]),
        },
    )
