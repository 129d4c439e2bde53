from django.db import models

# As billing.money.MAX_DIGITS and DECIMAL_PLACES (not imported: this dev-only app depends on no other).
MAX_DIGITS = 12
DECIMAL_PLACES = 2


class GatewayCharge(models.Model):
    """The sandbox gateway's own record of a charge (its "bank side"), so that `lookup` works across
    processes and restarts and one idempotency key never charges twice (REN-8). The table keeps the
    name it had when the model lived in billing (no data moved)."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "succeeded"
        DECLINED = "declined", "declined"
        PENDING = "pending", "pending"  # the timeout card: settles on the first lookup
        REFUNDED = "refunded", "refunded"

    idempotency_key = models.CharField(max_length=128)  # unique: by the constraint below
    token = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    decline_reason = models.CharField(max_length=64, blank=True)
    refunded_amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "billing_gatewaycharge"
        # Constraints rather than unique=True (here and on Payment), which on PostgreSQL adds a
        # second index for LIKE queries that nothing makes: every charge written would pay for both.
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="gateway_charge_key_unique")]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.outcome}"
