"""Shared set-up of the exports tests: a small Organization with one row of each kind in March 2026
(and rows outside March, and another Organization's rows, that a statement must leave out)."""

import datetime as dt
import importlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps

from accounts.models import Membership, Organization
from audit.models import AuditEvent
from billing.models import Invoice, LedgerEntry, Payment, PrepaidAccount
from exports.models import Export
from notifications.models import Notification
from sla.models import Incident, IncidentService
from subscriptions.models import Service
from support.models import Ticket
from tests.billing.factories import InvoiceFactory, PlanFactory, ServiceFactory
from tests.factories import UserFactory, member
from usage.models import Resource, UsageDay

NOW = dt.datetime(2026, 4, 2, 7, 0, tzinfo=dt.UTC)  # 2 April 2026, 09:00 in Zurich
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


def resource(slug: str) -> Resource:
    """A seeded resource (usage migration 0002); seeded again after a transactional test emptied it."""
    if not Resource.objects.filter(slug=slug).exists():
        importlib.import_module("usage.migrations.0002_seed_resources").seed(django_apps, None)
    return Resource.objects.get(slug=slug)


@dataclass
class Seeded:
    legal: Membership
    service: Service
    invoice: Invoice


def seed_statement(legal: Membership) -> Seeded:
    """One order, invoice, payment (and a declined one), two ledger entries, a day of storage, an
    incident and a ticket in March 2026 — plus one of several kinds just outside March."""
    organization = legal.organization
    plan = PlanFactory(name="Cloud M")
    service = ServiceFactory(organization=organization, plan=plan, created_at=at(2026, 3, 2, 9, 0))
    ServiceFactory(organization=organization, plan=plan, created_at=at(2026, 2, 28, 22, 59))  # 28 Feb, 23:59 Zurich
    invoice = InvoiceFactory(
        organization=organization,
        service=service,
        number=1001,
        issue_date=dt.date(2026, 3, 2),
        due_date=dt.date(2026, 4, 1),
        status=Invoice.Status.PAID,
        amount_paid=Decimal("108.10"),
    )
    InvoiceFactory(organization=organization, number=1000, issue_date=dt.date(2026, 2, 28))
    Payment.objects.create(
        organization=organization,
        invoice=invoice,
        kind="card",
        amount=Decimal("108.10"),
        currency="CHF",
        status=Payment.Status.FAILED,
        failure_reason="declined",
        created_at=at(2026, 3, 3, 8, 0),
    )
    Payment.objects.create(
        organization=organization,
        invoice=invoice,
        kind="card",
        amount=Decimal("108.10"),
        currency="CHF",
        status=Payment.Status.SUCCEEDED,
        created_at=at(2026, 3, 3, 8, 30),
    )
    account = PrepaidAccount.objects.create(organization=organization, currency="CHF", balance=Decimal("50.00"))
    LedgerEntry.objects.create(
        account=account,
        kind=LedgerEntry.Kind.TOP_UP,
        amount=Decimal("1234.50"),
        balance_after=Decimal("1234.50"),
        created_at=at(2026, 3, 5, 12, 0),
    )
    LedgerEntry.objects.create(
        account=account,
        kind=LedgerEntry.Kind.STAFF_ADJUSTMENT,
        amount=Decimal("-1184.50"),
        balance_after=Decimal("50.00"),
        staff_user=UserFactory(is_staff=True),
        reason="=1+1 correction",
        created_at=at(2026, 3, 31, 21, 59),  # 31 March, 23:59 in Zurich (summer time)
    )
    storage = resource("storage")
    UsageDay.objects.create(service=service, resource=storage, day=dt.date(2026, 3, 10), h00=1_500_000, h01=2_250_000)
    UsageDay.objects.create(service=service, resource=storage, day=dt.date(2026, 4, 1), h00=9_000_000)
    incident = Incident.objects.create(
        incident_class="A",
        cause="provider",
        title="Outage; zone 2",
        started_at=at(2026, 3, 20, 10, 0),
        resolved_at=at(2026, 3, 20, 10, 30),
        created_at=at(2026, 3, 20, 10, 0),
    )
    IncidentService.objects.create(incident=incident, service=service)
    Ticket.objects.create(
        organization=organization,
        kind="technical",
        subject='Slow "deploys"',
        language="en",
        opened_by=legal.user,
        created_at=at(2026, 3, 25, 8, 0),
        updated_at=at(2026, 3, 25, 8, 0),
    )
    return Seeded(legal=legal, service=service, invoice=invoice)


def seed_other(organization: Organization | None = None) -> Membership:
    """Another Organization with an invoice and a ticket in March: never in the first one's statement."""
    other = member(Membership.Role.LEGAL_RESPONSIBLE, organization=organization)
    InvoiceFactory(organization=other.organization, number=2001, issue_date=dt.date(2026, 3, 10))
    Ticket.objects.create(
        organization=other.organization,
        kind="technical",
        subject="Theirs",
        language="en",
        opened_by=other.user,
        created_at=at(2026, 3, 10, 8, 0),
        updated_at=at(2026, 3, 10, 8, 0),
    )
    return other


def snapshot() -> dict[str, Any]:
    """What a refused request must leave unchanged."""
    return {
        "exports": list(Export.objects.values_list("pk", "status")),
        "events": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
    }
