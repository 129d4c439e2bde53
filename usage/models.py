"""Jelastic Cloud billed by resource usage (SPEC BIL-10 in detail: USE-1…USE-8, SC 3.1, SC 5.6).

Storage (docs/decisions.md "Usage values"): the platform reports one value per (Service, resource,
hour); a provider with 100,000 Services receives 12 million a day. They are folded into one row per
(Service, resource, Zurich day) with one column per hour of that day (`h00` … `h24`: 23, 24 or 25
hours by the change of time), so a day is 500,000 rows, not 12 million, and a month of a Service is
155 rows. Quantities are integers of millionths of the resource's unit (`MICRO`): exact, compact
and summed without rounding; they become Decimals only at the edges (`usage.engine`).

Beside the values, per (Service, month):
- `UsageMonth`: the row the ingest and the month-end job lock (FOR UPDATE) to serialize their work on
  that Service and month; `closed_at` set when the month is billed (an invoice, or none for a zero or
  trial month): values for a closed month are refused (USE-2, USE-3);
- `UsageTotal`: the month-to-date quantity per resource, moved in the same transaction as the
  values (never "accepted but not counted"), read by the month-to-date pages and the invoice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.money import DECIMAL_PLACES, MAX_DIGITS

# A quantity of 1 unit is stored as 1,000,000 (six decimals, as the rates: USE-1).
MICRO = 1_000_000
# Hours of a Zurich day: 0 … 24 (the day the clocks go back has 25).
HOUR_SLOTS = 25
HOUR_COLUMNS = [f"h{slot:02d}" for slot in range(HOUR_SLOTS)]
RATE_DECIMAL_PLACES = 6


# What customers read for each resource the platform meters (USE-1), in their language.
RESOURCE_LABELS = {
    "reserved-cloudlets": (_("Reserved cloudlets"), _("cloudlet-hours")),
    "dynamic-cloudlets": (_("Dynamic cloudlets"), _("cloudlet-hours")),
    "storage": (_("Storage"), _("GB-hours")),
    "traffic": (_("External traffic"), _("GB")),
    "public-ipv4": (_("Public IPv4 addresses"), _("IPv4-hours")),
}


class Resource(models.Model):
    """A metered resource (USE-1): reserved and dynamic cloudlet-hours, storage GB-hours, external
    traffic GB, public IPv4-hours. Seeded by a data migration; the slug is what the platform sends."""

    slug = models.SlugField(unique=True)
    position = models.PositiveSmallIntegerField(unique=True)  # display and invoice line order
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=30)  # "cloudlet-hour", "GB-hour", "GB", "IPv4-hour"
    # A value above this in one hour is refused as implausible (USE-2: bad values), in units.
    max_per_hour = models.DecimalField(max_digits=18, decimal_places=RATE_DECIMAL_PLACES)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str:
        return str(RESOURCE_LABELS.get(self.slug, (self.name, self.unit))[0])

    @property
    def unit_label(self) -> str:
        return str(RESOURCE_LABELS.get(self.slug, (self.name, self.unit))[1])


class RateCard(models.Model):
    """A usage plan's rates from a date on, in one currency (USE-1, BIL-1): never edited once an
    invoice used it; a new price is a new card with a later `valid_from`."""

    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="rate_cards", db_index=False)
    currency = models.CharField(max_length=3, choices=[("CHF", "CHF"), ("EUR", "EUR")])
    valid_from = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("rate card")
        verbose_name_plural = _("rate cards")
        ordering = ["plan", "currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency", "valid_from"], name="rate_card_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.currency} from {self.valid_from}"


class Rate(models.Model):
    """The price of one unit of a resource, excluding VAT, up to 6 decimals (USE-1)."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="rates", db_index=False)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=18, decimal_places=RATE_DECIMAL_PLACES)

    class Meta:
        ordering = ["rate_card", "resource__position"]
        constraints = [
            models.UniqueConstraint(fields=["rate_card", "resource"], name="rate_once_per_card"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.rate}"


class UsageDay(models.Model):
    """The hourly values of one Service and resource on one Zurich day (USE-2): `h00` is the hour
    that starts at local midnight, counted in real (UTC) hours; NULL = nothing reported."""

    service = models.ForeignKey("subscriptions.Service", on_delete=models.PROTECT, related_name="+", db_index=False)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()  # Zurich date
    locals().update({column: models.BigIntegerField(null=True, blank=True) for column in HOUR_COLUMNS})

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "day", "resource"], name="usage_day_once"),
        ]
        # The metering account (USE-2): a user with this permission and no staff status reports
        # values and reads the limited Services through POST /api/v1/usage/ and …/limits/.
        permissions = [("report_usage", "Can report usage values (metering account)")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.resource_id} {self.day}"


