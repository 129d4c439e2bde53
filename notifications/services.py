"""notify(): the one way every app tells a customer something (SPEC EVD-3, ORG-3, RW-5)."""

import datetime as dt
import logging
import unicodedata
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, models, transaction
from django.template.loader import get_template
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.text import Truncator

from audit.services import Actor, audit_record
from core.bulk import bulk_insert, bulk_insert_rows, bulk_update
from core.errors import RuleViolation
from notifications import deferred
from notifications.models import Notification

logger = logging.getLogger(__name__)

Channel = Notification.Channel

# A delivery that failed this many times is marked failed and left to staff.
MAX_DELIVERY_ATTEMPTS = 5


def _addresses(organization: Any, channel: str, *, all_contacts: bool) -> list[str]:
    """Where a channel reaches the Organization, from its Contact Information (ORG-1, RW-5)."""
    if channel == Channel.EMAIL:
        emails = [organization.contact_email]
        if all_contacts and organization.secondary_email:
            emails.append(organization.secondary_email)
        return emails
    if channel == Channel.SMS:
        return [organization.mobile]
    if channel == Channel.PHONE:
        phones = [organization.mobile]
        if all_contacts and organization.landline:
            phones.append(organization.landline)
        return phones
    if channel == Channel.LETTER:
        return [organization.postal_address]
    return [""]  # the inbox belongs to the Organization


SUBJECT_MAX_LENGTH = Notification._meta.get_field("subject").max_length or 200


def _render(template: str, context: dict[str, Any], language: str) -> tuple[str, str]:
    with translation.override(language) if translation.get_language() != language else nullcontext():
        subject = get_template(f"notifications/{template}/subject.txt").render(context).strip()
        body = get_template(f"notifications/{template}/body.txt").render(context).strip()
    # The subject is one line and fits its column, whatever names the context brings.
    subject = unicodedata.normalize("NFC", " ".join(subject.split()))  # as Truncator gives it back
    if len(subject) > SUBJECT_MAX_LENGTH:  # Truncator walks every character: only when it may cut
        subject = Truncator(subject).chars(SUBJECT_MAX_LENGTH)
    return subject, body


def render_stored(notification: Notification) -> tuple[str, str]:
    """The subject and body of a notice stored as a snapshot (`deferred`), rendered as `_rows`
    would have rendered them when it was recorded."""
    assert notification.context is not None
    return _render(notification.template, deferred.restore(notification.context), notification.language)


def notify(
    *,
    organization: Any,
    template: str,
    context: dict[str, Any] | None = None,
    channels: tuple[str, ...] = (Channel.EMAIL, Channel.INBOX),
    related: models.Model | None = None,
    recipient_user: Any = None,
    email_to: str | None = None,
    all_contacts: bool = False,
    dedupe_key: str | None = None,
    language: str | None = None,
    from_email: str | None = None,
    now: dt.datetime,
) -> list[Notification]:
    """Render `template` in the Organization's language and record one Notification per channel
    and address; e-mail and SMS are sent after the transaction commits.

    `email_to` sends the e-mail to one address instead of the contact address (a member's own
    e-mail). `all_contacts` reaches every address on file (RW-5 escalation). With a `dedupe_key`,
    a second call with the same key records and sends nothing (SPEC REN-8). `language` renders
    in another language than the Organization's (a support ticket's, SUP-1); `from_email` sends
    the e-mail from another address than DEFAULT_FROM_EMAIL (the support address, SUP-7).
    """
    created = []
    rows = _rows(
        organization=organization,
        template=template,
        context=context,
        channels=channels,
        related=related,
        email_to=email_to,
        all_contacts=all_contacts,
        dedupe_key=dedupe_key,
        language=language,
        from_email=from_email,
        now=now,
    )
    for row in rows:
        notification = Notification(organization=organization, recipient_user=recipient_user, **row)
        try:
            with transaction.atomic():
                notification.save(force_insert=True)
        except IntegrityError:
            if dedupe_key is None:
                raise
            continue  # already recorded for this key: exactly once
        created.append(notification)
        if notification.channel in (Channel.EMAIL, Channel.SMS):
            transaction.on_commit(partial(_queue_delivery, notification.pk))
    return created


