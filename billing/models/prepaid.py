from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.money import DECIMAL_PLACES, MAX_DIGITS


class PrepaidAccount(models.Model):
    """SPEC PRE-1: one per Organization, in its currency. `balance` is the sum of the ledger, kept on
    the row so that a debit locks one row and the database refuses a negative balance (MONEY-2: no
    interest, no fees)."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="prepaid_account"
    )
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=0)

    class Meta:
        verbose_name = _("Prepaid Account")
        verbose_name_plural = _("Prepaid Accounts")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="prepaid_balance_never_negative")]

    def __str__(self) -> str:
        return f"{self.organization}: {self.currency} {self.balance}"


class LedgerEntry(models.Model):
    """One append-only movement of a Prepaid Account, naming its cause (PRE-1)."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("top-up")  # PRE-2, by the customer
        INVOICE_PAYMENT = "invoice_payment", _("invoice payment")  # PRE-3
        PROVIDER_REIMBURSEMENT = "provider_reimbursement", _("reimbursement of an invoice")  # PRE-2 (5.10.1)
        MONEY_BACK = "money_back", _("money-back guarantee")  # PRE-2 (5.10.6)
        SLA_PENALTY = "sla_penalty", _("SLA penalty")  # PRE-2 (SC 10.1.4)
        PROVIDER_DEBIT = "provider_debit", _("settlement of a defaulted invoice")  # PRE-3 (5.10.4)
        CASH_OUT = "cash_out", _("cash-out")  # PRE-4
        STAFF_ADJUSTMENT = "staff_adjustment", _("adjustment by our staff")

    account = models.ForeignKey(PrepaidAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)  # + credit, - debit
    balance_after = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey("billing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    claim_reference = models.CharField(max_length=64, blank=True)  # e.g. an SLA claim id
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_never_negative"),
            models.CheckConstraint(
                condition=~Q(kind="staff_adjustment") | (Q(staff_user__isnull=False) & ~Q(reason="")),
                name="staff_adjustment_names_staff_and_reason",
            ),
            # SLA-4: an SLA penalty is credited once per claim, whatever runs the credit.
            models.UniqueConstraint(
                fields=["claim_reference"], condition=Q(kind="sla_penalty"), name="sla_penalty_credited_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class CashOutRequest(models.Model):
    """The customer asks for the balance back (PRE-4); staff pay it out."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        PAID = "paid", _("paid out")
        REFUSED = "refused", _("refused")

    account = models.ForeignKey(PrepaidAccount, on_delete=models.PROTECT, related_name="cash_outs")
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cash-out request")
        verbose_name_plural = _("cash-out requests")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_out_positive"),
            models.UniqueConstraint(fields=["account"], condition=Q(status="requested"), name="one_open_cash_out"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: cash-out {self.amount} ({self.status})"
