"""The dashboard's figures are the ones the invoices will say: a renewal's quote is the total of the
renewal invoice issued the same day (price, Renewal Warranty surcharge, add-ons, VAT per line), and a
usage Service's month so far is the usage page's (USE-7). And the orders-held notice (ENF-4)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from audit.services import Actor
from billing.models import AddOn, AddOnPrice, InvoiceLine
from subscriptions.models import ServiceAddOn
from subscriptions.services.renewal_invoices import renewal_invoices_issue, renewal_quotes
from tests.billing.factories import PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.dashboard.helpers import NOW, TODAY, card, logged_in
from tests.factories import UserFactory, member
from tests.usage.portal_helpers import put_hours, usage_plan
from usage import selectors as usage_selectors

pytestmark = pytest.mark.django_db


def test_a_renewal_quote_is_the_total_of_the_invoice_issued_that_day() -> None:
    # given a Service with the Renewal Warranty (5 %) and a paid add-on, at a price with odd cents
    legal = member()
    plan = PlanFactory(service_type=service_type("web-hosting"), name="Hosting", period="annual")
    PriceFactory(plan=plan, amount=Decimal("99.95"), valid_from=dt.date(2026, 1, 1))
    service = ServiceFactory(
        organization=legal.organization,
        plan=plan,
        renewal_warranty=True,
        anchor_date=dt.date(2025, 4, 1),
        expires_on=dt.date(2026, 4, 1),
    )
    option = AddOn.objects.create(service_type=plan.service_type, slug="backup", name="Daily backup")
    AddOnPrice.objects.create(
        add_on=option, currency="CHF", amount_per_cycle=Decimal("12.35"), valid_from=dt.date(2025, 1, 1)
    )
    ServiceAddOn.objects.create(service=service, add_on=option, activated_at=NOW - dt.timedelta(days=30))

    # when it is quoted, then invoiced, on the same day
    quote = renewal_quotes([service], organization=legal.organization, day=TODAY)[service.pk]
    invoice = renewal_invoices_issue([service], day=TODAY, actor=Actor.system("test"), rule="REN-5", now=NOW)[
        service.pk
    ]

    # then the quote is the invoice's total, to the cent
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 3  # the plan, the surcharge, the add-on
    # 99.95 + 5.00 (5 %) + 12.35 = 117.30, and VAT line by line: 8.10 + 0.41 + 1.00 = 9.51
    assert quote == invoice.total_incl_vat == Decimal("126.81")


def test_a_service_without_a_price_in_its_currency_is_not_quoted() -> None:
    legal = member()
    service = ServiceFactory(organization=legal.organization, plan=PlanFactory(), currency="EUR")
    assert renewal_quotes([service], organization=legal.organization, day=TODAY) == {}


def test_the_month_so_far_is_the_usage_pages_total() -> None:
    legal = member()
    service = ServiceFactory(
        organization=legal.organization,
        plan=usage_plan(),
        usage_based=True,
        anchor_date=None,
        term=0,
        expires_on=None,
    )
    put_hours(service, "storage", dt.date(2026, 3, 2), {0: Decimal("1234.5")})
    put_hours(service, "traffic", dt.date(2026, 3, 3), {5: Decimal("7.25")})
    service.refresh_from_db()

    so_far = usage_selectors.months_so_far([service], organization=legal.organization, now=NOW)[service.pk]
    page = usage_selectors.month_to_date(service, organization=legal.organization, now=NOW)

    assert so_far.total_incl_vat == page.total == Decimal("0.66")  # 0.25 + 0.36 excl. VAT, + 8.1 % per line


def test_held_orders_are_announced_on_the_dashboard() -> None:
    legal = member()
    organization = legal.organization
    organization.orders_held_at, organization.orders_held_by = NOW, UserFactory(is_staff=True)
    organization.orders_held_reason = "Invoice unpaid for 30 days"
    organization.save(update_fields=["orders_held_at", "orders_held_by", "orders_held_reason"])
    with time_machine.travel(NOW, tick=False):
        html = logged_in(legal.user).get(reverse("dashboard:home", args=[legal.organization_id])).content.decode()
    assert (
        '<div class="notice" role="alert">New orders and renewals are on hold because an invoice is unpaid past its '
        f'due date. <a href="/orgs/{legal.organization_id}/invoices/">Pay your overdue invoices</a></div>'
    ) in html
    assert card(html, "invoices").startswith("Invoices to pay Nothing to pay")
