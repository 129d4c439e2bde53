"""Enforcement of the contract (SPEC ENF-1, ENF-2, ENF-3): breaches with their evidence, the reminder
staff get when a remedy deadline passed, and terminations for cause.

Rows change only through `enforcement.services`, which lock what they change and write the evidence
trail (EVD-1). Nothing here is deleted: every foreign key PROTECTs.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def evidence_path(instance: "BreachEvidence", filename: str) -> str:
    """Stored under a random name chosen by the service (never the name the file came with)."""
    return f"enforcement/{filename}"


class Breach(models.Model):
    """A breach of contract staff found (ENF-1): the Organization, or some of its Services, suspended
    for it, with its category, reason and evidence, and an optional remedy deadline (ENF-2)."""

    class Category(models.TextChoices):
        # SC 5.7 a–i: each forbidden use its own category (the customer reads these words).
        AUP_P2P = "aup_p2p", _("file sharing (peer-to-peer software)")
        AUP_BRUTE_FORCE = "aup_brute_force", _("brute-force programs, scripts or applications")
        AUP_MAIL_BOMBS = "aup_mail_bombs", _("mail bombs or spam scripts")
        AUP_IRC = "aup_irc", _("bots, bouncers or IRC services")
        AUP_PORT_SCANS = "aup_port_scans", _("port scans (sniffing, spoofing and the like)")
        AUP_CRYPTO = "aup_crypto", _("any activity related to crypto-currencies")
        AUP_TRAFFIC_EXCHANGE = "aup_traffic_exchange", _("traffic exchange")
        AUP_BLACK_HAT_SEO = "aup_black_hat_seo", _("black-hat SEO (such as re-uploading videos)")
        AUP_DEBRID = "aup_debrid", _("debrid services for mass downloading from file hosts")
        AUP_OTHER = "aup_other", _("another use that endangers the network or its security")
        SECURITY = "security", _("a breach of the security of our systems or network")
        MASS_MAIL = "mass_mail", _("mass e-mailing without the recipients' consent")
        ILLEGAL_CONTENT = "illegal_content", _("illegal content")
        ABUSIVE_CONDUCT = "abusive_conduct", _("abusive conduct towards our support team")
        AUTHORITY_REQUEST = "authority_request", _("a request of a court or an authority")

    # The clause each category rests on: evidence and the staff admin only, never customer pages.
    CLAUSES: dict[str, str] = {
        Category.AUP_P2P: "SC 5.7 a",
        Category.AUP_BRUTE_FORCE: "SC 5.7 b",
        Category.AUP_MAIL_BOMBS: "SC 5.7 c",
        Category.AUP_IRC: "SC 5.7 d",
        Category.AUP_PORT_SCANS: "SC 5.7 e",
        Category.AUP_CRYPTO: "SC 5.7 f",
        Category.AUP_TRAFFIC_EXCHANGE: "SC 5.7 g",
        Category.AUP_BLACK_HAT_SEO: "SC 5.7 h",
        Category.AUP_DEBRID: "SC 5.7 i",
        Category.AUP_OTHER: "SC 5.7",
        Category.SECURITY: "SC 6",
        Category.MASS_MAIL: "SC 7",
        Category.ILLEGAL_CONTENT: "TCU 12.9",
        Category.ABUSIVE_CONDUCT: "TCU 9.5",
        Category.AUTHORITY_REQUEST: "TCU 13.1",
    }

    class Status(models.TextChoices):
        OPEN = "open", _("awaiting remedy")
        REMEDIED = "remedied", _("remedied")
        TERMINATED = "terminated", _("not remedied: contract terminated")

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="breaches", verbose_name=_("organization")
    )
    whole_organization = models.BooleanField(_("whole organization"), default=False)
    services = models.ManyToManyField(
        "subscriptions.Service", related_name="breaches", blank=True, verbose_name=_("services")
    )
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    reason = models.TextField(_("reason"))
    remedy_deadline = models.DateField(_("remedy deadline"), null=True, blank=True)  # ENF-2, Zurich date
    # TCU 13.1: an authority request may forbid telling the customer; then the customer is not told
    # and does not see the breach in the portal (recorded in the evidence).
    notice_withheld = models.BooleanField(_("customer not told (authority request)"), default=False)
    # Set when this breach blocked the Organization (whole organization): lifted with it (ENF-2).
    organization_blocked = models.BooleanField(_("organization blocked by this breach"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)

    class Meta:
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(status="open", decided_at__isnull=True) | (~Q(status="open") & Q(decided_at__isnull=False))
                ),
                name="breach_decided_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(notice_withheld=False) | Q(category="authority_request"),
                name="breach_withheld_only_for_authority",
            ),
        ]
        indexes = [models.Index(fields=["status", "remedy_deadline"], name="breach_open_deadline")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} ({self.organization})"

    @property
    def clause(self) -> str:
        return self.CLAUSES.get(self.category, "")


class BreachEvidence(models.Model):
    """One piece of evidence of a breach: a support ticket of the same Organization or a file, and
    whether the customer may see it (ENF-1)."""

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("breach"))
    ticket = models.ForeignKey(
        "support.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("ticket")
    )
    file = models.FileField(_("file"), upload_to=evidence_path, max_length=200, blank=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(_("type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64, blank=True)
    visible_to_customer = models.BooleanField(_("the customer may see it"), default=False)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(ticket__isnull=False, file="") | Q(ticket__isnull=True) & ~Q(file="")),
                name="evidence_ticket_xor_file",
            ),
            models.UniqueConstraint(
                fields=["breach", "ticket"], condition=Q(ticket__isnull=False), name="evidence_ticket_once"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}" if self.ticket_id else self.original_name


class DeadlineReminder(models.Model):
    """ENF-2: staff were reminded that this breach's remedy deadline passed without a decision. One
    per breach: the daily job's last line of defence."""

    breach = models.OneToOneField(Breach, on_delete=models.PROTECT, related_name="deadline_reminder")
    day = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("remedy deadline reminder")
        verbose_name_plural = _("remedy deadline reminders")

    def __str__(self) -> str:
        return f"{self.breach_id} @ {self.day}"


