import datetime as dt

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from billing.money import DECIMAL_PLACES, MAX_DIGITS


def money_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]


def money_sum(expression: models.Expression | F) -> Round:
    """Amounts added in SQL, rounded to the cent: a no-op on PostgreSQL's numeric, and what makes
    29.94 + 2.43 equal 32.37 on SQLite, whose decimals are floats (docs/decisions.md, MONEY-1)."""
    return Round(expression, DECIMAL_PLACES)


class InvoiceSequence(models.Model):
    """The single counter of invoice and credit-note numbers (BIL-6): locked FOR UPDATE to take the
    next number inside the issuing transaction, so numbers have no gap and no duplicate."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="invoice_sequence_single_row")]

    def __str__(self) -> str:
        return f"last invoice number {self.last_number}"


class Invoice(models.Model):
    """An issued invoice (BIL-6). Its number, lines, totals and address never change after issue;
    only what happens to it does (amount paid, credited, status). Amounts in `currency`."""

    class Kind(models.TextChoices):
        ORDER = "order", _("order")
        RENEWAL = "renewal", _("renewal")
        TOP_UP = "top_up", _("prepaid top-up")
        USAGE = "usage", _("usage")  # USE-3: a month of a usage Service
        MANUAL = "manual", _("other charges")  # issued by staff with free lines (TCU 18.4, BIL-8)
        ADD_ON = "add_on", _("add-on activation")  # BIL-8: an add-on's one-time activation fee
        CREDITS = "credits", _("credit purchase")  # BIL-9: credits bought for one Service

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")

    number = models.PositiveIntegerField(unique=True)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    service = models.ForeignKey(
        "subscriptions.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    term = models.PositiveIntegerField(null=True, blank=True)  # the Service's term it pays (renewals)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3)
    issue_date = models.DateField()
    due_date = models.DateField()
    total_excl_vat = money_field()
    total_vat = money_field()
    total_incl_vat = money_field()
    amount_paid = money_field(default=0)
    amount_credited = money_field(default=0)
    reverse_charge = models.BooleanField(default=False)  # BIL-7: EU customer with a VAT number
    billing_address = models.JSONField()  # snapshot at issue: name, address lines, country, VAT number
    language = models.CharField(max_length=2)
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "-number"]),
            # ENF-5: the daily run's open order invoices by issue date (few rows: a partial index).
            models.Index(
                fields=["issue_date"], condition=Q(kind="order", status="open"), name="open_order_invoice_issue"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_incl_vat=money_sum(F("total_excl_vat") + F("total_vat"))),
                name="invoice_totals_add_up",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0)
                & Q(amount_credited__gte=0)
                & Q(amount_paid__lte=money_sum(F("total_incl_vat") - F("amount_credited"))),
                name="invoice_not_overpaid",
            ),
            # REN-8: one renewal invoice per Service and term (a cancelled one may be issued again).
            models.UniqueConstraint(
                fields=["service", "term"],
                condition=Q(kind="renewal") & ~Q(status="cancelled"),
                name="renewal_invoice_once_per_term",
            ),
            models.CheckConstraint(condition=~Q(kind="renewal") | Q(term__isnull=False), name="renewal_names_its_term"),
        ]

    def __str__(self) -> str:
        return f"{_('Invoice')} {self.display_number}"

    @property
    def display_number(self) -> str:
        return f"{self.number:08d}"

    @property
    def amount_due(self):  # noqa: ANN201  (Decimal)
        return self.total_incl_vat - self.amount_credited - self.amount_paid


class InvoiceLine(models.Model):
    class Charge(models.TextChoices):
        """What a free line of a staff-issued invoice bills (billing.services.manual_invoices)."""

        INTERVENTION = "intervention", _("intervention costs")  # TCU 18.4
        ACTIVATION_FEE = "activation_fee", _("activation fee")  # BIL-8
        OTHER = "other", _("other")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=200)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)  # exclusive: the first day not covered
    # Six decimals: usage quantities and rates (USE-1); the amount is still rounded to the cent.
    quantity = models.DecimalField(max_digits=18, decimal_places=6, default=1)
    unit_price_excl_vat = models.DecimalField(max_digits=18, decimal_places=6)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)  # percent applied to this line
    amount_excl_vat = money_field()
    vat_amount = money_field()
    amount_incl_vat = money_field()
    # Free lines of a staff-issued invoice only: what they bill, and the Service they concern.
    charge = models.CharField(max_length=20, choices=Charge.choices, blank=True)
    service = models.ForeignKey(
        "subscriptions.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")]

    def __str__(self) -> str:
        return self.description

    @property
    def period_last_day(self):  # noqa: ANN201  (date | None)
        """The last day the line covers (`period_end` is the first day not covered)."""
        return self.period_end - dt.timedelta(days=1) if self.period_end else None


class CreditNote(models.Model):
    """Cancels all or part of an issued invoice (BIL-6); numbered in the same gapless sequence."""

    number = models.PositiveIntegerField(unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    amount = money_field()  # VAT included, in the invoice's currency
    reason = models.TextField()
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_positive")]

    def __str__(self) -> str:
        return f"{_('Credit note')} {self.number:08d}"
