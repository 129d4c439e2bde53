"""The portal's usage page (USE-5, USE-6, USE-7): the month so far per resource with exact figures,
the forecast, the daily and twelve-month charts with their tables, thresholds beside the budget,
the limits in force and the last usage invoices; a fixed number of queries whatever the month's
data; tenancy (another Organization, ORG-6 scopes, a Service not billed by usage)."""

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Membership
from billing.models import Invoice
from billing.selectors import vat_treatment
from subscriptions.models import MembershipServiceScope, Service
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import member
from tests.usage.portal_helpers import D, at, fill, put_hours, resources, usage_service
from usage import engine, selectors
from usage.models import Budget, Limit, Threshold, UsageMonth

pytestmark = pytest.mark.django_db

Role = Membership.Role
NOW = at(2026, 4, 10, 8, 0)  # 10 April 2026, 10:00 in Zurich: slots 0…9 of today are past
APRIL = dt.date(2026, 4, 1)
PER_HOUR = {"reserved-cloudlets": D("4"), "storage": D("10")}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def browser(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def page_url(membership: Membership, service: Service) -> str:
    return reverse("usage:service_usage", args=[membership.organization_id, service.pk])


def april(service: Service) -> None:
    """1…9 April every hour, 10 April up to 10:00: 4 reserved cloudlets and 10 GB; 1.5 GB of
    traffic at noon on each full day."""
    fill(service, dt.date(2026, 4, 1), dt.date(2026, 4, 10), PER_HOUR, last_slots=10)
    for day in range(1, 10):
        put_hours(service, "traffic", dt.date(2026, 4, day), {12: D("1.5")})


def row_cells(html: str, table_id: str, attribute: str, key: str) -> list[str]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert table is not None
    row = re.search(rf'<tr {attribute}="{key}">(.*?)</tr>', table[1], re.S)
    assert row is not None
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row[1], re.S)]


def test_use7_month_to_date_per_resource_exact_figures_with_vat_and_forecast() -> None:
    # given a Swiss customer's usage Service with nine and a half days of April
    legal = member()
    service = usage_service(legal)
    april(service)
    # when
    figures = selectors.month_to_date(service, organization=legal.organization, now=NOW)
    # then reserved: 9 × 96 + 40 = 904 cloudlet-hours × 0.008 = 7.232 → 7.23; storage 2,260 GB-hours
    # × 0.0002 = 0.452 → 0.45; traffic 13.5 GB × 0.05 = 0.675 → 0.68 (half up); VAT 8.1 % per line
    rows = {row.resource.slug: row for row in figures.resources}
    assert [row.resource.slug for row in figures.resources] == list(resources())
    assert (rows["reserved-cloudlets"].quantity, rows["reserved-cloudlets"].amount_excl_vat) == (D("904"), D("7.23"))
    assert (rows["storage"].quantity, rows["storage"].amount_excl_vat) == (D("2260"), D("0.45"))
    assert (rows["traffic"].quantity, rows["traffic"].amount_excl_vat) == (D("13.5"), D("0.68"))
    assert rows["dynamic-cloudlets"].amount == D("0.00")
    assert [rows[s].vat for s in ("reserved-cloudlets", "storage", "traffic")] == [D("0.59"), D("0.04"), D("0.06")]
    assert (figures.total_excl_vat, figures.total_vat, figures.total) == (D("8.36"), D("0.69"), D("9.05"))
    # a full day: 0.768 + 0.048 + 0.075 = 0.891, with VAT 0.963171 → 0.96; 20 days left after today
    assert figures.days[0].amount == D("0.96")
    assert figures.forecast == D("9.05") + D("0.96") * 20 == D("28.25")
    assert len(figures.days) == 30 and figures.days[10].amount == D("0.00")  # 11 April: still to come


def test_use7_the_month_to_date_total_is_the_month_priced_as_its_invoice_prices_it() -> None:
    # given
    legal = member()
    service = usage_service(legal)
    april(service)
    put_hours(service, "public-ipv4", dt.date(2026, 4, 3), {5: D("0.333333")})
    # when
    figures = selectors.month_to_date(service, organization=legal.organization, now=NOW)
    # then: the figure is `price_month` of the totals moved with the values (what the invoice uses)
    card = selectors.rate_cards_in_force([(service.plan_id, "CHF")], APRIL)[(service.plan_id, "CHF")]
    priced = selectors.price_month(
        selectors.month_totals([service.pk], APRIL)[service.pk],
        card,
        [r.pk for r in resources().values()],
        vat_treatment(legal.organization, service.plan.service_type, NOW.date()).rate,
    )
    assert figures.total == priced.total_incl_vat
    assert [row.amount_excl_vat for row in figures.resources] == [line.amount for line in priced.lines]
    # and an independent computation: 0.333333 IPv4-hours × 0.004 = 0.001333 → 0.00
    assert figures.resources[4].amount_excl_vat == D("0.00")
    assert figures.total == D("9.05")


