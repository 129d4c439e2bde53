from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("audit events are append-only (SPEC EVD-1)")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only (SPEC EVD-1)")


class AuditEvent(models.Model):
    """One state change, or one staff access, as evidence (SPEC EVD-1, EVD-2).

    Append-only and hash-chained: `hash` covers this row's content and `prev_hash`, the hash of
    the event before it, so changing or removing any row breaks the chain from there on
    (`manage.py audit_verify`). On PostgreSQL a trigger also refuses UPDATE and DELETE.
    """

    class ActorType(models.TextChoices):
        USER = "user", "user"
        STAFF = "staff", "staff user"
        SYSTEM = "system", "system job"

    occurred_at = models.DateTimeField()
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The user's e-mail, or the job's name, at the time: evidence must not depend on later edits.
    actor_label = models.CharField(max_length=254)
    # Indexed by the (organization, id) index below, which serves every lookup by Organization.
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    object_type = models.CharField(max_length=64)  # "app_label.model"
    object_id = models.CharField(max_length=64)
    action = models.CharField(max_length=64)
    rule = models.CharField(max_length=16)  # the SPEC rule id that allowed (or required) the change
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)  # unique: by the constraint below (no LIKE index beside it)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["id"]
        # A constraint rather than unique=True, which on PostgreSQL adds a second index for LIKE
        # queries that nothing makes: every event written would pay for both.
        constraints = [models.UniqueConstraint(fields=["hash"], name="audit_event_hash_unique")]
        indexes = [
            models.Index(fields=["organization", "id"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} ({self.rule})"


class AuditChainHead(models.Model):
    """The single row that holds the hash of the last event; locked to append (serializes the chain)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_single_row")]

    def __str__(self) -> str:
        return f"chain head {self.last_hash[:12]}…"
