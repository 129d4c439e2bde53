"""The staff door of usage billing (USE-1, USE-3, USE-5, EVD-1, EVD-2).

- Rate cards with their rates (inline): a new price is a new card with a later `valid_from` (BIL-1);
  a card is read only once an invoice used it (`UsageMonth.rate_card`); a new or changed card is
  recorded with USE-1. A card starts after the current month's first day: a running month is never
  repriced.
- Thresholds per plan and per Service through `usage.services.thresholds.threshold_set` (a page of
  its own; removal by an action), recorded with USE-5.
- A Service's usage by month and resource: `UsageMonth` with its `UsageTotal` rows, read only,
  searchable by Service id. An invoiced month is corrected only by a credit note: its page links
  to the invoice and to the billing admin's credit-note action, never to an edit of the usage.
- Limits, with a "lift" action (`limit_lift`: reason, evidence USE-5, the customer told).
Every list and every view of a customer's record is itself recorded (EVD-2).
"""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedHttpRequest
from audit.admin_mixins import StaffAccessAuditMixin
from audit.services import Actor, audit_record
from billing.models import Plan
from core import clock
from core.admin import ReadOnlyAdmin, reason_action, run_each
from core.errors import RuleViolation
from core.forms import show_refusal
from core.http import client_address
from subscriptions.models import Service
from usage import engine
from usage.models import RATE_DECIMAL_PLACES, Limit, Rate, RateCard, Resource, Threshold, UsageMonth, UsageTotal
from usage.services.thresholds import limit_lift, threshold_set

FORM_TEMPLATE = "admin/sla/action_form.html"  # the admin's one-form page (title, form, back link)


def rate_card_used(card: RateCard | None) -> bool:
    """A card an invoice used is never edited again (USE-1, BIL-1)."""
    return card is not None and card.pk is not None and UsageMonth.objects.filter(rate_card=card).exists()


# --- rate cards (USE-1) ---------------------------------------------------------------------------


class RateInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE") or "resource" not in data:
                continue
            if data["resource"] in seen:
                raise forms.ValidationError(_("One rate per resource."))
            seen.add(data["resource"])
        if not seen:
            raise forms.ValidationError(_("A rate card has at least one rate."))


class RateInline(admin.TabularInline):
    model = Rate
    formset = RateInlineFormSet
    fields = ["resource", "rate"]
    extra = 5
    max_num = 5

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not rate_card_used(obj) and super().has_change_permission(request, obj)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not rate_card_used(obj) and super().has_add_permission(request, obj)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not rate_card_used(obj) and super().has_delete_permission(request, obj)  # type: ignore[arg-type]