def _rows(
    *,
    organization: Any,
    template: str,
    context: dict[str, Any] | None,
    channels: tuple[str, ...],
    related: models.Model | None,
    email_to: str | None,
    all_contacts: bool,
    dedupe_key: str | None,
    language: str | None,
    from_email: str | None,
    now: dt.datetime,
    defer: bool = False,
) -> list[dict[str, Any]]:
    """The columns (but the Organization and the recipient user) of each row of one notice: one per
    channel and address, rendered in `language` (by default the Organization's). `defer` (with
    `language` active): a snapshot of the context is stored instead, rendered when read."""
    language = language or organization.language
    full_context = {"organization": organization, "portal_url": settings.PORTAL_URL, **(context or {})}
    stored = deferred.snapshot(template, full_context) if defer else None
    if stored is None:
        subject, body = _render(template, full_context, language)
    else:
        subject, body = "", ""
    rows = []
    for channel in channels:
        addresses = (
            [email_to]
            if (channel == Channel.EMAIL and email_to)
            else _addresses(organization, channel, all_contacts=all_contacts)
        )
        for address in addresses:
            row = {
                "channel": channel,
                "address": address,
                "language": language,
                "template": template,
                "subject": subject,
                "body": body,
                "from_email": from_email or "",
                "related_type": related._meta.label_lower if related is not None else "",
                "related_id": str(related.pk) if related is not None else "",
                "dedupe_key": dedupe_key,
                "created_at": now,
                "context": stored,
            }
            if channel == Channel.INBOX:
                row["status"], row["sent_at"] = Notification.Status.SENT, now
            elif channel in (Channel.LETTER, Channel.PHONE):
                row["status"] = Notification.Status.AWAITING_STAFF
            rows.append(row)
    return rows


@dataclass(frozen=True)
class NoticeSpec:
    """One notice for `notify_many` (the arguments of `notify`)."""

    organization: Any
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    related: models.Model | None = None
    channels: tuple[str, ...] = (Channel.EMAIL, Channel.INBOX)
    all_contacts: bool = False
    dedupe_key: str | None = None
    email_to: str | None = None  # one address instead of the contact address (a member's own, RW-5, ENF-3)


def notify_many(specs: list[NoticeSpec], *, now: dt.datetime) -> int:
    """Record many notices with one insert (the daily run's batches) and queue their delivery as one
    task after commit; return how many rows were written. Exactly once is the caller's business
    here: a dedupe key already used makes the insert, and so the caller's whole transaction, fail
    rather than send twice. On PostgreSQL the rows are plain values copied in, no model instances."""
    # Grouped by language, each group rendered under one activation of its language.
    rows: list[dict[str, Any]] = []
    ordered = sorted(specs, key=lambda spec: spec.organization.language)
    for language, group in groupby(ordered, key=lambda spec: spec.organization.language):
        with translation.override(language):
            for spec in group:
                for row in _rows(
                    organization=spec.organization,
                    template=spec.template,
                    context=spec.context,
                    channels=spec.channels,
                    related=spec.related,
                    all_contacts=spec.all_contacts,
                    dedupe_key=spec.dedupe_key,
                    email_to=spec.email_to,
                    language=None,
                    from_email=None,
                    now=now,
                    defer=True,
                ):
                    row["organization_id"] = spec.organization.pk
                    rows.append(row)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        # Every column, with what Notification() would give it unless the notice says otherwise.
        defaults = {f.attname: f.get_default() for f in Notification._meta.concrete_fields if not f.primary_key}
        values = [[row.get(name, default) for name, default in defaults.items()] for row in rows]
        ids = bulk_insert_rows(Notification, list(defaults), values)
    else:
        built = [Notification(**row) for row in rows]
        bulk_insert(built)
        ids = [notification.pk for notification in built]
    # Sent, or their text stored, by the delivery task (an inbox row is rendered when read until then).
    to_send = [
        pk
        for pk, row in zip(ids, rows, strict=True)
        if row["channel"] in (Channel.EMAIL, Channel.SMS) or row["context"] is not None
    ]
    if to_send:
        transaction.on_commit(partial(_queue_deliveries, to_send))
    return len(rows)


def _queue_deliveries(notification_ids: list[int]) -> None:
    from notifications.tasks import deliver_notifications

    try:
        deliver_notifications.delay(notification_ids)
    except Exception:  # broker down: the periodic sweep sends them later
        logger.exception("could not queue %s notifications; the sweep will retry", len(notification_ids))


