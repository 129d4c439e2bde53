from django.db import models


class GatewayEvent(models.Model):
    """A gateway's notification (a Stripe webhook event), once: a second delivery of the same event id
    finds its row and does nothing (REN-8). What the event says is not trusted beyond its signature:
    it only triggers the look-up of the charge it names."""

    gateway = models.CharField(max_length=16)  # "stripe"
    event_id = models.CharField(max_length=255)  # unique per gateway: by the constraint below
    type = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=128, blank=True)  # of the charge it is about, if any
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_event_once")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.type} {self.event_id}"
