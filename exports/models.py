"""Exports a customer downloads (SPEC EVD-4, EVD-5): an Organization's statement for a date range (a
ZIP of CSV files and one PDF) and a user's personal data (JSON).

An export is requested, built in the background (`exports.tasks`), kept EXPORT_RETENTION_DAYS and
then removed by the daily run (order 950): the row stays as evidence, only the file goes. Every step
is recorded in the audit trail (EVD-1) with the export's rule.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def export_path(instance: "Export", filename: str) -> str:
    """Stored under a random name chosen by the builder (exports.services)."""
    return f"exports/{filename}"


class Export(models.Model):
    class Kind(models.TextChoices):
        STATEMENT = "statement", _("statement")  # EVD-4: an Organization's, for a date range
        PERSONAL = "personal", _("personal data")  # EVD-5: one user's

    class Status(models.TextChoices):
        REQUESTED = "requested", _("waiting")
        BUILDING = "building", _("being prepared")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        REMOVED = "removed", _("removed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # The member who asked (EVD-4), or the person whose data it is (EVD-5).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    start = models.DateField(_("from"), null=True, blank=True)  # Zurich dates, both included (EVD-4)
    end = models.DateField(_("until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    progress = models.PositiveSmallIntegerField(_("progress (percent)"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    built_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_on = models.DateField(_("kept until"), null=True, blank=True)  # removed by the daily run of that day
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    failure = models.TextField(_("failure"), blank=True)  # for staff; the customer reads "failed"

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-requested_at"]),
            models.Index(fields=["user", "kind", "-requested_at"]),
            # The daily removal reads the ready exports by expiry date (few rows: a partial index).
            models.Index(fields=["expires_on"], condition=Q(status="ready"), name="export_ready_expiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="statement", organization__isnull=False, start__isnull=False, end__isnull=False)
                    & Q(start__lte=models.F("end"))
                )
                | Q(kind="personal", organization__isnull=True, start__isnull=True, end__isnull=True),
                name="export_kind_names_its_scope",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_percent"),
            # One export of a kind waits per user at a time: a second request is refused until it is built.
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=Q(status__in=["requested", "building"]),
                name="export_one_waiting_per_user_and_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(file="") & Q(built_at__isnull=False) & Q(expires_on__isnull=False)),
                name="export_ready_has_its_file",
            ),
            models.CheckConstraint(
                condition=~Q(status="removed") | (Q(file="") & Q(removed_at__isnull=False)),
                name="export_removed_has_no_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def rule(self) -> str:
        return "EVD-4" if self.kind == self.Kind.STATEMENT else "EVD-5"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.REQUESTED, self.Status.BUILDING)
