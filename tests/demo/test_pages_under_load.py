"""The ten pages of the load run (demo.loadrun.PAGES, docs/performance.md "The pages under load"): each
costs the same number of queries whatever the rows behind it (1 or 7 Services, invoices, lines,
tickets, messages and usage days), and never shows another Organization's rows."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from billing.models import Invoice
from core import keyset
from core.paging import PAGE_SIZE
from demo.loadrun import PAGES
from subscriptions.models import Service
from support.models import Message, Ticket
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, ServiceFactory
from tests.dashboard.helpers import monthly_plan
from tests.factories import member
from tests.usage.portal_helpers import put_hours, usage_plan

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.UTC)
MANY = 7

# The queries of each page for an administrator (the Legal Responsible's dashboard costs the same):
# the same with one row of each kind and with many.
EXPECTED = {
    "dashboard": 19,
    "services": 5,
    "service": 15,
    "invoices": 5,
    "invoice": 10,
    "tickets": 5,
    "ticket": 7,
    "usage": 14,
    "api invoices": 4,
    "api services": 4,
}


def populate(membership: Membership, count: int, tag: str) -> dict[str, int]:
    """`count` Services, invoices of `count` lines, tickets of `count` messages and days of usage; the
    ids the pages open."""
    organization = membership.organization
    plan = monthly_plan(f"{tag} hosting")
    services = [
        ServiceFactory(
            organization=organization,
            plan=plan,
            anchor_date=dt.date(2026, 3, 1 + i),
            expires_on=dt.date(2026, 4, 1 + i),
        )
        for i in range(count)
    ]
    metered = ServiceFactory(
        organization=organization,
        plan=usage_plan(name=f"{tag} pay per use"),
        usage_based=True,
        anchor_date=None,
        term=0,
        expires_on=None,
    )
    for day in range(1, count + 1):
        put_hours(metered, "storage", dt.date(2026, 3, day), {0: Decimal("1000"), 1: Decimal("500")})
    invoices = []
    for i in range(count):
        invoice = InvoiceFactory(
            organization=organization,
            service=services[i],
            kind=Invoice.Kind.RENEWAL,
            term=1,
            issue_date=dt.date(2026, 3, 1 + i),
            due_date=dt.date(2026, 3, 31),
            status=Invoice.Status.PAID if i % 2 else Invoice.Status.OPEN,
            amount_paid=Decimal("108.10") if i % 2 else Decimal("0.00"),
            total_excl_vat=Decimal(100 * count),
            total_vat=Decimal("8.10") * count,
            total_incl_vat=Decimal("108.10") * count,
        )
        for position in range(2, count + 1):
            InvoiceLineFactory(invoice=invoice, position=position)
        invoices.append(invoice)
    tickets = []
    for i in range(count):
        ticket = Ticket.objects.create(
            organization=organization,
            service=services[i],
            kind=Ticket.Kind.TECHNICAL,
            subject=f"{tag} question {i}",
            language="en",
            status=Ticket.Status.WAITING_CUSTOMER,
            opened_by=membership.user,
            created_at=NOW - dt.timedelta(days=3, hours=i),
            updated_at=NOW - dt.timedelta(days=2, hours=i),
        )
        Message.objects.bulk_create(
            [
                Message(ticket=ticket, author=membership.user, body=f"{tag} message {n}", created_at=ticket.created_at)
                for n in range(count)
            ]
        )
        tickets.append(ticket)
    return {
        "org": organization.pk,
        "service": services[0].pk,
        "metered": metered.pk,
        "invoice": invoices[0].pk,
        "ticket": tickets[0].pk,
    }


def administrator() -> tuple[Membership, Membership]:
    legal = member()
    return legal, member(Membership.Role.ADMINISTRATOR, organization=legal.organization)


def costs(membership: Membership, ids: dict[str, int]) -> dict[str, int]:
    client = Client()
    client.force_login(membership.user)
    counts = {}
    with time_machine.travel(NOW, tick=False):
        for page in PAGES:
            url = page.path.format(**ids)
            assert client.get(url).status_code == 200, url  # the per-process caches warmed, as in the run
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[page.name] = len(queries)
    return counts


def test_each_page_costs_the_same_queries_for_one_row_and_for_many() -> None:
    legal, admin = administrator()
    one = costs(admin, populate(legal, 1, "one"))

    legal, admin = administrator()
    many = costs(admin, populate(legal, MANY, "many"))

    assert one == many, {name: (one[name], many[name]) for name in one if one[name] != many[name]}
    assert one == EXPECTED


def test_a_page_of_a_list_holds_page_size_rows_and_the_next_page_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyset, "API_PAGE_SIZE", PAGE_SIZE)
    legal, admin = administrator()
    plan = monthly_plan("Paged hosting")
    for i in range(PAGE_SIZE + 2):
        ServiceFactory(organization=legal.organization, plan=plan, created_at=NOW - dt.timedelta(hours=i))
        InvoiceFactory(organization=legal.organization, issue_date=dt.date(2026, 3, 1))
        Ticket.objects.create(
            organization=legal.organization,
            kind=Ticket.Kind.TECHNICAL,
            subject=f"Question {i}",
            language="en",
            opened_by=legal.user,
            created_at=NOW - dt.timedelta(hours=i),
            updated_at=NOW,
        )
    client = Client()
    client.force_login(admin.user)
    org = legal.organization_id
    numbers = list(Invoice.objects.filter(organization=legal.organization).order_by("-number"))
    with time_machine.travel(NOW, tick=False):
        first = client.get(f"/orgs/{org}/invoices/").content.decode()
        second = client.get(f"/orgs/{org}/invoices/?page=2").content.decode()
        tickets_first = client.get(f"/orgs/{org}/support/").content.decode()
        tickets_second = client.get(f"/orgs/{org}/support/?page=2").content.decode()
        services_first = client.get(f"/orgs/{org}/services/").content.decode()
        services_second = client.get(f"/orgs/{org}/services/?page=2").content.decode()
        api_first = client.get(f"/api/v1/organizations/{org}/invoices/")
        api_second = client.get(api_first["Link"].split(">")[0][1:])
        refused = client.get(f"/api/v1/organizations/{org}/invoices/?before=x")
        api_services = client.get(f"/api/v1/organizations/{org}/services/")
        api_services_second = client.get(api_services["Link"].split(">")[0][1:])
        api_tickets = client.get(f"/api/v1/organizations/{org}/tickets/")
        api_tickets_second = client.get(api_tickets["Link"].split(">")[0][1:])

    def listed(html: str, what: str) -> list[int]:
        return [int(pk) for pk in re.findall(rf'href="/orgs/{org}/{what}/(\d+)/"', html)]

    assert listed(first, "invoices") == [i.pk for i in numbers[:PAGE_SIZE]]
    assert listed(second, "invoices") == [i.pk for i in numbers[PAGE_SIZE:]]
    assert "Page 1 of 2" in first and "?page=2" in first
    tickets = list(Ticket.objects.filter(organization=legal.organization).order_by("-created_at"))
    assert listed(tickets_first, "support") == [t.pk for t in tickets[:PAGE_SIZE]]
    assert listed(tickets_second, "support") == [t.pk for t in tickets[PAGE_SIZE:]]
    services = list(Service.objects.filter(organization=legal.organization).order_by("-created_at"))
    assert listed(services_first, "services") == [s.pk for s in services[:PAGE_SIZE]]
    assert listed(services_second, "services") == [s.pk for s in services[PAGE_SIZE:]]
    # the API's list: newest first, the older ones at the address of the Link header
    last_shown = numbers[PAGE_SIZE - 1].number
    older = f"http://testserver/api/v1/organizations/{org}/invoices/?before={last_shown}"
    assert api_first["Link"] == f'<{older}>; rel="next"'
    assert [i["id"] for i in api_first.json()] == [i.pk for i in numbers[:PAGE_SIZE]]
    assert [i["id"] for i in api_second.json()] == [i.pk for i in numbers[PAGE_SIZE:]]
    assert "Link" not in api_second
    assert refused.status_code == 400
    # the Services and tickets the same way, newest first, `before` the id of the last one shown
    for first_page, second_page, rows, what in (
        (api_services, api_services_second, services, "services"),
        (api_tickets, api_tickets_second, tickets, "tickets"),
    ):
        next_page = f"http://testserver/api/v1/organizations/{org}/{what}/?before={rows[PAGE_SIZE - 1].pk}"
        assert first_page["Link"] == f'<{next_page}>; rel="next"'
        assert [row["id"] for row in first_page.json()] == [row.pk for row in rows[:PAGE_SIZE]]
        assert [row["id"] for row in second_page.json()] == [row.pk for row in rows[PAGE_SIZE:]]
        assert "Link" not in second_page


def test_the_pages_never_show_another_organizations_rows() -> None:
    legal, admin = administrator()
    own = populate(legal, 2, "own")
    other_legal = member()
    other = populate(other_legal, 2, "other")
    client = Client()
    client.force_login(admin.user)
    api = Client(HTTP_ACCEPT="application/json")
    api.force_login(admin.user)
    other_services = Service.objects.filter(organization=other_legal.organization)
    other_invoices = Invoice.objects.filter(organization=other_legal.organization)
    with time_machine.travel(NOW, tick=False):
        pages = {page.name: client.get(page.path.format(**own)).content.decode() for page in PAGES}
        # the other Organization's rows, through this member's Organization, answer 404
        refused = [
            client.get(page.path.format(**{**own, key: other[key]})).status_code
            for page in PAGES
            for key in ("service", "metered", "invoice", "ticket")
            if "{" + key + "}" in page.path
        ]
        # and the other Organization itself too
        foreign = [client.get(page.path.format(**other)).status_code for page in PAGES]

    text = " ".join(pages.values())
    assert "other question" not in text and "other message" not in text
    assert "other hosting" not in text and "other pay per use" not in text
    for invoice in other_invoices:
        assert invoice.display_number not in text
    api_ids = {s["id"] for s in json.loads(pages["api services"])}
    assert api_ids == set(Service.objects.filter(organization=legal.organization).values_list("pk", flat=True))
    assert not api_ids & {s.pk for s in other_services}
    assert refused == [404] * 4  # a Service, a metered Service, an invoice, a ticket
    assert foreign == [404] * len(PAGES)
