"""Staff read the exports (EVD-4, EVD-5): who asked, when, for what, and what became of each file.
Exports change only through exports.services; each staff view is recorded (EVD-2). Staff never
download a customer's export here: it is the customer's copy of their data."""

from django.contrib import admin

from audit.admin_mixins import StaffAccessAuditMixin
from core.admin import ReadOnlyAdmin
from exports.models import Export


@admin.register(Export)
class ExportAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "organization",
        "user",
        "start",
        "end",
        "status",
        "progress",
        "requested_at",
        "expires_on",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["organization", "user"]
    exclude = ["file"]
    readonly_fields = [
        "kind",
        "user",
        "organization",
        "start",
        "end",
        "status",
        "progress",
        "size",
        "sha256",
        "requested_at",
        "built_at",
        "expires_on",
        "removed_at",
        "failure",
    ]
