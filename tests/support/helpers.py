"""Shared set-up of the support tests: an Organization with a Service, members, staff, snapshots."""

import datetime as dt
import io
from typing import Any

from accounts.models import Membership
from audit.models import AuditEvent
from notifications.models import Notification
from subscriptions.models import MembershipServiceScope, Service
from support.attachments import Upload
from support.models import Attachment, Message, Ticket
from tests.billing.factories import ServiceFactory
from tests.factories import UserFactory, member

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # 20 March 2026, 10:00 in Zurich
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def staff() -> Any:
    return UserFactory(is_staff=True)


def scoped(legal: Membership, role: str, *services: Service, **user_fields: object) -> Membership:
    """A member of `legal`'s Organization limited to `services` (ORG-6); none given: not limited."""
    membership = member(role, organization=legal.organization, **user_fields)
    for service in services:
        MembershipServiceScope.objects.create(membership=membership, service=service)
    return membership


def service_of(legal: Membership, **fields: object) -> Service:
    return ServiceFactory(organization=legal.organization, **fields)


def upload(data: bytes, name: str) -> Upload:
    return Upload(file=io.BytesIO(data), name=name)


def snapshot() -> dict[str, Any]:
    """Everything a refused action must leave as it was."""
    return {
        "tickets": list(Ticket.objects.order_by("id").values_list("id", "status", "priority", "waiting_since")),
        "messages": Message.objects.count(),
        "attachments": Attachment.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "services": list(Service.objects.order_by("id").values_list("id", "status")),
    }
