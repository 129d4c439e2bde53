"""The staff door of the SLA (SLA-2…SLA-9, EVD-2).

Incidents are recorded, corrected and resolved, maintenance windows announced, claims accepted or
refused and force-majeure Services terminated only through `sla.services`: the admin collects the
input, the services check the rules, lock, write the evidence and tell the contact persons. A
`RuleViolation` is shown on the form (or as an error message) and nothing is changed. Penalties are
read only; the penalty schedule is catalog data saved by the admin, read only once a penalty used it.
Every list and every view of a record is itself recorded (EVD-2, `StaffAccessAuditMixin`). What may
still happen to a record (the buttons a page shows, the rows a form offers) is decided by sla.engine
and sla.selectors, which the services ask again under their locks: no rule is written here.
"""

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime, AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedHttpRequest
from accounts.models import User
from audit.admin_mixins import StaffAccessAuditMixin
from core import clock
from core.admin import ReadOnlyAdmin
from core.errors import RuleViolation
from core.forms import show_refusal
from sla import (
    admin_schedule,  # noqa: F401  (registers the penalty schedule's admin)
    engine,
    selectors,
)
from sla.models import (
    Cause,
    Claim,
    Incident,
    IncidentClass,
    Maintenance,
    Penalty,
)
from sla.services import (
    claim_accept,
    claim_refuse,
    incident_record,
    incident_resolve,
    incident_update,
    maintenance_schedule,
    staff_terminate_force_majeure,
)
from subscriptions.models import Service

# The claim page lists the incidents of the claim's Service that overlap the claimed period or lie
# within this margin of it: customers give the times they saw, the monitoring the times it measured.
FORM_TEMPLATE = "admin/sla/action_form.html"


def date_time_field(label: Any, *, required: bool = True) -> forms.SplitDateTimeField:
    """A date and a time in the provider's zone (TIME-1), stored in UTC."""
    return forms.SplitDateTimeField(label=label, required=required, widget=AdminSplitDateTime)


def services_field(admin_site: admin.AdminSite, model: type[Model]) -> forms.ModelMultipleChoiceField:
    """The affected Services, searched by Organization with the admin's autocomplete (SLA-8)."""
    return forms.ModelMultipleChoiceField(
        label=_("Services affected"),
        queryset=Service.objects.select_related("organization", "plan").order_by("pk"),
        widget=AutocompleteSelectMultiple(model._meta.get_field("services"), admin_site),
        help_text=_("Search by Organization; one incident or maintenance may affect many Services."),
    )


def services_links(services: QuerySet[Service]) -> str:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:subscriptions_service_change", args=[s.pk]), f"#{s.pk} {s}") for s in services),
    ) or str(_("none"))


class ActionPagesMixin:
    """The custom pages of an admin: one template, a form, a way back (like core.admin.reason_action)."""

    admin_site: admin.AdminSite
    model: type[Model]

    def page(self, request: HttpRequest, *, title: Any, form: forms.Form, back: str, **context: Any) -> HttpResponse:
        return TemplateResponse(
            request,
            FORM_TEMPLATE,
            {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "media": self.media + form.media,  # type: ignore[attr-defined]
                "back_url": back,
                "opts": self.model._meta,
                "submit_label": context.pop("submit_label", _("Confirm")),
                **context,
            },
        )


class _Refused(Exception):
    """A RuleViolation raised while the admin's own change form saves: rolls its transaction back."""

    def __init__(self, violation: RuleViolation) -> None:
        super().__init__(str(violation))
        self.violation = violation


# --- incidents (SLA-2, SLA-6, SLA-8, SLA-9) -----------------------------------------------------


class IncidentStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("open", _("open")), ("resolved", _("resolved"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


class IncidentRecordForm(forms.Form):
    incident_class = forms.ChoiceField(label=_("Class"), choices=IncidentClass.choices)
    cause = forms.ChoiceField(label=_("Cause"), choices=Cause.choices, initial=Cause.PROVIDER)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Public description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    started_at = date_time_field(_("Started at"))
    resolved_at = date_time_field(_("Resolved at (empty while it goes on)"), required=False)

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"] = services_field(admin_site, Incident)


class IncidentResolveForm(forms.Form):
    resolved_at = date_time_field(_("Resolved at"))


class TerminateForm(forms.Form):
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.none())
    reason = forms.CharField(label=_("Reason (kept in the evidence)"), required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["service"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectors.force_majeure_terminable(incident)


@admin.register(Incident)
class IncidentAdmin(ActionPagesMixin, StaffAccessAuditMixin, admin.ModelAdmin):
    """Added through `incident_record` (a page of its own), corrected through `incident_update` (the
    change form: title, description, class, cause; the dates and Services stay as recorded),
    resolved through `incident_resolve`; never deleted."""

    list_display = [
        "id",
        "title",
        "incident_class",
        "cause",
        "started_at",
        "resolved_at",
        "service_count",
        "external_id",
    ]
    list_filter = ["incident_class", "cause", IncidentStateFilter]
    search_fields = ["title", "external_id"]
    list_select_related = ["recorded_by"]
    fields = [
        "title",
        "description",
        "incident_class",
        "cause",
        "external_id",
        "started_at",
        "resolved_at",
        "affected_services",
        "claim_links",
        "recorded_by",
        "created_at",
    ]
    readonly_fields = [
        "external_id",
        "started_at",
        "resolved_at",
        "affected_services",
        "claim_links",
        "recorded_by",
        "created_at",
    ]
    change_form_template = "admin/sla/incident/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).annotate(service_total=Count("links"))

    @admin.display(description=_("Services"), ordering="service_total")
    def service_count(self, obj: Incident) -> int:
        return getattr(obj, "service_total", 0)

    @admin.display(description=_("Services affected"))
    def affected_services(self, obj: Incident) -> str:
        return services_links(obj.services.select_related("organization", "plan").order_by("pk"))

    @admin.display(description=_("SLA claims"))
    def claim_links(self, obj: Incident) -> str:
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:sla_claim_change", args=[c.pk]), c) for c in obj.claims.order_by("pk")),
        ) or str(_("none"))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_terminate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.change_service")

    # --- add: incident_record ---------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Record a failure affecting one or many Services; their contact persons are told (SLA-8)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IncidentRecordForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                incident, _created = incident_record(
                    user=cast(User, request.user),
                    incident_class=data["incident_class"],
                    cause=data["cause"],
                    title=data["title"],
                    description=data["description"],
                    started_at=data["started_at"],
                    resolved_at=data["resolved_at"],
                    service_ids=[service.pk for service in data["services"]],
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(
                    request, _("Incident recorded; the contact persons of its Services are told."), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:sla_incident_change", args=[incident.pk]))
        return self.page(
            request,
            title=_("Record an incident"),
            form=form,
            back=reverse("admin:sla_incident_changelist"),
            help=_("The contact persons of every Service chosen are told at once (SLA-8)."),
            submit_label=_("Record the incident"),
        )

    # --- change: incident_update ------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        if not change:  # the add page never reaches here: it records through incident_record
            raise PermissionDenied
        try:
            incident_update(
                incident=obj,
                user=cast(User, request.user),
                title=obj.title,
                description=obj.description,
                incident_class=obj.incident_class,
                cause=obj.cause,
                now=clock.now(),
            )
        except RuleViolation as violation:
            raise _Refused(violation) from violation

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The Services of an incident are the ones recorded: nothing related is saved here."""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as refused:  # the admin's transaction was rolled back: nothing changed
            self.message_user(request, str(refused.violation), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        incident = self.get_object(request, object_id)
        if incident is not None:
            extra_context = {
                **(extra_context or {}),
                "can_resolve": engine.incident_resolvable(incident.resolved_at)
                and self.has_change_permission(request, incident),
                "can_terminate": engine.force_majeure_going_on(incident.cause, incident.resolved_at)
                and self.has_terminate_permission(request),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- resolve, terminate: custom pages ---------------------------------------------------

    def get_urls(self) -> list:
        return [
            path("<int:pk>/resolve/", self.admin_site.admin_view(self.resolve_view), name="sla_incident_resolve"),
            path("<int:pk>/terminate/", self.admin_site.admin_view(self.terminate_view), name="sla_incident_terminate"),
            *super().get_urls(),
        ]

    def resolve_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """The provider marks the incident resolved (SLA-2): the contact persons may then claim (SLA-5)."""
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        form = IncidentResolveForm(request.POST or None, initial={"resolved_at": clock.now()})
        if request.method == "POST" and form.is_valid():
            try:
                incident_resolve(
                    incident=incident, user=request.user, resolved_at=form.cleaned_data["resolved_at"], now=clock.now()
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(
                    request, _("Incident resolved; the contact persons of its Services are told."), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:sla_incident_change", args=[incident.pk]))
        return self.page(
            request,
            title=_("Resolve the incident"),
            form=form,
            back=reverse("admin:sla_incident_change", args=[incident.pk]),
            subject=incident,
            submit_label=_("Resolve"),
        )

    def terminate_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """SLA-9: after the schedule's days of force majeure (30) the provider may terminate an affected
        Service, without compensation (BIL-13); its data is deleted for good (SC 8.3)."""
        if not self.has_terminate_permission(request):
            raise PermissionDenied
        incident = get_object_or_404(Incident, pk=pk)
        form = TerminateForm(request.POST or None, incident=incident)
        if request.method == "POST" and form.is_valid():
            service = form.cleaned_data["service"]
            try:
                staff_terminate_force_majeure(
                    service=service,
                    incident=incident,
                    staff_user=request.user,
                    reason=form.cleaned_data["reason"],
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(
                    request,
                    _("%(service)s terminated after force majeure.") % {"service": service},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:sla_incident_change", args=[incident.pk]))
        return self.page(
            request,
            title=_("Terminate a Service affected by force majeure"),
            form=form,
            back=reverse("admin:sla_incident_change", args=[incident.pk]),
            subject=incident,
            help=_(
                "Allowed once the force majeure has lasted the schedule's days (SLA-9). The Service's data is "
                "deleted for good and no compensation is paid."
            ),
            submit_label=_("Terminate the Service"),
        )


# --- maintenance (SLA-7) ---------------------------------------------------------------------


class MaintenanceForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Public description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    starts_at = date_time_field(_("Starts at"))
    ends_at = date_time_field(_("Ends at"))
    urgent = forms.BooleanField(label=_("Urgent"), required=False)
    urgent_reason = forms.CharField(
        label=_("Reason of the urgency"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when the notice is shorter than the schedule's business hours (SLA-7)."),
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"] = services_field(admin_site, Maintenance)


@admin.register(Maintenance)
class MaintenanceAdmin(ActionPagesMixin, StaffAccessAuditMixin, admin.ModelAdmin):
    """Announced through `maintenance_schedule` (the SLA-7 notice is checked there); read only once
    announced: the contact persons were told these times. Never deleted."""

    list_display = ["title", "starts_at", "ends_at", "urgent", "announced_at", "service_count", "recorded_by"]
    list_filter = ["urgent"]
    search_fields = ["title"]
    list_select_related = ["recorded_by"]
    fields = [
        "title",
        "description",
        "starts_at",
        "ends_at",
        "urgent",
        "urgent_reason",
        "announced_at",
        "affected_services",
        "recorded_by",
    ]
    readonly_fields = ["affected_services"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Maintenance]:
        return super().get_queryset(request).annotate(service_total=Count("links"))

    @admin.display(description=_("Services"), ordering="service_total")
    def service_count(self, obj: Maintenance) -> int:
        return getattr(obj, "service_total", 0)

    @admin.display(description=_("Services affected"))
    def affected_services(self, obj: Maintenance) -> str:
        return services_links(obj.services.select_related("organization", "plan").order_by("pk"))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Announce a maintenance window to the contact persons of its Services (SLA-7)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = MaintenanceForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                maintenance = maintenance_schedule(
                    user=cast(User, request.user),
                    title=data["title"],
                    description=data["description"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    urgent=data["urgent"],
                    urgent_reason=data["urgent_reason"],
                    service_ids=[service.pk for service in data["services"]],
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(
                    request, _("Maintenance announced to the contact persons of its Services."), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:sla_maintenance_change", args=[maintenance.pk]))
        return self.page(
            request,
            title=_("Announce a maintenance window"),
            form=form,
            back=reverse("admin:sla_maintenance_changelist"),
            help=_(
                "A planned maintenance is announced at least the schedule's business hours before it starts "
                "(weekends do not count); a shorter notice must be marked urgent with a reason (SLA-7)."
            ),
            submit_label=_("Announce"),
        )


# --- claims (SLA-5, SLA-6) -------------------------------------------------------------------


def local_minute(instant: dt.datetime) -> str:
    """An instant as staff read it: the provider's time (TIME-1), to the minute."""
    return date_format(instant.astimezone(clock.ZURICH), "SHORT_DATETIME_FORMAT")  # 03.12.2026 14:05


class IncidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        end = local_minute(obj.resolved_at) if obj.resolved_at else _("open")
        start = local_minute(obj.started_at)
        return f"#{obj.pk} · {obj.incident_class} · {obj.get_cause_display()} · {start} → {end} · {obj.title}"


class ClaimAcceptForm(forms.Form):
    incident = IncidentChoiceField(label=_("Incident that caused the unavailability"), queryset=Incident.objects.none())

    def __init__(self, *args: Any, claim: Claim, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["incident"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = selectors.incidents_for_service(claim.service)


def refusal_causes() -> list[tuple[str, Any]]:
    """SLA-6: the causes that exclude a penalty, or none (another reason, given in words)."""
    return [("", _("— no excluding cause —"))] + [(c.value, c.label) for c in engine.excluding_causes()]


class ClaimRefuseForm(forms.Form):
    # Not required here: the service refuses an empty reason (SLA-5) and its message is shown.
    reason = forms.CharField(label=_("Reason (posted on the customer's ticket)"), required=False, widget=forms.Textarea)
    cause = forms.ChoiceField(label=_("Excluding cause (SLA-6)"), choices=refusal_causes, required=False)


@admin.register(Claim)
class ClaimAdmin(ActionPagesMixin, StaffAccessAuditMixin, ReadOnlyAdmin):
    """SLA claims come from support tickets (SLA-5): staff analyse them here and accept one, naming the
    incident (`claim_accept`), or refuse it with a reason (`claim_refuse`). Otherwise read only."""

    list_display = [
        "id",
        "organization",
        "service",
        "ticket_link",
        "claimed_start",
        "claimed_end",
        "filed_at",
        "status",
        "incident",
        "decided_at",
    ]
    list_filter = ["status"]
    search_fields = ["organization__name", "ticket__id__exact", "ticket__subject"]
    index_queue_label = _("SLA claims to decide (SLA-5)")

    def index_queue(self, request: HttpRequest) -> tuple[int, str]:
        """Claims under analysis: the staff site's index counts them."""
        return Claim.objects.filter(status=Claim.Status.PENDING).count(), "status__exact=pending"

    list_select_related = ["organization", "service__plan", "service__organization", "ticket", "incident"]
    fields = [
        "organization",
        "service",
        "ticket_link",
        "claimed_start",
        "claimed_end",
        "filed_at",
        "status",
        "incident",
        "refusal_cause",
        "refusal_reason",
        "decided_by",
        "decided_at",
        "penalty_summary",
    ]
    readonly_fields = ["ticket_link", "penalty_summary"]
    change_form_template = "admin/sla/claim/change_form.html"

    @admin.display(description=_("Ticket"))
    def ticket_link(self, obj: Claim) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:support_ticket_change", args=[obj.ticket_id]), obj.ticket
        )

    @admin.display(description=_("SLA penalty"))
    def penalty_summary(self, obj: Claim) -> str:
        penalty = Penalty.objects.filter(claim=obj).first()
        if penalty is None:
            return str(_("none"))
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:sla_penalty_change", args=[penalty.pk]), penalty_text(penalty)
        )

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sla.change_claim")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        claim = self.get_object(request, object_id)
        if claim is not None:
            extra_context = {
                **(extra_context or {}),
                "nearby_incidents": selectors.incidents_matching(claim),
                "can_decide": engine.claim_decidable(claim.status) and self.has_act_permission(request),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list:
        return [
            path("<int:pk>/accept/", self.admin_site.admin_view(self.accept_view), name="sla_claim_accept"),
            path("<int:pk>/refuse/", self.admin_site.admin_view(self.refuse_view), name="sla_claim_refuse"),
            *super().get_urls(),
        ]

    def _claim(self, request: HttpRequest, pk: int) -> Claim:
        if not self.has_act_permission(request):
            raise PermissionDenied
        claim = get_object_or_404(Claim.objects.select_related("organization", "service", "ticket"), pk=pk)
        if request.method == "GET":
            self.record_access(request, claim)  # the page shows the customer's claim (EVD-2)
        return claim

    def accept_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """Accept, naming the incident: the penalty is computed, capped, posted on the ticket (SLA-3/4)."""
        claim = self._claim(request, pk)
        suggested = selectors.suggested_incident(claim)
        form = ClaimAcceptForm(request.POST or None, claim=claim, initial={"incident": suggested})
        if request.method == "POST" and form.is_valid():
            try:
                penalty = claim_accept(
                    claim=claim, incident=form.cleaned_data["incident"], staff_user=request.user, now=clock.now()
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(
                    request, _("Claim accepted: %(penalty)s.") % {"penalty": penalty_text(penalty)}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:sla_claim_change", args=[claim.pk]))
        return self.page(
            request,
            title=_("Accept the SLA claim"),
            form=form,
            back=reverse("admin:sla_claim_change", args=[claim.pk]),
            subject=claim,
            claim=claim,
            nearby_incidents=selectors.incidents_matching(claim),
            help=_("The penalty is computed from the incident as the provider recorded it, and posted on the ticket."),
            submit_label=_("Accept"),
        )

    def refuse_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """Refuse with a reason, and the excluding cause where there is one (SLA-5, SLA-6)."""
        claim = self._claim(request, pk)
        form = ClaimRefuseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                claim_refuse(
                    claim=claim,
                    staff_user=request.user,
                    reason=form.cleaned_data["reason"],
                    cause=form.cleaned_data["cause"],
                    now=clock.now(),
                )
            except RuleViolation as violation:
                show_refusal(form, violation, with_rule=True)
            else:
                self.message_user(request, _("Claim refused; the reason is posted on the ticket."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:sla_claim_change", args=[claim.pk]))
        return self.page(
            request,
            title=_("Refuse the SLA claim"),
            form=form,
            back=reverse("admin:sla_claim_change", args=[claim.pk]),
            subject=claim,
            claim=claim,
            nearby_incidents=selectors.incidents_matching(claim),
            submit_label=_("Refuse"),
        )


# --- penalties (SLA-3, SLA-4) ----------------------------------------------------------------


def penalty_text(penalty: Penalty) -> str:
    """What a penalty came to, for the staff's messages and pages."""
    if penalty.invoice is None:
        return str(_("no invoice covers the period: nothing is owed"))
    text = _("occurrence %(rank)s, %(percent)s%% of invoice %(invoice)s: %(currency)s %(amount)s") % {
        "rank": penalty.occurrence,
        "percent": penalty.percent,
        "invoice": penalty.invoice.display_number,
        "currency": penalty.currency,
        "amount": penalty.amount,
    }
    if penalty.capped:
        text += " " + _("(capped from %(currency)s %(computed)s)") % {
            "currency": penalty.currency,
            "computed": penalty.computed_amount,
        }
    return text


@admin.register(Penalty)
class PenaltyAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """What accepted claims earned, and their credit to the Prepaid Account (read only)."""

    list_display = [
        "claim",
        "organization",
        "invoice",
        "incident_class",
        "occurrence",
        "percent",
        "computed_amount",
        "amount",
        "currency",
        "capped",
        "credited_at",
        "ledger_entry",
    ]
    list_filter = ["incident_class", "capped", "currency"]
    search_fields = ["claim__organization__name"]
    list_select_related = ["claim__organization", "invoice", "ledger_entry"]

    @admin.display(description=_("Organization"))
    def organization(self, obj: Penalty) -> Any:
        return obj.claim.organization

    def organization_of(self, obj: Model) -> Any:
        return obj.claim.organization  # type: ignore[attr-defined]
