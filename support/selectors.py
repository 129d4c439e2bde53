"""Reads of the support app: what a member sees (tenancy, ORG-6), the staff queue, attachments."""

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from support.models import Attachment, Message, Ticket


def tickets_for_member(membership: Any) -> QuerySet[Ticket]:
    """Tickets of the member's Organization; a member limited to some Services (ORG-6) sees tickets of
    those Services and tickets without a Service."""
    raise NotImplementedError


def ticket_for_member(*, membership: Any, ticket_id: int) -> Ticket:
    """One ticket the member sees, else Http404."""
    raise NotImplementedError


def messages_for_member(ticket: Ticket) -> QuerySet[Message]:
    """The ticket's messages a customer sees (no internal notes), with their attachments."""
    raise NotImplementedError


def messages_for_staff(ticket: Ticket) -> QuerySet[Message]:
    raise NotImplementedError


def staff_queue(
    *,
    kind: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    language: str | None = None,
    older_than: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Ticket]:
    """The staff queue, filtered."""
    raise NotImplementedError


def ticket_documents_overdue(ticket: Ticket, today: dt.date) -> bool:
    """TCU 18: a third-party complaint whose documents deadline has passed."""
    raise NotImplementedError


def overdue_complaints(today: dt.date) -> QuerySet[Ticket]:
    raise NotImplementedError


def attachment_for(user: Any, attachment_id: int) -> Attachment:
    """The attachment if `user` may see it (staff, or a member who sees its ticket and message), else Http404."""
    raise NotImplementedError
