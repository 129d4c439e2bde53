from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.money import DECIMAL_PLACES, MAX_DIGITS


class RenewalAttempt(models.Model):
    """One debit attempt of a Service's next term on one day (REN-1, REN-2, REN-6, PRE-5).

    The daily run makes at most one attempt per Service, term and day: the database refuses a
    second (REN-8), whatever the number of workers or reruns. Staff may force further attempts
    (`forced_by`), each its own row and idempotency key.
    """

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("paid")
        DECLINED = "declined", _("declined")
        NO_MEANS = "no_means", _("no valid means of payment")
        UNKNOWN = "unknown", _("outcome unknown (being checked with the payment provider)")
        AWAITING_LOOKUP = "awaiting_lookup", _("not attempted: an earlier charge is still being checked")
        RECONCILED = "reconciled", _("paid (an earlier charge was confirmed)")
        # Recorded, its card part not yet answered: the charge runs outside any transaction (REN-8).
        CHARGING = "charging", _("being charged")
        # Recorded on an earlier day by a run that stopped before the charge reached the gateway.
        INTERRUPTED = "interrupted", _("not charged: the run was interrupted")

    # Indexed by the (service, term) index below, not by one of its own.
    service = models.ForeignKey(
        "subscriptions.Service", on_delete=models.PROTECT, related_name="renewal_attempts", db_index=False
    )
    term = models.PositiveIntegerField()  # the term being paid for
    day = models.DateField()  # the business date of the attempt
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey("billing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    means = models.ForeignKey("billing.PaymentMeans", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    prepaid_amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    card_amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    idempotency_key = models.CharField(max_length=128, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    forced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    flagged_at = models.DateTimeField(null=True, blank=True)  # unknown for over a day: shown to staff
    settled_at = models.DateTimeField(null=True, blank=True)  # an unknown outcome looked up and booked
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("renewal attempt")
        verbose_name_plural = _("renewal attempts")
        db_table = "billing_renewalattempt"  # the table it had in billing: moved without moving data
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "term", "day"],
                condition=Q(forced_by__isnull=True),
                name="one_daily_attempt_per_service_term_day",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome"], condition=Q(outcome="unknown"), name="attempt_unknown_idx"),
            models.Index(fields=["outcome"], condition=Q(outcome="charging"), name="attempt_charging_idx"),
            models.Index(fields=["service", "term"]),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} term {self.term} on {self.day}: {self.outcome}"


class MoneyBackRefund(models.Model):
    """A money-back cancellation (MB-1…MB-3): one per Service, backed by the database."""

    class Destination(models.TextChoices):
        CARD = "card", _("refunded to the card used")
        PREPAID = "prepaid", _("credited to the Prepaid Account")

    service = models.OneToOneField("subscriptions.Service", on_delete=models.PROTECT, related_name="money_back")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    destination = models.CharField(max_length=10, choices=Destination.choices)
    card_amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    prepaid_amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("money-back refund")
        verbose_name_plural = _("money-back refunds")
        db_table = "billing_moneybackrefund"  # the table it had in billing: moved without moving data
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="money_back_positive")]

    def __str__(self) -> str:
        return f"money-back {self.amount} {self.currency} for service {self.service_id}"


class MoneyBackCardRefund(models.Model):
    """One card payment given back by a money-back refund (MB-3), recorded SENDING before the gateway
    is asked (with no lock held) and settled after. The gateway's refund call carries no key of its
    own, so one left SENDING by a stopped request is never sent again: it is flagged to staff, who
    check it with the payment provider."""

    class Outcome(models.TextChoices):
        SENDING = "sending", _("being sent to the payment provider")
        REFUNDED = "refunded", _("refunded to the card")
        REFUSED = "refused", _("refused by the payment provider: credited to the Prepaid Account")

    refund = models.ForeignKey(MoneyBackRefund, on_delete=models.PROTECT, related_name="card_refunds", db_index=False)
    payment = models.ForeignKey("billing.Payment", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)  # left SENDING for over a day: shown to staff

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["refund", "payment"], name="money_back_card_refund_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="money_back_card_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} back to payment {self.payment_id}: {self.outcome}"
