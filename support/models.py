"""Support tickets, their messages and attachments (SPEC SUP-1…SUP-7, TCU Art. 9).

Nothing here is ever deleted (SUP-3: every ticket leaves a trace kept for the whole contract): the
models and their querysets refuse `delete()`, and every foreign key PROTECTs. Changes of state go
through `support.services`, which lock what they change and write the evidence (EVD-1).
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Language

NO_DELETE = "support tickets, messages and attachments are never deleted (SPEC SUP-3)"


class NoDeleteQuerySet(models.QuerySet[Any]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(NO_DELETE)


class NoDeleteModel(models.Model):
    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(NO_DELETE)


class Ticket(NoDeleteModel):
    """A conversation between an Organization and the provider's staff, optionally about one Service."""

    class Kind(models.TextChoices):
        """SUP-5: each kind has its own rules (support.services.ticket_open)."""

        TECHNICAL = "technical", _("technical question")
        BILLING = "billing", _("billing question")
        INVOICE_DISPUTE = "invoice_dispute", _("invoice dispute")  # BIL-11
        SLA_CLAIM = "sla_claim", _("SLA claim")  # SLA-5
        MONEY_BACK = "money_back", _("money-back request")  # MB-2
        TERMINATION = "termination", _("termination request")  # ORG-9
        THIRD_PARTY_COMPLAINT = "third_party_complaint", _("third-party complaint")  # TCU 18, staff only
        ACCEPTABLE_USE = "acceptable_use", _("acceptable-use case")  # SC 5.7, staff only

    class Priority(models.TextChoices):
        LOW = "low", _("low")
        NORMAL = "normal", _("normal")
        HIGH = "high", _("high")
        URGENT = "urgent", _("urgent")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("ticket status", "open")
        WAITING_CUSTOMER = "waiting_customer", _("waiting for the customer")
        WAITING_PROVIDER = "waiting_provider", _("waiting for the provider")
        RESOLVED = "resolved", _("resolved")
        CLOSED = "closed", _("closed")

    class AupCategory(models.TextChoices):
        """SC 5.7: the uses the acceptable-use policy forbids."""

        P2P = "p2p", _("peer-to-peer file sharing")
        BRUTE_FORCE = "brute_force", _("brute-force attacks")
        SPAM = "spam", _("spam")
        IRC_BOTS = "irc_bots", _("IRC bots")
        PORT_SCANS = "port_scans", _("port scans")
        CRYPTO_MINING = "crypto_mining", _("crypto-currency mining")
        TRAFFIC_EXCHANGE = "traffic_exchange", _("traffic exchange")
        BLACK_HAT_SEO = "black_hat_seo", _("black-hat SEO")
        DEBRID = "debrid", _("debrid services")

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("organization"),
        db_index=False,
    )
    service = models.ForeignKey(
        "subscriptions.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("service"),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)  # SUP-1
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_by_staff = models.BooleanField(_("opened by staff"), default=False)
    # Invoice dispute (BIL-11).
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
        verbose_name=_("invoice"),
    )
    # SLA claim (SLA-5): the unavailability claimed.
    claim_start = models.DateTimeField(_("unavailable from"), null=True, blank=True)
    claim_end = models.DateTimeField(_("unavailable until"), null=True, blank=True)
    # Acceptable-use case (SC 5.7).
    aup_category = models.CharField(
        _("acceptable-use category"), max_length=20, choices=AupCategory.choices, blank=True
    )
    # Third-party complaint (TCU 18): supporting documents due by this Zurich date.
    documents_due_on = models.DateField(_("documents due on"), null=True, blank=True)
    # SUP-6: abusive conduct flagged by staff.
    abusive_flagged_at = models.DateTimeField(_("flagged abusive at"), null=True, blank=True)
    abusive_flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("flagged abusive by"),
    )
    abusive_reason = models.TextField(_("reason of the abuse flag"), blank=True)
    # TCU 13.1: the Service suspended from this acceptable-use case.
    service_suspended_at = models.DateTimeField(_("service suspended at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    # When the ticket last started waiting for the provider (escalation); None when it is not.
    waiting_since = models.DateTimeField(_("waiting for the provider since"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["status", "kind", "priority", "created_at"], name="ticket_queue"),
            models.Index(fields=["language", "created_at"], name="ticket_queue_language"),
            models.Index(
                fields=["waiting_since"],
                condition=Q(waiting_since__isnull=False),
                name="ticket_escalation_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(claim_start__isnull=True)
                | Q(claim_end__isnull=True)
                | Q(claim_start__lt=models.F("claim_end")),
                name="ticket_claim_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class Message(NoDeleteModel):
    """One message of a ticket: from the customer or from staff; an internal note is staff-only."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="messages", verbose_name=_("ticket"), db_index=False
    )
    # None for a message the system wrote (e.g. the money-back refund stated on its ticket).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    from_staff = models.BooleanField(_("from staff"), default=False)
    internal = models.BooleanField(_("internal note"), default=False)  # never shown to the customer
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(internal=True, from_staff=False), name="message_internal_from_staff"),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} on ticket #{self.ticket_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """Stored under a random name chosen by the service (never the name the customer gave)."""
    return f"support/{filename}"


class Attachment(NoDeleteModel):
    """A file attached to a message; served only to who may see the message (support.selectors)."""

    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name
