"""Files on support messages (SUP-3): which types and sizes a message may carry, checked before anything
is written, and how they are stored.

A file's type is recognised by its first bytes, never by its name alone, and its name's extension must
be one that type may have. Limits (settings): SUPPORT_ATTACHMENT_MAX_BYTES per file,
SUPPORT_ATTACHMENTS_MAX_COUNT files and SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES together per message (the
request body limit, REQUEST_BODY_MAX_BYTES, is set above the last). One refused file refuses the
whole message, with the rule SUP-3 and the field `attachments`.
"""

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from core.errors import RuleViolation
from support.models import Attachment, Message


@dataclass(frozen=True)
class Upload:
    """A file to attach: its content (a file-like object opened in binary mode) and the name the
    customer gave it. Django's UploadedFile (request.FILES) may be passed directly instead."""

    file: IO[bytes]
    name: str


AttachmentInput = Any  # an Upload, or a django.core.files.uploadedfile.UploadedFile


# The types a message may carry, recognised by their first bytes (never by the name alone), with
# the file-name extensions each may have.
ALLOWED_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "application/zip": (".zip",),
    "text/plain": (".txt", ".log", ".csv"),
}
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty archive
)
_TEXT_CONTROLS = {9, 10, 12, 13}  # tab, line feed, form feed, carriage return


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    name: str
    extension: str
    content_type: str


def sniff_content_type(data: bytes) -> str | None:
    """The allowed type `data` is, by its first bytes; plain text is UTF-8 without control characters."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(char) < 32 and ord(char) not in _TEXT_CONTROLS for char in text):
        return None
    return "text/plain"


def check_attachments(attachments: Sequence[AttachmentInput]) -> list[CheckedFile]:
    """Read and check every file before anything is written: one refused file refuses the message."""
    limit = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if len(attachments) > settings.SUPPORT_ATTACHMENTS_MAX_COUNT:
        raise RuleViolation(
            _("A message carries at most %(count)s files.") % {"count": settings.SUPPORT_ATTACHMENTS_MAX_COUNT},
            rule="SUP-3",
            status=400,
            field="attachments",
        )
    checked = []
    total = 0
    for upload in attachments:
        name = os.path.basename(str(upload.name or "")).strip()[:255] or "file"
        handle = upload.file if isinstance(upload, Upload) else upload
        if hasattr(handle, "seek"):
            handle.seek(0)
        data = handle.read(limit + 1)
        if len(data) > limit:
            raise RuleViolation(
                _("%(name)s is larger than %(size)s MiB, the largest file a message may carry.")
                % {"name": name, "size": f"{limit / (1024 * 1024):g}"},
                rule="SUP-3",
                status=400,
                field="attachments",
            )
        if not data:
            raise RuleViolation(_("%(name)s is empty.") % {"name": name}, rule="SUP-3", status=400, field="attachments")
        total += len(data)
        if total > settings.SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES:
            raise RuleViolation(
                _("The files of one message may weigh %(size)s MiB together at most.")
                % {"size": f"{settings.SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES / (1024 * 1024):g}"},
                rule="SUP-3",
                status=400,
                field="attachments",
            )
        content_type = sniff_content_type(data)
        extension = os.path.splitext(name)[1].lower()
        if content_type is None or extension not in ALLOWED_EXTENSIONS[content_type]:
            raise RuleViolation(
                _(
                    "%(name)s is not a file type a message may carry (PDF, PNG, JPEG, GIF, plain text or ZIP),"
                    " or its content does not match its name."
                )
                % {"name": name},
                rule="SUP-3",
                status=400,
                field="attachments",
            )
        checked.append(CheckedFile(data=data, name=name, extension=extension, content_type=content_type))
    return checked


def store_attachments(message: Message, files: list[CheckedFile], now: dt.datetime) -> list[Attachment]:
    """Each file through the default storage under a random name (the customer's name is kept apart)."""
    stored = []
    for checked in files:
        attachment = Attachment(
            message=message,
            original_name=checked.name,
            content_type=checked.content_type,
            size=len(checked.data),
            sha256=hashlib.sha256(checked.data).hexdigest(),
            created_at=now,
        )
        attachment.file.save(f"{uuid.uuid4().hex}{checked.extension}", ContentFile(checked.data), save=False)
        attachment.save(force_insert=True)
        stored.append(attachment)
    return stored
