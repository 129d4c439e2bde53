from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.money import DECIMAL_PLACES, MAX_DIGITS
from subscriptions.models.services import Service


class ServiceCreditEntry(models.Model):
    """One append-only movement of a Service's credits (BIL-9), naming its cause: credits bought
    (the paid purchase invoice), an invoice of the Service paid with them, or the credits deleted
    when the Service terminated (never refunded). `Service.credit_balance` is their sum."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("credits bought")
        INVOICE_PAYMENT = "invoice_payment", _("invoice paid with credits")
        DELETED = "deleted", _("deleted when the Service ended")

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="credit_entries", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)  # + in, - out
    balance_after = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    # the purchase invoice (purchase) or the invoice paid (invoice_payment)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey("billing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["service", "-id"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="credit_entry_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="credit_balance_after_never_negative"),
            models.CheckConstraint(
                condition=(Q(kind="purchase") & Q(amount__gt=0)) | (~Q(kind="purchase") & Q(amount__lt=0)),
                name="credit_entry_sign_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="deleted") | Q(invoice__isnull=False), name="credit_entry_names_its_invoice"
            ),
            # BIL-9: a purchase invoice grows the balance once, whatever pays it and however often
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(kind="purchase"), name="credit_purchase_credited_once"
            ),
            # BIL-9: the credits are deleted once, when the Service terminates
            models.UniqueConstraint(fields=["service"], condition=Q(kind="deleted"), name="credits_deleted_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
