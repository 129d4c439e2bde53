"""Reads of the subscriptions app: the Services a member may see, their add-ons and credits, what
blocks an Organization's termination or currency change."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from billing.models import AddOn, AddOnPrice
from core.request_memo import memoized
from subscriptions.models import (
    MembershipServiceScope,
    MoneyBackCardRefund,
    Service,
    ServiceAddOn,
    ServiceCreditEntry,
)


def member_is_limited(membership: Any) -> bool:
    """ORG-6: the membership is limited to some Services. A membership read for a request (accounts.
    selectors.membership_for) carries the answer; another is asked once per request (core.request_memo):
    a page reads the member's Services, invoices and tickets, each through this scope."""
    known = getattr(membership, "limited_to_services", None)
    if known is not None:
        return bool(known)
    return memoized(
        ("member_is_limited", membership.pk),
        lambda: MembershipServiceScope.objects.filter(membership=membership).exists(),
    )


def services_for_member(membership: Any) -> QuerySet[Service]:
    """ORG-6: the Services a member sees and manages: all of the Organization's, or only those their
    membership is limited to."""
    services = Service.objects.filter(organization_id=membership.organization_id)
    if member_is_limited(membership):
        services = services.filter(scopes__membership=membership)
    return services.select_related("plan__service_type").order_by("-created_at", "-id")


def service_for_member(*, membership: Any, service_id: int) -> Service:
    service = services_for_member(membership).filter(pk=service_id).first()
    if service is None:
        raise Http404("No such service.")
    return service


def invoices_in_member_scope(membership: Any, invoices: QuerySet[Any]) -> QuerySet[Any]:
    """ORG-6: a member limited to some Services sees only their invoices (billing.hooks)."""
    if member_is_limited(membership):
        return invoices.filter(service__scopes__membership=membership)
    return invoices


def live_services(organization: Any) -> QuerySet[Service]:
    return Service.objects.filter(organization=organization).exclude(status=Service.Status.TERMINATED)


def organization_termination_blockers(organization: Any) -> list[str]:
    """ORG-9: an Organization can be terminated only once every Service is terminated."""
    live = live_services(organization).count()
    return [_("%(count)d Service(s) not terminated") % {"count": live}] if live else []


def currency_change_blockers(organization: Any) -> list[str]:
    """ENF-6: a Service not terminated (awaiting payment, trial, active or suspended) keeps the
    currency it was ordered in (billing.hooks)."""
    return [_("a Service that is not terminated")] if live_services(organization).exists() else []


def money_back_card_refunded(invoice: Any) -> Decimal:
    """PRE-2 (billing.hooks): what money-back refunds gave back to the card of the invoice's
    payments — sent or done; one the provider refused was credited to the Prepaid Account instead."""
    total = MoneyBackCardRefund.objects.filter(
        payment__invoice=invoice,
        outcome__in=(MoneyBackCardRefund.Outcome.SENDING, MoneyBackCardRefund.Outcome.REFUNDED),
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


@dataclass(frozen=True)
class AddOnOffer:
    """BIL-8: an add-on of the Service's type, its price in force in the Service's currency (None:
    none in force) and the Service's active row of it (None: not active)."""

    add_on: AddOn
    price: AddOnPrice | None
    active: ServiceAddOn | None


def service_add_ons(service: Service, day: dt.date) -> list[AddOnOffer]:
    """The add-ons a Service may take, with their prices on `day` (BIL-1) and whether it has them
    (three queries)."""
    add_ons = list(AddOn.objects.filter(service_type_id=service.plan.service_type_id).order_by("name", "pk"))
    prices: dict[int, AddOnPrice] = {}
    for price in AddOnPrice.objects.filter(
        add_on__in=add_ons, currency=service.currency, valid_from__lte=day
    ).order_by("-valid_from"):
        prices.setdefault(price.add_on_id, price)
    active = {
        item.add_on_id: item for item in ServiceAddOn.objects.filter(service=service, deactivated_at__isnull=True)
    }
    return [AddOnOffer(add_on=a, price=prices.get(a.pk), active=active.get(a.pk)) for a in add_ons]


def credit_entries(service: Service) -> QuerySet[ServiceCreditEntry]:
    """BIL-9: the Service's credit movements, newest first."""
    return ServiceCreditEntry.objects.filter(service=service).select_related("invoice").order_by("-id")