def test_bil7_no_vat_shown_outside_switzerland_and_the_eu() -> None:
    legal = member()
    legal.organization.billing_country = "US"
    legal.organization.save()
    service = usage_service(legal)
    april(service)
    figures = selectors.month_to_date(service, organization=legal.organization, now=NOW)
    assert (figures.total_excl_vat, figures.total_vat, figures.total) == (D("8.36"), D("0.00"), D("8.36"))


def test_use7_page_shows_the_same_figures_in_tables_and_charts() -> None:
    # given
    legal = member()
    service = usage_service(legal)
    april(service)
    march = InvoiceFactory(
        organization=legal.organization, service=service, kind=Invoice.Kind.USAGE, issue_date=dt.date(2026, 4, 1)
    )
    UsageMonth.objects.create(service=service, month=dt.date(2026, 3, 1), closed_at=NOW, invoice=march)
    # when
    response = browser(legal).get(page_url(legal, service))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert row_cells(html, "mtd-table", "data-resource", "reserved-cloudlets") == [
        "Reserved cloudlets",
        "904 cloudlet-hours",
        "CHF 0.008",
        "CHF 7.23",
        "CHF 0.59",
        "CHF 7.82",
    ]
    assert row_cells(html, "mtd-table", "data-resource", "total")[-1] == "CHF 9.05"
    assert "CHF 28.25" in html  # the forecast
    assert row_cells(html, "daily-table", "data-day", "2026-04-01")[-1] == "CHF 0.96"
    assert (
        row_cells(html, "daily-table", "data-day", "2026-04-10")[-1] == "CHF 0.37"
    )  # (40 × 0.008 + 100 × 0.0002) × 1.081
    assert 'data-day="2026-04-11"' not in html.split('id="daily-table"')[1]
    assert row_cells(html, "invoiced-table", "data-month", "2026-03") == [
        "March 2026",
        march.display_number,
        "CHF 108.10",
        "open · due 31 March 2026",
    ]
    assert row_cells(html, "invoiced-table", "data-month", "2025-04")[1:] == ["—", "CHF 0.00", "no invoice"]
    assert reverse("billing:invoice", args=[legal.organization_id, march.pk]) in html
    # the charts: one bar per day of April, one per month (April 2025 … March 2026)
    assert html.count('<g class="bar') == 30 + 12
    assert 'data-key="2026-03"' in html and "March 2026: CHF 108.10 invoiced." in html
    assert "10 April 2026 (today, so far): CHF 0.37." in html
    # CSP: nothing inline
    assert "style=" not in html and "<script>" not in html


def test_use7_page_and_selector_read_a_fixed_number_of_queries_whatever_the_month(
    django_assert_num_queries: object,
) -> None:
    # given an empty Service and a full one (5 resources × 30 days, twelve invoiced months)
    legal = member()
    empty = usage_service(legal)
    full = usage_service(legal, plan=empty.plan)
    fill(full, dt.date(2026, 4, 1), dt.date(2026, 4, 10), {slug: D("1") for slug in resources()}, last_slots=10)
    for offset in range(12):
        month = dt.date(2025 + (3 + offset) // 12, (3 + offset) % 12 + 1, 1)
        invoice = InvoiceFactory(organization=legal.organization, service=full, kind=Invoice.Kind.USAGE)
        UsageMonth.objects.create(service=full, month=month, closed_at=NOW, invoice=invoice)
    Limit.objects.create(service=full, month=APRIL, reason=Limit.Reason.BUDGET, since=NOW)
    client = browser(legal)
    counts = []
    for service in (empty, full):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url(legal, service)).status_code == 200
        counts.append(len(queries))
    # then
    assert counts[0] == counts[1]
    with django_assert_num_queries(10):  # type: ignore[operator]
        selectors.month_to_date(full, organization=legal.organization, now=NOW)


