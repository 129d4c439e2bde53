"""The staff admin of the SLA's penalty schedule (SLA-2, SLA-3, SLA-4): dated versions, read only
once a penalty used them. Registered by `sla.admin`, which imports this module."""

from typing import Any, cast

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.models import BaseInlineFormSet, model_to_dict
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedChangesMixin
from core import clock
from sla import engine, selectors
from sla.models import ClassAllowance, IncidentClass, PenaltySchedule, PenaltyStep


class AllowanceFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = {
            form.cleaned_data["incident_class"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        }
        missing = engine.missing_allowances(kept)
        if missing:
            raise ValidationError(
                _("Give the allowance of every class (missing: %(classes)s).") % {"classes": ", ".join(missing)}
            )


class StepFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = {
            form.cleaned_data["group"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        }
        if not engine.steps_complete(kept):
            raise ValidationError(_("Give at least one penalty step for class A and one for classes B to E."))


class ScheduleInline(admin.TabularInline):
    """Rows of a schedule version: read only once the version is used by a penalty. A new version is
    pre-filled with the rows of the latest one."""

    extra = 0

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        if obj is None:
            latest = PenaltySchedule.objects.order_by("-valid_from").first()
            return self.model._default_manager.filter(schedule=latest).count() if latest else len(IncidentClass.values)
        return 0 if selectors.schedule_frozen(obj) else 1

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not selectors.schedule_frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not selectors.schedule_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not selectors.schedule_frozen(obj) and super().has_delete_permission(request, obj)


class ClassAllowanceInline(ScheduleInline):
    model = ClassAllowance
    formset = AllowanceFormSet


class PenaltyStepInline(ScheduleInline):
    model = PenaltyStep
    formset = StepFormSet


@admin.register(PenaltySchedule)
class PenaltyScheduleAdmin(AuditedChangesMixin, admin.ModelAdmin):
    """The dated versions of the SLA figures (SC 10.1): a change is a new version from a date. Catalog
    data, saved by the admin and recorded (EVD-1); a version used by a penalty is read only, and only
    a version not yet in force and never used may be deleted."""

    list_display = [
        "valid_from",
        "name",
        "commitment_percent",
        "monthly_limit_minutes",
        "a2_percent_per_minute",
        "cap_percent",
        "claim_deadline_months",
        "maintenance_notice_business_hours",
        "force_majeure_days",
        "used",
    ]
    readonly_fields = ["created_at"]
    inlines = [ClassAllowanceInline, PenaltyStepInline]

    @admin.display(description=_("used by a penalty"), boolean=True)
    def used(self, obj: PenaltySchedule) -> bool:
        return selectors.schedule_frozen(obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        latest = PenaltySchedule.objects.order_by("-valid_from").first()
        initial = model_to_dict(latest, exclude=["id", "valid_from", "created_at"]) if latest else {}
        return {**initial, **super().get_changeform_initial_data(request)}

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        latest = PenaltySchedule.objects.order_by("-valid_from").first()
        if obj.pk is None and request.method == "GET" and latest is not None:
            kwargs["initial"] = [
                model_to_dict(row, exclude=["id", "schedule"]) for row in inline.model.objects.filter(schedule=latest)
            ]
        return kwargs

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not selectors.schedule_frozen(cast(PenaltySchedule | None, obj)) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is None or selectors.schedule_frozen(cast(PenaltySchedule, obj)):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        assert isinstance(obj, PenaltySchedule)
        if not change:
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)


