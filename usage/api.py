"""The metering door (SPEC USE-2, USE-5, USE-6): the platform reports usage values and reads the
Services limited now.

Callers: the metering account — a user holding `usage.report_usage` and no staff status, with a token
of scope "metering" from POST /api/v1/auth/token/ (accounts.tokens) — or staff from a session opened
with their second factor (a token alone carries no staff powers). Anyone else, customers included, is
refused (403, rule USE-2) before the body is read. Values of every Organization's Services are
reported here: the metering account is the platform's, not a customer's.

The batch is read with exact decimals (a JSON number is never a float here) and checked value by
value (usage.values); it is answered 200 with the values refused and why even when some were,
400 when it is not a JSON object with a list of values, 413 when it holds more than 10,000.
"""

import json
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from accounts.permissions import HasTokenScope, require_staff_second_factor
from audit.services import Actor
from core import clock
from core.errors import RuleViolation
from core.http import client_address
from core.schema import ErrorSerializer
from usage.models import Budget, Limit, Threshold
from usage.services.ingest import values_record
from usage.values import BATCH_MAX, RULE

PERMISSION = "usage.report_usage"
ECHO_DEPTH = 3  # a value is an object of scalars: anything nested deeper is not echoed


# --- who may call ----------------------------------------------------------------------------------


class IsStaffOrMetering(BasePermission):
    """USE-2: usage is reported by the metering account, which holds `usage.report_usage` and no staff
    status, or by staff with their second factor checked. Refused with the rule before the request's
    body is read."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        require_staff_second_factor(request, rule=RULE)
        if not (user.is_staff or user.has_perm(PERMISSION)):
            raise RuleViolation(_("Only our metering system reports usage."), rule=RULE, status=403)
        return True


# --- the batch -------------------------------------------------------------------------------------


class ExactJSONParser(BaseParser):
    """JSON with every non-integer number read as an exact Decimal (NaN and Infinity too, refused
    then by the checks as not finite): a quantity is never rounded by a float on its way in."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return json.loads(raw, parse_float=Decimal, parse_constant=Decimal)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ParseError(_("The request body is not valid JSON: %(error)s") % {"error": error}) from error


class UsageValueSerializer(serializers.Serializer):
    """For the schema only: the batch is checked value by value (usage.values), not by a serializer."""

    service = serializers.IntegerField(help_text="The id of a usage-based Service (of any Organization).")
    resource = serializers.ChoiceField(
        choices=["reserved-cloudlets", "dynamic-cloudlets", "storage", "traffic", "public-ipv4"],
        help_text="The metered resource.",
    )
    hour = serializers.DateTimeField(
        help_text="The UTC start of the hour (ISO 8601 with its offset, on the hour), not in the future, "
        "within the Service's life."
    )
    quantity = serializers.DecimalField(
        max_digits=24,
        decimal_places=6,
        coerce_to_string=False,
        min_value=Decimal(0),
        help_text="The hour's quantity in the resource's unit: at least 0, at most 6 decimals, at most the "
        "resource's maximum per hour. Send it as a JSON number (read exactly, never as a float).",
    )


class UsageBatchSerializer(serializers.Serializer):
    values = serializers.ListField(
        child=UsageValueSerializer(), max_length=BATCH_MAX, help_text=f"At most {BATCH_MAX:,} values."
    )


class UsageRefusalSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The value's position in the batch, from 0.")
    value = serializers.JSONField(help_text="The value as sent (decimal numbers as text).")
    code = serializers.CharField(help_text="Why, for a program: e.g. `hour_in_future`, `month_closed`.")
    message = serializers.CharField(help_text="Why, for a person.")
    rule = serializers.CharField(help_text="The contract rule: USE-2.")


class UsageAnswerSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Values accepted: new + unchanged + corrected.")
    new = serializers.IntegerField(help_text="Values stored for a Service, resource and hour that had none.")
    unchanged = serializers.IntegerField(
        help_text="Values equal to the one already stored (a replay), or repeated in the batch: nothing changed."
    )
    corrected = serializers.IntegerField(
        help_text="Values that replaced a different one of a month not yet invoiced; each correction is recorded."
    )
    refused = serializers.IntegerField(help_text="Values refused; `refusals` says which and why.")
    refusals = UsageRefusalSerializer(many=True)


