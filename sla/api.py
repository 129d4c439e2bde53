"""REST API of the SLA app (SPEC SLA-1…SLA-9).

Customers: every Organization is resolved through the caller's memberships (another Organization's
id answers 404) and every Service, incident, maintenance window and claim through what the member
sees (ORG-6); an incident that affected other Organizations too shows only the member's Service ids.
Claims are filed through the support API (a ticket of kind `sla_claim`), not here.

Staff (from a session opened with their second factor: a token alone carries no staff powers) and
the monitoring system (a user holding `sla.add_incident`, with a token from POST /api/v1/auth/token/)
record and resolve incidents; anyone else is refused (403, rule SLA-8) before the body is read.
Refusals answer with the rule that refused (core.api).
"""

from typing import Any

from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedRequest
from accounts.models import Membership
from accounts.permissions import HasTokenScope, require_staff, require_staff_second_factor
from core import clock
from core.errors import RuleViolation
from core.http import client_address
from core.schema import ErrorSerializer
from sla import selectors
from sla.models import Incident
from sla.serializers import (
    SlaClaimableSerializer,
    SlaClaimSerializer,
    SlaForceMajeureTerminateSerializer,
    SlaIncidentRecordSerializer,
    SlaIncidentResolveSerializer,
    SlaIncidentSerializer,
    SlaMaintenanceScheduleSerializer,
    SlaMaintenanceSerializer,
    SlaMonthlyReportSerializer,
    SlaStaffIncidentPageSerializer,
    SlaStaffIncidentSerializer,
)
from sla.services import incident_record, incident_resolve, maintenance_schedule, service_terminate_force_majeure
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service
from subscriptions.serializers import ServiceSerializer

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
STAFF_REFUSALS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer}
CLAIMS_ARE_TICKETS = (
    "Claims are filed through the support API, not here: POST /api/v1/organizations/{org_id}/tickets/ with "
    '`kind` "sla_claim", `service_id`, `claim_start` and `claim_end` (SLA-5) — the `ticket` of '
    "GET …/services/{service_id}/sla/claimable/ is that body, pre-filled. Our staff accept or refuse the "
    "claim on its ticket."
)


def _membership(request: AuthenticatedRequest, org_id: int) -> Membership:
    return account_selectors.membership_for(user=request.user, organization_id=org_id)


def _service(membership: Membership, service_id: int) -> Service:
    return subscription_selectors.service_for_member(membership=membership, service_id=service_id)


def _staff_incident(incident_id: int) -> Incident:
    return get_object_or_404(Incident.objects.prefetch_related(selectors.incident_links_seen_by(None)), pk=incident_id)


# --- customers -------------------------------------------------------------------------------


