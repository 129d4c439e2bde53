"""What the portal holds about one person (SPEC EVD-5, TCU 16, Swiss nFADP arts. 25 and 28): read for
the JSON they download. Reads only, and only rows that are theirs — never another member's data,
even of the same Organization (docs/decisions.md, "Exports": what counts as personal data).

Instants are ISO 8601 with their offset, in Zurich time (TIME-1); dates ISO 8601.
"""

import datetime as dt
from typing import Any

from axes.models import AccessLog
from django.db.models import Q

from accounts.models import Acceptance, ApiToken, Invitation, Membership, User
from accounts.two_factor import has_two_factor
from core import clock
from notifications.models import Notification
from support.models import Message, Ticket

# Each section's name in the JSON, in order (the build reports its progress per section).
SECTIONS = (
    "profile",
    "memberships",
    "invitations",
    "acceptances",
    "notifications",
    "log_ins",
    "api_tokens",
    "tickets",
)


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(clock.ZURICH).isoformat(timespec="seconds")


def profile(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
        "date_of_birth": user.date_of_birth.isoformat() if user.date_of_birth else None,
        "date_joined": _instant(user.date_joined),
        "active": user.is_active,
        "second_factor": has_two_factor(user),
    }


def memberships(user: User) -> list[dict[str, Any]]:
    return [
        {
            "organization_id": membership.organization_id,
            "organization": membership.organization.name,
            "role": membership.role,
            "since": _instant(membership.created_at),
        }
        for membership in Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("created_at", "id")
    ]


def invitations(user: User) -> list[dict[str, Any]]:
    """Invitations sent to this person's address (ORG-5), whatever became of them."""
    return [
        {
            "organization_id": invitation.organization_id,
            "organization": invitation.organization.name,
            "role": invitation.role,
            "invited_at": _instant(invitation.created_at),
            "expires_at": _instant(invitation.expires_at),
            "accepted_at": _instant(invitation.accepted_at),
            "revoked_at": _instant(invitation.revoked_at),
        }
        for invitation in Invitation.objects.filter(email__iexact=user.email)
        .select_related("organization")
        .order_by("created_at", "id")
    ]


def acceptances(user: User) -> list[dict[str, Any]]:
    """The contract documents this person accepted for an Organization (ORG-7): who, when, from where."""
    return [
        {
            "organization_id": acceptance.organization_id,
            "document": acceptance.version.document.title,
            "version": acceptance.version.label,
            "language": acceptance.language,
            "accepted_at": _instant(acceptance.accepted_at),
            "client_address": acceptance.client_address,
        }
        for acceptance in Acceptance.objects.filter(user=user)
        .select_related("version__document")
        .order_by("accepted_at", "id")
    ]


def notifications(user: User) -> list[dict[str, Any]]:
    """Messages sent to this person: addressed to them as a user, or e-mailed to their address (EVD-3)."""
    sent = Notification.objects.filter(
        Q(recipient_user=user) | Q(channel=Notification.Channel.EMAIL, address__iexact=user.email)
    )
    return [
        {
            "organization_id": notification.organization_id,
            "channel": notification.channel,
            "address": notification.address,
            "subject": notification.subject,
            "body": notification.body,
            "status": notification.status,
            "created_at": _instant(notification.created_at),
            "sent_at": _instant(notification.sent_at),
        }
        for notification in sent.order_by("created_at", "id")
    ]


def log_ins(user: User) -> list[dict[str, Any]]:
    """Successful log-ins as django-axes records them (accounts.lockout), by the account's address."""
    return [
        {
            "logged_in_at": _instant(entry.attempt_time),
            "logged_out_at": _instant(entry.logout_time),
            "client_address": entry.ip_address,
            "user_agent": entry.user_agent,
        }
        for entry in AccessLog.objects.filter(username__iexact=user.email).order_by("attempt_time", "id")
    ]


def api_tokens(user: User) -> list[dict[str, Any]]:
    """The API tokens issued to this person (never their keys: only a digest is kept)."""
    return [
        {
            "name": token.name,
            "key_begins_with": token.prefix,
            "scope": token.scope,
            "created_at": _instant(token.created_at),
            "expires_at": _instant(token.expires_at),
            "last_used_at": _instant(token.last_used_at),
            "revoked_at": _instant(token.revoked_at),
        }
        for token in ApiToken.objects.filter(user=user).order_by("created_at", "id")
    ]


def tickets(user: User) -> list[dict[str, Any]]:
    """Tickets this person opened or wrote in, with the messages they wrote (not the others')."""
    written = Message.objects.filter(author=user, internal=False)
    found = Ticket.objects.filter(Q(opened_by=user) | Q(pk__in=written.values("ticket_id"))).distinct()
    own: dict[int, list[dict[str, Any]]] = {}
    for message in written.order_by("created_at", "id"):
        own.setdefault(message.ticket_id, []).append({"written_at": _instant(message.created_at), "body": message.body})
    return [
        {
            "ticket_id": ticket.pk,
            "organization_id": ticket.organization_id,
            "subject": ticket.subject,
            "kind": ticket.kind,
            "status": ticket.status,
            "opened_by_you": ticket.opened_by_id == user.pk,
            "opened_at": _instant(ticket.created_at),
            "your_messages": own.get(ticket.pk, []),
        }
        for ticket in found.order_by("created_at", "id")
    ]


READERS = {
    "profile": profile,
    "memberships": memberships,
    "invitations": invitations,
    "acceptances": acceptances,
    "notifications": notifications,
    "log_ins": log_ins,
    "api_tokens": api_tokens,
    "tickets": tickets,
}
