from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core import clock
from core.admin import ReadOnlyAdmin, StaffAccessAuditMixin, run_each
from notifications.models import CallQueueItem, Notification, PrintQueueItem
from notifications.services import notification_mark_handled


@admin.register(Notification)
class NotificationAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Every message sent, with channel and send time (EVD-3)."""

    list_display = ["created_at", "organization", "channel", "address", "subject", "status", "sent_at"]
    list_filter = ["channel", "status", "template"]
    search_fields = ["organization__name", "address", "subject"]
    list_select_related = ["organization"]


class StaffQueueAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    channel = ""
    list_display = ["created_at", "organization", "address", "subject", "status", "sent_at", "handled_by"]
    list_filter = ["status"]
    list_select_related = ["organization", "handled_by"]
    actions = ["mark_done"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return super().get_queryset(request).filter(channel=self.channel)

    @admin.action(description=_("Mark as done (posted / called)"))
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda item: notification_mark_handled(notification=item, staff_user=request.user, now=clock.now()),
        )


@admin.register(PrintQueueItem)
class PrintQueueAdmin(StaffQueueAdmin):
    """Postal letters to print and post (RW-5 escalation and other letters)."""

    channel = Notification.Channel.LETTER
    readonly_fields = ["printable_letter"]

    @admin.display(description=_("letter"))
    def printable_letter(self, obj: Notification) -> str:
        return f"{obj.address}\n\n{obj.subject}\n\n{obj.body}"


@admin.register(CallQueueItem)
class CallQueueAdmin(StaffQueueAdmin):
    """Phone messages to deliver by a call."""

    channel = Notification.Channel.PHONE
