"""The SLA of a Service (SPEC SLA-1…SLA-9, SC Art. 10): incidents, maintenance windows, the versioned
penalty schedule, claims and the penalties they earn.

Every figure the provider may change (allowances, percentages, the cap, the commitment, the claim
deadline, the notice of maintenance) is a row of `PenaltySchedule` and its children, seeded from
SC 10.1.3 / 10.1.4 by the data migration and dated by `valid_from`, never a literal in code.
Changes of state go through `sla.services`, which lock what they change and write the evidence.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.money import DECIMAL_PLACES, MAX_DIGITS


class IncidentClass(models.TextChoices):
    """SLA-2 (SC 10.1.3). A2 is not a class of incident: it is the per-minute penalty of a class-A
    incident beyond its allowance (`PenaltySchedule.a2_percent_per_minute`)."""

    A = "A", _("A · service unavailable")
    B = "B", _("B · network slowdown")
    C = "C", _("C · security problem")
    D = "D", _("D · update problem")
    E = "E", _("E · failure of one of your virtual servers")


class Cause(models.TextChoices):
    """SLA-6 (SC 10.1.4, 10.1.5, 10.5): only a failure of the provider earns a penalty."""

    PROVIDER = "provider", _("failure of the provider")
    BEYOND_CONTROL = "beyond_control", _("beyond the provider's control")
    CUSTOMER_MISUSE = "customer_misuse", _("inappropriate use by the customer")
    PLANNED_MAINTENANCE = "planned_maintenance", _("planned maintenance")
    TCU_BLOCK = "tcu_block", _("block applied under the Terms and Conditions of Use")
    FORCE_MAJEURE = "force_majeure", _("force majeure")


# SLA-6: the causes that earn a penalty (every other one excludes it).
PENALTY_CAUSES = frozenset({Cause.PROVIDER})


class PenaltySchedule(models.Model):
    """One dated version of the SLA figures (SC 10.1); the version in force on an incident's start
    date applies to it. Seeded with the revision of SC 10 the portal was built on."""

    valid_from = models.DateField(_("valid from"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    commitment_percent = models.DecimalField(_("availability commitment (%)"), max_digits=6, decimal_places=3)
    monthly_limit_minutes = models.PositiveIntegerField(_("monthly unavailability limit (minutes)"))
    a2_percent_per_minute = models.DecimalField(
        _("A2: percent per further minute of class A"), max_digits=5, decimal_places=2
    )
    cap_percent = models.DecimalField(_("cap on one invoice (%)"), max_digits=5, decimal_places=2)
    claim_deadline_months = models.PositiveSmallIntegerField(_("claim deadline (calendar months)"))
    maintenance_notice_business_hours = models.PositiveSmallIntegerField(_("maintenance notice (business hours)"))
    force_majeure_days = models.PositiveSmallIntegerField(_("days of force majeure before either party may end"))
    a_may_end_contract_from = models.PositiveSmallIntegerField(
        _("class-A occurrence from which the customer may end the contract")
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("penalty schedule")
        verbose_name_plural = _("penalty schedules")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(cap_percent__gt=0) & Q(cap_percent__lte=100), name="sla_cap_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.valid_from.isoformat()})"


class ClassAllowance(models.Model):
    """SLA-2: the longest interruption a class allows per failure; beyond it, an occurrence."""

    schedule = models.ForeignKey(PenaltySchedule, on_delete=models.CASCADE, related_name="allowances", db_index=False)
    incident_class = models.CharField(_("class"), max_length=1, choices=IncidentClass.choices)
    minutes = models.PositiveIntegerField(_("allowance (minutes)"))

    class Meta:
        verbose_name = _("class allowance")
        verbose_name_plural = _("class allowances")
        constraints = [
            models.UniqueConstraint(fields=["schedule", "incident_class"], name="sla_allowance_once_per_class"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_class}: {self.minutes} min"


class PenaltyStep(models.Model):
    """SLA-3: the percentage an occurrence earns by its rank in the calendar year, per group of
    classes (A alone; B to E counted together). An occurrence earns the step with the highest
    `from_occurrence` not above its rank; below the first step it earns nothing."""

    class Group(models.TextChoices):
        A = "A", _("class A")
        B_TO_E = "B-E", _("classes B to E, counted together")

    schedule = models.ForeignKey(PenaltySchedule, on_delete=models.CASCADE, related_name="steps", db_index=False)
    group = models.CharField(_("classes"), max_length=3, choices=Group.choices)
    from_occurrence = models.PositiveSmallIntegerField(_("from the occurrence"))
    percent = models.DecimalField(_("percent of the invoice"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("penalty step")
        verbose_name_plural = _("penalty steps")
        ordering = ["group", "from_occurrence"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "group", "from_occurrence"], name="sla_step_once"),
            models.CheckConstraint(condition=Q(from_occurrence__gte=1), name="sla_step_from_first"),
        ]

    def __str__(self) -> str:
        return f"{self.group} #{self.from_occurrence}+: {self.percent}%"


class Incident(models.Model):
    """A failure recorded by staff or by the monitoring system (SLA-2, SLA-8). Open until the
    provider marks it resolved; one incident may affect many Services (a whole region)."""

    external_id = models.CharField(_("monitoring id"), max_length=100, null=True, blank=True, unique=True)
    incident_class = models.CharField(_("class"), max_length=1, choices=IncidentClass.choices)
    cause = models.CharField(_("cause"), max_length=24, choices=Cause.choices, default=Cause.PROVIDER)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("public description"), blank=True)
    started_at = models.DateTimeField(_("started at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    services: "models.ManyToManyField[Any, Any]" = models.ManyToManyField(
        "subscriptions.Service", through="IncidentService", related_name="incidents", verbose_name=_("services")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    # SLA-8: when the contact persons were told of the failure, and of its resolution.
    detected_notified_at = models.DateTimeField(_("detection told at"), null=True, blank=True)
    resolved_notified_at = models.DateTimeField(_("resolution told at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["started_at"]), models.Index(fields=["resolved_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gt=models.F("started_at")),
                name="incident_resolved_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.incident_class} {self.title}"


class IncidentService(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="links", db_index=False)
    service = models.ForeignKey(
        "subscriptions.Service", on_delete=models.PROTECT, related_name="incident_links", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "service"], name="incident_service_once")]
        indexes = [models.Index(fields=["service", "incident"])]

    def __str__(self) -> str:
        return f"incident {self.incident_id} → service {self.service_id}"


class Maintenance(models.Model):
    """A maintenance window (SLA-7): announced to the affected Services' contact persons; planned with
    the schedule's notice in business hours, or marked urgent with a reason. Unavailability during
    it earns no penalty."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("public description"), blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    urgent = models.BooleanField(_("urgent"), default=False)
    urgent_reason = models.TextField(_("reason of the urgency"), blank=True)
    announced_at = models.DateTimeField(_("announced at"))
    services: "models.ManyToManyField[Any, Any]" = models.ManyToManyField(
        "subscriptions.Service", through="MaintenanceService", related_name="maintenances", verbose_name=_("services")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    notified_at = models.DateTimeField(_("announced to the contact persons at"), null=True, blank=True)

    class Meta:
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"),
            models.CheckConstraint(condition=Q(urgent=False) | ~Q(urgent_reason=""), name="maintenance_urgent_reason"),
        ]

    def __str__(self) -> str:
        return self.title


