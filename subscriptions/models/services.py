from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.money import DECIMAL_PLACES, MAX_DIGITS


class Service(models.Model):
    """A customer's subscription to a plan.

    Status transitions (the only ones the services allow):
      awaiting_payment -> active (order invoice paid, BIL-3) | terminated (order abandoned)
      trial -> active (converted) | suspended (trial lapsed unpaid, REN-6) | terminated
      active -> suspended (unpaid at E, REN-3) | terminated
      suspended -> active (paid) | trial (staff lift a trial's suspension) | terminated (REN-4)
    The current term ends on `expires_on` (E), always anchor + term periods (TIME-3).
    """

    class SuspensionReason(models.TextChoices):
        UNPAID = "unpaid", _("renewal unpaid")  # REN-3
        TRIAL_LAPSED = "trial_lapsed", _("trial ended unpaid")  # REN-6
        WARRANTY_UNPAID = "warranty_unpaid", _("Renewal Warranty invoice unpaid")  # RW-3
        STAFF = "staff", _("suspended by our staff")  # TCU 13.1

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("awaiting payment")
        TRIAL = "trial", _("trial")
        ACTIVE = "active", pgettext_lazy("service status", "active")
        SUSPENDED = "suspended", _("suspended")
        TERMINATED = "terminated", pgettext_lazy("service status", "terminated")

    TRANSITIONS = {
        Status.AWAITING_PAYMENT: {Status.ACTIVE, Status.TERMINATED},
        Status.TRIAL: {Status.ACTIVE, Status.SUSPENDED, Status.TERMINATED},
        Status.ACTIVE: {Status.SUSPENDED, Status.TERMINATED},
        Status.SUSPENDED: {Status.ACTIVE, Status.TRIAL, Status.TERMINATED},
        Status.TERMINATED: set(),
    }

    # Indexed by the (organization, status) index below, not by one of its own.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="services", db_index=False
    )
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="services")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices)
    anchor_date = models.DateField(null=True, blank=True)  # first day of the first paid term
    term = models.PositiveIntegerField(default=0)  # paid terms so far
    expires_on = models.DateField(null=True, blank=True)  # E: first day not paid for
    trial_ends_on = models.DateField(null=True, blank=True)  # T
    auto_renew = models.BooleanField(default=True)  # BIL-12
    # BIL-12, REN-6: the customer switched automatic renewal off themselves (a default means added
    # later turns a trial's automatic renewal on only when they did not)
    auto_renew_off_by_customer = models.BooleanField(default=False)
    renewal_warranty = models.BooleanField(default=False)  # RW-*
    activated_at = models.DateTimeField(null=True, blank=True)  # the activation e-mail's time (MB-2)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=20, blank=True)  # SuspensionReason
    terminates_on = models.DateField(null=True, blank=True)  # REN-4 / RW-3: terminated on this day if unpaid
    warranty_until = models.DateField(null=True, blank=True)  # RW-3: works unpaid until this day (exclusive)
    warranty_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # RW-3: the renewal the provider made under the warranty, while it is unpaid
    renewal_declined_at = models.DateTimeField(null=True, blank=True)  # "do not renew": ends at E
    terminated_at = models.DateTimeField(null=True, blank=True)
    termination_reason = models.TextField(blank=True)
    data_deleted_at = models.DateTimeField(null=True, blank=True)  # SC 8.3: deleted at termination
    # USE-1: the plan is usage-based (copied at order): no term and no expiry date; billed monthly
    # by the usage app, collected by the same debit attempts as renewals (USE-4).
    usage_based = models.BooleanField(default=False)
    # BIL-9: credits bought for this Service, in its currency (VAT included: they pay invoice totals);
    # the sum of its append-only ServiceCreditEntry rows, kept here so that the Service's lock is
    # the balance's lock and the database refuses a negative balance.
    credit_balance = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("Service")
        verbose_name_plural = _("Services")
        db_table = "billing_service"  # the table it had in billing: moved without moving data
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_on"]),
            models.Index(fields=["status", "trial_ends_on"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["status", "terminates_on"]),
            models.Index(fields=["status", "warranty_until"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="trial") | Q(trial_ends_on__isnull=False), name="trial_has_an_end"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["active", "suspended"])
                | Q(trial_ends_on__isnull=False)
                | Q(usage_based=True)
                | (Q(anchor_date__isnull=False) & Q(expires_on__isnull=False)),
                name="paid_service_has_a_term",
            ),
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="service_credit_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.organization} ({self.get_status_display()})"

    def can_become(self, status: str) -> bool:
        """Whether the state machine above allows going from the current status to `status`."""
        return status in self.TRANSITIONS[self.Status(self.status)]


class ServiceAddOn(models.Model):
    """An option active on a Service (BIL-8); billed each cycle while `deactivated_at` is empty."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="add_ons")
    add_on = models.ForeignKey("billing.AddOn", on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "billing_serviceaddon"  # the table it had in billing: moved without moving data
        constraints = [
            models.UniqueConstraint(
                fields=["service", "add_on"], condition=Q(deactivated_at__isnull=True), name="addon_active_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.add_on} on {self.service}"


class TrialFlag(models.Model):
    """A refused trial that looks like circumvention (REN-7), for staff to review."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    service_type = models.ForeignKey("billing.ServiceType", on_delete=models.PROTECT, related_name="+")
    matched_organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    matched_on = models.CharField(max_length=20)  # "contact e-mail", "mobile", "card"
    created_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("trial flag")
        verbose_name_plural = _("trial flags")
        db_table = "billing_trialflag"  # the table it had in billing: moved without moving data

    def __str__(self) -> str:
        return f"{self.organization} ~ {self.matched_organization} ({self.matched_on})"


class MembershipServiceScope(models.Model):
    """ORG-6: a membership limited to some Services. A membership with no scope row manages every
    Service of its Organization; with rows, only those (and it sees only those)."""

    membership = models.ForeignKey(
        "accounts.Membership", on_delete=models.CASCADE, related_name="service_scopes", db_index=False
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="scopes")

    class Meta:
        db_table = "billing_membershipservicescope"  # the table it had in billing: moved without moving data
        constraints = [models.UniqueConstraint(fields=["membership", "service"], name="service_scope_once")]

    def __str__(self) -> str:
        return f"{self.membership} → {self.service}"
