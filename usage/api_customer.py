"""The customer API of a usage Service (USE-6, USE-7): the same figures as its page — the month so
far per resource, priced as the invoice will price it, the forecast, the days of the month and the
twelve months invoiced — and the monthly budget (GET, PUT, DELETE). Organizations resolve through
the caller's memberships and Services through what the member sees (ORG-6): another Organization's
Service, or a Service not billed by usage, answers 404."""

from decimal import Decimal

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedRequest
from core import clock
from core.errors import RuleViolation
from core.http import client_address
from core.schema import ErrorSerializer
from subscriptions import selectors as subscription_selectors
from subscriptions.models import Service
from usage import selectors
from usage.services.budgets import BUDGET_MAX, budget_remove, budget_set

REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def money(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)  # type: ignore[arg-type]


def six(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=6, **kwargs)  # type: ignore[arg-type]


class ResourceFigureSerializer(serializers.Serializer):
    resource = serializers.CharField(source="resource.slug")
    unit = serializers.CharField(source="resource.unit")
    quantity = six(help_text="Units so far this month.")
    rate = six(help_text="Per unit, excluding VAT (the rate card in force on the month's first day).")
    amount_excl_vat = money(help_text="quantity × rate, rounded to the cent: the invoice line's amount.")
    vat = money()
    amount = money(help_text="Excluding VAT + VAT: the amount shown (BIL-7).")
    threshold = six(allow_null=True, help_text="The consumption threshold per month (USE-5), null when none.")
    threshold_percent = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    amount = money(help_text="The day's amount, VAT as shown, rounded on its own.")
    quantities = serializers.DictField(child=six(), help_text="Units by resource slug (reported ones only).")


class InvoicedMonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The month's first day.")
    invoice_id = serializers.IntegerField(source="invoice.pk", allow_null=True, default=None)
    invoice_number = serializers.CharField(source="invoice.display_number", allow_null=True, default=None)
    status = serializers.CharField(source="invoice.status", allow_null=True, default=None)
    amount = money(help_text="The usage invoice's total, VAT included; 0 without an invoice.")


class BudgetSerializer(serializers.Serializer):
    amount = money(
        min_value=Decimal("0.01"), max_value=BUDGET_MAX, help_text="Per month, VAT included, in the Service's currency."
    )
    limit_at_budget = serializers.BooleanField(
        default=False, help_text="Limit the Service when the budget is reached; otherwise it only alerts."
    )
    updated_at = serializers.DateTimeField(read_only=True)


class LimitSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["threshold", "budget"])
    resource = serializers.CharField(source="resource.slug", allow_null=True, default=None)
    month = serializers.DateField()
    since = serializers.DateTimeField()


class MonthToDateSerializer(serializers.Serializer):
    service_id = serializers.IntegerField(source="service.pk")
    month = serializers.DateField(help_text="The month's first day (Europe/Zurich).")
    today = serializers.DateField()
    currency = serializers.CharField()
    vat_rate = serializers.DecimalField(source="vat.rate", max_digits=5, decimal_places=2)
    reverse_charge = serializers.BooleanField(source="vat.reverse_charge")
    resources = ResourceFigureSerializer(many=True)
    total_excl_vat = money()
    total_vat = money()
    total = money(help_text="What the month's invoice says for the values received so far (USE-7).")
    forecast = money(help_text="The total plus, per day left, the average of the last 7 days.")
    days = DaySerializer(many=True, help_text="The days of the month up to today.")
    invoiced = InvoicedMonthSerializer(many=True, help_text="The 12 months before this one, oldest first.")
    budget = BudgetSerializer(allow_null=True)
    budget_percent = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    limits = LimitSerializer(many=True, help_text="The limits in force (USE-5, USE-6).")


def _usage_service(request: AuthenticatedRequest, org_id: int, service_id: int) -> tuple[Service, object]:
    membership = account_selectors.membership_for(user=request.user, organization_id=org_id)
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    if not found.usage_based:
        raise Http404("This Service is not billed by usage.")
    return found, membership.organization


class ServiceUsageView(APIView):
    @extend_schema(responses={200: MonthToDateSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The month so far of a usage Service (USE-7), with the same figures as its page."""
        found, organization = _usage_service(request, org_id, service_id)
        figures = selectors.month_to_date(found, organization=organization, now=clock.now())
        data = MonthToDateSerializer(figures).data
        slugs = {row.resource.pk: row.resource.slug for row in figures.resources}
        data["days"] = [
            {
                "day": day.day.isoformat(),
                "amount": f"{day.amount:.2f}",
                "quantities": {slugs[key]: f"{value:.6f}" for key, value in day.quantities.items() if key in slugs},
            }
            for day in figures.days
            if day.day <= figures.today
        ]
        return Response(data)


class ServiceBudgetView(APIView):
    @extend_schema(responses={200: BudgetSerializer, 404: ErrorSerializer})
    def get(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """The monthly budget (USE-6); 404 when none is set."""
        found, _organization = _usage_service(request, org_id, service_id)
        budget = selectors.budget_of(found)
        if budget is None:
            raise RuleViolation(_("No budget is set for this Service."), rule="USE-6", status=404)
        return Response(BudgetSerializer(budget).data)

    @extend_schema(request=BudgetSerializer, responses={200: BudgetSerializer, **REFUSALS})
    def put(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Set or change the monthly budget (a Legal Responsible, administrator or billing member):
        alerts at 50, 80 and 100 %; with `limit_at_budget`, the Service is limited when it is reached."""
        found, _organization = _usage_service(request, org_id, service_id)
        body = BudgetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        budget = budget_set(
            service=found,
            user=request.user,
            amount=body.validated_data["amount"],
            limit_at_budget=body.validated_data["limit_at_budget"],
            client_address=client_address(request),
            now=clock.now(),
        )
        return Response(BudgetSerializer(budget).data)

    @extend_schema(responses={204: None, **REFUSALS})
    def delete(self, request: AuthenticatedRequest, org_id: int, service_id: int) -> Response:
        """Remove the budget: no more budget alerts; a limit placed at the budget is lifted."""
        found, _organization = _usage_service(request, org_id, service_id)
        budget_remove(service=found, user=request.user, client_address=client_address(request), now=clock.now())
        return Response(status=status.HTTP_204_NO_CONTENT)
