"""What every portal page carries: a favicon, a "Skip to content" link as the first focusable
element, leading to <main id="content">, and `aria-describedby` attributes that each point at
an element of the page (Django adds them for help texts and errors: the ids must exist)."""

import datetime as dt
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, service_type
from tests.factories import AcceptanceFactory, DocumentVersionFactory, member

pytestmark = pytest.mark.django_db

FOCUSABLE = {"a", "button", "input", "select", "textarea"}


class Page(HTMLParser):
    """The ids, the aria-describedby references, the first focusable element and the icon links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described_by: list[str] = []
        self.first_focusable: dict[str, str | None] | None = None
        self.first_focusable_tag = ""
        self.icons: list[str] = []
        self.main_ids: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        self.described_by += (attributes.get("aria-describedby") or "").split()
        if tag == "link" and attributes.get("rel") == "icon":
            self.icons.append(str(attributes.get("href")))
        if tag == "main":
            self.main_ids.append(attributes.get("id"))
        focusable = tag in FOCUSABLE and attributes.get("type") != "hidden" and attributes.get("tabindex") != "-1"
        if tag == "a" and "href" not in attributes:
            focusable = False
        if focusable and self.first_focusable is None:
            self.first_focusable, self.first_focusable_tag = attributes, tag


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.fixture
def legal():  # noqa: ANN201
    legal = member()
    AcceptanceFactory(organization=legal.organization, version=DocumentVersionFactory(label="tcu"), user=legal.user)
    plan = PlanFactory(service_type=service_type(), name="M")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    return legal


def _pages(legal) -> list[tuple[str, str, dict[str, str] | None]]:  # noqa: ANN001
    """(name, address, POST data that fails validation or None): the pages customers use most, the
    forms also with their errors shown."""
    org = legal.organization_id
    invoice = InvoiceFactory(organization=legal.organization)
    return [
        ("dashboard", reverse("accounts:organization", args=[org]), None),
        ("organization", reverse("accounts:organization_contact", args=[org]), None),
        ("organization with errors", reverse("accounts:organization_contact", args=[org]), {"name": ""}),
        ("services", reverse("subscriptions:services", args=[org]), None),
        ("order", reverse("subscriptions:order", args=[org]), None),
        ("invoices", reverse("billing:invoices", args=[org]), None),
        ("invoice", reverse("billing:invoice", args=[org, invoice.pk]), None),
        ("invoice with errors", reverse("billing:invoice", args=[org, invoice.pk]), {"prepaid_amount": "x"}),
        (
            "invoice with a new card's errors",
            reverse("billing:invoice", args=[org, invoice.pk]),
            {"prepaid_amount": "0", "means": "new"},
        ),
        ("payment methods", reverse("billing:means", args=[org]), None),
        ("payment methods with errors", reverse("billing:means", args=[org]), {"form": "card"}),
        ("prepaid", reverse("billing:prepaid", args=[org]), None),
        ("prepaid with errors", reverse("billing:prepaid", args=[org]), {"amount": ""}),
        ("tickets", reverse("support:tickets", args=[org]), None),
        ("new ticket", reverse("support:ticket_new", args=[org]) + "?kind=sla_claim", None),
        ("new ticket with errors", reverse("support:ticket_new", args=[org]), {"kind": "sla_claim"}),
        ("sla", reverse("sla:overview", args=[org]), None),
        ("documents", reverse("accounts:documents", args=[org]), None),
        ("security", reverse("accounts:security"), None),
    ]


def test_every_aria_describedby_points_at_an_element_of_the_page(legal) -> None:
    client = Client()
    client.force_login(legal.user)
    dangling: dict[str, list[str]] = {}
    described = 0

    with translation.override("en"):
        for name, address, data in _pages(legal):
            response = client.post(address, data) if data is not None else client.get(address)
            assert response.status_code == 200, name
            page = parsed(response.content.decode())
            described += len(page.described_by)
            missing = [ref for ref in page.described_by if ref not in page.ids]
            if missing:
                dangling[name] = missing

    assert dangling == {}
    assert described >= 10  # the check saw help texts and errors, not only pages without any


@pytest.mark.parametrize("name", ["accounts:login", "accounts:signup"])
def test_logged_out_pages_with_errors_too(name: str) -> None:
    response = Client().post(reverse(name), {})

    page = parsed(response.content.decode())
    assert page.described_by != []
    assert [ref for ref in page.described_by if ref not in page.ids] == []


def test_the_skip_link_is_the_first_focusable_element_and_leads_to_main(legal) -> None:
    client = Client()
    client.force_login(legal.user)

    for address in (reverse("accounts:organization", args=[legal.organization_id]), reverse("accounts:login")):
        page = parsed((client if "orgs" in address else Client()).get(address).content.decode())

        assert page.first_focusable_tag == "a"
        assert page.first_focusable is not None
        assert (page.first_focusable.get("class"), page.first_focusable.get("href")) == ("skip-link", "#content")
        assert page.main_ids == ["content"]


def test_every_page_links_the_favicon_and_it_is_served() -> None:
    page = parsed(Client().get(reverse("accounts:login")).content.decode())

    assert page.icons == ["/static/img/favicon.svg"]
    found = finders.find("img/favicon.svg")
    assert found is not None
    with open(found, encoding="utf-8") as icon:
        assert icon.read().startswith("<svg")


def test_the_skip_link_is_translated() -> None:
    with translation.override("en"):
        html = Client().get(reverse("accounts:login")).content.decode()

    assert '<a class="skip-link" href="#content">Skip to content</a>' in html
