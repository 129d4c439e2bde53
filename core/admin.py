"""Admin helpers shared by the apps' admin.py modules. The mixins that record staff access and
changes in the evidence trail (EVD-1, EVD-2) are audit.admin_mixins': core sits below audit."""

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

from core.errors import RuleViolation


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
