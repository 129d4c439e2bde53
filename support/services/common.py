"""What the ticket services share: the checks of a message's text and language, the evidence of a
ticket and of a message, the lock, and sending a staff message to the contact persons (SUP-7)."""

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import Language
from audit.services import Actor, audit_record
from core.errors import RuleViolation
from notifications.models import Notification
from notifications.services import notify
from support.models import Attachment, Message, Ticket
from support.selectors import contact_persons

TICKET_FIELDS = ["status", "priority", "waiting_since", "updated_at"]


def require_text(subject: str | None, body: str) -> tuple[str, str]:
    if subject is not None and not subject.strip():
        raise RuleViolation(_("A subject is required."), rule="SUP-3", status=400, field="subject")
    if not body.strip():
        raise RuleViolation(_("A message is required."), rule="SUP-3", status=400, field="body")
    return (subject or "").strip(), body.strip()


def require_language(language: str) -> None:
    if language not in Language.values:
        raise RuleViolation(
            _("Support speaks French, English, German, Italian and Spanish."),
            rule="SUP-1",
            status=400,
            field="language",
        )


def ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        "kind": ticket.kind,
        "subject": ticket.subject,
        "language": ticket.language,
        "priority": ticket.priority,
        "status": ticket.status,
        "service": ticket.service_id,
        "invoice": ticket.invoice.number if ticket.invoice is not None else None,
        "claim_start": ticket.claim_start.isoformat() if ticket.claim_start else None,
        "claim_end": ticket.claim_end.isoformat() if ticket.claim_end else None,
        "aup_category": ticket.aup_category,
        "documents_due_on": ticket.documents_due_on.isoformat() if ticket.documents_due_on else None,
    }


def message_audit(actor: Actor, message: Message, attachments: list[Attachment], rule: str, now: dt.datetime) -> None:
    audit_record(
        actor=actor,
        action="ticket.note_added" if message.internal else "ticket.message_posted",
        rule=rule,
        obj=message,
        organization=message.ticket.organization,
        after={
            "ticket": message.ticket_id,
            "from_staff": message.from_staff,
            "internal": message.internal,
            "sha256": hashlib.sha256(message.body.encode()).hexdigest(),
            "attachments": [{"name": a.original_name, "sha256": a.sha256, "size": a.size} for a in attachments],
        },
        at=now,
    )


def lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("organization").get(pk=ticket.pk)



def send_to_contacts(ticket: Ticket, message: Message, now: dt.datetime) -> list[Notification]:
    """SUP-7: a staff message goes to each contact person by e-mail, from the support address, in the
    ticket's language (SUP-1)."""
    sent: list[Notification] = []
    for contact in contact_persons(ticket):
        sent += notify(
            organization=ticket.organization,
            template="support_reply",
            context={"ticket": ticket, "message": message},
            channels=(Notification.Channel.EMAIL,),
            related=ticket,
            recipient_user=contact.user,
            email_to=contact.user.email,
            language=ticket.language,
            from_email=settings.SUPPORT_EMAIL,
            now=now,
        )
    return sent
