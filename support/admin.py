"""The staff queue of support (SUP-3…SUP-7, TCU 18, SC 5.7, TCU 13.1).

Tickets and messages change only through support.services and are never deleted (SUP-3): no add,
change or delete permission here. Staff read a ticket with all its messages and internal notes,
reply (e-mailed to the contact persons, SUP-7) or write an internal note from its page, resolve or
close it, flag abusive conduct (SUP-6), suspend the Service of an acceptable-use case (TCU 13.1),
and open third-party complaints and acceptable-use cases. Every view is recorded (EVD-2).
"""

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedHttpRequest
from audit.admin_mixins import StaffAccessAuditMixin
from core import clock, figures
from core.admin import ReadOnlyAdmin, reason_action, run_each
from core.errors import RuleViolation
from core.forms import show_refusal
from core.http import client_address
from support import selectors
from support.forms import StaffMessageForm, StaffOpenForm
from support.hooks import termination_request_execute
from support.models import Message, Ticket
from support.services import (
    message_post,
    ticket_flag_abusive,
    ticket_open_by_staff,
    ticket_set_status,
    ticket_suspend_service,
)
from support.views import attachment_response

# The queue shows this many characters of a subject (the rest in its tooltip): readable at 1280 px.
SUBJECT_CHARS = 60

# Age buckets of the queue: (parameter value, label, at least, less than) — by the ticket's opening.
AGE_BUCKETS = (
    ("lt1", _("less than 1 day"), None, dt.timedelta(days=1)),
    ("1to3", _("1 to 3 days"), dt.timedelta(days=1), dt.timedelta(days=3)),
    ("3to7", _("3 to 7 days"), dt.timedelta(days=3), dt.timedelta(days=7)),
    ("gt7", _("more than 7 days"), dt.timedelta(days=7), None),
)


class AgeFilter(admin.SimpleListFilter):
    title = _("age")
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(value, label) for value, label, _at_least, _less_than in AGE_BUCKETS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = clock.now()
        for value, _label, at_least, less_than in AGE_BUCKETS:
            if self.value() == value:
                if at_least is not None:
                    queryset = queryset.filter(created_at__lte=now - at_least)
                if less_than is not None:
                    queryset = queryset.filter(created_at__gt=now - less_than)
        return queryset