class IncidentListView(APIView):
    @extend_schema(responses={200: SlaIncidentSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The incidents affecting the Services the member sees (ORG-6), newest first, each with the
        ids of the member's affected Services only (SLA-8)."""
        membership = _membership(request, org_id)
        incidents = selectors.incidents_for_member(membership).prefetch_related(
            selectors.incident_links_seen_by(membership)
        )
        return Response(SlaIncidentSerializer(incidents, many=True).data)


class IncidentDetailView(APIView):
    @extend_schema(responses={200: SlaIncidentSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, incident_id: int) -> Response:
        membership = _membership(request, org_id)
        incident = selectors.incident_for_member(membership=membership, incident_id=incident_id)
        prefetch_related_objects([incident], selectors.incident_links_seen_by(membership))
        return Response(SlaIncidentSerializer(incident).data)


class MaintenanceListView(APIView):
    @extend_schema(responses={200: SlaMaintenanceSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The maintenance windows of the Services the member sees, newest first: unavailability
        during them earns no penalty (SLA-7)."""
        membership = _membership(request, org_id)
        windows = selectors.maintenance_for_member(membership).prefetch_related(
            selectors.maintenance_links_seen_by(membership)
        )
        return Response(SlaMaintenanceSerializer(windows, many=True).data)


class ServiceReportsView(APIView):
    @extend_schema(responses={200: SlaMonthlyReportSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The Service's monthly availability over the last twelve Zurich months, oldest first,
        ending with the current month so far (SLA-1)."""
        service = _service(_membership(request, org_id), service_id)
        reports = selectors.monthly_reports(service, now=clock.now())
        return Response(SlaMonthlyReportSerializer(reports, many=True).data)


class ServiceClaimableView(APIView):
    @extend_schema(
        responses={200: SlaClaimableSerializer(many=True), 404: ErrorSerializer},
        description="The resolved incidents of the provider's cause affecting the Service that it may still "
        "claim, with the last day to claim (SLA-5). " + CLAIMS_ARE_TICKETS,
    )
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        service = _service(_membership(request, org_id), service_id)
        claimable = selectors.claimable_incidents(service, now=clock.now())
        return Response(SlaClaimableSerializer(claimable, many=True, context={"service_id": service.pk}).data)


class ClaimListView(APIView):
    @extend_schema(
        responses={200: SlaClaimSerializer(many=True), 404: ErrorSerializer},
        description="The SLA claims of the Services the member sees (ORG-6), newest first, with the penalty of "
        "an accepted one (SLA-3, SLA-4). " + CLAIMS_ARE_TICKETS,
    )
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        claims = selectors.claims_for_member(_membership(request, org_id))
        return Response(SlaClaimSerializer(claims, many=True).data)


class ClaimDetailView(APIView):
    @extend_schema(
        responses={200: SlaClaimSerializer, 404: ErrorSerializer},
        description="One SLA claim, with the penalty once accepted. " + CLAIMS_ARE_TICKETS,
    )
    def get(self, request: AuthenticatedRequest, org_id: int, claim_id: int) -> Response:
        claim = selectors.claim_for_member(membership=_membership(request, org_id), claim_id=claim_id)
        return Response(SlaClaimSerializer(claim).data)


class ServiceForceMajeureTerminateView(APIView):
    @extend_schema(request=SlaForceMajeureTerminateSerializer, responses={200: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """SLA-9: while a force-majeure incident affecting the Service goes on, a Legal Responsible or
        an administrator may terminate it at once, without compensation; its data is deleted for good
        (SC 8.3). Refused (400) unless `confirm` is true; 409 when no such force majeure goes on."""
        membership = _membership(request, org_id)
        service = _service(membership, service_id)
        body = SlaForceMajeureTerminateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = selectors.incident_for_member(membership=membership, incident_id=body.validated_data["incident_id"])
        terminated = service_terminate_force_majeure(
            service=service,
            incident=incident,
            user=request.user,
            confirmed=body.validated_data["confirm"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(terminated).data)


# --- staff and the monitoring system ---------------------------------------------------------


class IsStaffOrMonitoring(BasePermission):
    """SLA-8: incidents are recorded by staff (second factor checked) or by the monitoring system's
    account, which holds the `sla.add_incident` permission and no staff status. Refused with the rule
    before the request's body is read (the services check again)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        require_staff_second_factor(request, rule="SLA-8")
        if not (user.is_staff or user.has_perm("sla.add_incident")):
            raise RuleViolation(_("Only our staff and our monitoring record incidents."), rule="SLA-8", status=403)
        return True


class IsStaff(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        require_staff_second_factor(request, rule="SLA-7")
        require_staff(request.user, rule="SLA-7")
        return True


class StaffIncidentListView(APIView):
    # The monitoring account's tokens (scope "monitoring", accounts.tokens) work here, and full ones.
    permission_classes = [IsAuthenticated, HasTokenScope("monitoring", "full"), IsStaffOrMonitoring]

    @extend_schema(
        operation_id="v1_sla_incidents_list",
        parameters=[OpenApiParameter("page", int, description="the page number (50 incidents a page)")],
        responses={200: SlaStaffIncidentPageSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        """Staff and monitoring: every incident, newest first, with every affected Service."""
        incidents = Incident.objects.order_by("-started_at", "-pk").prefetch_related(
            selectors.incident_links_seen_by(None)
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(incidents, request, view=self)
        return paginator.get_paginated_response(SlaStaffIncidentSerializer(page, many=True).data)

    @extend_schema(
        request=SlaIncidentRecordSerializer,
        responses={201: SlaStaffIncidentSerializer, 200: SlaStaffIncidentSerializer, **STAFF_REFUSALS},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        """Record a failure affecting one or many Services, of any Organizations; their contact persons
        are told (SLA-8). 201 with the new incident; 200 with the incident already recorded, unchanged,
        when `external_id` was seen before (idempotent: a monitoring retry records and tells nothing
        more)."""
        body = SlaIncidentRecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        incident, created = incident_record(
            user=request.user,
            incident_class=data["incident_class"],
            cause=data["cause"],
            title=data["title"],
            description=data["description"],
            started_at=data["started_at"],
            resolved_at=data["resolved_at"],
            service_ids=data["service_ids"],
            external_id=data["external_id"],
            now=clock.now(),
        )
        return Response(
            SlaStaffIncidentSerializer(_staff_incident(incident.pk)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class StaffIncidentResolveView(APIView):
    # The monitoring account's tokens (scope "monitoring", accounts.tokens) work here, and full ones.
    permission_classes = [IsAuthenticated, HasTokenScope("monitoring", "full"), IsStaffOrMonitoring]

    @extend_schema(
        request=SlaIncidentResolveSerializer,
        responses={200: SlaStaffIncidentSerializer, 404: ErrorSerializer, **STAFF_REFUSALS},
    )
    def post(self, request: AuthenticatedRequest, incident_id: int) -> Response:
        """Mark the incident resolved (SLA-2); the contact persons are told they may claim it (SLA-5).
        409 when it is already resolved."""
        incident = get_object_or_404(Incident, pk=incident_id)
        body = SlaIncidentResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident_resolve(
            incident=incident, user=request.user, resolved_at=body.validated_data["resolved_at"], now=clock.now()
        )
        return Response(SlaStaffIncidentSerializer(_staff_incident(incident.pk)).data)


class StaffMaintenanceView(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        request=SlaMaintenanceScheduleSerializer, responses={201: SlaMaintenanceSerializer, **STAFF_REFUSALS}
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        """Staff: plan a maintenance window, announced to the affected contact persons. A planned one is
        announced at least 48 business hours ahead (weekends do not count); a shorter notice is refused
        (400, SLA-7) unless marked `urgent` with an `urgent_reason`. Planned or urgent, a window that has
        already started is refused (400, SLA-7)."""
        body = SlaMaintenanceScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        maintenance = maintenance_schedule(
            user=request.user,
            title=data["title"],
            description=data["description"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            service_ids=data["service_ids"],
            urgent=data["urgent"],
            urgent_reason=data["urgent_reason"],
            now=clock.now(),
        )
        prefetch_related_objects([maintenance], selectors.maintenance_links_seen_by(None))
        return Response(SlaMaintenanceSerializer(maintenance).data, status=status.HTTP_201_CREATED)
