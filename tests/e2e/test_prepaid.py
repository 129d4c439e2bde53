"""Topping up the Prepaid Account in Chromium: by card (credited at once) and by bank transfer (the
QR-bill to pay it with)."""

import re
from decimal import Decimal

import pytest

from tests.e2e.journey import Journey, expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _balance(journey: Journey) -> Decimal:
    match = re.search(r"Balance: CHF ([\d'’ ]+\.\d\d)", journey.main())
    assert match, journey.main()[:500]
    return Decimal(re.sub(r"[^\d.]", "", match.group(1)))


def test_top_up_by_bank_transfer_shows_the_qr_bill(customer: Journey) -> None:
    # given the customer on the Prepaid Account page
    org = customer.organization_path()
    customer.go(f"{org}/prepaid/", "prepaid")
    before = _balance(customer)
    # when they ask to top up CHF 250.00 by bank transfer
    customer.page.get_by_label("Amount", exact=True).fill("250.00")
    customer.page.get_by_label("Pay with").select_option("bank_transfer")
    customer.submit("Top up", "transfer-slip")
    # then the page says where to transfer what, with a reference and the Swiss QR-bill to scan
    expect(customer.page.locator("h1")).to_have_text("Top-up by bank transfer")
    expect(customer.page.locator("#amount")).to_have_text("CHF 250.00")
    expect(customer.page.locator("#iban")).to_contain_text("CH")
    expect(customer.page.locator("#reference")).not_to_be_empty()
    expect(customer.page.locator(".qr-bill svg")).to_be_visible()
    # and the balance is not credited before the money arrives
    customer.go(f"{org}/prepaid/", "prepaid-after")
    assert _balance(customer) == before


def test_top_up_by_card_is_credited_at_once(customer: Journey) -> None:
    # given the customer with a card on file
    org = customer.organization_path()
    customer.add_card(org)
    expect(customer.page.locator("main")).to_contain_text("4242")
    customer.go(f"{org}/prepaid/", "prepaid")
    before = _balance(customer)
    # when they top up CHF 40.00 with that card
    customer.page.get_by_label("Amount", exact=True).fill("40.00")
    pay_with = customer.page.get_by_label("Pay with")
    card = pay_with.locator("option", has_text="4242").first.get_attribute("value")
    assert card
    pay_with.select_option(card)
    customer.submit("Top up", "credited")
    # then the balance grows by exactly that amount, and the page says so
    expect(customer.page.locator(".messages")).to_contain_text("CHF 40.00 is credited to your Prepaid Account.")
    assert _balance(customer) == before + Decimal("40.00")
    expect(customer.page.locator("main table tbody tr").first).to_contain_text("40.00")
