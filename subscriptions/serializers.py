"""API serializers of Services, their timeline, debit attempts and money-back refunds."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import IdField
from subscriptions.models import MoneyBackRefund, RenewalAttempt, Service


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
