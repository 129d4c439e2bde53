"""Shared set-up of the enforcement tests: an Organization with Services, staff, a snapshot of
everything a refused action must leave as it was."""

import datetime as dt
import io
from typing import Any

from accounts.models import Membership, Organization
from audit.models import AuditEvent
from billing.models import CreditNote, Invoice
from enforcement.models import Breach, BreachEvidence, CauseTermination, DeadlineReminder
from notifications.models import Notification
from subscriptions.models import Service
from support.attachments import Upload
from support.models import Message, Ticket
from tests.billing.factories import InvoiceFactory, PlanFactory, ServiceFactory, service_type
from tests.factories import UserFactory, member

NOW = dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC)  # 10 February 2026, 10:00 in Zurich
TODAY = dt.date(2026, 2, 10)
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


def staff() -> Any:
    return UserFactory(is_staff=True)


def customer(**user_fields: object) -> Membership:
    return member(Membership.Role.LEGAL_RESPONSIBLE, **user_fields)


def hosting(legal: Membership, **fields: object) -> Service:
    """A web hosting Service (eligible to the Renewal Warranty, RW-1), active until 28.02.2026."""
    return ServiceFactory(
        organization=legal.organization, plan=PlanFactory(service_type=service_type("web-hosting")), **fields
    )


def open_invoice(service: Service, **fields: object) -> Invoice:
    return InvoiceFactory(organization=service.organization, service=service, **fields)


def upload(data: bytes, name: str) -> Upload:
    return Upload(file=io.BytesIO(data), name=name)


def snapshot() -> dict[str, Any]:
    return {
        "breaches": list(Breach.objects.order_by("id").values_list("id", "status")),
        "evidence": BreachEvidence.objects.count(),
        "reminders": DeadlineReminder.objects.count(),
        "terminations": CauseTermination.objects.count(),
        "services": list(
            Service.objects.order_by("id").values_list("id", "status", "suspension_reason", "renewal_warranty")
        ),
        "organizations": list(Organization.objects.order_by("id").values_list("id", "status")),
        "invoices": list(Invoice.objects.order_by("id").values_list("id", "status")),
        "credit_notes": CreditNote.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "tickets": list(Ticket.objects.order_by("id").values_list("id", "status")),
        "messages": Message.objects.count(),
    }
