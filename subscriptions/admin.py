"""Staff admin of Services: their lifecycle actions, debit attempts, money-back refunds and trial
flags (REN-7). Read-only but for the audited actions."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedHttpRequest
from audit.admin_mixins import StaffAccessAuditMixin
from core import clock
from core.admin import ReadOnlyAdmin, reason_action, run_each
from core.errors import RuleViolation
from subscriptions.models import (
    MoneyBackCardRefund,
    MoneyBackRefund,
    RenewalAttempt,
    Service,
    ServiceAddOn,
    ServiceCreditEntry,
    TrialFlag,
)
from subscriptions.services.renewals import debit_attempts_run
from subscriptions.services.staff import staff_reactivate, staff_set_warranty, staff_suspend


class RenewalAttemptInline(admin.TabularInline):
    model = RenewalAttempt
    extra = 0
    can_delete = False
    ordering = ["-day", "-pk"]
    fields = (
        "day",
        "term",
        "outcome",
        "amount",
        "prepaid_amount",
        "card_amount",
        "reason",
        "invoice",
        "forced_by",
        "flagged_at",
    )
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ServiceAddOnInline(_ReadOnlyInline):
    """BIL-8: the add-ons the customer switched on and off."""

    model = ServiceAddOn
    ordering = ["-activated_at", "-pk"]
    fields = readonly_fields = ("add_on", "activated_at", "deactivated_at")
    verbose_name_plural = _("Add-ons (BIL-8)")


class ServiceCreditEntryInline(_ReadOnlyInline):
    """BIL-9: the Service's credit ledger, append-only."""

    model = ServiceCreditEntry
    ordering = ["-pk"]
    fields = readonly_fields = ("created_at", "kind", "amount", "balance_after", "invoice", "payment")
    verbose_name_plural = _("Credits (BIL-9)")


def _force_retry(modeladmin: admin.ModelAdmin, request: AuthenticatedHttpRequest, service: Service) -> None:
    """A staff-forced debit attempt (REN-2), today, through the daily run's own code: only a Service
    the run itself would attempt (automatic renewal on, inside its attempt window)."""
    now = clock.now()
    made = debit_attempts_run([service.pk], day=clock.business_date(now), now=now, forced_by=request.user)
    if not made:
        raise RuleViolation(
            _(
                "Not due for a debit attempt: automatic renewal must be on and the due date at most %(days)s days "
                "away, not past."
            )
            % {"days": settings.RENEWAL_FIRST_ATTEMPT_DAYS},
            rule="REN-2",
        )
    attempt = RenewalAttempt.objects.filter(service=service, forced_by=request.user).order_by("-pk").first()
    if attempt is not None:
        modeladmin.message_user(
            request,
            _("%(service)s: debit attempt %(outcome)s.")
            % {"service": service, "outcome": attempt.get_outcome_display()},
            messages.SUCCESS if attempt.outcome == RenewalAttempt.Outcome.SUCCEEDED else messages.WARNING,
        )