class UsageValuesView(APIView):
    # The metering account's tokens (scope "metering", accounts.tokens) work here, and full ones.
    permission_classes = [IsAuthenticated, HasTokenScope("metering", "full"), IsStaffOrMetering]
    parser_classes = [ExactJSONParser]

    @extend_schema(
        operation_id="v1_usage_values_record",
        request=UsageBatchSerializer,
        responses={200: UsageAnswerSerializer, 400: ErrorSerializer, 413: ErrorSerializer},
        description=(
            "The metering account reports usage values per Service, resource and hour (USE-2), up to "
            f"{BATCH_MAX:,} in one batch. Each value is answered on its own: the same value again changes "
            "nothing (a replay is safe); a different value for an hour of a month not yet invoiced replaces the "
            "stored one (recorded); values for a month already invoiced, outside the Service's life, in the "
            "future, not on the hour, negative, not finite, above the resource's maximum per hour, with more "
            "than 6 decimals, or given twice in the batch with different quantities are refused. **200 even "
            "when some values were refused**: the accepted ones are kept and `refusals` lists the others with "
            "their position, the value, a code and a message. A value accepted counts at once in the "
            "month-to-date figures. 400 when the body is not a JSON object with a list `values`; 413 when it "
            "holds more values than a batch may."
        ),
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = request.data
        values = data.get("values") if isinstance(data, dict) else None
        if not isinstance(values, list):
            raise RuleViolation(
                _('The body must be a JSON object with a list of values: {"values": [...]}.'), rule=RULE, status=400
            )
        result = values_record(
            values=values, actor=Actor.for_user(request.user, client_address=client_address(request)), now=clock.now()
        )
        return Response(
            {
                "accepted": result.accepted,
                "new": result.new,
                "unchanged": result.unchanged,
                "corrected": result.corrected,
                "refused": len(result.refused),
                "refusals": [
                    {"index": r.index, "value": _echo(r.value), "code": r.code, "message": r.message, "rule": r.rule}
                    for r in result.refused
                ],
            }
        )


def _echo(value: Any, depth: int = 0) -> Any:
    """A value as sent, for the answer: its decimal numbers as text (exact, and NaN or Infinity have
    no JSON number); what is nested deeper than a value ever is, cut."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list) and depth >= ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {key: _echo(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_echo(item, depth + 1) for item in value]
    return value


# --- the Services limited now -------------------------------------------------------------------


class UsageLimitSerializer(serializers.Serializer):
    service = serializers.IntegerField(source="service_id", help_text="The Service's id.")
    month = serializers.DateField(help_text="The first day of the month the limit belongs to (Zurich).")
    reason = serializers.ChoiceField(
        choices=Limit.Reason.choices,
        help_text="`threshold`: the provider's consumption threshold of a resource was reached (USE-5); "
        "`budget`: the customer's own monthly budget was reached and they asked to be limited there (USE-6).",
    )
    resource = serializers.CharField(
        source="resource.slug", allow_null=True, help_text="The resource past its threshold; null for a budget."
    )
    threshold = serializers.DecimalField(
        max_digits=18,
        decimal_places=6,
        allow_null=True,
        help_text="The month's threshold of the resource, in its unit (a threshold limit); else null.",
    )
    budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="The month's budget, VAT included; else null."
    )
    currency = serializers.CharField(allow_null=True, help_text="The budget's currency; else null.")
    since = serializers.DateTimeField(help_text="When the Service was limited.")


class UsageLimitPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = UsageLimitSerializer(many=True)


class LimitPagination(PageNumberPagination):
    page_size = 1000  # the platform reads them all: few pages


class UsageLimitsView(APIView):
    # The metering account's tokens (scope "metering", accounts.tokens) work here, and full ones.
    permission_classes = [IsAuthenticated, HasTokenScope("metering", "full"), IsStaffOrMetering]

    @extend_schema(
        operation_id="v1_usage_limits_list",
        parameters=[OpenApiParameter("page", int, description="the page number (1,000 limits a page)")],
        responses={200: UsageLimitPageSerializer},
        description="The Services limited now (USE-5, USE-6), oldest limit first: past the provider's "
        "consumption threshold of a resource, or at the customer's budget when they asked to be limited "
        "there. A limit ends when the month is invoiced or when our staff lift it.",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        limits = (
            Limit.objects.filter(lifted_at__isnull=True)
            .select_related("resource", "service")
            .only("service_id", "month", "reason", "resource__slug", "since", "service__plan_id", "service__currency")
            .order_by("since", "pk")
        )
        paginator = LimitPagination()
        page = paginator.paginate_queryset(limits, request, view=self) or []
        _with_figures(page)
        return paginator.get_paginated_response(UsageLimitSerializer(page, many=True).data)


def _with_figures(limits: list[Limit]) -> None:
    """Each limit's threshold (the Service's own, else its plan's) or budget, in two queries."""
    services = {limit.service_id for limit in limits}
    plans = {limit.service.plan_id for limit in limits}
    thresholds: dict[tuple[Any, ...], Decimal] = (
        {
            (threshold.service_id or threshold.plan_id, threshold.service_id is not None, threshold.resource_id): (
                threshold.quantity
            )
            for threshold in Threshold.objects.filter(Q(service_id__in=services) | Q(plan_id__in=plans))
        }
        if limits
        else {}
    )
    budgets = dict(Budget.objects.filter(service_id__in=services).values_list("service_id", "amount")) if limits else {}
    for limit in limits:
        threshold = None
        if limit.reason == Limit.Reason.THRESHOLD:
            threshold = thresholds.get((limit.service_id, True, limit.resource_id))
            if threshold is None:
                threshold = thresholds.get((limit.service.plan_id, False, limit.resource_id))
        budget = budgets.get(limit.service_id) if limit.reason == Limit.Reason.BUDGET else None
        limit.threshold = threshold  # type: ignore[attr-defined]
        limit.budget = budget  # type: ignore[attr-defined]
        limit.currency = limit.service.currency if budget is not None else None  # type: ignore[attr-defined]