class CauseTermination(models.Model):
    """A termination staff carried out (ENF-3 for cause, ENF-2 for default, ORG-9 at the customer's
    request from a ticket): a Service, or the whole Organization (`service` empty)."""

    class Cause(models.TextChoices):
        FRAUD = "fraud", _("fraud")
        INSOLVENCY = "insolvency", _("bankruptcy or insolvency proceedings")
        AUTHORITY_REQUEST = "authority_request", _("a request of a court or an authority")
        ABUSIVE_CONDUCT = "abusive_conduct", _("abusive conduct")
        DEFAULT = "default", _("a breach of contract not remedied")  # ENF-2
        CUSTOMER_REQUEST = "customer_request", _("your termination request")  # ORG-9

    # The causes staff choose in the ENF-3 form; the other two come from a breach or a ticket.
    FOR_CAUSE = (Cause.FRAUD, Cause.INSOLVENCY, Cause.AUTHORITY_REQUEST, Cause.ABUSIVE_CONDUCT)

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("organization")
    )
    service = models.ForeignKey(
        "subscriptions.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("service"),
    )
    cause = models.CharField(_("cause"), max_length=20, choices=Cause.choices)
    rule = models.CharField(_("rule"), max_length=16)
    reason = models.TextField(_("reason"))
    breach = models.ForeignKey(Breach, null=True, blank=True, on_delete=models.PROTECT, related_name="terminations")
    ticket = models.ForeignKey("support.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    services_terminated = models.PositiveIntegerField(_("services terminated"))
    open_invoices = models.JSONField(_("invoices left due"), default=list)  # numbers; they stay due (ENF-3)
    terminated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("terminated by")
    )
    terminated_at = models.DateTimeField(_("terminated at"))

    class Meta:
        verbose_name = _("termination by staff")
        verbose_name_plural = _("terminations by staff")
        ordering = ["-terminated_at", "-id"]
        constraints = [
            # each Service, and each Organization as a whole, is terminated once
            models.UniqueConstraint(fields=["service"], condition=Q(service__isnull=False), name="cause_term_service"),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(service__isnull=True), name="cause_term_organization"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.get_cause_display()}"