def _queue_delivery(notification_id: int) -> None:
    from notifications.tasks import deliver_notification

    try:
        deliver_notification.delay(notification_id)
    except Exception:  # broker down: the periodic sweep sends it later
        logger.exception("could not queue notification %s; the sweep will retry", notification_id)


def notification_deliver(*, notification_id: int, now: dt.datetime) -> Notification | None:
    """Send one pending e-mail or SMS through its backend; idempotent (a sent one is left alone)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if notification is None:
            return None
        notification.attempts += 1
        try:
            _send(notification)
        except Exception as error:
            logger.exception("delivery of notification %s failed", notification_id)
            notification.last_error = str(error)[:2000]
            if notification.attempts >= MAX_DELIVERY_ATTEMPTS:
                notification.status = Notification.Status.FAILED
            notification.save(update_fields=["attempts", "last_error", "status", *_text_stored(notification)])
            return notification
        notification.status = Notification.Status.SENT
        notification.sent_at = now
        notification.save(update_fields=["attempts", "status", "sent_at", *_text_stored(notification)])
    return notification


def _text_stored(notification: Notification) -> list[str]:
    """The fields to save so that a notice rendered at delivery keeps its text (`deferred`)."""
    if notification.context is None:
        return []
    notification.context = None  # subject and body were rendered from it when the row was read
    return ["subject", "body", "context"]


def notifications_store_text(notification_ids: list[int]) -> list[int]:
    """Store the text of the notices rendered at delivery among `notification_ids` (one read, one
    write); return the ids of those still to send (pending e-mail and SMS), in id order."""
    with transaction.atomic():
        notifications = list(Notification.objects.filter(pk__in=notification_ids).order_by("pk"))
        rendered = [n for n in notifications if _text_stored(n)]
        bulk_update(rendered, ["subject", "body", "context"])
    return [
        n.pk
        for n in notifications
        if n.status == Notification.Status.PENDING and n.channel in (Channel.EMAIL, Channel.SMS)
    ]


def _send(notification: Notification) -> None:
    if notification.channel == Channel.EMAIL:
        EmailMessage(
            subject=notification.subject,
            body=notification.body,
            from_email=notification.from_email or settings.DEFAULT_FROM_EMAIL,
            to=[notification.address],
        ).send()
    elif notification.channel == Channel.SMS:
        backend = import_string(settings.SMS_BACKEND)()
        backend.send(to=notification.address, text=f"{notification.subject}\n{notification.body}")
    else:
        raise ValueError(f"channel {notification.channel} is not sent by a backend")


def notification_mark_handled(*, notification: Notification, staff_user: Any, now: dt.datetime) -> Notification:
    """Staff printed and posted the letter, or made the call (print and call queues, EVD-3)."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        if locked.status != Notification.Status.AWAITING_STAFF:
            return locked
        locked.status = Notification.Status.SENT
        locked.sent_at = now
        locked.handled_by = staff_user
        locked.save(update_fields=["status", "sent_at", "handled_by"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action=f"notification.{locked.channel}_done",
            rule="EVD-3",
            obj=locked,
            organization=locked.organization,
            after={"sent_at": now.isoformat()},
            at=now,
        )
    return locked


def inbox_message_read(*, notification: Notification, now: dt.datetime) -> Notification:
    """The customer opened an inbox message: recorded once (ORG-3)."""
    updated = Notification.objects.filter(pk=notification.pk, channel=Channel.INBOX, read_at__isnull=True).update(
        read_at=now
    )
    if updated:
        notification.read_at = now
    return notification


def inbox_message_react(*, notification: Notification, reaction: str, actor: Actor, now: dt.datetime) -> Notification:
    """The customer accepts or objects to an inbox message (ORG-3); the first reaction stands."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk, channel=Channel.INBOX)
        if locked.reaction or locked.tacitly_accepted_at:
            raise RuleViolation(
                translation.gettext("This message has already been answered or tacitly accepted."),
                rule="ORG-3",
            )
        locked.reaction = reaction
        locked.reacted_at = now
        locked.read_at = locked.read_at or now
        locked.save(update_fields=["reaction", "reacted_at", "read_at"])
        audit_record(
            actor=actor,
            action=f"inbox.{reaction}",
            rule="ORG-3",
            obj=locked,
            organization=locked.organization,
            after={"reaction": reaction},
            at=now,
        )
    return locked
