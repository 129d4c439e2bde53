from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from billing.money import DECIMAL_PLACES, MAX_DIGITS


class Period(models.TextChoices):
    """SPEC BIL-2: the billing period the customer chooses at order."""

    MONTHLY = "monthly", _("monthly")
    QUARTERLY = "quarterly", _("quarterly")
    ANNUAL = "annual", _("annual")


class ServiceType(models.Model):
    """A kind of Service, with the flags the contract rules need (seeded by a data migration)."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    money_back_eligible = models.BooleanField(default=False)  # MB-1
    warranty_eligible = models.BooleanField(default=False)  # RW-1
    warranty_surcharge_exempt = models.BooleanField(default=False)  # RW-2 (Domain names)
    always_swiss_vat = models.BooleanField(default=False)  # BIL-7 (Housing: no outsourcing)
    trial_days = models.PositiveSmallIntegerField(null=True, blank=True)  # REN-7; None: no trial
    grace_days = models.PositiveSmallIntegerField(default=14)  # REN-4: suspended -> terminated
    special_conditions = models.ForeignKey(
        "accounts.ContractDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="service_types"
    )

    class Meta:
        verbose_name = _("service type")
        verbose_name_plural = _("service types")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="plans", db_index=False)
    name = models.CharField(max_length=100)
    period = models.CharField(max_length=10, choices=Period.choices)
    is_active = models.BooleanField(default=True)
    # BIL-2, BIL-10, USE-1: billed each calendar month by resource usage at its rate card (usage.RateCard); no term,
    # no expiry date, no Price rows. `period` is then monthly: the billing period.
    usage_based = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["service_type", "name", "period"]
        constraints = [models.UniqueConstraint(fields=["service_type", "name", "period"], name="plan_unique")]

    def __str__(self) -> str:
        # Kept per language on the instance: a batch of the daily run names the same plan in
        # hundreds of notices (subscriptions.services.renewals shares one instance per plan).
        language = get_language()
        labels = self.__dict__.setdefault("_labels", {})
        if language not in labels:
            labels[language] = f"{self.service_type} · {self.name} ({self.get_period_display()})"
        return labels[language]


class Price(models.Model):
    """A plan's price from a date on (BIL-1): excluding VAT, in one currency. Never edited: a new
    price is a new row with a later `valid_from`."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="prices", db_index=False)
    currency = models.CharField(max_length=3, choices=[("CHF", "CHF"), ("EUR", "EUR")])
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)  # excluding VAT
    valid_from = models.DateField()
    promotional = models.BooleanField(default=False)  # RW-2: no warranty surcharge on promotions

    class Meta:
        ordering = ["plan", "currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency", "valid_from"], name="price_once_per_day"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.currency} {self.amount} from {self.valid_from}"


class AddOn(models.Model):
    """An option billed every billing cycle of its Service while active (BIL-8)."""

    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="add_ons", db_index=False)
    slug = models.SlugField()
    name = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("add-on")
        verbose_name_plural = _("add-ons")
        constraints = [models.UniqueConstraint(fields=["service_type", "slug"], name="addon_unique")]

    def __str__(self) -> str:
        return self.name


class AddOnPrice(models.Model):
    add_on = models.ForeignKey(AddOn, on_delete=models.PROTECT, related_name="prices", db_index=False)
    currency = models.CharField(max_length=3, choices=[("CHF", "CHF"), ("EUR", "EUR")])
    amount_per_cycle = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)  # excl. VAT
    activation_fee = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    valid_from = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["add_on", "currency", "valid_from"], name="addon_price_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.add_on}: {self.currency} {self.amount_per_cycle}"


class VatRate(models.Model):
    """A country's standard VAT rate from a date on (BIL-7), in percent."""

    country = CountryField()
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    valid_from = models.DateField()

    class Meta:
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        ordering = ["country", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["country", "valid_from"], name="vat_rate_once_per_day"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="vat_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.rate}% from {self.valid_from}"