class RateCardForm(forms.ModelForm):
    class Meta:
        model = RateCard
        fields = ["plan", "currency", "valid_from"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "plan" in self.fields:
            field = self.fields["plan"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Plan.objects.filter(usage_based=True).select_related("service_type")

    def clean_valid_from(self) -> Any:
        """A running month is never repriced: the card in force on a month's first day prices it."""
        valid_from = self.cleaned_data["valid_from"]
        month = engine.month_of(clock.today())
        if valid_from <= month:
            raise forms.ValidationError(
                _("A new rate card starts after %(day)s: the card in force on a month's first day prices it.")
                % {"day": month.isoformat()}
            )
        return valid_from


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin):
    """Rate cards: added (a new price is a new card), changed only until an invoice used them."""

    form = RateCardForm
    list_display = ["plan", "currency", "valid_from", "created_at", "used"]
    list_filter = ["currency", "plan"]
    list_select_related = ["plan__service_type"]
    inlines = [RateInline]
    readonly_fields = ["created_at"]

    @admin.display(description=_("used by an invoice"), boolean=True)
    def used(self, obj: RateCard) -> bool:
        return rate_card_used(obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return not rate_card_used(obj) and super().has_change_permission(request, obj)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a card is history (BIL-1); one never used can be corrected instead

    def save_model(self, request: HttpRequest, obj: RateCard, form: Any, change: bool) -> None:
        if not change:
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        card = form.instance
        audit_record(
            actor=Actor.for_user(request.user, client_address=client_address(request)),
            action="usage.rate_card_changed" if change else "usage.rate_card_created",
            rule="USE-1",
            obj=card,
            after={
                "plan": card.plan_id,
                "currency": card.currency,
                "valid_from": card.valid_from.isoformat(),
                "rates": {rate.resource.slug: str(rate.rate) for rate in card.rates.select_related("resource")},
            },
            at=clock.now(),
        )


# --- thresholds (USE-5) ---------------------------------------------------------------------------


class ThresholdForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("Plan (the default of its Services)"),
        queryset=Plan.objects.filter(usage_based=True).select_related("service_type"),
        required=False,
    )
    service_id = forms.IntegerField(label=_("or Service id (overrides its plan's)"), required=False, min_value=1)
    resource = forms.ModelChoiceField(label=_("Resource"), queryset=Resource.objects.order_by("position"))
    quantity = forms.DecimalField(
        label=_("Threshold per month, in the resource's unit (empty: remove)"),
        required=False,
        max_digits=18,
        decimal_places=RATE_DECIMAL_PLACES,
        min_value=Decimal("0.000001"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("plan")) == bool(data.get("service_id")):
            raise forms.ValidationError(_("Choose a plan or give a Service id, not both."))
        if data.get("service_id"):
            service = Service.objects.filter(pk=data["service_id"]).first()
            if service is None:
                self.add_error("service_id", _("No such Service."))
            data["service"] = service
        return data


@admin.register(Threshold)
class ThresholdAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Thresholds are set, changed and removed only through `threshold_set` (USE-5)."""

    list_display = ["resource", "quantity", "plan", "service_link", "updated_at", "updated_by"]
    list_filter = ["resource", "plan"]
    search_fields = ["=service__id"]
    list_select_related = ["resource", "plan__service_type", "service", "updated_by"]
    actions = ["remove"]

    def organization_of(self, obj: Model) -> Any:
        service = getattr(obj, "service", None)
        return service.organization if service is not None else None

    @admin.display(description=_("Service"))
    def service_link(self, obj: Threshold) -> str:
        if obj.service_id is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:subscriptions_service_change", args=[obj.service_id]), obj.service_id
        )

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_act_permission(request)

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("usage.change_threshold")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Set (or change, or remove) a threshold: a plan's or a Service's, per resource."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        form = ThresholdForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                threshold_set(
                    resource=data["resource"],
                    quantity=data["quantity"],
                    plan=data.get("plan"),
                    service=data.get("service"),
                    staff_user=request.user,
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(request, _("Threshold saved (USE-5)."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:usage_threshold_changelist"))
        return TemplateResponse(
            request,
            FORM_TEMPLATE,
            {
                **self.admin_site.each_context(request),
                "title": _("Set a consumption threshold"),
                "help": _(
                    "A Service's threshold overrides its plan's for that resource. Customers are told at 80 % "
                    "and 100 %; past 100 % the Service is limited until the month ends or staff lift it. "
                    "Setting an existing one changes it; an empty quantity removes it."
                ),
                "form": form,
                "media": self.media + form.media,
                "back_url": reverse("admin:usage_threshold_changelist"),
                "opts": self.model._meta,
                "submit_label": _("Save"),
            },
        )

    @admin.action(description=_("Remove the selected thresholds (USE-5)"), permissions=["act"])
    def remove(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Threshold]) -> None:
        run_each(
            self,
            request,
            queryset.select_related("plan", "service", "resource"),
            lambda threshold: threshold_set(
                resource=threshold.resource,
                quantity=None,
                plan=threshold.plan,
                service=threshold.service,
                staff_user=request.user,
                now=clock.now(),
            ),
        )


# --- a Service's usage by month and resource (USE-3) ---------------------------------------------


@admin.register(UsageMonth)
class UsageMonthAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Read only: values come only through the metering door; an invoiced month is corrected by a
    credit note on its invoice (BIL-6), never by editing its usage (USE-2)."""

    list_display = ["service_id", "organization", "month", "closed_at", "invoice_link"]
    list_filter = ["month"]
    search_fields = ["=service__id"]
    list_select_related = ["service__organization", "invoice"]
    fields = ("service_link", "month", "closed_at", "rate_card", "invoice_link", "totals", "correction")
    readonly_fields = fields

    def organization_of(self, obj: Model) -> Any:
        return obj.service.organization  # type: ignore[attr-defined]

    @admin.display(description=_("Organization"))
    def organization(self, obj: UsageMonth) -> Any:
        return obj.service.organization

    @admin.display(description=_("Service"))
    def service_link(self, obj: UsageMonth) -> str:
        return format_html(
            '<a href="{}">#{} {}</a>',
            reverse("admin:subscriptions_service_change", args=[obj.service_id]),
            obj.service_id,
            obj.service,
        )

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj: UsageMonth) -> str:
        if obj.invoice is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_change", args=[obj.invoice_id]),
            obj.invoice.display_number,
        )

    @admin.display(description=_("usage by resource"))
    def totals(self, obj: UsageMonth) -> str:
        rows = UsageTotal.objects.filter(service_id=obj.service_id, month=obj.month).select_related("resource")
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{} {}</td></tr>",
                (
                    (row.resource.label, engine.from_micro(row.quantity), row.resource.unit)
                    for row in rows.order_by("resource__position")
                ),
            ),
        )

    @admin.display(description=_("correction"))
    def correction(self, obj: UsageMonth) -> str:
        if obj.invoice is None:
            return str(
                _("Not invoiced yet: values sent again for this month replace the earlier ones (USE-2).")
                if obj.closed_at is None
                else _("Closed without an invoice (nothing to correct).")
            )
        return format_html(
            '{} <a href="{}?q={}">{}</a>',
            _("An invoiced month is corrected only by a credit note on its invoice (BIL-6, USE-2):"),
            reverse("admin:billing_invoice_changelist"),
            obj.invoice.number,
            _("select the invoice and use its credit-note action"),
        )


# --- limits (USE-5, USE-6) ------------------------------------------------------------------------


class LimitOpenFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("open", _("in force")), ("lifted", _("lifted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


@admin.register(Limit)
class LimitAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """The limited Services; staff lift a limit with a reason (USE-5), the customer is told."""

    list_display = ["service_id", "organization", "month", "reason", "resource", "since", "lifted_at", "lifted_by"]
    list_filter = [LimitOpenFilter, "reason", "month"]
    search_fields = ["=service__id"]
    list_select_related = ["service__organization", "resource", "lifted_by"]
    actions = ["lift"]

    def organization_of(self, obj: Model) -> Any:
        return obj.service.organization  # type: ignore[attr-defined]

    @admin.display(description=_("Organization"))
    def organization(self, obj: Limit) -> Any:
        return obj.service.organization

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("usage.change_limit")

    @admin.action(description=_("Lift, with a reason told to the customer (USE-5)"), permissions=["act"])
    def lift(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Limit]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Lift limits"),
            apply=lambda limit, reason: limit_lift(
                limit=limit, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )
