"""REST API of Services: ordering, trials, a Service, its timeline and its lifecycle actions, a
member's Services (ORG-6). Every Organization is resolved through the caller's memberships (another
Organization's id answers 404) and every Service through what the member may see (ORG-6)."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedRequest
from accounts.models import DocumentVersion, Membership
from accounts.serializers import MemberServicesSerializer
from billing import selectors
from billing.models import AddOn, Plan
from billing.serializers import (
    InvoiceDetailSerializer,
    InvoiceSerializer,
    PaySerializer,
)
from core import clock
from core.http import client_address
from core.keyset import keyset_page
from core.schema import ErrorSerializer
from subscriptions import selectors as subscription_selectors
from subscriptions.models import MembershipServiceScope, Service
from subscriptions.serializers import (
    AddOnActivateSerializer,
    AddOnSerializer,
    CreditEntrySerializer,
    CreditsBuySerializer,
    CreditsPaySerializer,
    MoneyBackRefundSerializer,
    OrderSerializer,
    RenewalAttemptSerializer,
    ServiceSerializer,
    ServiceTerminateSerializer,
    SwitchSerializer,
    TimelineEventSerializer,
)
from subscriptions.services import addons, credits, moneyback
from subscriptions.services.lifecycle import (
    service_decline_renewal,
    service_renew_now,
    service_resume_renewal,
    service_set_auto_renew,
    service_set_warranty,
    service_terminate_now,
)
from subscriptions.services.orders import plan_order, trial_convert, trial_start
from subscriptions.services.scopes import membership_scope_set
from subscriptions.timeline import service_timeline

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def _membership(request: AuthenticatedRequest, org_id: int) -> Membership:
    return account_selectors.membership_for(user=request.user, organization_id=org_id)


def _version(version_id: int | None) -> DocumentVersion | None:
    return DocumentVersion.objects.filter(pk=version_id).first() if version_id else None


class ServiceListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("before", int, description="a Service id: the page of the Services after it")],
        responses={200: ServiceSerializer(many=True), 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The Services the member sees (ORG-6), newest first, 50 at a time: when there are older ones,
        the `Link` header's `rel="next"` address gives their page (`?before=<id>`)."""
        services = subscription_selectors.services_for_member(_membership(request, org_id))
        page = keyset_page(request, services, key="id", invalid=_("No such Service in this list."))
        return Response(ServiceSerializer(page.rows, many=True).data, headers=page.link_header())

    @extend_schema(
        request=OrderSerializer,
        responses={
            201: inline_serializer(
                "OrderResult", {"service": ServiceSerializer(), "invoice": InvoiceSerializer(allow_null=True)}
            ),
            **REFUSALS,
        },
    )
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Order a plan: the Service starts when its order invoice is paid (BIL-3); a usage plan's
        Service starts at once, with no order invoice (`invoice` is null, USE-1)."""
        organization = _membership(request, org_id).organization
        body = OrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = get_object_or_404(Plan.objects.select_related("service_type"), pk=body.validated_data["plan_id"])
        service, invoice = plan_order(
            organization=organization,
            user=request.user,
            plan=plan,
            accept_tcu=_version(body.validated_data.get("accept_tcu_version")),
            accept_special_conditions=_version(body.validated_data.get("accept_special_conditions_version")),
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(
            {
                "service": ServiceSerializer(service).data,
                "invoice": InvoiceSerializer(invoice).data if invoice is not None else None,
            },
            status=status.HTTP_201_CREATED,
        )


class TrialView(APIView):
    @extend_schema(request=OrderSerializer, responses={201: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Start the free trial of a plan's service type (REN-7)."""
        organization = _membership(request, org_id).organization
        body = OrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = get_object_or_404(Plan.objects.select_related("service_type"), pk=body.validated_data["plan_id"])
        service = trial_start(
            organization=organization,
            user=request.user,
            plan=plan,
            accept_tcu=_version(body.validated_data.get("accept_tcu_version")),
            accept_special_conditions=_version(body.validated_data.get("accept_special_conditions_version")),
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(service).data, status=status.HTTP_201_CREATED)