def test_use5_use6_thresholds_beside_the_budget_and_the_limit_in_force() -> None:
    # given a plan threshold, the Service's own for one resource, a budget and a threshold limit
    legal = member()
    service = usage_service(legal)
    april(service)
    by_slug = resources()
    Threshold.objects.create(plan=service.plan, resource=by_slug["storage"], quantity=D("5000"), updated_at=NOW)
    Threshold.objects.create(plan=service.plan, resource=by_slug["traffic"], quantity=D("100"), updated_at=NOW)
    Threshold.objects.create(service=service, resource=by_slug["traffic"], quantity=D("15"), updated_at=NOW)

    Budget.objects.create(
        service=service, amount=D("20.00"), limit_at_budget=False, updated_at=NOW, updated_by=legal.user
    )
    Limit.objects.create(
        service=service,
        month=APRIL,
        reason=Limit.Reason.THRESHOLD,
        resource=by_slug["traffic"],
        since=at(2026, 4, 9, 10, 0),
    )
    # when
    html = browser(legal).get(page_url(legal, service)).content.decode()
    # then: the Service's own threshold overrides its plan's; 13.5 of 15 GB = 90 %
    assert row_cells(html, "threshold-table", "data-resource", "traffic") == [
        "External traffic",
        "15 GB",
        "13.5 (90.0 %)",
    ]
    assert row_cells(html, "threshold-table", "data-resource", "storage") == [
        "Storage",
        "5,000 GB-hours",
        "2,260 (45.2 %)",
    ]
    assert "CHF 20.00 a month: 45.3 % used so far." in html  # 9.05 / 20
    assert "Alerts only: the Service is not limited when it is reached." in html
    assert "This Service is limited now." in html
    assert "the consumption threshold of External traffic set by us is reached" in html
    assert "only alerts you" in html and "limits" in html


@pytest.mark.parametrize("case", ["other_organization", "scoped_elsewhere", "not_usage", "unknown"])
def test_org6_the_page_answers_404_outside_what_the_member_sees(case: str) -> None:
    legal = member()
    service = usage_service(legal)
    viewer = legal
    target_id = service.pk
    if case == "other_organization":
        viewer = member()
    elif case == "scoped_elsewhere":
        viewer = member(Role.BILLING, organization=legal.organization)
        other = usage_service(legal, plan=service.plan)
        MembershipServiceScope.objects.create(membership=viewer, service=other)
    elif case == "not_usage":
        target_id = ServiceFactory(organization=legal.organization).pk
    else:
        target_id = 999999
    response = browser(viewer).get(reverse("usage:service_usage", args=[viewer.organization_id, target_id]))
    assert response.status_code == 404


def test_org6_a_scoped_member_sees_their_own_usage_service() -> None:
    legal = member()
    service = usage_service(legal)
    scoped = member(Role.TECHNICAL, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=scoped, service=service)
    response = browser(scoped).get(page_url(scoped, service))
    assert response.status_code == 200
    html = response.content.decode()
    assert "A Legal Responsible, an administrator or a billing member can set the budget." in html
    assert 'name="amount"' not in html


def test_use7_links_from_the_service_page_and_the_services_list() -> None:
    legal = member()
    service = usage_service(legal)
    fixed = ServiceFactory(organization=legal.organization)
    client = browser(legal)
    url = page_url(legal, service)
    service_page = client.get(reverse("subscriptions:service", args=[legal.organization_id, service.pk]))
    assert url in service_page.content.decode()
    assert url in client.get(reverse("subscriptions:services", args=[legal.organization_id])).content.decode()
    fixed_page = client.get(reverse("subscriptions:service", args=[legal.organization_id, fixed.pk])).content.decode()
    assert "/usage/" not in fixed_page


def test_use7_the_months_first_day_forecasts_from_todays_pace() -> None:
    # given 1 April, 06:00 in Zurich, with 6 hours of 4 cloudlets (24 × 0.008 = 0.192)
    legal = member()
    service = usage_service(legal)
    fill(service, APRIL, APRIL, {"reserved-cloudlets": D("4")}, last_slots=6)
    now = at(2026, 4, 1, 4, 0)  # 06:00 in Zurich
    figures = selectors.month_to_date(service, organization=legal.organization, now=now)
    assert figures.total == D("0.21")  # 0.19 + VAT 0.02
    # today's pace so far (0.192 × 1.081 → 0.21) counted for each of the 29 days left
    assert figures.forecast == engine.forecast(D("0.21"), {APRIL: D("0.21")}, APRIL) == D("6.30")
