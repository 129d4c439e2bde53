"""REST API of support (SUP-1…SUP-7). Every Organization is resolved through the caller's memberships
(another Organization's id answers 404) and every ticket through what the member sees (ORG-6).
Refusals answer with the rule that refused (core.api). Nothing is ever deleted (SUP-3): no DELETE."""

from django.http import Http404, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedRequest
from accounts.models import Language, Membership
from billing import selectors as billing_selectors
from billing.models import Invoice
from core import clock
from core.errors import RuleViolation
from core.http import client_address
from core.keyset import keyset_page
from core.schema import ErrorSerializer
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service
from support import selectors
from support.attachments import ALLOWED_EXTENSIONS
from support.models import Ticket
from support.serializers import (
    MessagePostSerializer,
    MessageSerializer,
    PrioritySerializer,
    TicketCreateSerializer,
    TicketSerializer,
)
from support.services import message_post, ticket_open, ticket_set_priority
from support.views import attachment_response

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}
PARSERS = [MultiPartParser, FormParser, JSONParser]


def _membership(request: AuthenticatedRequest, org_id: int) -> Membership:
    return account_selectors.membership_for(user=request.user, organization_id=org_id)


def _ticket(request: AuthenticatedRequest, org_id: int, ticket_id: int) -> Ticket:
    return selectors.ticket_for_member(membership=_membership(request, org_id), ticket_id=ticket_id)


def _service(membership: Membership, service_id: int | None) -> Service | None:
    """ORG-6: a Service the member sees, else 404 with the rule."""
    if service_id is None:
        return None
    service = subscription_selectors.services_for_member(membership).filter(pk=service_id).first()
    if service is None:
        raise RuleViolation(_("No such service."), rule="ORG-6", status=404, field="service_id")
    return service


def _invoice(membership: Membership, invoice_id: int | None) -> Invoice | None:
    if invoice_id is None:
        return None
    invoice = billing_selectors.invoices_for_member(membership).filter(pk=invoice_id).first()
    if invoice is None:
        raise RuleViolation(_("No such invoice."), rule="ORG-6", status=404, field="invoice_id")
    return invoice


class TicketListView(APIView):
    parser_classes = PARSERS

    @extend_schema(
        parameters=[OpenApiParameter("before", int, description="a ticket id: the page of the tickets after it")],
        responses={200: TicketSerializer(many=True), 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The tickets the member sees (ORG-6), newest first, 50 at a time: when there are older ones,
        the `Link` header's `rel="next"` address gives their page (`?before=<id>`)."""
        tickets = selectors.tickets_for_member(_membership(request, org_id))
        page = keyset_page(request, tickets, key="id", invalid=_("No such ticket in this list."))
        return Response(TicketSerializer(page.rows, many=True).data, headers=page.link_header())

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Open a ticket (SUP-2) of a customer kind (SUP-5): an invoice dispute names `invoice_id`
        within one month of its issue date (BIL-11); an SLA claim names `service_id`, `claim_start`
        and `claim_end` (SLA-5); a money-back request names `service_id` and is refunded at once
        when MB-1…MB-3 allow (MB-2); a termination request is a Legal Responsible's (ORG-9)."""
        membership = _membership(request, org_id)
        body = TicketCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        language = (get_language() or "en")[:2]
        ticket = ticket_open(
            organization=membership.organization,
            user=request.user,
            kind=data["kind"],
            subject=data["subject"],
            body=data["body"],
            language=data.get("language") or (language if language in Language.values else Language.EN),
            service=_service(membership, data.get("service_id")),
            invoice=_invoice(membership, data.get("invoice_id")),
            claim_start=data.get("claim_start"),
            claim_end=data.get("claim_end"),
            attachments=data.get("attachments", []),
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailView(APIView):
    @extend_schema(responses={200: TicketSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, ticket_id: int) -> Response:
        return Response(TicketSerializer(_ticket(request, org_id, ticket_id)).data)


class TicketMessagesView(APIView):
    parser_classes = PARSERS

    @extend_schema(responses={200: MessageSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, ticket_id: int) -> Response:
        """The ticket's messages, oldest first, without our internal notes."""
        ticket = _ticket(request, org_id, ticket_id)
        return Response(MessageSerializer(selectors.messages_for_member(ticket), many=True).data)

    @extend_schema(request=MessagePostSerializer, responses={201: MessageSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, ticket_id: int) -> Response:
        """Post a message, with attachments as multipart (SUP-3); refused (409) on a closed ticket."""
        ticket = _ticket(request, org_id, ticket_id)
        body = MessagePostSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        message = message_post(
            ticket=ticket,
            user=request.user,
            body=body.validated_data["body"],
            attachments=body.validated_data.get("attachments", []),
            client_address=client_address(request),
            as_staff=False,
            now=clock.now(),
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TicketPriorityView(APIView):
    @extend_schema(request=PrioritySerializer, responses={200: TicketSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, ticket_id: int) -> Response:
        """Set the priority: the contact persons of the ticket's Service only (SUP-4, 403 otherwise)."""
        ticket = _ticket(request, org_id, ticket_id)
        body = PrioritySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = ticket_set_priority(
            ticket=ticket, user=request.user, priority=body.validated_data["priority"], as_staff=False, now=clock.now()
        )
        return Response(TicketSerializer(changed).data)


class AttachmentView(APIView):
    # The file with the type sniffed when it was attached: one of the types a message may carry.
    @extend_schema(responses={**{(200, kind): bytes for kind in ALLOWED_EXTENSIONS}, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, ticket_id: int, attachment_id: int) -> HttpResponse:
        """A file of a message the member sees: never one of an internal note (404)."""
        ticket = _ticket(request, org_id, ticket_id)
        attached = selectors.attachment_for(request.user, attachment_id)
        if attached.message.ticket_id != ticket.pk or attached.message.internal:
            raise Http404("No such attachment.")
        return attachment_response(attached)
