"""REST API of billing. Every Organization is resolved through the caller's memberships (another
Organization's id answers 404) and every Service or invoice through what the member may see (ORG-6)."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedRequest
from accounts.models import DocumentVersion, Membership
from billing import selectors
from billing.serializers import (
    CashOutRequestSerializer,
    CatalogEntrySerializer,
    InvoiceDetailSerializer,
    InvoiceSerializer,
    LedgerPageSerializer,
    MeansAddSerializer,
    MeansSerializer,
    PaymentSerializer,
    PaySerializer,
    PrepaidAccountSerializer,
    TopUpResultSerializer,
    TopUpSerializer,
)
from billing.services.means import means_add_card, means_add_other, means_remove, means_set_default
from billing.services.payments import invoice_pay
from billing.services.prepaid import prepaid_account_for, prepaid_cash_out_request
from billing.services.topup import prepaid_top_up_by_card, prepaid_top_up_by_transfer
from billing.views import pdf_response
from core import clock
from core.http import client_address
from core.keyset import keyset_page
from core.schema import ErrorSerializer

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def _membership(request: AuthenticatedRequest, org_id: int) -> Membership:
    return account_selectors.membership_for(user=request.user, organization_id=org_id)


def _version(version_id: int | None) -> DocumentVersion | None:
    return DocumentVersion.objects.filter(pk=version_id).first() if version_id else None


class CatalogView(APIView):
    @extend_schema(responses={200: CatalogEntrySerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Plans on sale in the Organization's currency, with the price it would pay (BIL-1, BIL-7)."""
        organization = _membership(request, org_id).organization
        today = clock.today()
        entries = [
            {
                "plan": plan,
                "price": price,
                "price_shown": selectors.shown_price(price, organization, plan.service_type, today),
            }
            for plan, price in selectors.catalog(today, organization.currency)
        ]
        return Response(CatalogEntrySerializer(entries, many=True).data)


class InvoiceListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="an invoice number: the page of the invoices below it"),
        ],
        responses={200: InvoiceSerializer(many=True), 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The invoices the member sees (ORG-6), newest first, 50 at a time: when there are older ones,
        the `Link` header's `rel="next"` address gives their page (`?before=<number>`)."""
        invoices = selectors.invoices_for_member(_membership(request, org_id))
        page = keyset_page(request, invoices, key="number", invalid=_("An invoice number is expected."))
        return Response(InvoiceSerializer(page.rows, many=True).data, headers=page.link_header())


class InvoiceDetailView(APIView):
    @extend_schema(responses={200: InvoiceDetailSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, invoice_id: int) -> Response:
        invoice = selectors.invoice_for_member(membership=_membership(request, org_id), invoice_id=invoice_id)
        return Response(InvoiceDetailSerializer(invoice).data)


class MeansListView(APIView):
    @extend_schema(responses={200: MeansSerializer(many=True), 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        return Response(MeansSerializer(selectors.means_of(_membership(request, org_id).organization), many=True).data)

    @extend_schema(request=MeansAddSerializer, responses={201: MeansSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Add a means of payment (BIL-4); a card goes through the gateway, which keeps the number."""
        organization = _membership(request, org_id).organization
        body = MeansAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["kind"] == "card":
            missing = [field for field in ("number", "exp_month", "exp_year", "cvc") if field not in data]
            if missing:
                raise ValidationError({field: ["This field is required for a card."] for field in missing})
            means = means_add_card(
                organization=organization,
                user=request.user,
                number=data["number"],
                exp_month=data["exp_month"],
                exp_year=data["exp_year"],
                cvc=data["cvc"],
                make_default=data["make_default"],
                client_address=client_address(request),
                now=clock.now(),
            )
        else:
            means = means_add_other(
                organization=organization,
                user=request.user,
                kind=data["kind"],
                paypal_email=data.get("paypal_email", ""),
                make_default=data["make_default"],
                client_address=client_address(request),
                now=clock.now(),
            )
        return Response(MeansSerializer(means).data, status=status.HTTP_201_CREATED)


class MeansDetailView(APIView):
    @extend_schema(responses={204: None, **REFUSALS})
    def delete(self, request: AuthenticatedRequest, org_id: int, means_id: int) -> Response:
        organization = _membership(request, org_id).organization
        means_remove(
            means=selectors.means_for(organization=organization, means_id=means_id),
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeansDefaultView(APIView):
    @extend_schema(request=None, responses={200: MeansSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, means_id: int) -> Response:
        """Make this means the one debited for automatic renewals (BIL-12)."""
        organization = _membership(request, org_id).organization
        means = means_set_default(
            means=selectors.means_for(organization=organization, means_id=means_id),
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(MeansSerializer(means).data)


class InvoicePdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, invoice_id: int) -> HttpResponse:
        """The invoice as a PDF, in the invoice's language; CHF invoices carry a Swiss QR-bill (BIL-5)."""
        invoice = selectors.invoice_for_member(membership=_membership(request, org_id), invoice_id=invoice_id)
        return pdf_response(invoice)


class InvoicePayView(APIView):
    @extend_schema(request=PaySerializer, responses={200: InvoiceDetailSerializer, 402: ErrorSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int, invoice_id: int) -> Response:
        """Pay what is due: `prepaid_amount` from the Prepaid Account, the rest with the card `means_id`
        — both or neither (PRE-5). A declined card answers 402 and changes nothing."""
        membership = _membership(request, org_id)
        invoice = selectors.invoice_for_member(membership=membership, invoice_id=invoice_id)
        body = PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        means_id = body.validated_data.get("means_id")
        means = selectors.means_for(organization=membership.organization, means_id=means_id) if means_id else None
        payment = invoice_pay(
            invoice=invoice,
            user=request.user,
            prepaid_amount=body.validated_data["prepaid_amount"],
            means=means,
            client_address=client_address(request),
            now=clock.now(),
        )
        invoice.refresh_from_db()
        data = InvoiceDetailSerializer(invoice).data
        data["card_payment"] = PaymentSerializer(payment).data if payment is not None else None
        return Response(data)


# --- Prepaid Account (PRE-1 … PRE-4) ---------------------------------------------------------


class PrepaidAccountView(APIView):
    @extend_schema(responses={200: PrepaidAccountSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The balance, the cash-out request waiting for staff (PRE-4) and the bank transfers announced
        to top it up, with the reference to quote (BIL-5)."""
        organization = _membership(request, org_id).organization
        account = prepaid_account_for(organization)
        data = {
            "balance": account.balance,
            "currency": account.currency,
            "cash_out_request": selectors.open_cash_out_request(account),
            "pending_top_ups": selectors.pending_top_ups(organization),
        }
        return Response(PrepaidAccountSerializer(data).data)


class PrepaidEntriesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="an entry id: the page of the entries older than it"),
        ],
        responses={200: LedgerPageSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """The ledger, newest first, one keyset page at a time: follow `next_before` (PRE-1)."""
        organization = _membership(request, org_id).organization
        before = request.query_params.get("before")
        if before is not None and not (before.isascii() and before.isdigit()):
            raise ValidationError({"before": [_("An entry id is expected.")]})
        page = selectors.ledger_page(prepaid_account_for(organization), before_id=int(before) if before else None)
        return Response(LedgerPageSerializer(page).data)


class PrepaidTopUpView(APIView):
    @extend_schema(request=TopUpSerializer, responses={201: TopUpResultSerializer, 402: ErrorSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Top up the balance (PRE-2): by card, credited at once (a declined card answers 402 and
        changes nothing; an `unknown` outcome is credited once reconciled), or by bank transfer: a
        pending payment whose `reference` the transfer must quote, credited when received (BIL-5)."""
        organization = _membership(request, org_id).organization
        body = TopUpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["method"] == "card":
            if "means_id" not in data:
                raise ValidationError({"means_id": [_("Choose one of your organization's cards.")]})
            payment = prepaid_top_up_by_card(
                organization=organization,
                user=request.user,
                amount=data["amount"],
                means=selectors.means_for(organization=organization, means_id=data["means_id"]),
                client_address=client_address(request),
                now=clock.now(),
            )
        else:
            payment = prepaid_top_up_by_transfer(
                organization=organization,
                user=request.user,
                amount=data["amount"],
                client_address=client_address(request),
                now=clock.now(),
            )
        result = {"payment": payment, "balance": prepaid_account_for(organization).balance}
        return Response(TopUpResultSerializer(result).data, status=status.HTTP_201_CREATED)


class PrepaidCashOutView(APIView):
    @extend_schema(request=None, responses={201: CashOutRequestSerializer, **REFUSALS})
    def post(self, request: AuthenticatedRequest, org_id: int) -> Response:
        """Ask for the whole balance back; refused (409, PRE-4) while an invoice is open."""
        cash_out = prepaid_cash_out_request(
            organization=_membership(request, org_id).organization,
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(CashOutRequestSerializer(cash_out).data, status=status.HTTP_201_CREATED)
