"""The Organization's dashboard (issue 17): what needs the member — invoices to pay, next renewals
and their cost, suspended Services and how to reactivate them, usage so far this month, tickets
waiting for the customer, documents to accept, the Prepaid balance — each card with its empty
state, by role (ORG-5, ORG-6), for the member's own Organization only, in a fixed number of queries."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership
from billing.models import Payment
from subscriptions.models import MembershipServiceScope, Service
from support.models import Ticket
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.dashboard.helpers import NOW, add_rows, card, ids, logged_in, monthly_plan, prepaid, short
from tests.factories import DocumentVersionFactory, member

pytestmark = pytest.mark.django_db

Role = Membership.Role


def page(membership: Membership, organization_id: int | None = None) -> str:
    url = reverse("dashboard:home", args=[organization_id or membership.organization_id])
    with time_machine.travel(NOW, tick=False):
        response = logged_in(membership.user).get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_start_page_of_a_member_of_one_organization_is_its_dashboard() -> None:
    legal = member()
    response = logged_in(legal.user).get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("dashboard:home", args=[legal.organization_id])
    assert response.url == f"/orgs/{legal.organization_id}/"


def test_a_member_of_two_organizations_chooses_and_each_leads_to_its_dashboard() -> None:
    first = member()
    second = member()
    Membership.objects.create(
        organization=second.organization, user=first.user, role=Role.BILLING, created_at=first.created_at
    )
    response = logged_in(first.user).get(reverse("accounts:dashboard"))
    assert response.status_code == 200
    links = re.findall(r'<li><a href="(/orgs/\d+/)">', response.content.decode())
    assert sorted(links) == sorted(f"/orgs/{m.organization_id}/" for m in (first, second))


def test_every_card_shows_its_rows_with_amounts_currencies_and_dates() -> None:
    # given one of each kind, and what the dashboard must leave out
    legal = member()
    plan = monthly_plan("Cloud M")
    rows = add_rows(legal, 1, plan=plan, first_day=10)
    ServiceFactory(organization=legal.organization, plan=plan, expires_on=dt.date(2026, 12, 1))  # renews later
    ServiceFactory(organization=legal.organization, plan=plan, status=Service.Status.TERMINATED)
    InvoiceFactory(organization=legal.organization, status="paid", amount_paid=Decimal("108.10"))
    Ticket.objects.create(
        organization=legal.organization,
        kind=Ticket.Kind.TECHNICAL,
        subject="Answered by us, waiting for us",
        language="en",
        status=Ticket.Status.WAITING_PROVIDER,
        opened_by=legal.user,
        created_at=NOW,
        updated_at=NOW,
    )
    tcu = DocumentVersionFactory(label="2026-03")
    prepaid(legal, "12.50")

    # when
    html = page(legal)

    # then
    order, renewal = rows.invoices
    assert ids(html, "invoices", "invoice") == [order.pk, renewal.pk]
    invoices = card(html, "invoices")
    assert f"Invoice {order.display_number} : CHF 108.10 , overdue since {short(dt.date(2026, 3, 10))} Pay" in invoices
    assert f"Invoice {renewal.display_number} : CHF 21.62 , overdue since {short(dt.date(2026, 3, 10))} Pay" in invoices
    assert f'href="/orgs/{legal.organization_id}/invoices/{order.pk}/">Pay</a>' in html

    assert ids(html, "renewals", "service") == [rows.renewing[0].pk]
    assert f"{plan} : CHF 21.62 on {short(dt.date(2026, 4, 10))} · charged automatically" in card(html, "renewals")

    assert ids(html, "suspended", "service") == [rows.suspended[0].pk]
    assert card(html, "suspended") == (
        f"Suspended Services {plan} : pay invoice {renewal.display_number} (CHF 21.62) to reactivate it. Pay "
        f"Ends on {short(dt.date(2026, 4, 10))} unless paid"
    )

    assert ids(html, "usage", "service") == [rows.metered[0].pk]
    assert f"{rows.metered[0].plan} : CHF 0.22" in card(html, "usage")  # 1000 GB-h at 0.0002, 8.1 % VAT

    assert ids(html, "tickets", "ticket") == [rows.tickets[0].pk]
    assert f"Question 10 since {short(dt.date(2026, 3, 18))}" in card(html, "tickets")

    assert ids(html, "documents", "version") == [tcu.pk]
    assert "Terms and Conditions of Use (2026-03)" in card(html, "documents")

    assert card(html, "prepaid") == "Prepaid Account CHF 12.50 Top up or see the movements"


def test_each_card_says_in_plain_words_that_nothing_waits() -> None:
    legal = member()
    html = page(legal)
    assert card(html, "invoices") == "Invoices to pay Nothing to pay: every invoice is settled. All invoices"
    assert card(html, "renewals") == "Next renewals No Service renews in the next 45 days. All Services"
    assert card(html, "suspended") == "Suspended Services No Service is suspended."
    assert card(html, "usage") == "Usage this month so far You have no Service billed by usage."
    assert card(html, "tickets") == (
        "Support tickets waiting for your answer No ticket is waiting for your answer. All tickets"
    )
    assert card(html, "documents") == "Documents to accept No document is waiting for your acceptance."
    assert card(html, "prepaid") == (
        "Prepaid Account CHF 0.00 Your Prepaid Account is empty. Top it up to pay invoices and renewals from it. "
        "Top up or see the movements"
    )


def test_an_invoice_whose_card_payment_is_being_checked_offers_no_pay_button() -> None:
    legal = member()
    invoice = InvoiceFactory(organization=legal.organization, due_date=dt.date(2026, 3, 31))
    Payment.objects.create(
        organization=legal.organization,
        invoice=invoice,
        kind="card",
        amount=Decimal("108.10"),
        currency="CHF",
        status=Payment.Status.UNKNOWN,
        created_at=NOW,
    )
    invoices = card(page(legal), "invoices")
    assert invoices == (
        f"Invoices to pay Invoice {invoice.display_number} : CHF 108.10 , due on {short(dt.date(2026, 3, 31))} "
        "Payment being checked: please do not pay again All invoices"
    )


def test_a_service_suspended_by_staff_says_to_contact_support() -> None:
    legal = member()
    plan = monthly_plan("Cloud S")
    service = ServiceFactory(
        organization=legal.organization,
        plan=plan,
        status=Service.Status.SUSPENDED,
        suspension_reason=Service.SuspensionReason.STAFF,
    )
    html = page(legal)
    assert card(html, "suspended") == (
        f"Suspended Services {plan} : suspended by our staff. Please contact support to reactivate it. Write to support"
    )
    assert f'href="/orgs/{legal.organization_id}/services/{service.pk}/"' in html


def test_a_technical_member_sees_no_money_to_pay_and_only_the_services_it_is_limited_to() -> None:
    # given a technical member limited to one of two suspended Services (ORG-6)
    legal = member()
    plan = monthly_plan("Cloud M")
    rows = add_rows(legal, 2, plan=plan)
    technical = member(Role.TECHNICAL, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=technical, service=rows.suspended[1])
    prepaid(legal, "50.00")

    html = page(technical)

    assert card(html, "invoices") == ""
    assert card(html, "prepaid") == ""
    assert "CHF 108.10" not in html
    assert ids(html, "suspended", "service") == [rows.suspended[1].pk]
    assert "A Legal Responsible, an administrator or a billing member can reactivate it by paying." in card(
        html, "suspended"
    )
    assert ids(html, "renewals", "service") == []
    assert ids(html, "usage", "service") == []
    assert ids(html, "tickets", "ticket") == [ticket.pk for ticket in rows.tickets]  # tickets without a Service


def test_a_billing_member_limited_to_one_service_sees_only_its_invoices() -> None:
    legal = member()
    rows = add_rows(legal, 2, plan=monthly_plan("Cloud M"))
    billing = member(Role.BILLING, organization=legal.organization)
    MembershipServiceScope.objects.create(membership=billing, service=rows.suspended[0])
    html = page(billing)
    renewal = next(invoice for invoice in rows.invoices if invoice.service_id == rows.suspended[0].pk)
    assert ids(html, "invoices", "invoice") == [renewal.pk]
    assert ids(html, "suspended", "service") == [rows.suspended[0].pk]


def test_another_organizations_member_gets_404_and_sees_nothing() -> None:
    legal = member()
    add_rows(legal, 1, plan=monthly_plan("Cloud M"))
    stranger = member()
    url = reverse("dashboard:home", args=[legal.organization_id])
    with time_machine.travel(NOW, tick=False):
        response = logged_in(stranger.user).get(url)
    assert response.status_code == 404
    assert "Cloud M" not in response.content.decode()


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in() -> None:
    legal = member()
    response = Client().get(reverse("dashboard:home", args=[legal.organization_id]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def queries_of(membership: Membership) -> int:
    url = reverse("dashboard:home", args=[membership.organization_id])
    client = logged_in(membership.user)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("role", [Role.LEGAL_RESPONSIBLE, Role.TECHNICAL])
def test_the_dashboard_costs_the_same_queries_for_one_row_and_for_many(role: str, django_assert_num_queries) -> None:  # noqa: ANN001
    # given one of each kind
    legal = member()
    plan = monthly_plan("Cloud M")
    add_rows(legal, 1, plan=plan, first_day=1)
    DocumentVersionFactory(label="2026-03")
    prepaid(legal, "5.00")
    viewer = legal if role == Role.LEGAL_RESPONSIBLE else member(role, organization=legal.organization)
    one = queries_of(viewer)

    # when there are eight of each
    add_rows(legal, 7, plan=plan, first_day=2)
    html = page(viewer)

    # then the page shows them all for the same queries
    assert len(ids(html, "suspended", "service")) == 8
    assert len(ids(html, "tickets", "ticket")) == 8
    # the session, user, memberships (the second factor's check, the menu's count and the page's
    # membership with whether it is limited to some Services, ORG-6: one query); the
    # Services (one list for three cards), renewal prices and VAT, usage (resources, rate cards, rates,
    # totals; the VAT read once), tickets, documents (the notices, and the current TCU with whether it
    # is accepted: one query); for a paying role the invoices, the charges being checked (2) and the
    # Prepaid Account
    expected = 19 if role == Role.LEGAL_RESPONSIBLE else 15
    assert one == expected
    url = reverse("dashboard:home", args=[viewer.organization_id])
    client = logged_in(viewer.user)
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
