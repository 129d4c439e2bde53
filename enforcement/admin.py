"""The staff doors of enforcement (ENF-1, ENF-2, ENF-3): open a breach with its evidence, add
evidence, decide it (remedied, or not remedied: terminated for default), terminate for cause. Rows
change only through enforcement.services; refusals show with their rule id. Every view is recorded
(EVD-2)."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedHttpRequest
from audit.admin_mixins import StaffAccessAuditMixin
from core import clock
from core.admin import ReadOnlyAdmin, reason_action
from core.errors import RuleViolation
from core.forms import show_refusal
from enforcement import selectors
from enforcement.forms import BreachOpenForm, CauseTerminationForm, EvidenceForm
from enforcement.models import Breach, BreachEvidence, CauseTermination
from enforcement.services import (
    Evidence,
    breach_add_evidence,
    breach_decide,
    breach_open,
    organization_terminate_for_cause,
    service_terminate_for_cause,
)
from enforcement.views import evidence_response


def _evidence(data: dict[str, Any]) -> list[Evidence]:
    items = [Evidence(ticket=ticket, visible_to_customer=data["tickets_visible"]) for ticket in data["tickets"] or []]
    if data.get("file"):
        items.append(Evidence(file=data["file"], visible_to_customer=data["file_visible"]))
    return items


class EvidenceInline(admin.TabularInline):
    model = BreachEvidence
    fields = ["ticket", "original_name", "content_type", "size", "visible_to_customer", "added_by", "added_at"]
    readonly_fields = ["ticket", "original_name", "content_type", "size", "visible_to_customer", "added_by", "added_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeadlineFilter(admin.SimpleListFilter):
    """ENF-2: open breaches whose remedy deadline passed without a decision."""

    title = _("remedy deadline")
    parameter_name = "deadline"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("passed", _("passed, no decision yet"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "passed":
            return queryset.filter(pk__in=selectors.breaches_awaiting_decision(clock.today()).values("pk"))
        return queryset


@admin.register(Breach)
class BreachAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "category",
        "clause",
        "whole_organization",
        "status",
        "remedy_deadline",
        "notice_withheld",
        "opened_at",
    ]
    list_filter = ["status", DeadlineFilter, "category", "whole_organization", "notice_withheld"]
    search_fields = ["organization__name", "reason"]
    list_select_related = ["organization"]
    readonly_fields = ["clause"]
    index_queue_label = _("Breach deadlines passed without a decision (ENF-2)")

    def index_queue(self, request: HttpRequest) -> tuple[int, str]:
        """Breaches to decide: the staff site's index counts them."""
        return selectors.breaches_awaiting_decision(clock.today()).count(), "deadline=passed"

    inlines = [EvidenceInline]
    actions = ["remedied", "not_remedied"]
    change_list_template = "admin/enforcement/breach/change_list.html"
    change_form_template = "admin/enforcement/breach/change_form.html"

    @admin.display(description=_("clause"))
    def clause(self, obj: Breach) -> str:
        return obj.clause

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and request.user.has_perm("enforcement.change_breach")

    @admin.action(description=_("Remedied: the Services work again, with a reason (ENF-2)"), permissions=["act"])
    def remedied(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Breach]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("The breach is remedied"),
            apply=lambda breach, reason: breach_decide(
                breach=breach, staff_user=request.user, remedied=True, reason=reason, now=clock.now()
            ),
        )

    @admin.action(description=_("Not remedied: terminate for default, with a reason (ENF-2)"), permissions=["act"])
    def not_remedied(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Breach]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Not remedied: the contract is terminated for default (data deleted, invoices stay due)"),
            apply=lambda breach, reason: breach_decide(
                breach=breach, staff_user=request.user, remedied=False, reason=reason, now=clock.now()
            ),
        )

    def get_urls(self) -> list:
        return [
            path("open/", self.admin_site.admin_view(self.open_view), name="enforcement_breach_open"),
            path(
                "<int:pk>/evidence/", self.admin_site.admin_view(self.evidence_view), name="enforcement_breach_evidence"
            ),
            path(
                "evidence/<int:evidence_id>/",
                self.admin_site.admin_view(self.file_view),
                name="enforcement_breach_file",
            ),
            *super().get_urls(),
        ]

    def _form_page(self, request: HttpRequest, form: Any, title: Any, **context: Any) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/enforcement/form.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "opts": self.model._meta,
                **context,
            },
        )

    def open_view(self, request: AuthenticatedHttpRequest) -> HttpResponse:
        """ENF-1: open a breach, suspend what it concerns, tell the customer (unless withheld)."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        form = BreachOpenForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                breach = breach_open(
                    organization=data["organization"],
                    staff_user=request.user,
                    category=data["category"],
                    reason=data["reason"],
                    services=list(data["services"]),
                    whole_organization=data["whole_organization"],
                    remedy_deadline=data["remedy_deadline"],
                    notice_withheld=data["notice_withheld"],
                    evidence=_evidence(data),
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(request, _("Breach opened; what it concerns is suspended."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:enforcement_breach_change", args=[breach.pk]))
        return self._form_page(request, form, _("Open a breach (ENF-1)"), submit=_("Open the breach and suspend"))

    def evidence_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        breach = get_object_or_404(Breach.objects.select_related("organization"), pk=pk)
        form = EvidenceForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                breach_add_evidence(
                    breach=breach, staff_user=request.user, evidence=_evidence(form.cleaned_data), now=clock.now()
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(request, _("Evidence added."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:enforcement_breach_change", args=[breach.pk]))
        return self._form_page(request, form, _("Add evidence to breach %(id)s") % {"id": breach.pk}, submit=_("Add"))

    def file_view(self, request: AuthenticatedHttpRequest, evidence_id: int) -> HttpResponse:
        evidence = get_object_or_404(BreachEvidence.objects.select_related("breach__organization"), pk=evidence_id)
        if not evidence.file:
            return HttpResponse(status=404)
        if not self.has_view_permission(request, evidence.breach):
            raise PermissionDenied
        self.record_access(request, evidence.breach)
        return evidence_response(evidence)


@admin.register(CauseTermination)
class CauseTerminationAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = ["id", "organization", "service", "cause", "rule", "services_terminated", "terminated_at"]
    list_filter = ["cause", "rule"]
    search_fields = ["organization__name", "reason"]
    list_select_related = ["organization", "service__plan"]
    change_list_template = "admin/enforcement/causetermination/change_list.html"

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and request.user.has_perm("enforcement.add_causetermination")

    def get_urls(self) -> list:
        return [
            path("terminate/", self.admin_site.admin_view(self.terminate_view), name="enforcement_terminate"),
            *super().get_urls(),
        ]

    def terminate_view(self, request: AuthenticatedHttpRequest) -> HttpResponse:
        """ENF-3: terminate a Service or the whole contract for cause, with immediate effect."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        form = CauseTerminationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if data["service"] is None:
                    record = organization_terminate_for_cause(
                        organization=data["organization"],
                        staff_user=request.user,
                        cause=data["cause"],
                        reason=data["reason"],
                        now=clock.now(),
                    )
                else:
                    record = service_terminate_for_cause(
                        organization=data["organization"],
                        service=data["service"],
                        staff_user=request.user,
                        cause=data["cause"],
                        reason=data["reason"],
                        now=clock.now(),
                    )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(request, _("Terminated."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:enforcement_causetermination_change", args=[record.pk]))
        return TemplateResponse(
            request,
            "admin/enforcement/form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Terminate for cause (ENF-3)"),
                "form": form,
                "opts": self.model._meta,
                "submit": _("Terminate now"),
            },
        )
