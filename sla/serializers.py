"""Shapes of the SLA API (sla/api.py). No rule here: the services decide, these only read and write
JSON. The Service ids shown with an incident or a maintenance window are those of the links the view
prefetched into `visible_links` — for a customer, only the member's own Services (tenancy, ORG-6);
a serializer given an object without them fails instead of showing every affected Service."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.money import DECIMAL_PLACES, MAX_DIGITS
from core.api import IdField
from sla.models import Cause, Claim, Incident, IncidentClass, Maintenance, Penalty
from sla.selectors import Claimable

SERVICE_IDS_HELP = "the affected Services the caller sees (never another Organization's)"


def _visible_service_ids(obj: Incident | Maintenance) -> list[int]:
    return [link.service_id for link in obj.visible_links]  # type: ignore[union-attr]


class SlaIncidentSerializer(serializers.Serializer):
    """An incident as a customer sees it (SLA-2, SLA-8)."""

    id = serializers.IntegerField()
    incident_class = serializers.ChoiceField(choices=IncidentClass.choices, help_text="SLA-2 (SC 10.1.3)")
    cause = serializers.ChoiceField(choices=Cause.choices, help_text="SLA-6: only `provider` earns a penalty")
    title = serializers.CharField()
    description = serializers.CharField()
    started_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True, help_text="null while the incident is open")
    service_ids = serializers.SerializerMethodField(help_text=SERVICE_IDS_HELP)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_service_ids(self, incident: Incident) -> list[int]:
        return _visible_service_ids(incident)


class SlaStaffIncidentSerializer(SlaIncidentSerializer):
    """An incident as staff and the monitoring system see it: every affected Service."""

    external_id = serializers.CharField(allow_null=True, help_text="the monitoring system's id (idempotency key)")
    created_at = serializers.DateTimeField()


class SlaStaffIncidentPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SlaStaffIncidentSerializer(many=True)


class SlaIncidentRecordSerializer(serializers.Serializer):
    incident_class = serializers.ChoiceField(choices=IncidentClass.choices, help_text="SLA-2 (SC 10.1.3)")
    cause = serializers.ChoiceField(choices=Cause.choices, default=Cause.PROVIDER, help_text="SLA-6")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", help_text="shown to customers")
    started_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="omitted or null: the incident is still open"
    )
    service_ids = serializers.ListField(
        child=IdField(), allow_empty=True, help_text="the affected Services, of any Organization"
    )
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="the monitoring system's id: the same id again answers 200 with the incident already recorded, "
        "unchanged (SLA-8)",
    )


class SlaIncidentResolveSerializer(serializers.Serializer):
    resolved_at = serializers.DateTimeField(help_text="after the start, not in the future (SLA-2)")


class SlaMaintenanceSerializer(serializers.Serializer):
    """A maintenance window (SLA-7): unavailability during it earns no penalty."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    urgent = serializers.BooleanField(help_text="announced with less than the planned notice (SLA-7)")
    urgent_reason = serializers.CharField()
    announced_at = serializers.DateTimeField()
    service_ids = serializers.SerializerMethodField(help_text=SERVICE_IDS_HELP)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_service_ids(self, maintenance: Maintenance) -> list[int]:
        return _visible_service_ids(maintenance)


class SlaMaintenanceScheduleSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", help_text="shown to customers")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    service_ids = serializers.ListField(child=IdField(), allow_empty=True)
    urgent = serializers.BooleanField(
        default=False, help_text="true: a shorter notice than 48 business hours, with `urgent_reason` (SLA-7)"
    )
    urgent_reason = serializers.CharField(required=False, allow_blank=True, default="")


