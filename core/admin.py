"""Admin helpers shared by the apps' admin.py modules."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.services import Actor, audit_record
from core import clock
from core.errors import RuleViolation
from core.http import client_address


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason (told to the customer where the rule says so)"), widget=forms.Textarea)


def reason_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    title: str | Promise,
    apply: Callable[[Any, str], object],
) -> HttpResponse | None:
    """An admin action that asks staff for a reason, then applies a service to each selected row."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        run_each(modeladmin, request, queryset, lambda obj: apply(obj, form.cleaned_data["reason"]))
        return None
    return TemplateResponse(
        request,
        "admin/reason_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": request.POST.get("action"),
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def run_each(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, apply: Callable[[Any], object]
) -> None:
    done = 0
    for obj in queryset:
        try:
            apply(obj)
            done += 1
        except RuleViolation as violation:
            modeladmin.message_user(request, f"{obj}: {violation}", messages.ERROR)
    if done:
        modeladmin.message_user(request, _("%(count)d done.") % {"count": done}, messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that change only through services (or never): staff read them."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class StaffAccessAuditMixin:
    """EVD-2: every staff view of a customer's record is itself recorded in the audit trail."""

    def organization_of(self, obj: Model) -> Any:
        return getattr(obj, "organization", None)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
            if obj is not None:
                self.record_access(request, obj)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if request.method == "GET" and response.status_code == 200:
            audit_record(
                actor=Actor.for_user(request.user, client_address=client_address(request)),
                action="staff.listed",
                rule="EVD-2",
                obj=self.model,  # type: ignore[attr-defined]
                after={"query": request.GET.urlencode()},
                at=clock.now(),
            )
        return response

    def record_access(self, request: HttpRequest, obj: Model) -> None:
        audit_record(
            actor=Actor.for_user(request.user, client_address=client_address(request)),
            action="staff.viewed",
            rule="EVD-2",
            obj=obj,
            organization=self.organization_of(obj),
            at=clock.now(),
        )


class AuditedChangesMixin(StaffAccessAuditMixin):
    """For the few rows staff edit in forms (users, documents): each save is recorded (EVD-1),
    naming the fields changed; a password shows only as changed."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        changed = {
            field: "(changed)" if "password" in field else str(form.cleaned_data.get(field))
            for field in form.changed_data
        }
        audit_record(
            actor=Actor.for_user(request.user, client_address=client_address(request)),
            action="staff.changed" if change else "staff.created",
            rule="EVD-1",
            obj=obj,
            organization=self.organization_of(obj),
            after=changed,
            at=clock.now(),
        )
