"""REST API of the accounts app. Every Organization is looked up through the caller's own
memberships: another Organization's id answers 404 on every endpoint, list and action."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import document_services, selectors, services, tokens, two_factor
from accounts.http import AuthenticatedRequest
from accounts.lockout import CODE_REFUSED, LOGIN_REFUSED, second_factor_failed
from accounts.models import DocumentVersion, Membership, User
from accounts.serializers import (
    AcceptanceSerializer,
    ApiTokenSerializer,
    ContactInputSerializer,
    DocumentsSerializer,
    InvitationSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeSerializer,
    OrganizationCreateSerializer,
    OrganizationSerializer,
    TerminateSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from core import clock
from core.api import error_body
from core.errors import RuleViolation
from core.http import client_address
from core.schema import ErrorSerializer
from core.throttling import AnonRateThrottle

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def _membership(request: AuthenticatedRequest, org_id: int) -> Membership:
    return selectors.membership_for(user=request.user, organization_id=org_id)


class TokenView(APIView):
    """Exchange e-mail and password (and the second factor's code when the user has one) for an API
    token; failed attempts, wrong codes included, count towards the log-in lockout (accounts.lockout)."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=TokenRequestSerializer, responses={200: TokenSerializer, 400: ErrorSerializer, 403: ErrorSerializer}
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        """A new token, valid `API_TOKEN_DAYS` days (90 by default). With a second factor on, `otp` is
        required; a member of an Organization that requires one, without it, is refused (403, ORG-5)."""
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        email = data["email"].lower()
        user = authenticate(request._request, username=email, password=data["password"])
        if user is None:
            # The same answer when the account or address is paused (accounts.lockout).
            return Response(error_body(str(LOGIN_REFUSED)), status=status.HTTP_400_BAD_REQUEST)
        address = client_address(request)
        now = clock.now()
        if two_factor.has_two_factor(user):
            code = data.get("otp") or ""
            if not code.strip():
                message = _("This account has a second factor: send its 6-digit code (or a recovery code) as `otp`.")
                return Response(
                    {**error_body(message), "errors": {"otp": [message]}}, status=status.HTTP_400_BAD_REQUEST
                )
            if not two_factor.second_factor_verify(user=user, code=code, client_address=address, now=now):
                second_factor_failed(request._request, email)
                return Response(error_body(str(CODE_REFUSED)), status=status.HTTP_400_BAD_REQUEST)
        elif two_factor.needs_enrolment(user):
            raise RuleViolation(
                _("An organization you belong to requires a second factor: turn it on in the portal first."),
                rule="ORG-5",
                status=403,
            )
        token, key = tokens.token_issue(
            user=user, name=data.get("name", ""), scope=data.get("scope"), client_address=address, now=now
        )
        body = {"token": key, "id": token.pk, "name": token.name, "scope": token.scope, "expires_at": token.expires_at}
        return Response(TokenSerializer(body).data)


class TokenListView(APIView):
    """The caller's own API tokens (never anyone else's)."""

    @extend_schema(responses={200: ApiTokenSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        """Tokens not revoked, newest first; expired ones stay listed (`expired`) until revoked."""
        found = tokens.tokens_of(request.user)
        return Response(ApiTokenSerializer(found, many=True, context={"now": clock.now()}).data)


class TokenDetailView(APIView):
    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def delete(self, request: AuthenticatedRequest, token_id: int) -> Response:
        """Revoke one of the caller's tokens (another user's id answers 404, as an unknown one)."""
        token = tokens.token_of(user=request.user, token_id=token_id)
        if token is None:
            raise Http404("No such token.")
        tokens.token_revoke(token=token, user=request.user, client_address=client_address(request), now=clock.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: AuthenticatedRequest) -> Response:
        user = User.objects.prefetch_related("memberships__organization").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class OrganizationListView(APIView):
    @extend_schema(responses=OrganizationSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        organizations = selectors.organizations_for_user(request.user)
        return Response(OrganizationSerializer(organizations, many=True).data)

    @extend_schema(request=OrganizationCreateSerializer, responses={201: OrganizationSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = OrganizationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = DocumentVersion.objects.filter(pk=data.pop("accept_tcu_version")).first()
        birth = data.pop("date_of_birth", None)
        organization = services.organization_create(
            user=request.user,
            contact=data,
            accepted_tcu=version,
            date_of_birth=birth,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(OrganizationSerializer(organization).data, status=status.HTTP_201_CREATED)


class OrganizationDetailView(APIView):
    @extend_schema(responses={200: OrganizationSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        return Response(OrganizationSerializer(_membership(request, org_id).organization).data)

    @extend_schema(request=ContactInputSerializer, responses={200: OrganizationSerializer, **REFUSALS})
    def patch(self, request: AuthenticatedRequest, org_id: int) -> Response:
        organization = _membership(request, org_id).organization
        serializer = ContactInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.organization_update_contact(
            organization=organization,
            user=request.user,
            changes=dict(serializer.validated_data),
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(OrganizationSerializer(updated).data)


class MemberListView(APIView):
    @extend_schema(responses={200: MemberSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        organization = _membership(request, org_id).organization
        return Response(MemberSerializer(selectors.members_of(organization), many=True).data)

    @extend_schema(request=MemberAddSerializer, responses={202: InvitationSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Invite someone by e-mail; they become a member when they accept (202: not a member yet)."""
        organization = _membership(request, org_id).organization
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.member_invite(
            organization=organization,
            user=request.user,
            email=serializer.validated_data["email"],
            role=serializer.validated_data["role"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


class InvitationListView(APIView):
    @extend_schema(responses={200: InvitationSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        organization = _membership(request, org_id).organization
        return Response(InvitationSerializer(selectors.open_invitations(organization, clock.now()), many=True).data)


class InvitationDetailView(APIView):
    @extend_schema(responses={204: None, **REFUSALS})
    def delete(self, request: AuthenticatedRequest, org_id: int, invitation_id: int) -> Response:
        organization = _membership(request, org_id).organization
        invitation = selectors.invitation_of(organization=organization, invitation_id=invitation_id)
        services.invitation_revoke(
            invitation=invitation, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(APIView):
    @extend_schema(request=None, responses={201: MemberSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, token: str) -> Response:
        """Accept an invitation sent to the caller's e-mail address."""
        membership = services.invitation_accept(
            token=token, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    @extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer, **REFUSALS})
    def patch(self, request: AuthenticatedRequest, org_id: int, member_id: int) -> Response:
        organization = _membership(request, org_id).organization
        member = selectors.member_of(organization=organization, membership_id=member_id)
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = services.member_change_role(
            membership=member,
            user=request.user,
            role=serializer.validated_data["role"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(MemberSerializer(changed).data)

    @extend_schema(responses={204: None, **REFUSALS})
    def delete(self, request: AuthenticatedRequest, org_id: int, member_id: int) -> Response:
        organization = _membership(request, org_id).organization
        member = selectors.member_of(organization=organization, membership_id=member_id)
        services.member_remove(
            membership=member, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentListView(APIView):
    @extend_schema(responses={200: DocumentsSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        organization = _membership(request, org_id).organization
        pending = selectors.documents_to_accept(organization, clock.today(), settings.DOCUMENT_DEEMED_ACCEPTANCE_DAYS)
        return Response(
            DocumentsSerializer({"pending": pending, "accepted": selectors.acceptances_of(organization)}).data
        )


class DocumentAcceptView(APIView):
    @extend_schema(request=None, responses={201: AcceptanceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, version_id: int) -> Response:
        organization = _membership(request, org_id).organization
        version = get_object_or_404(DocumentVersion, pk=version_id)
        acceptance = document_services.document_accept(
            organization=organization,
            version=version,
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(AcceptanceSerializer(acceptance).data, status=status.HTTP_201_CREATED)


class OrganizationTerminateView(APIView):
    @extend_schema(request=TerminateSerializer, responses={200: OrganizationSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        organization = _membership(request, org_id).organization
        serializer = TerminateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        terminated = services.organization_terminate(
            organization=organization,
            user=request.user,
            password=serializer.validated_data["password"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(OrganizationSerializer(terminated).data)
