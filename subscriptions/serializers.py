"""API serializers of Services, their timeline, debit attempts and money-back refunds."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import IdField
from subscriptions.models import MoneyBackRefund, RenewalAttempt, Service, ServiceCreditEntry
from subscriptions.selectors import AddOnOffer


class ServiceSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.name")
    period = serializers.CharField(source="plan.period")
    service_type = serializers.CharField(source="plan.service_type.slug")

    class Meta:
        model = Service
        fields = [
            "id",
            "service_type",
            "plan",
            "period",
            "currency",
            "status",
            "anchor_date",
            "term",
            "expires_on",
            "trial_ends_on",
            "auto_renew",
            "renewal_warranty",
            "activated_at",
            "suspended_at",
            "suspension_reason",
            "terminates_on",
            "warranty_until",
            "renewal_declined_at",
            "terminated_at",
            "data_deleted_at",
            "credit_balance",
            "created_at",
        ]


class OrderSerializer(serializers.Serializer):
    plan_id = IdField()
    accept_tcu_version = IdField(required=False, help_text="if the TCU in force is not accepted yet")
    accept_special_conditions_version = IdField(
        required=False, help_text="if the service type's Special Conditions in force are not accepted yet"
    )


class TimelineEventSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="a calendar day in Europe/Zurich (TIME-1)")
    kind = serializers.CharField()
    label = serializers.CharField(help_text="in the caller's language")  # type: ignore[assignment]  # a field, not Field.label
    rule = serializers.CharField(help_text="the SPEC rule that makes (or made) it happen")
    past = serializers.BooleanField(help_text="false: what happens then if nothing is paid before")
    detail = serializers.CharField()


class RenewalAttemptSerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.display_number", allow_null=True, default=None)
    forced_by_staff = serializers.SerializerMethodField()

    class Meta:
        model = RenewalAttempt
        fields = [
            "id",
            "term",
            "day",
            "outcome",
            "amount",
            "prepaid_amount",
            "card_amount",
            "reason",
            "invoice",
            "forced_by_staff",
            "created_at",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_forced_by_staff(self, attempt: RenewalAttempt) -> bool:
        return attempt.forced_by_id is not None


class SwitchSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


class ServiceTerminateSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        default=False,
        help_text="true: the caller confirms that the data is deleted for good (SC 8.3) and that no pro-rata "
        "refund is made (BIL-13)",
    )


class MoneyBackRefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = MoneyBackRefund
        fields = ["id", "service", "amount", "currency", "destination", "card_amount", "prepaid_amount", "created_at"]


class AddOnSerializer(serializers.Serializer):
    """BIL-8: an add-on the Service may take; prices excluding VAT, in the Service's currency."""

    id = serializers.IntegerField(source="add_on.pk")
    slug = serializers.CharField(source="add_on.slug")
    name = serializers.CharField(source="add_on.name")
    amount_per_cycle = serializers.DecimalField(
        source="price.amount_per_cycle",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        default=None,
        help_text="per billing period, excluding VAT; null: no price in force in the Service's currency",
    )
    activation_fee = serializers.DecimalField(
        source="price.activation_fee",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        default=None,
        help_text="once, when switched on, excluding VAT",
    )
    active = serializers.SerializerMethodField()
    activated_at = serializers.DateTimeField(source="active.activated_at", allow_null=True, default=None)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_active(self, offer: AddOnOffer) -> bool:
        return offer.active is not None


class AddOnActivateSerializer(serializers.Serializer):
    add_on_id = IdField()


class CreditEntrySerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.display_number", allow_null=True, default=None)

    class Meta:
        model = ServiceCreditEntry
        fields = ["id", "kind", "amount", "balance_after", "invoice", "created_at"]


class CreditsBuySerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="in the Service's currency; at most MAX_PURCHASE (10'000.00)"
    )


class CreditsPaySerializer(serializers.Serializer):
    invoice_id = IdField()