@admin.register(Service)
class ServiceAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Services change only through the lifecycle services: staff force a debit attempt, suspend
    or reactivate with a reason (TCU 13.1), each audited."""

    list_display = [
        "id",
        "organization",
        "plan",
        "status",
        "expires_on",
        "trial_ends_on",
        "auto_renew",
        "renewal_warranty",
        "terminates_on",
    ]
    list_filter = ["status", "plan__service_type", "auto_renew", "renewal_warranty"]
    search_fields = ["organization__name"]
    list_select_related = ["organization", "plan__service_type"]
    fieldsets = [
        (None, {"fields": ["organization", "plan", "currency", "status", "created_at", "activated_at"]}),
        (
            _("Term"),
            {"fields": ["anchor_date", "term", "expires_on", "trial_ends_on", "auto_renew", "renewal_declined_at"]},
        ),
        (_("Renewal Warranty"), {"fields": ["renewal_warranty", "warranty_until", "warranty_invoice"]}),
        (_("Credits (BIL-9)"), {"fields": ["credit_balance"]}),
        (
            _("Suspension and termination"),
            {
                "fields": [
                    "suspended_at",
                    "suspension_reason",
                    "terminates_on",
                    "terminated_at",
                    "termination_reason",
                    "data_deleted_at",
                ]
            },
        ),
    ]
    inlines = [RenewalAttemptInline, ServiceAddOnInline, ServiceCreditEntryInline]
    actions = ["force_retry", "suspend", "reactivate", "warranty_on", "warranty_off"]

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.change_service")

    @admin.action(description=_("Force a debit attempt now (REN-2)"), permissions=["act"])
    def force_retry(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Service]) -> None:
        run_each(self, request, queryset, lambda service: _force_retry(self, request, service))

    @admin.action(description=_("Suspend, with a reason (TCU 13.1)"), permissions=["act"])
    def suspend(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Service]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Suspend Services"),
            apply=lambda service, reason: staff_suspend(
                service=service, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )

    def _set_warranty(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Service], enabled: bool) -> Any:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Switch the Renewal Warranty on") if enabled else _("Switch the Renewal Warranty off"),
            apply=lambda service, reason: staff_set_warranty(
                service=service, staff_user=request.user, enabled=enabled, reason=reason, now=clock.now()
            ),
        )

    @admin.action(description=_("Renewal Warranty on, with a reason (RW-6)"), permissions=["act"])
    def warranty_on(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Service]) -> HttpResponse | None:
        return self._set_warranty(request, queryset, True)

    @admin.action(description=_("Renewal Warranty off, with a reason (RW-6)"), permissions=["act"])
    def warranty_off(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Service]) -> HttpResponse | None:
        return self._set_warranty(request, queryset, False)

    @admin.action(description=_("Reactivate, with a reason (TCU 13.1)"), permissions=["act"])
    def reactivate(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Service]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Reactivate Services"),
            apply=lambda service, reason: staff_reactivate(
                service=service, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )


class FlaggedFilter(admin.SimpleListFilter):
    """REN-8: attempts whose outcome stayed unknown for over a day, flagged by the daily run."""

    title = _("flagged to staff")
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("flagged")), ("no", _("not flagged"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(flagged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(flagged_at__isnull=True)
        return queryset


@admin.register(RenewalAttempt)
class RenewalAttemptAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Debit attempts (REN-1, REN-2, REN-8, PRE-5): written once by the daily run or a forced retry."""

    list_display = [
        "day",
        "service",
        "organization",
        "term",
        "outcome",
        "amount",
        "prepaid_amount",
        "card_amount",
        "forced_by",
        "flagged_at",
    ]
    list_filter = ["outcome", FlaggedFilter, "day"]
    date_hierarchy = "day"
    search_fields = ["service__organization__name"]
    list_select_related = ["service__organization", "service__plan__service_type", "forced_by"]
    exclude = ["idempotency_key"]
    index_queue_label = _("Renewal debits of unknown outcome (REN-8)")

    def index_queue(self, request: HttpRequest) -> tuple[int, str]:
        """Debit attempts whose card outcome is unknown: the staff site's index counts them."""
        return (
            RenewalAttempt.objects.filter(outcome=RenewalAttempt.Outcome.UNKNOWN).count(),
            "outcome__exact=unknown",
        )

    @admin.display(description=_("Organization"))
    def organization(self, obj: RenewalAttempt) -> Any:
        return obj.service.organization

    def organization_of(self, obj: Model) -> Any:
        return obj.service.organization  # type: ignore[attr-defined]


class MoneyBackCardRefundInline(admin.TabularInline):
    """The card payments each refund gives back, and the answer of the payment provider (MB-3); one
    flagged was left being sent by a stopped request: check it with the provider."""

    model = MoneyBackCardRefund
    extra = 0
    can_delete = False
    fields = readonly_fields = ("payment", "amount", "outcome", "reason", "settled_at", "flagged_at")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(MoneyBackRefund)
class MoneyBackRefundAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Money-back cancellations (MB-1…MB-3): read only."""

    inlines = [MoneyBackCardRefundInline]

    list_display = [
        "created_at",
        "service",
        "organization",
        "amount",
        "currency",
        "destination",
        "card_amount",
        "prepaid_amount",
        "requested_by",
    ]
    list_filter = ["destination", "currency"]
    search_fields = ["service__organization__name"]
    list_select_related = ["service__organization", "service__plan__service_type", "requested_by"]

    @admin.display(description=_("Organization"))
    def organization(self, obj: MoneyBackRefund) -> Any:
        return obj.service.organization

    def organization_of(self, obj: Model) -> Any:
        return obj.service.organization  # type: ignore[attr-defined]


@admin.register(TrialFlag)
class TrialFlagAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Trials refused because they matched another Organization (REN-7), for review."""

    list_display = ["created_at", "organization", "service_type", "matched_organization", "matched_on"]
    list_select_related = ["organization", "service_type", "matched_organization"]
