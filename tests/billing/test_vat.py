"""SPEC BIL-7 (which VAT an invoice line bears), BIL-1 (price in force), ORG-9 (billing blockers)."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts import hooks
from billing.selectors import price_in_force, shown_price, vat_treatment
from subscriptions.models import Service
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("country", "vat_number", "type_slug", "rate", "reverse_charge"),
    [
        ("CH", "", "jelastic-cloud", "8.10", False),
        ("LI", "", "web-hosting", "8.10", False),
        ("DE", "", "jelastic-cloud", "19.00", False),  # EU without VAT number: their country's VAT
        ("FR", "", "kdrive", "20.00", False),
        ("DE", "DE136695976", "jelastic-cloud", "0.00", True),  # EU with VAT number: reverse charge
        ("US", "", "jelastic-cloud", "0.00", False),  # outside CH/EU: no VAT
        ("US", "", "housing", "8.10", False),  # Housing always bears Swiss VAT
        ("DE", "DE136695976", "housing", "8.10", False),
        ("CH", "CHE116281710MWST", "jelastic-cloud", "8.10", False),  # a Swiss VAT number changes nothing
    ],
)
def test_bil7_vat_matrix(country: str, vat_number: str, type_slug: str, rate: str, reverse_charge: bool) -> None:
    organization = OrganizationFactory(billing_country=country, vat_number=vat_number)

    treatment = vat_treatment(organization, service_type(type_slug), DAY)

    assert (treatment.rate, treatment.reverse_charge) == (Decimal(rate), reverse_charge)


def test_bil7_prices_are_shown_vat_included_to_ch_and_eu_customers() -> None:
    price = PriceFactory(amount=Decimal("20.00"))
    jelastic = service_type()

    assert shown_price(price, OrganizationFactory(billing_country="CH"), jelastic, DAY) == Decimal("21.62")
    assert shown_price(price, OrganizationFactory(billing_country="DE"), jelastic, DAY) == Decimal("23.80")
    assert shown_price(price, OrganizationFactory(billing_country="US"), jelastic, DAY) == Decimal("20.00")


def test_bil1_the_price_in_force_is_the_latest_valid_on_the_day() -> None:
    plan = PlanFactory()
    old = PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    new = PriceFactory(plan=plan, amount=Decimal("22.00"), valid_from=dt.date(2026, 4, 1))
    PriceFactory(plan=plan, currency="EUR", amount=Decimal("21.00"), valid_from=dt.date(2026, 2, 1))

    assert price_in_force(plan, "CHF", dt.date(2025, 12, 31)) is None
    assert price_in_force(plan, "CHF", dt.date(2026, 3, 31)) == old
    assert price_in_force(plan, "CHF", dt.date(2026, 4, 1)) == new


def test_org9_live_services_and_open_invoices_block_the_termination() -> None:
    organization = OrganizationFactory()
    ServiceFactory(organization=organization)
    ServiceFactory(organization=organization, status=Service.Status.TERMINATED)
    InvoiceFactory(organization=organization, number=42)
    InvoiceFactory(organization=organization, number=43, status="paid", amount_paid=Decimal("108.10"))

    assert hooks.termination_blockers(organization) == ["1 Service(s) not terminated", "open invoice(s): 00000042"]