class UsageMonth(models.Model):
    """One Service's usage month (USE-3): the lock the ingest and the month-end job share, and its
    billing. `month` is the first day of the Zurich month."""

    service = models.ForeignKey(
        "subscriptions.Service", on_delete=models.PROTECT, related_name="usage_months", db_index=False
    )
    month = models.DateField()
    closed_at = models.DateTimeField(null=True, blank=True)  # billed: later values are refused (USE-2)
    invoice = models.OneToOneField(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="usage_month"
    )
    rate_card = models.ForeignKey(RateCard, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("usage month")
        verbose_name_plural = _("usage months")
        ordering = ["service", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["service", "month"], name="usage_month_once"),
            models.CheckConstraint(
                condition=Q(invoice__isnull=True) | Q(closed_at__isnull=False), name="invoiced_month_closed"
            ),
        ]
        indexes = [models.Index(fields=["month"], condition=Q(closed_at__isnull=True), name="usage_month_open")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.month:%Y-%m}"


class UsageTotal(models.Model):
    """The month-to-date quantity of one resource of a Service (in millionths of its unit), moved in
    the transaction that accepts the values (USE-7: the figure shown is the figure invoiced)."""

    service = models.ForeignKey("subscriptions.Service", on_delete=models.PROTECT, related_name="+", db_index=False)
    month = models.DateField()
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+", db_index=False)
    quantity = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "month", "resource"], name="usage_total_once"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="usage_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.month:%Y-%m} {self.resource_id}: {self.quantity}"


class Threshold(models.Model):
    """A consumption threshold of a resource per month (USE-5, SC 5.6), set by staff on a plan (the
    default of its Services) or on one Service (which then overrides the plan's)."""

    plan = models.ForeignKey("billing.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        "subscriptions.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=18, decimal_places=RATE_DECIMAL_PLACES)  # in units per month
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("consumption threshold")
        verbose_name_plural = _("consumption thresholds")
        constraints = [
            models.CheckConstraint(
                condition=(Q(plan__isnull=True) & Q(service__isnull=False))
                | (Q(plan__isnull=False) & Q(service__isnull=True)),
                name="threshold_plan_or_service",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="threshold_positive"),
            models.UniqueConstraint(
                fields=["plan", "resource"], condition=Q(service__isnull=True), name="threshold_once_per_plan"
            ),
            models.UniqueConstraint(
                fields=["service", "resource"], condition=Q(plan__isnull=True), name="threshold_once_per_service"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.quantity} ({self.plan or self.service_id})"


class Budget(models.Model):
    """A customer's monthly budget for a usage Service (USE-6): an amount in the Service's currency,
    VAT included; alerts at 50, 80 and 100 %; optionally the Service is limited at 100 %."""

    service = models.OneToOneField("subscriptions.Service", on_delete=models.PROTECT, related_name="usage_budget")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    limit_at_budget = models.BooleanField(default=False)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="budget_positive")]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.amount}"


class Alert(models.Model):
    """A crossing told to the customer, once per Service, month and level (USE-5, USE-6): the
    database refuses a second."""

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", _("consumption threshold")
        BUDGET = "budget", _("budget")

    service = models.ForeignKey("subscriptions.Service", on_delete=models.PROTECT, related_name="+", db_index=False)
    month = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()  # percent: 50, 80, 100
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "month", "kind", "resource", "level"],
                condition=Q(resource__isnull=False),
                name="usage_alert_once_per_resource",
            ),
            models.UniqueConstraint(
                fields=["service", "month", "kind", "level"],
                condition=Q(resource__isnull=True),
                name="usage_alert_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.month:%Y-%m} {self.kind} {self.level}%"


class Limit(models.Model):
    """A usage Service limited (USE-5, USE-6): past its threshold or at its budget, until the month
    ends or staff lift it. The platform reads the open ones through the metering API."""

    class Reason(models.TextChoices):
        THRESHOLD = "threshold", _("consumption threshold reached")
        BUDGET = "budget", _("budget reached")

    service = models.ForeignKey("subscriptions.Service", on_delete=models.PROTECT, related_name="usage_limits")
    month = models.DateField()
    reason = models.CharField(max_length=10, choices=Reason.choices)
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)  # month end, or staff
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("usage limit")
        verbose_name_plural = _("usage limits")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "month", "reason", "resource"],
                condition=Q(resource__isnull=False),
                name="usage_limit_once_per_resource",
            ),
            models.UniqueConstraint(
                fields=["service", "month", "reason"], condition=Q(resource__isnull=True), name="usage_limit_once"
            ),
        ]
        indexes = [models.Index(fields=["service"], condition=Q(lifted_at__isnull=True), name="usage_limit_open")]

    def __str__(self) -> str:
        return f"{self.service_id} limited ({self.reason})"
