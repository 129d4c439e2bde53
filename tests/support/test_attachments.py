"""SPEC SUP-3: attachments kept safely — size and type limits (by content), served only to who may see them."""

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import override_settings

from accounts.models import Membership
from audit.models import AuditEvent
from core.errors import RuleViolation
from support.attachments import sniff_content_type
from support.models import Attachment, Ticket
from support.selectors import attachment_for
from support.services import message_post, ticket_open
from tests.factories import member
from tests.support.helpers import NOW, PDF, PNG, scoped, service_of, snapshot, staff, upload

pytestmark = pytest.mark.django_db

Role = Membership.Role
LATER = NOW + dt.timedelta(hours=1)


def _ticket(membership: Membership, **fields: Any) -> Ticket:
    arguments: dict[str, Any] = {
        "organization": membership.organization,
        "user": membership.user,
        "kind": "technical",
        "subject": "Logs",
        "body": "See attached.",
        "language": "en",
        "now": NOW,
    } | fields
    return ticket_open(**arguments)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        ("Grüezi\r\n\tlog line\n".encode(), "text/plain"),
        (b"MZ\x90\x00\x03", None),  # a Windows executable
        (b"<html>\x00</html>", None),  # NUL: not text
        (b"\xc3\x28 invalid utf-8", None),
    ],
)
def test_sup3_types_are_recognised_by_their_first_bytes(data: bytes, expected: str | None) -> None:
    assert sniff_content_type(data) == expected


def test_sup3_allowed_files_are_stored_under_a_random_name_with_their_checksum() -> None:
    # given
    legal = member()

    # when: a PDF and a log, one of them as Django's UploadedFile
    log = SimpleUploadedFile("../../etc/app.log", b"error 502\n", content_type="application/x-evil")
    ticket = _ticket(legal, attachments=[upload(PDF, "invoice.PDF"), log])

    # then
    pdf, text = Attachment.objects.filter(message__ticket=ticket).order_by("id")
    assert (pdf.original_name, pdf.content_type, pdf.size, pdf.sha256) == (
        "invoice.PDF",
        "application/pdf",
        len(PDF),
        hashlib.sha256(PDF).hexdigest(),
    )
    assert (text.original_name, text.content_type) == ("app.log", "text/plain")  # the sniffed type, the base name
    assert pdf.file.name.startswith("support/") and "invoice" not in pdf.file.name
    assert pdf.file.name.endswith(".pdf")
    with default_storage.open(pdf.file.name) as stored:
        assert stored.read() == PDF
    event = AuditEvent.objects.get(action="ticket.message_posted")
    assert [a["name"] for a in event.after["attachments"]] == ["invoice.PDF", "app.log"]


def _refused_upload(*files: Any) -> RuleViolation:
    legal = member()
    ticket = _ticket(legal)
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        message_post(ticket=ticket, user=legal.user, body="More", attachments=files, now=LATER)
    assert (refused.value.rule, refused.value.status, refused.value.field) == ("SUP-3", 400, "attachments")
    assert snapshot() == before
    return refused.value


def test_sup3_a_file_pretending_to_be_a_pdf_refuses_the_whole_message() -> None:
    error = _refused_upload(upload(PNG, "ok.png"), upload(b"MZ\x90\x00 not a pdf", "contract.pdf"))
    assert "contract.pdf" in error.message and "PDF, PNG, JPEG, GIF, plain text or ZIP" in error.message


def test_sup3_content_and_name_must_agree() -> None:
    error = _refused_upload(upload(PDF, "notes.txt"))
    assert "notes.txt" in error.message
    _refused_upload(upload(b"plain text", "page.html"))


def test_sup3_an_empty_file_is_refused() -> None:
    assert "empty" in _refused_upload(upload(b"", "empty.txt")).message


@override_settings(SUPPORT_ATTACHMENT_MAX_BYTES=1024)
def test_sup3_a_file_over_the_size_limit_is_refused_one_at_the_limit_is_kept() -> None:
    legal = member()
    ticket = _ticket(legal)

    message_post(ticket=ticket, user=legal.user, body="ok", attachments=[upload(b"a" * 1024, "a.txt")], now=LATER)
    error = _refused_upload(upload(b"a" * 1025, "big.txt"))

    assert Attachment.objects.get().size == 1024
    assert "big.txt is larger than" in error.message


def test_sup3_the_default_limit_is_ten_mebibytes() -> None:
    assert settings.SUPPORT_ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024


# --- access: the ticket's organization (within ORG-6) and staff; internal notes' files only to staff ------


def test_sup3_an_attachment_is_served_to_who_sees_the_ticket_and_to_staff_only() -> None:
    # given: a ticket about a Service with a customer file; a staff note with a file
    legal = member()
    service, other = service_of(legal), service_of(legal)
    in_scope = scoped(legal, Role.TECHNICAL, service)
    out_of_scope = scoped(legal, Role.TECHNICAL, other)
    ticket = _ticket(legal, service=service, attachments=[upload(PDF, "a.pdf")])
    agent = staff()
    note = message_post(ticket=ticket, user=agent, body="n", internal=True, attachments=[upload(PNG, "s.png")],
                        now=LATER)
    public = Attachment.objects.get(message__ticket=ticket, message__internal=False)
    internal = Attachment.objects.get(message=note)

    # then
    for user in (legal.user, in_scope.user):
        assert attachment_for(user, public.pk) == public
    # staff through the staff site (as_staff) see every file, internal notes' included
    assert attachment_for(agent, public.pk, as_staff=True) == public
    assert attachment_for(agent, internal.pk, as_staff=True) == internal
    denied = [
        (out_of_scope.user, public),
        (member().user, public),  # another Organization
        (legal.user, internal),
        (in_scope.user, internal),
        (agent, public),  # a staff account through the customer doors is nobody's member here
        (agent, internal),
    ]
    for user, attachment in denied:
        with pytest.raises(Http404):
            attachment_for(user, attachment.pk)
    with pytest.raises(Http404):
        attachment_for(agent, internal.pk + 1000, as_staff=True)
