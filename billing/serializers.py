from decimal import Decimal

from rest_framework import serializers

from billing.models import CashOutRequest, Invoice, InvoiceLine, LedgerEntry, Payment, PaymentMeans
from billing.services.topup import MAX_TOP_UP
from core.api import IdField


class CatalogEntrySerializer(serializers.Serializer):
    plan_id = serializers.IntegerField(source="plan.id")
    service_type = serializers.CharField(source="plan.service_type.slug")
    service_type_name = serializers.CharField(source="plan.service_type.name")
    plan = serializers.CharField(source="plan.name")
    period = serializers.CharField(source="plan.period")
    currency = serializers.CharField(source="price.currency")
    price_excl_vat = serializers.DecimalField(source="price.amount", max_digits=12, decimal_places=2)
    price_shown = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="VAT included for Swiss and EU customers (BIL-7)"
    )
    trial_days = serializers.IntegerField(source="plan.service_type.trial_days", allow_null=True)


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "description",
            "period_start",
            "period_end",
            "quantity",
            "unit_price_excl_vat",
            "vat_rate",
            "amount_excl_vat",
            "vat_amount",
            "amount_incl_vat",
        ]


class InvoiceSerializer(serializers.ModelSerializer):
    number = serializers.CharField(source="display_number")
    amount_due = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "status",
            "currency",
            "issue_date",
            "due_date",
            "total_excl_vat",
            "total_vat",
            "total_incl_vat",
            "amount_paid",
            "amount_credited",
            "amount_due",
            "reverse_charge",
            "service",
        ]


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "billing_address", "lines"]


class MeansSerializer(serializers.ModelSerializer):
    display = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = PaymentMeans
        fields = [
            "id",
            "kind",
            "display",
            "is_default",
            "card_brand",
            "card_last4",
            "card_exp_month",
            "card_exp_year",
            "paypal_email",
            "created_at",
        ]


class MeansAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["card", "paypal", "postcard", "bank_transfer"])
    number = serializers.CharField(required=False, help_text="card only (sandbox test numbers)")
    exp_month = serializers.IntegerField(required=False)
    exp_year = serializers.IntegerField(required=False)
    cvc = serializers.CharField(required=False, write_only=True)
    paypal_email = serializers.EmailField(required=False)
    make_default = serializers.BooleanField(default=False)


class PaySerializer(serializers.Serializer):
    prepaid_amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=Decimal("0"))
    means_id = IdField(required=False, help_text="a card of the organization, for the rest")


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "kind", "amount", "currency", "status", "created_at"]


# --- Prepaid Account (PRE-1 … PRE-4) ---------------------------------------------------------


class CashOutRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = CashOutRequest
        fields = ["id", "amount", "status", "requested_at", "decided_at"]


class TopUpPaymentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(help_text="bank transfer: the reference to quote (BIL-5)")

    class Meta:
        model = Payment
        fields = ["id", "kind", "amount", "currency", "status", "reference", "created_at"]


class PrepaidAccountSerializer(serializers.Serializer):
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    cash_out_request = CashOutRequestSerializer(allow_null=True, help_text="the request waiting for staff, if any")
    pending_top_ups = TopUpPaymentSerializer(many=True, help_text="bank transfers announced, not yet received")


class LedgerEntrySerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.display_number", allow_null=True, default=None)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "balance_after", "invoice", "payment", "reason", "created_at"]


class LedgerPageSerializer(serializers.Serializer):
    entries = LedgerEntrySerializer(many=True)
    next_before = serializers.IntegerField(
        allow_null=True, help_text="pass as ?before= for the next (older) page; null on the last page"
    )


class TopUpSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_TOP_UP)
    method = serializers.ChoiceField(choices=["card", "bank_transfer"])
    means_id = IdField(required=False, help_text="card only: a card of the organization")


class TopUpResultSerializer(serializers.Serializer):
    payment = TopUpPaymentSerializer()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)


# --- the renewal lifecycle of a Service (REN-*, RW-*, MB-*, BIL-13) ---------------------------

