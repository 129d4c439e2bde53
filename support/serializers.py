from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Language
from core.api import IdField
from support.models import Attachment, Message, Ticket
from support.services import CUSTOMER_KINDS


class TicketSerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.display_number", allow_null=True, default=None)
    documents_due_on = serializers.DateField(
        allow_null=True, help_text="third-party complaint: the day supporting documents are due (TCU 18)"
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "kind",
            "subject",
            "language",
            "priority",
            "status",
            "service",
            "invoice",
            "claim_start",
            "claim_end",
            "aup_category",
            "documents_due_on",
            "opened_by_staff",
            "created_at",
            "updated_at",
        ]


class TicketCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in CUSTOMER_KINDS])
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField()
    language = serializers.ChoiceField(
        choices=Language.choices, required=False, help_text="fr, en, de, it or es (SUP-1); the caller's by default"
    )
    service_id = IdField(
        required=False,
        help_text="a Service the member sees (ORG-6); required for an SLA claim and a money-back request",
    )
    invoice_id = IdField(required=False, help_text="invoice dispute: the invoice (BIL-11)")
    claim_start = serializers.DateTimeField(required=False, help_text="SLA claim: start of the unavailability (SLA-5)")
    claim_end = serializers.DateTimeField(required=False, help_text="SLA claim: end of the unavailability (SLA-5)")
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="multipart: PDF, PNG, JPEG, GIF, plain text or ZIP"
    )


class AttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "sha256", "created_at"]


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "from_staff", "author", "body", "attachments", "created_at"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_author(self, message: Message) -> str:
        """The customer's name, or "support" for our staff (their names are not shown)."""
        if message.from_staff or message.author is None:
            return "support"
        return message.author.get_full_name() or message.author.email


class MessagePostSerializer(serializers.Serializer):
    body = serializers.CharField()
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="multipart: PDF, PNG, JPEG, GIF, plain text or ZIP"
    )


class PrioritySerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices)