class ServiceDetailView(APIView):
    @extend_schema(responses={200: ServiceSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        service = _service(request, org_id, service_id)
        return Response(ServiceSerializer(service).data)


class TrialConvertView(APIView):
    @extend_schema(request=None, responses={201: InvoiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Switch a trial to paid: the order invoice is issued (REN-7)."""
        service = _service(request, org_id, service_id)
        invoice = trial_convert(
            service=service, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


def _service(request: AuthenticatedRequest, org_id: int, service_id: int) -> Service:
    return subscription_selectors.service_for_member(membership=_membership(request, org_id), service_id=service_id)


class ServiceTimelineView(APIView):
    @extend_schema(responses={200: TimelineEventSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """What happened to the Service and what the daily run will do to it if nothing is paid
        before (debit attempts, Renewal Warranty, reminders, suspension, termination), by date."""
        service = _service(request, org_id, service_id)
        return Response(TimelineEventSerializer(service_timeline(service, today=clock.today()), many=True).data)


class ServiceAttemptsView(APIView):
    @extend_schema(responses={200: RenewalAttemptSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The Service's debit attempts, newest first (REN-1, REN-2, PRE-5)."""
        service = _service(request, org_id, service_id)
        attempts = service.renewal_attempts.select_related("invoice").order_by("-day", "-pk")
        return Response(RenewalAttemptSerializer(attempts, many=True).data)


class ServiceAutoRenewView(APIView):
    @extend_schema(request=SwitchSerializer, responses={200: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Automatic renewal on (needs a default card that can be debited, BIL-12) or off."""
        service = _service(request, org_id, service_id)
        body = SwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = service_set_auto_renew(
            service=service,
            user=request.user,
            enabled=body.validated_data["enabled"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(changed).data)


class ServiceWarrantyView(APIView):
    @extend_schema(request=SwitchSerializer, responses={200: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The Renewal Warranty on (eligible service types only, RW-1; 5% surcharge from the next
        renewal, RW-2) or off (RW-6)."""
        service = _service(request, org_id, service_id)
        body = SwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = service_set_warranty(
            service=service,
            user=request.user,
            enabled=body.validated_data["enabled"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(changed).data)


class ServiceRenewView(APIView):
    @extend_schema(request=PaySerializer, responses={200: InvoiceDetailSerializer, 402: ErrorSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Pay the next term now — or the open renewal invoice, which reactivates a Service suspended
        for it (REN-3); the Renewal Warranty's invoice first (RW-4). `prepaid_amount` from the
        Prepaid Account, the rest with the card `means_id`, both or neither (PRE-5). Answers the
        invoice; still `open` when the card's outcome is not known yet."""
        membership = _membership(request, org_id)
        service = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
        body = PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        means_id = body.validated_data.get("means_id")
        means = selectors.means_for(organization=membership.organization, means_id=means_id) if means_id else None
        invoice = service_renew_now(
            service=service,
            user=request.user,
            prepaid_amount=body.validated_data["prepaid_amount"],
            means=means,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(InvoiceDetailSerializer(invoice).data)


class ServiceDeclineRenewalView(APIView):
    @extend_schema(request=None, responses={200: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """ "Do not renew": the Service ends at its expiry date and its data is deleted then (REN-5,
        SC 8.3); an open renewal invoice of the next term is cancelled by a credit note."""
        service = service_decline_renewal(
            service=_service(request, org_id, service_id),
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(service).data)


class ServiceResumeRenewalView(APIView):
    @extend_schema(request=None, responses={200: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Undo "do not renew" before the expiry date (automatic renewal stays off, BIL-12)."""
        service = service_resume_renewal(
            service=_service(request, org_id, service_id),
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(service).data)


class ServiceTerminateView(APIView):
    @extend_schema(request=ServiceTerminateSerializer, responses={200: ServiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Terminate now: the data is deleted at once and for good (SC 8.3) and nothing is refunded pro
        rata (BIL-13). Refused (400) unless `confirm` is true."""
        service = _service(request, org_id, service_id)
        body = ServiceTerminateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        terminated = service_terminate_now(
            service=service,
            user=request.user,
            confirmed=body.validated_data["confirm"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(ServiceSerializer(terminated).data)


class ServiceMoneyBackView(APIView):
    @extend_schema(request=None, responses={201: MoneyBackRefundSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Cancel the Service under the money-back guarantee and refund its first order (MB-1…MB-3): to
        the card it was paid with, otherwise to the Prepaid Account. The Service is terminated and
        its data deleted (SC 8.3)."""
        refund = moneyback.service_money_back(
            service=_service(request, org_id, service_id),
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(MoneyBackRefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class MemberServicesView(APIView):
    """ORG-6: the Services a member is limited to (an empty list: all of them)."""

    @extend_schema(responses={200: MemberServicesSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, member_id: int) -> Response:
        organization = account_selectors.membership_for(user=request.user, organization_id=org_id).organization
        member = account_selectors.member_of(organization=organization, membership_id=member_id)
        ids = sorted(MembershipServiceScope.objects.filter(membership=member).values_list("service_id", flat=True))
        return Response({"service_ids": ids})

    @extend_schema(request=MemberServicesSerializer, responses={200: MemberServicesSerializer, **REFUSALS})
    def put(self, request: AuthenticatedRequest, org_id: int, member_id: int) -> Response:
        organization = account_selectors.membership_for(user=request.user, organization_id=org_id).organization
        member = account_selectors.member_of(organization=organization, membership_id=member_id)
        body = MemberServicesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = membership_scope_set(
            membership=member,
            service_ids=body.validated_data["service_ids"],
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response({"service_ids": ids})


# --- add-ons (BIL-8) and credits (BIL-9) -----------------------------------------------------


class ServiceAddOnsView(APIView):
    @extend_schema(responses={200: AddOnSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The add-ons of the Service's type with their prices in force today (excluding VAT, in the
        Service's currency) and whether the Service has them (BIL-8)."""
        service = _service(request, org_id, service_id)
        return Response(AddOnSerializer(subscription_selectors.service_add_ons(service, clock.today()), many=True).data)

    @extend_schema(
        request=AddOnActivateSerializer,
        responses={
            201: inline_serializer(
                "AddOnActivated", {"add_on": AddOnSerializer(), "invoice": InvoiceSerializer(allow_null=True)}
            ),
            **REFUSALS,
        },
    )
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Switch an add-on on (BIL-8): billed with each renewal from the next renewal invoice not
        issued yet; its activation fee, if any, is invoiced now (`invoice`, null without a fee) and
        paid from the Service's credits first (BIL-9)."""
        service = _service(request, org_id, service_id)
        body = AddOnActivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        add_on = get_object_or_404(AddOn, pk=body.validated_data["add_on_id"])
        done = addons.service_add_on_activate(
            service=service, add_on=add_on, user=request.user, client_address=client_address(request), now=clock.now()
        )
        offer = next(o for o in subscription_selectors.service_add_ons(service, clock.today()) if o.add_on == add_on)
        return Response(
            {
                "add_on": AddOnSerializer(offer).data,
                "invoice": InvoiceSerializer(done.invoice).data if done.invoice is not None else None,
            },
            status=status.HTTP_201_CREATED,
        )


class ServiceAddOnView(APIView):
    @extend_schema(request=None, responses={200: AddOnSerializer, **REFUSALS})
    def delete(self, request: AuthenticatedRequest, org_id: int, service_id: int, add_on_id: int) -> Response:
        """Switch an add-on off (BIL-8): the next renewal invoice not issued yet no longer bills it;
        nothing is refunded (BIL-13)."""
        service = _service(request, org_id, service_id)
        add_on = get_object_or_404(AddOn, pk=add_on_id)
        addons.service_add_on_deactivate(
            service=service, add_on=add_on, user=request.user, client_address=client_address(request), now=clock.now()
        )
        offer = next(o for o in subscription_selectors.service_add_ons(service, clock.today()) if o.add_on == add_on)
        return Response(AddOnSerializer(offer).data)


class ServiceCreditsView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "ServiceCredits",
                {
                    "currency": serializers.CharField(),
                    "balance": serializers.DecimalField(max_digits=12, decimal_places=2),
                    "entries": CreditEntrySerializer(many=True),
                },
            ),
            404: ErrorSerializer,
        }
    )
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The Service's credits (BIL-9): balance and movements, newest first."""
        service = _service(request, org_id, service_id)
        return Response(
            {
                "currency": service.currency,
                "balance": str(service.credit_balance),
                "entries": CreditEntrySerializer(subscription_selectors.credit_entries(service), many=True).data,
            }
        )

    @extend_schema(request=CreditsBuySerializer, responses={201: InvoiceSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Buy credits for the Service (BIL-9): the answer is the invoice to pay (no VAT: the invoices
        the credits pay bear it); the balance grows once it is paid."""
        service = _service(request, org_id, service_id)
        body = CreditsBuySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = credits.service_credits_buy(
            service=service,
            amount=body.validated_data["amount"],
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


class ServiceCreditsPayView(APIView):
    @extend_schema(request=CreditsPaySerializer, responses={200: InvoiceDetailSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Pay an open renewal, usage or add-on invoice of the Service with its credits, as far as they
        go (BIL-9). Answers the invoice."""
        service = _service(request, org_id, service_id)
        body = CreditsPaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invoice = get_object_or_404(service.invoices, pk=body.validated_data["invoice_id"])
        credits.service_credits_pay(
            service=service, invoice=invoice, user=request.user, client_address=client_address(request), now=clock.now()
        )
        invoice.refresh_from_db()
        return Response(InvoiceDetailSerializer(invoice).data)