class SlaMonthlyReportSerializer(serializers.Serializer):
    """SLA-1: one Zurich month of a Service."""

    year = serializers.IntegerField()
    month = serializers.IntegerField()
    total_minutes = serializers.IntegerField(help_text="minutes in the month")
    unavailable_minutes = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="counted unavailability: class A, provider's cause, maintenance out"
    )
    availability = serializers.DecimalField(max_digits=6, decimal_places=3, help_text="percent")
    commitment = serializers.DecimalField(max_digits=6, decimal_places=3, help_text="percent (99.9)")
    meets_commitment = serializers.BooleanField()
    limit_minutes = serializers.IntegerField(help_text="the monthly limit of unavailability (SC 10.1.2)")
    limit_exceeded = serializers.BooleanField()


class SlaClaimTicketSerializer(serializers.Serializer):
    """The body of the support ticket that files the claim (POST organizations/{org_id}/tickets/,
    with a subject and a body of the customer's)."""

    kind = serializers.SerializerMethodField(help_text='always "sla_claim"')
    service_id = serializers.SerializerMethodField()
    claim_start = serializers.DateTimeField(source="incident.started_at")
    claim_end = serializers.DateTimeField(source="incident.resolved_at")

    def get_kind(self, claimable: Claimable) -> str:
        return "sla_claim"

    def get_service_id(self, claimable: Claimable) -> int:
        return int(self.context["service_id"])


class SlaClaimableSerializer(serializers.Serializer):
    """A resolved incident the Service may still claim (SLA-5), with the pre-filled claim."""

    incident_id = serializers.IntegerField(source="incident.id")
    incident_class = serializers.ChoiceField(source="incident.incident_class", choices=IncidentClass.choices)
    cause = serializers.ChoiceField(source="incident.cause", choices=Cause.choices)
    title = serializers.CharField(source="incident.title")
    started_at = serializers.DateTimeField(source="incident.started_at")
    resolved_at = serializers.DateTimeField(source="incident.resolved_at")
    last_day = serializers.DateField(help_text="the last Zurich day to file the claim (SLA-5)")
    ticket = SlaClaimTicketSerializer(source="*", help_text="pre-filled claim: the ticket to open")


class SlaPenaltySerializer(serializers.Serializer):
    """What an accepted claim earns (SLA-3), capped per invoice (SLA-4)."""

    percent = serializers.DecimalField(max_digits=6, decimal_places=2, help_text="percent of the invoice")
    amount = serializers.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, help_text="credited to the Prepaid Account"
    )
    currency = serializers.CharField()
    capped = serializers.BooleanField(help_text="lowered so the penalties of one invoice stay within the cap (SLA-4)")
    credited_at = serializers.DateTimeField(allow_null=True, help_text="null until credited")


class SlaClaimSerializer(serializers.Serializer):
    """An SLA claim (SLA-5), filed through a support ticket of kind `sla_claim`."""

    id = serializers.IntegerField()
    service_id = serializers.IntegerField()
    ticket_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Claim.Status.choices)
    claimed_start = serializers.DateTimeField()
    claimed_end = serializers.DateTimeField()
    filed_at = serializers.DateTimeField()
    incident_id = serializers.IntegerField(allow_null=True, help_text="named by our staff when accepted")
    decided_at = serializers.DateTimeField(allow_null=True)
    refusal_reason = serializers.CharField()
    # A plain string, not a second enum of the causes: empty, or one of `cause`'s values (SLA-6).
    refusal_cause = serializers.CharField(help_text="SLA-6: the excluding cause of a refusal, or empty")
    penalty = serializers.SerializerMethodField()

    @extend_schema_field(SlaPenaltySerializer(allow_null=True))
    def get_penalty(self, claim: Claim) -> dict[str, Any] | None:
        if claim.status != Claim.Status.ACCEPTED:
            return None
        try:
            penalty = claim.penalty
        except Penalty.DoesNotExist:
            return None
        return dict(SlaPenaltySerializer(penalty).data)


class SlaForceMajeureTerminateSerializer(serializers.Serializer):
    incident_id = IdField(help_text="the force-majeure incident going on (SLA-9)")
    confirm = serializers.BooleanField(
        default=False,
        help_text="true: the caller confirms that the data is deleted for good (SC 8.3) and that no compensation "
        "is paid (SLA-9, BIL-13)",
    )
