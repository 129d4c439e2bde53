"""Reads of the support app: what a member sees (tenancy, ORG-6), the staff queue, attachments."""

import datetime as dt
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import Membership
from subscriptions.models import MembershipServiceScope
from subscriptions.selectors import member_is_limited
from support.models import Attachment, Message, Ticket

Role = Membership.Role
# SUP-4, SUP-7: the roles of a Service's contact persons (members whose ORG-6 scope includes it) …
CONTACT_ROLES = (Role.LEGAL_RESPONSIBLE, Role.ADMINISTRATOR, Role.TECHNICAL)
# … and, for a ticket about no Service, of the Organization's contact persons.
ORGANIZATION_CONTACT_ROLES = (Role.LEGAL_RESPONSIBLE, Role.ADMINISTRATOR)


def tickets_for_member(membership: Any) -> QuerySet[Ticket]:
    """Tickets of the member's Organization; a member limited to some Services (ORG-6) sees tickets of
    those Services and tickets without a Service."""
    tickets = Ticket.objects.filter(organization_id=membership.organization_id)
    if member_is_limited(membership):
        from billing.selectors import invoices_for_member

        tickets = tickets.filter(Q(service__isnull=True) | Q(service__scopes__membership=membership)).filter(
            Q(invoice__isnull=True) | Q(invoice__in=invoices_for_member(membership).values("pk"))
        )
    # The plan's name shows its service type (Plan.__str__): one join, not one query per row.
    return tickets.select_related("service__plan__service_type", "invoice").order_by("-created_at", "-id")


def ticket_for_member(*, membership: Any, ticket_id: int) -> Ticket:
    """One ticket the member sees, else Http404 (tenancy, ORG-6)."""
    ticket = tickets_for_member(membership).filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def membership_seeing(user: Any, ticket: Ticket) -> Membership | None:
    """The user's membership in the ticket's Organization if it sees the ticket, else None."""
    membership = Membership.objects.filter(organization_id=ticket.organization_id, user=user).first()
    if membership is None or not tickets_for_member(membership).filter(pk=ticket.pk).exists():
        return None
    return membership


def messages_for_member(ticket: Ticket) -> QuerySet[Message]:
    """The ticket's messages a customer sees: no internal notes (with their attachments)."""
    return messages_for_staff(ticket).filter(internal=False)


def messages_for_staff(ticket: Ticket) -> QuerySet[Message]:
    """Every message of the ticket, internal notes included, oldest first."""
    return (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def contact_persons(ticket: Ticket) -> QuerySet[Membership]:
    """SUP-4, SUP-7: the contact persons of the ticket's Service — members with a contact role whose
    ORG-6 scope includes it (a member with no scope manages every Service); for a ticket about no
    Service, the Organization's Legal Responsibles and administrators."""
    if ticket.service_id is None:
        members = Membership.objects.filter(organization_id=ticket.organization_id, user__is_active=True)
        return members.filter(role__in=ORGANIZATION_CONTACT_ROLES).select_related("user").order_by("pk")
    return service_contact_persons(organization_id=ticket.organization_id, service_id=ticket.service_id)


def service_contact_persons(*, organization_id: int, service_id: int) -> QuerySet[Membership]:
    """ORG-6: the contact persons of one Service — active members with a contact role whose scope
    includes it (a member with no scope manages every Service). Also those the SLA app tells of
    incidents and maintenance (SLA-7, SLA-8)."""
    members = Membership.objects.filter(organization_id=organization_id, user__is_active=True)
    limited = MembershipServiceScope.objects.filter(membership=OuterRef("pk"))
    in_scope = MembershipServiceScope.objects.filter(membership=OuterRef("pk"), service_id=service_id)
    return (
        members.filter(role__in=CONTACT_ROLES)
        .filter(~Exists(limited) | Exists(in_scope))
        .select_related("user")
        .order_by("pk")
    )


def is_contact_person(membership: Any, ticket: Ticket) -> bool:
    return contact_persons(ticket).filter(pk=membership.pk).exists()


def staff_queue(
    *,
    kind: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    language: str | None = None,
    older_than: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Ticket]:
    """The staff queue: every ticket, filtered by kind, status, priority, language and age (opened
    more than `older_than` before `now`); the oldest first."""
    tickets = Ticket.objects.select_related("organization", "service__plan", "opened_by")
    if kind:
        tickets = tickets.filter(kind=kind)
    if status:
        tickets = tickets.filter(status=status)
    if priority:
        tickets = tickets.filter(priority=priority)
    if language:
        tickets = tickets.filter(language=language)
    if older_than is not None:
        if now is None:
            raise ValueError("an age filter needs `now`")
        tickets = tickets.filter(created_at__lte=now - older_than)
    return tickets.order_by("created_at", "id")


def escalated_waiting() -> QuerySet[Ticket]:
    """Tickets escalated while they wait for the provider (SUP-7, support.jobs): escalated since they
    started waiting, and still waiting."""
    return Ticket.objects.filter(
        status__in=(Ticket.Status.OPEN, Ticket.Status.WAITING_PROVIDER),
        waiting_since__isnull=False,
        escalated_at__gte=F("waiting_since"),
    )


def ticket_documents_overdue(ticket: Ticket, today: dt.date) -> bool:
    """TCU 18: a third-party complaint still waiting for the customer's documents after its deadline
    (the deadline day itself is still in time; a customer who answered is no longer waited for)."""
    return (
        ticket.kind == Ticket.Kind.THIRD_PARTY_COMPLAINT
        and ticket.documents_due_on is not None
        and ticket.documents_due_on < today
        and ticket.status == Ticket.Status.WAITING_CUSTOMER
    )


def overdue_complaints(today: dt.date) -> QuerySet[Ticket]:
    """TCU 18: the third-party complaints whose documents deadline has passed, for staff."""
    return (
        Ticket.objects.filter(
            kind=Ticket.Kind.THIRD_PARTY_COMPLAINT,
            documents_due_on__lt=today,
            status=Ticket.Status.WAITING_CUSTOMER,
        )
        .select_related("organization", "service__plan")
        .order_by("documents_due_on", "id")
    )


def attachment_for(user: Any, attachment_id: int, *, as_staff: bool = False) -> Attachment:
    """The attachment if `user` may see it — staff through the staff site (`as_staff`, after its
    permission check), or a member who sees its ticket (tenancy, ORG-6), and then never an internal
    note's attachment — else Http404."""
    attachment = Attachment.objects.select_related("message__ticket").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    if as_staff and user.is_staff:
        return attachment
    if attachment.message.internal or membership_seeing(user, attachment.message.ticket) is None:
        raise Http404("No such attachment.")
    return attachment
