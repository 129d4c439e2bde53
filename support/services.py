"""Every change of a support ticket (SPEC SUP-1…SUP-7, BIL-11, MB-2, ORG-9, SLA-5, TCU 13.1, TCU 18).

Each service locks what it changes, writes the evidence with the rule id that allowed it (EVD-1)
and raises `RuleViolation` changing nothing when a rule says no. Nothing is ever deleted (SUP-3).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from accounts.models import Organization, User
from billing.models import Invoice, Service
from support.models import Attachment, Message, Ticket


@dataclass(frozen=True)
class Upload:
    """A file to attach: its content (a file-like object opened in binary mode, e.g. Django's
    UploadedFile) and the name the customer gave it. Views may pass UploadedFile objects directly."""

    file: IO[bytes]
    name: str


AttachmentInput = Any  # an Upload, or a django.core.files.uploadedfile.UploadedFile


def ticket_open(
    *,
    organization: Organization,
    user: User,
    kind: str,
    subject: str,
    body: str,
    language: str,
    service: Service | None = None,
    invoice: Invoice | None = None,
    claim_start: dt.datetime | None = None,
    claim_end: dt.datetime | None = None,
    attachments: Sequence[AttachmentInput] = (),
    client_address: str | None = None,
    now: dt.datetime,
) -> Ticket:
    """A member opens a ticket (SUP-2, SUP-5). Refusals: not a member → 404 (SUP-2); a Service out of
    the member's scope → 404 (ORG-6); invoice dispute after one month (BIL-11); SLA claim dates
    (SLA-5, then the registered handlers of support.hooks); money-back handed over to billing (MB-2);
    termination only by a Legal Responsible → 403 (ORG-9); staff-only kinds → 403 (SUP-5)."""
    raise NotImplementedError


def ticket_open_by_staff(
    *,
    organization: Organization,
    staff_user: User,
    kind: str,
    subject: str,
    body: str,
    language: str,
    service: Service | None = None,
    documents_due_on: dt.date | None = None,
    aup_category: str = "",
    now: dt.datetime,
) -> Ticket:
    """Staff open a third-party complaint (TCU 18: `documents_due_on` required, after today) or an
    acceptable-use case (SC 5.7: `aup_category` and `service` required), or any other kind."""
    raise NotImplementedError


def message_post(
    *,
    ticket: Ticket,
    user: User,
    body: str,
    attachments: Sequence[AttachmentInput] = (),
    internal: bool = False,
    client_address: str | None = None,
    now: dt.datetime,
) -> Message:
    """A customer (a member who may see the ticket) or staff post a message; staff may post an
    internal note. Customer → waiting_provider, staff reply → waiting_customer; a staff reply is
    sent to the contact persons from the support address in the ticket's language (SUP-7)."""
    raise NotImplementedError


def ticket_set_priority(*, ticket: Ticket, user: User, priority: str, now: dt.datetime) -> Ticket:
    """SUP-4: contact persons of the ticket's Service (or, without a Service, Legal Responsibles and
    administrators) and staff set the priority; other members 403, outsiders 404."""
    raise NotImplementedError


def ticket_set_status(*, ticket: Ticket, staff_user: User, status: str, now: dt.datetime) -> Ticket:
    """Staff set the status (resolve, close, reopen)."""
    raise NotImplementedError


def ticket_flag_abusive(*, ticket: Ticket, staff_user: User, reason: str, now: dt.datetime) -> Ticket:
    """SUP-6: staff flag abusive conduct on a ticket, with a reason."""
    raise NotImplementedError


def ticket_suspend_service(*, ticket: Ticket, staff_user: User, reason: str, now: dt.datetime) -> Ticket:
    """TCU 13.1 from an acceptable-use case (SC 5.7): suspend its Service and record it on the ticket."""
    raise NotImplementedError


__all__ = [
    "Attachment",
    "Upload",
    "message_post",
    "ticket_flag_abusive",
    "ticket_open",
    "ticket_open_by_staff",
    "ticket_set_priority",
    "ticket_set_status",
    "ticket_suspend_service",
]