class MaintenanceService(models.Model):
    maintenance = models.ForeignKey(Maintenance, on_delete=models.PROTECT, related_name="links", db_index=False)
    service = models.ForeignKey(
        "subscriptions.Service", on_delete=models.PROTECT, related_name="maintenance_links", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["maintenance", "service"], name="maintenance_service_once")]
        indexes = [models.Index(fields=["service", "maintenance"])]

    def __str__(self) -> str:
        return f"maintenance {self.maintenance_id} → service {self.service_id}"


class Claim(models.Model):
    """An SLA claim (SLA-5), filed through a support ticket of kind "SLA claim"; staff accept it,
    linking the incident, or refuse it with a reason."""

    class Status(models.TextChoices):
        PENDING = "pending", _("under analysis")
        ACCEPTED = "accepted", _("accepted")
        REFUSED = "refused", _("refused")

    ticket = models.OneToOneField("support.Ticket", on_delete=models.PROTECT, related_name="sla_claim")
    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="sla_claims")
    service = models.ForeignKey(
        "subscriptions.Service", on_delete=models.PROTECT, related_name="sla_claims", db_index=False
    )
    claimed_start = models.DateTimeField(_("unavailable from"))
    claimed_end = models.DateTimeField(_("unavailable until"))
    filed_at = models.DateTimeField(_("filed at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="claims", verbose_name=_("incident")
    )
    refusal_cause = models.CharField(_("cause"), max_length=24, choices=Cause.choices, blank=True)
    refusal_reason = models.TextField(_("reason of the refusal"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA claim")
        verbose_name_plural = _("SLA claims")
        ordering = ["-filed_at", "-id"]
        indexes = [models.Index(fields=["status", "filed_at"]), models.Index(fields=["service", "-filed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(claimed_start__lt=models.F("claimed_end")), name="claim_start_before_end"
            ),
            # One accepted claim per Service and incident: the penalty is earned once (SLA-4).
            models.UniqueConstraint(
                fields=["service", "incident"], condition=Q(status="accepted"), name="claim_accepted_once_per_incident"
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(incident__isnull=False), name="claim_accepted_names_incident"
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""), name="claim_refused_with_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"SLA claim #{self.pk}"

    @property
    def reference(self) -> str:
        """Named by the ledger entry that credits its penalty (PRE-1)."""
        return f"sla-claim:{self.pk}"


class Penalty(models.Model):
    """What an accepted claim earns (SLA-3, SLA-4): computed at acceptance on the invoice covering the
    incident's start, capped with the other penalties on that invoice, then credited to the Prepaid
    Account exactly once (the one-to-one ledger entry; LedgerEntry's own constraint backs it)."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="penalty")
    schedule = models.ForeignKey(PenaltySchedule, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="sla_penalties"
    )
    incident_class = models.CharField(_("class"), max_length=1, choices=IncidentClass.choices)
    # SLA-2: exact, to the microsecond recorded (5 min 0.5 s is an occurrence of class A).
    counted_seconds = models.DecimalField(_("counted unavailability (seconds)"), max_digits=16, decimal_places=6)
    occurrence = models.PositiveSmallIntegerField(_("occurrence in the year"), null=True, blank=True)
    step_percent = models.DecimalField(_("percent for the occurrence"), max_digits=5, decimal_places=2)
    a2_minutes = models.PositiveIntegerField(_("A2 minutes"), default=0)
    # Before the cap: a long class-A failure earns 1 % per further minute, far beyond 100 %.
    percent = models.DecimalField(_("percent of the invoice"), max_digits=12, decimal_places=2)
    base_amount = models.DecimalField(_("invoice amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    computed_amount = models.DecimalField(
        _("amount before the cap"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES
    )
    amount = models.DecimalField(_("amount credited"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(_("currency"), max_length=3)
    capped = models.BooleanField(_("capped"), default=False)
    ledger_entry = models.OneToOneField(
        "billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="sla_penalty"
    )
    credited_at = models.DateTimeField(_("credited at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("SLA penalty")
        verbose_name_plural = _("SLA penalties")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(credited_at__isnull=True), name="sla_penalty_to_credit"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="sla_penalty_not_negative"),
            models.CheckConstraint(
                condition=Q(amount__lte=models.F("computed_amount")), name="sla_penalty_cap_only_lowers"
            ),
            models.CheckConstraint(
                condition=Q(credited_at__isnull=True) | Q(ledger_entry__isnull=False) | Q(amount=Decimal("0")),
                name="sla_penalty_credited_names_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount} ({self.claim})"
