from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.money import DECIMAL_PLACES, MAX_DIGITS


class MeansKind(models.TextChoices):
    """SPEC BIL-4. Card and PayPal can be debited automatically; PostCard and bank transfer cannot."""

    CARD = "card", _("credit card")
    PAYPAL = "paypal", _("PayPal")
    POSTCARD = "postcard", _("PostCard")
    BANK_TRANSFER = "bank_transfer", _("bank transfer")


AUTO_DEBIT_KINDS = frozenset({MeansKind.CARD, MeansKind.PAYPAL})


class PaymentMeans(models.Model):
    """A means of payment on file. Never the full card number or a secret: the gateway's token,
    the brand, the last four digits, the expiry and a fingerprint (to spot one card on two accounts)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="means")
    kind = models.CharField(max_length=16, choices=MeansKind.choices)
    is_default = models.BooleanField(default=False)  # the one debited automatically
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    card_fingerprint = models.CharField(max_length=64, blank=True)
    gateway_token = models.CharField(max_length=64, blank=True)
    paypal_email = models.EmailField(blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment means")
        verbose_name_plural = _("payment means")
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True, revoked_at__isnull=True),
                name="one_default_means",
            ),
        ]
        indexes = [models.Index(fields=["card_fingerprint"])]

    def __str__(self) -> str:
        if self.kind == MeansKind.CARD:
            return f"{self.card_brand} •••• {self.card_last4} ({self.card_exp_month:02d}/{self.card_exp_year})"
        return self.get_kind_display()


class MeansRestriction(models.Model):
    """Staff forbid a kind of means to one Organization (BIL-4)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=MeansKind.choices)
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("means restriction")
        verbose_name_plural = _("means restrictions")
        constraints = [models.UniqueConstraint(fields=["organization", "kind"], name="restriction_once")]

    def __str__(self) -> str:
        return f"{self.organization}: no {self.kind}"


class Payment(models.Model):
    """Money received (or attempted) for an invoice or a top-up, by one means."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", pgettext_lazy("payment status", "failed")
        UNKNOWN = "unknown", _("outcome unknown")
        PENDING = "pending", _("pending")  # a bank transfer announced, not yet received
        # A card charge recorded and sent; its answer not yet booked (the charge holds no lock, REN-8).
        PROCESSING = "processing", _("being processed")

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    means = models.ForeignKey(PaymentMeans, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        max_length=16,
        choices=[*MeansKind.choices, ("prepaid", _("Prepaid Account")), ("credits", _("Service credits"))],  # BIL-9
    )
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)  # unique: see Meta
    failure_reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100, blank=True)  # bank transfer reference
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
            models.UniqueConstraint(fields=["idempotency_key"], name="payment_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount} {self.kind} ({self.status})"
