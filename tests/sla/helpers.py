"""Shared set-up of the SLA tests: the seeded schedule, incidents, maintenance, a claim, a snapshot."""

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import Membership
from audit.models import AuditEvent
from billing.models import Invoice, LedgerEntry, PrepaidAccount
from notifications.models import Notification
from sla.models import Claim, Incident, IncidentService, Maintenance, MaintenanceService, Penalty, PenaltySchedule
from subscriptions.models import Service
from support.models import Message, Ticket
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import UserFactory, member

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    """An aware UTC instant: at(2026, 3, 10, 8, 0)."""
    return dt.datetime(*args, tzinfo=UTC)


def schedule() -> PenaltySchedule:
    """The schedule seeded by the data migration (sla 0002); seeded again after a transactional test
    emptied the tables."""
    if not PenaltySchedule.objects.exists():
        importlib.import_module("sla.migrations.0002_seed_schedule").seed(django_apps, None)
    return PenaltySchedule.objects.get()


def staff_user(**fields: Any) -> Any:
    return UserFactory(is_staff=True, **fields)


def paid_service(
    legal: Membership | None = None,
    *,
    period_start: dt.date = dt.date(2026, 3, 1),
    period_end: dt.date = dt.date(2026, 4, 1),
    total: Decimal = Decimal("108.10"),
    **fields: Any,
) -> tuple[Service, Invoice]:
    """An active Service with its paid invoice covering [period_start, period_end)."""
    legal = legal or member()
    service = ServiceFactory(
        organization=legal.organization,
        anchor_date=period_start,
        expires_on=period_end,
        **fields,
    )
    vat = (total * Decimal("8.1") / Decimal("108.1")).quantize(Decimal("0.01"))
    invoice = InvoiceFactory(
        organization=legal.organization,
        service=service,
        issue_date=period_start,
        due_date=period_start,
        status=Invoice.Status.PAID,
        total_excl_vat=total - vat,
        total_vat=vat,
        total_incl_vat=total,
        amount_paid=total,
        line__period_start=period_start,
        line__period_end=period_end,
        line__amount_excl_vat=total - vat,
        line__vat_amount=vat,
        line__amount_incl_vat=total,
        line__unit_price_excl_vat=total - vat,
    )
    return service, invoice


def incident(
    *services: Service,
    incident_class: str = "A",
    cause: str = "provider",
    start: dt.datetime,
    minutes: float | None = None,
    seconds: float | None = None,
    title: str = "Region outage",
    external_id: str | None = None,
) -> Incident:
    """An incident recorded directly (no notices): resolved after `minutes` (or `seconds`), else open."""
    duration = None
    if minutes is not None:
        duration = dt.timedelta(minutes=minutes)
    if seconds is not None:
        duration = dt.timedelta(seconds=seconds)
    created = Incident.objects.create(
        incident_class=incident_class,
        cause=cause,
        title=title,
        started_at=start,
        resolved_at=start + duration if duration is not None else None,
        external_id=external_id,
        created_at=start,
    )
    IncidentService.objects.bulk_create([IncidentService(incident=created, service=s) for s in services])
    return created


def maintenance(
    *services: Service, start: dt.datetime, minutes: int, urgent: bool = False, announced: dt.datetime | None = None
) -> Maintenance:
    """A window recorded directly (no notice checked), a week before it starts unless `announced`."""
    created = Maintenance.objects.create(
        title="Storage upgrade",
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
        urgent=urgent,
        urgent_reason="Security fix" if urgent else "",
        announced_at=announced or start - dt.timedelta(days=7),
    )
    MaintenanceService.objects.bulk_create([MaintenanceService(maintenance=created, service=s) for s in services])
    return created


def claim_ticket(service: Service, *, start: dt.datetime, end: dt.datetime, filed: dt.datetime) -> Claim:
    """A claim filed through the support seam as a customer would (support.services.ticket_open)."""
    from support.services import ticket_open

    legal = Membership.objects.filter(organization=service.organization, role="legal_responsible").first()
    assert legal is not None
    ticket = ticket_open(
        organization=service.organization,
        user=legal.user,
        kind="sla_claim",
        subject="Outage",
        body="Our site was down.",
        language="en",
        service=service,
        claim_start=start,
        claim_end=end,
        now=filed,
    )
    return Claim.objects.get(ticket=ticket)


def snapshot() -> dict[str, Any]:
    """Everything a refused SLA action must leave as it was."""
    return {
        "incidents": list(Incident.objects.order_by("id").values_list("id", "resolved_at", "cause", "incident_class")),
        "links": IncidentService.objects.count(),
        "maintenance": Maintenance.objects.count(),
        "claims": list(Claim.objects.order_by("id").values_list("id", "status", "incident_id")),
        "penalties": list(Penalty.objects.order_by("id").values_list("id", "amount", "credited_at")),
        "ledger": LedgerEntry.objects.count(),
        "balances": list(PrepaidAccount.objects.order_by("id").values_list("id", "balance")),
        "tickets": list(Ticket.objects.order_by("id").values_list("id", "status")),
        "messages": Message.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "services": list(Service.objects.order_by("id").values_list("id", "status")),
    }


# --- the API -------------------------------------------------------------------------------------


def api(user: Any, *, second_factor: bool = True) -> APIClient:
    """A client authenticated as `user`; a staff user's session has passed its second factor (as after
    the staff site's log-in, where django-otp's middleware adds `is_verified`) unless told otherwise."""
    client = APIClient()
    if user.is_staff:
        user.is_verified = lambda: second_factor
    client.force_authenticate(user)
    return client


def org_url(membership: Membership, suffix: str) -> str:
    return f"/api/v1/organizations/{membership.organization_id}/{suffix}"


def refused(response: Any, status: int, rule: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["rule"] == rule


def monitoring_user() -> Any:
    """The monitoring system's account: no staff, the one permission to record incidents."""
    user = UserFactory(email="monitoring@example.com")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="sla", codename="add_incident"))
    return user
