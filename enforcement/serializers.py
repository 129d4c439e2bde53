"""What the API tells a customer of a breach (ENF-2): plain words and ids, never the clause."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from enforcement.models import Breach, BreachEvidence


class BreachEvidenceSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()
    ticket_id = serializers.IntegerField(allow_null=True)
    file_name = serializers.CharField(source="original_name")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = BreachEvidence
        fields = ["id", "kind", "ticket_id", "file_name", "content_type", "size", "download_url"]

    def get_kind(self, obj: BreachEvidence) -> str:
        return "ticket" if obj.ticket_id else "file"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, obj: BreachEvidence) -> str | None:
        if obj.ticket_id:
            return None
        return reverse("enforcement:evidence_file", args=[obj.breach.organization_id, obj.breach_id, obj.pk])


class BreachSerializer(serializers.ModelSerializer):
    category_label = serializers.CharField(source="get_category_display")
    status_label = serializers.CharField(source="get_status_display")
    service_ids = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = Breach
        fields = [
            "id",
            "category",
            "category_label",
            "reason",
            "whole_organization",
            "service_ids",
            "remedy_deadline",
            "status",
            "status_label",
            "opened_at",
            "decided_at",
            "decision_reason",
            "evidence",
        ]

    def get_service_ids(self, obj: Breach) -> list[int]:
        return [service.pk for service in obj.services.all()]

    @extend_schema_field(BreachEvidenceSerializer(many=True))
    def get_evidence(self, obj: Breach) -> Any:
        return BreachEvidenceSerializer(getattr(obj, "visible_evidence", []), many=True).data
