from django.contrib import admin

from audit.admin_mixins import StaffAccessAuditMixin
from audit.models import AuditEvent
from core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """The evidence trail: read-only for everyone, staff included (EVD-1)."""

    list_display = ["id", "occurred_at", "actor_label", "action", "rule", "object_type", "object_id", "organization"]
    list_filter = ["rule", "actor_type", "object_type"]
    search_fields = ["actor_label", "action", "object_id", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "occurred_at"
    ordering = ["-id"]  # newest first
