from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import StaffAccessAuditMixin
from core import clock
from core.admin import ReadOnlyAdmin, run_each
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

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_notification")

    @admin.action(description=_("Mark as done (posted / called)"), permissions=["act"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda item: notification_mark_handled(notification=item, staff_user=request.user, now=clock.now()),
        )


@admin.register(PrintQueueItem)
class PrintQueueAdmin(StaffQueueAdmin):
    """Postal letters to print and post (RW-5 escalation and other letters): each opens as a
    printable page; staff mark it done once posted."""

    channel = Notification.Channel.LETTER
    list_display = [*StaffQueueAdmin.list_display, "print_link"]

    def get_urls(self) -> list:
        return [
            path("<int:pk>/print/", self.admin_site.admin_view(self.print_view), name="notifications_letter_print"),
            *super().get_urls(),
        ]

    @admin.display(description=_("letter"))
    def print_link(self, obj: Notification) -> str:
        return format_html(
            '<a href="{}" target="_blank">{}</a>',
            reverse("admin:notifications_letter_print", args=[obj.pk]),
            _("print"),
        )

    def print_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = get_object_or_404(self.get_queryset(request), pk=pk)
        self.record_access(request, letter)
        return TemplateResponse(
            request, "notifications/letter.html", {"letter": letter, "sender": settings.DEFAULT_FROM_EMAIL}
        )


@admin.register(CallQueueItem)
class CallQueueAdmin(StaffQueueAdmin):
    """Phone messages to deliver by a call."""

    channel = Notification.Channel.PHONE
