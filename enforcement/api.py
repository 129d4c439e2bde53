"""REST API of enforcement (ENF-2): the Organization's breach notices, read only. The Organization
resolves through the caller's memberships (another one's id answers 404); breaches an authority
forbade telling are not listed, and only the evidence the customer may see is."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from core.schema import ErrorSerializer
from enforcement import selectors
from enforcement.serializers import BreachSerializer


class BreachListView(APIView):
    @extend_schema(responses={200: BreachSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: Request, org_id: int) -> Response:
        """The breach notices of the Organization, newest first."""
        membership = account_selectors.membership_for(user=request.user, organization_id=org_id)  # type: ignore[arg-type]
        return Response(BreachSerializer(selectors.breaches_for_customer(membership.organization_id), many=True).data)
