"""REST API of exports (EVD-4, EVD-5): request, follow and download an Organization's statement or
your own personal data. Another Organization's export, another user's personal export, or a
statement for a member who may not export one, answers 404. Refusals answer with the rule (core.api)."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from core import clock
from core.http import client_address
from core.schema import ErrorSerializer
from exports import selectors
from exports.models import Export
from exports.serializers import ExportSerializer, StatementRequestSerializer
from exports.services import (
    export_download,
    export_personal_request,
    export_statement_request,
    statement_member,
)
from exports.views import file_response

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class StatementListView(APIView):
    @extend_schema(responses={200: ExportSerializer(many=True), 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The Organization's latest statements, newest first (a member who may export one)."""
        membership = statement_member(org_id, request.user)
        exports = selectors.statements_of(membership)[: selectors.LISTED]
        return Response(ExportSerializer(exports, many=True).data)

    @extend_schema(request=StatementRequestSerializer, responses={202: ExportSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Ask for the statement of `start`…`end` (EVD-4); built in the background: follow its
        `status` and `progress`, then fetch `download`. One may wait per user at a time (409)."""
        body = StatementRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        export = export_statement_request(
            organization_id=org_id,
            user=request.user,
            start=body.validated_data["start"],
            end=body.validated_data["end"],
            client_address=client_address(request),
            now=clock.now(),
        )
        export.refresh_from_db()  # built already when the tasks run at once (eager)
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class StatementDetailView(APIView):
    @extend_schema(responses={200: ExportSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, export_id: int) -> Response:
        """One statement's status and progress."""
        export = selectors.statement_for(organization_id=org_id, user=request.user, export_id=export_id)
        return Response(ExportSerializer(export).data)


def _download(request: AuthenticatedRequest, export: Export) -> HttpResponse:
    content = export_download(export=export, user=request.user, client_address=client_address(request), now=clock.now())
    return file_response(export, content)


class StatementDownloadView(APIView):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, export_id: int) -> HttpResponse:
        """The statement's ZIP (one CSV per kind and statement.pdf), once ready; recorded (EVD-4)."""
        export = selectors.statement_for(organization_id=org_id, user=request.user, export_id=export_id)
        return _download(request, export)


class PersonalExportListView(APIView):
    @extend_schema(responses={200: ExportSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        """Your latest personal data exports, newest first (EVD-5)."""
        exports = selectors.personal_exports_of(request.user)[: selectors.LISTED]
        return Response(ExportSerializer(exports, many=True).data)

    @extend_schema(request=None, responses={202: ExportSerializer, 409: ErrorSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Ask for the personal data the portal holds about you (EVD-5), as JSON; built in the
        background. One may wait at a time (409)."""
        export = export_personal_request(user=request.user, client_address=client_address(request), now=clock.now())
        export.refresh_from_db()
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class PersonalExportDetailView(APIView):
    @extend_schema(responses={200: ExportSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, export_id: int) -> Response:
        export = selectors.personal_export_for(user=request.user, export_id=export_id)
        return Response(ExportSerializer(export).data)


class PersonalExportDownloadView(APIView):
    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, export_id: int) -> HttpResponse:
        """Your personal data as JSON, once ready; recorded (EVD-5)."""
        return _download(request, selectors.personal_export_for(user=request.user, export_id=export_id))
