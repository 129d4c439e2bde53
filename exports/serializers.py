from rest_framework import serializers
from rest_framework.reverse import reverse

from exports.models import Export


class ExportSerializer(serializers.ModelSerializer[Export]):
    """An export and its progress; `download` is the file's address once it is ready (EVD-4, EVD-5)."""

    download = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "kind",
            "start",
            "end",
            "status",
            "progress",
            "requested_at",
            "built_at",
            "expires_on",
            "size",
            "sha256",
            "download",
        ]
        read_only_fields = fields

    def get_download(self, export: Export) -> str | None:
        if export.status != Export.Status.READY:
            return None
        if export.kind == Export.Kind.STATEMENT:
            return reverse("api-export-download", args=[export.organization_id, export.pk])
        return reverse("api-personal-export-download", args=[export.pk])


class StatementRequestSerializer(serializers.Serializer[None]):
    """EVD-4: the range of Zurich dates, both included (start ≤ end ≤ today, at most 10 years)."""

    start = serializers.DateField()
    end = serializers.DateField()
