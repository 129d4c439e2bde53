"""The invoice pages as a Swiss customer reads them in German, French and Italian (issue 17): dates
in the language's one format, every amount with its currency and Swiss separators, and the same on
the invoice list; another organization's member gets 404."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, ServiceFactory
from tests.factories import member

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def text(html: str) -> str:
    """The page's text with the tags removed and the spaces collapsed (no-break spaces kept)."""
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def big_invoice(organization):  # noqa: ANN001, ANN201
    invoice = InvoiceFactory(
        organization=organization,
        issue_date=dt.date(2026, 12, 3),
        due_date=dt.date(2027, 1, 2),
        total_excl_vat=Decimal("1142.00"),
        total_vat=Decimal("92.50"),
        total_incl_vat=Decimal("1234.50"),
        line=None,
    )
    InvoiceLineFactory(
        invoice=invoice,
        period_start=dt.date(2026, 12, 3),
        period_end=dt.date(2027, 1, 3),
        unit_price_excl_vat=Decimal("1142.00"),
        amount_excl_vat=Decimal("1142.00"),
        vat_amount=Decimal("92.50"),
        amount_incl_vat=Decimal("1234.50"),
    )
    return invoice


@pytest.mark.parametrize(
    ("language", "issued", "due", "period", "total", "vat"),
    [
        ("de", "3. Dezember 2026", "2. Januar 2027", "03.12.2026 – 02.01.2027", "CHF 1’234.50", "CHF 92.50"),
        ("fr", "3 décembre 2026", "2 janvier 2027", "03.12.2026 – 02.01.2027", f"CHF 1{NBSP}234,50", "CHF 92,50"),
        ("it", "3 dicembre 2026", "2 gennaio 2027", "03.12.2026 – 02.01.2027", "CHF 1’234.50", "CHF 92.50"),
    ],
)
def test_the_invoice_page_shows_swiss_dates_and_amounts(
    language: str, issued: str, due: str, period: str, total: str, vat: str
) -> None:
    # given
    customer = member(language=language)
    invoice = big_invoice(customer.organization)
    client = Client()
    client.force_login(customer.user)

    # when
    page = text(client.get(reverse("billing:invoice", args=[customer.organization_id, invoice.pk])).content.decode())
    listing = text(client.get(reverse("billing:invoices", args=[customer.organization_id])).content.decode())

    # then: the dates that stand alone name the month, the table's are short; every amount has its currency
    assert f"{issued} · " in page and f" {due} · " in page
    assert period in page
    assert page.count(total) == 3  # the line, the total incl. VAT, still due
    assert f"{vat} " in page
    assert total in listing
    assert "1234.50" not in page and "1234,50" not in page


def test_another_organizations_invoice_page_is_404() -> None:
    customer, stranger = member(language="de"), member(language="de")
    invoice = big_invoice(customer.organization)
    client = Client()
    client.force_login(stranger.user)

    response = client.get(reverse("billing:invoice", args=[customer.organization_id, invoice.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize(("term", "span"), [(1, "1 · 31.01.2026 – 27.02.2026"), (2, "2 · 28.02.2026 – 30.03.2026")])
def test_the_service_page_says_what_its_term_is(term: int, span: str) -> None:
    # given: a monthly Service anchored on 31 January (TIME-3: each term from the anchor)
    customer = member()
    service = ServiceFactory(organization=customer.organization, plan__period="monthly", term=term)
    client = Client()
    client.force_login(customer.user)

    # when
    page = text(
        client.get(reverse("subscriptions:service", args=[customer.organization_id, service.pk])).content.decode()
    )

    # then: the term's number, its days, and a line saying what a term is
    assert f"Term {span} " in page
    assert "A term is one billing period of the Service, paid in advance: term 1 starts on the first paid day" in page