class YesNoFilter(admin.SimpleListFilter):
    condition: Q

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("yes")), ("no", _("no"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(self.condition)
        if self.value() == "no":
            return queryset.exclude(self.condition)
        return queryset


class EscalatedFilter(YesNoFilter):
    title = _("escalated")
    parameter_name = "escalated"
    condition = Q(escalated_at__isnull=False)

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("waiting", _("yes, still waiting for us")), *super().lookups(request, model_admin)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "waiting":
            return queryset.filter(pk__in=selectors.escalated_waiting().values("pk"))
        return super().queryset(request, queryset)


class AbusiveFilter(YesNoFilter):
    """SUP-6."""

    title = _("flagged abusive")
    parameter_name = "abusive"
    condition = Q(abusive_flagged_at__isnull=False)


class DocumentsOverdueFilter(admin.SimpleListFilter):
    """TCU 18: third-party complaints whose supporting documents deadline has passed."""

    title = _("documents deadline passed")
    parameter_name = "documents_overdue"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("yes"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.overdue_complaints(clock.today()).values("pk"))
        return queryset


@admin.register(Ticket)
class TicketAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    # Readable at 1280 px: short columns, the subject truncated (its full text in the title), the
    # three flags in one column, the opening day without its time.
    list_display = ["id", "short_subject", "organization", "kind", "status", "priority", "language", "opened", "flags"]
    list_display_links = ["id", "short_subject"]
    list_filter = [
        "kind",
        "status",
        "priority",
        "language",
        AgeFilter,
        EscalatedFilter,
        AbusiveFilter,
        DocumentsOverdueFilter,
    ]
    search_fields = ["subject", "organization__name"]
    list_select_related = ["organization", "service__plan"]
    ordering = ["created_at", "id"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "service",
                    "kind",
                    "subject",
                    "language",
                    "priority",
                    "status",
                    "opened_by",
                    "opened_by_staff",
                    "created_at",
                    "updated_at",
                    "waiting_since",
                    "escalated_at",
                ]
            },
        ),
        (_("Invoice dispute and SLA claim"), {"fields": ["invoice", "claim_start", "claim_end"]}),
        (
            _("Third-party complaint and acceptable-use case"),
            {"fields": ["documents_due_on", "aup_category", "service_suspended_at"]},
        ),
        (_("Abusive conduct"), {"fields": ["abusive_flagged_at", "abusive_flagged_by", "abusive_reason"]}),
    ]
    actions = ["resolve", "close", "flag_abusive", "suspend_service", "carry_out_termination"]
    change_form_template = "admin/support/ticket/change_form.html"
    change_list_template = "admin/support/ticket/change_list.html"

    index_queue_label = _("Escalated tickets waiting for us (SUP-7)")

    def index_queue(self, request: HttpRequest) -> tuple[int, str]:
        """Escalated tickets still waiting for us: the staff site's index counts them."""
        return selectors.escalated_waiting().count(), "escalated=waiting"

    @admin.display(description=_("subject"), ordering="subject")
    def short_subject(self, obj: Ticket) -> str:
        if len(obj.subject) <= SUBJECT_CHARS:
            return obj.subject
        return format_html('<span title="{}">{}</span>', obj.subject, Truncator(obj.subject).chars(SUBJECT_CHARS))

    @admin.display(description=_("opened"), ordering="created_at")
    def opened(self, obj: Ticket) -> str:
        return figures.short_day(clock.business_date(obj.created_at))

    @admin.display(description=_("flags"))
    def flags(self, obj: Ticket) -> str:
        """Escalated, flagged abusive, documents deadline passed (TCU 18): what the filters find."""
        found = []
        if obj.escalated_at is not None:
            found.append(_("escalated"))
        if obj.abusive_flagged_at is not None:
            found.append(_("abusive"))
        if selectors.ticket_documents_overdue(obj, clock.today()):
            found.append(_("documents late"))
        return ", ".join(str(flag) for flag in found) or "—"

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("support.change_ticket")

    # --- actions --------------------------------------------------------------------------------

    def _set_status(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Ticket], status: str) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda ticket: ticket_set_status(ticket=ticket, staff_user=request.user, status=status, now=clock.now()),
        )

    @admin.action(description=_("Resolve"), permissions=["act"])
    def resolve(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset, Ticket.Status.RESOLVED)

    @admin.action(description=_("Close"), permissions=["act"])
    def close(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Ticket]) -> None:
        self._set_status(request, queryset, Ticket.Status.CLOSED)

    @admin.action(description=_("Flag abusive conduct, with a reason (SUP-6)"), permissions=["act"])
    def flag_abusive(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Flag abusive conduct"),
            apply=lambda ticket, reason: ticket_flag_abusive(
                ticket=ticket, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )

    @admin.action(
        description=_("Suspend the Service of an acceptable-use case, with a reason (TCU 13.1)"), permissions=["act"]
    )
    def suspend_service(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Suspend the Services of acceptable-use cases"),
            apply=lambda ticket, reason: ticket_suspend_service(
                ticket=ticket, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )

    @admin.action(
        description=_("Carry out the termination request, with the answer to the customer (ORG-9)"),
        permissions=["act"],
    )
    def carry_out_termination(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet[Ticket]
    ) -> HttpResponse | None:
        """ORG-9: terminate what the request asks (its Service, or the whole contract), answer the
        customer and close the ticket — done by the enforcement app through support.hooks."""
        return reason_action(
            self,
            request,
            queryset,
            title=_("Carry out termination requests: the data is deleted for good"),
            apply=lambda ticket, answer: termination_request_execute(
                ticket=ticket, staff_user=request.user, answer=answer, now=clock.now()
            ),
        )

    # --- the ticket page: messages, internal notes, reply and note forms ------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        ticket = self.get_object(request, object_id)
        if ticket is not None:
            extra_context = {
                **(extra_context or {}),
                "ticket_messages": selectors.messages_for_staff(ticket),
                "reply_form": StaffMessageForm(prefix="reply"),
                "note_form": StaffMessageForm(prefix="note"),
                "can_act": self.has_act_permission(request),
                "documents_overdue": selectors.ticket_documents_overdue(ticket, clock.today()),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list:
        return [
            path("open/", self.admin_site.admin_view(self.open_view), name="support_ticket_open"),
            path(
                "<int:pk>/reply/",
                self.admin_site.admin_view(self.message_view),
                {"internal": False},
                name="support_ticket_reply",
            ),
            path(
                "<int:pk>/note/",
                self.admin_site.admin_view(self.message_view),
                {"internal": True},
                name="support_ticket_note",
            ),
            path(
                "attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="support_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def message_view(self, request: AuthenticatedHttpRequest, pk: int, internal: bool) -> HttpResponse:
        """A staff reply (SUP-7) or an internal note, posted from the ticket's page."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        ticket = get_object_or_404(Ticket.objects.select_related("organization"), pk=pk)
        form = StaffMessageForm(request.POST or None, request.FILES or None, prefix="note" if internal else "reply")
        if request.method == "POST" and form.is_valid():
            try:
                message_post(
                    ticket=ticket,
                    user=request.user,
                    body=form.cleaned_data["body"],
                    attachments=form.cleaned_data["attachments"],
                    internal=internal,
                    client_address=client_address(request),
                    as_staff=True,
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation)
            else:
                done = _("Internal note added.") if internal else _("Reply sent to the contact persons.")
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:support_ticket_change", args=[ticket.pk]))
        return TemplateResponse(
            request,
            "admin/support/ticket/message_form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Add an internal note") if internal else _("Reply to the customer"),
                "ticket": ticket,
                "form": form,
                "internal": internal,
                "opts": self.model._meta,
            },
        )

    def open_view(self, request: AuthenticatedHttpRequest) -> HttpResponse:
        """Staff open a third-party complaint (TCU 18) or an acceptable-use case (SC 5.7)."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        form = StaffOpenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                ticket = ticket_open_by_staff(
                    organization=data["organization"],
                    staff_user=request.user,
                    kind=data["kind"],
                    subject=data["subject"],
                    body=data["body"],
                    language=data["language"],
                    service=data["service"],
                    documents_due_on=data["documents_due_on"],
                    aup_category=data["aup_category"],
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation)
            else:
                self.message_user(request, _("Ticket opened and sent to the contact persons."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:support_ticket_change", args=[ticket.pk]))
        return TemplateResponse(
            request,
            "admin/support/ticket/open.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Open a third-party complaint or an acceptable-use case"),
                "form": form,
                "opts": self.model._meta,
            },
        )

    def attachment_view(self, request: AuthenticatedHttpRequest, attachment_id: int) -> HttpResponse:
        """Any attachment, internal notes' included, for staff who may view its ticket; the access is
        recorded (EVD-2)."""
        attached = selectors.attachment_for(request.user, attachment_id, as_staff=True)
        if not self.has_view_permission(request, attached.message.ticket):
            raise PermissionDenied
        self.record_access(request, attached.message.ticket)
        return attachment_response(attached)


@admin.register(Message)
class MessageAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Messages and internal notes, read only and never deleted (SUP-3)."""

    list_display = ["created_at", "ticket", "organization", "from_staff", "internal", "author"]
    list_filter = ["from_staff", "internal"]
    search_fields = ["ticket__subject", "ticket__organization__name"]
    list_select_related = ["ticket__organization", "author"]

    @admin.display(description=_("Organization"))
    def organization(self, obj: Message) -> Any:
        return obj.ticket.organization

    def organization_of(self, obj: Model) -> Any:
        return obj.ticket.organization  # type: ignore[attr-defined]
