from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Every message the portal sends or posts, with its channel and send time (SPEC EVD-3).

    E-mail and SMS are sent by a worker after commit; a postal letter and a phone message wait
    in the staff queues (print queue, call queue) until a staff user marks them done; a message
    to the portal inbox is posted at once and may become tacitly read and accepted (ORG-3).
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        LETTER = "letter", _("postal letter")
        PHONE = "phone", _("phone message")
        INBOX = "inbox", _("portal inbox")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        AWAITING_STAFF = "awaiting_staff", _("waiting for staff")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    class Reaction(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        OBJECTED = "objected", _("objected")

    # Indexed by the (organization, channel, -created_at) index below, not by one of its own.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="notifications", db_index=False
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.TextField(blank=True)  # e-mail, E.164 number or postal address, as sent
    language = models.CharField(max_length=2)
    template = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # The sender of an e-mail; empty: DEFAULT_FROM_EMAIL. Support replies come from SUPPORT_EMAIL (SUP-7).
    from_email = models.CharField(max_length=254, blank=True, default="")
    related_type = models.CharField(max_length=64, blank=True)
    related_id = models.CharField(max_length=64, blank=True)
    # Set by jobs that must notify exactly once (SPEC REN-8): one row per key, channel and address.
    dedupe_key = models.CharField(max_length=128, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Portal inbox only (ORG-3).
    read_at = models.DateTimeField(null=True, blank=True)
    reaction = models.CharField(max_length=8, choices=Reaction.choices, blank=True)
    reacted_at = models.DateTimeField(null=True, blank=True)
    tacitly_accepted_at = models.DateTimeField(null=True, blank=True)
    # A notice of the daily run not rendered yet: what its templates read, rendered into `subject`
    # and `body` when the row is read and stored by the delivery task (notifications.deferred).
    context = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key", "channel", "address"],
                condition=Q(dedupe_key__isnull=False),
                name="notification_once_per_key_channel_address",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "channel", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.subject}"

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> "Notification":
        """A row whose text is not rendered yet comes back with it (the same text as at delivery)."""
        instance = super().from_db(db, field_names, values)
        if instance.__dict__.get("context") is not None:
            from notifications.services import render_stored  # the services build on this model

            instance.subject, instance.body = render_stored(instance)
        return instance


class PrintQueueItem(Notification):
    """Postal letters waiting to be printed and posted (staff queue)."""

    class Meta:
        proxy = True
        verbose_name = _("print queue item")


class CallQueueItem(Notification):
    """Phone messages waiting to be delivered by a staff call (staff queue)."""

    class Meta:
        proxy = True
        verbose_name = _("call queue item")
