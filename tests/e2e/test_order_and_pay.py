"""An order in Chromium, from the catalog through its review step to its invoice, then that invoice
paid by a card entered on it: declined (a plain message), accepted, or of unknown outcome (locked)."""

import re

import pytest

from tests.e2e.journey import CARD_DECLINED, CARD_OK, CARD_UNKNOWN, Journey, expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PLAN = "Housing · Demo Housing 1U"


def _order(customer: Journey) -> str:
    """Orders the monthly housing plan; returns the path of the order's invoice, where the order lands."""
    org = customer.organization_path()
    customer.go(f"{org}/services/", "services")
    with customer.page.expect_navigation():
        customer.page.locator("main").get_by_role("link", name="Order a Service").click()
    customer.step("catalog")
    offer = customer.page.locator("main section", has=customer.page.get_by_role("heading", name=PLAN))
    with customer.page.expect_navigation():
        offer.get_by_role("button", name="Order", exact=True).click()
    customer.step("review")
    expect(customer.page.locator("h1")).to_have_text("Review your order")
    expect(customer.page.locator("main")).to_contain_text("CHF 162.15")
    customer.submit("Confirm order", "ordered")
    expect(customer.page).to_have_url(re.compile(rf"{org}/invoices/\d+/$"))
    expect(customer.page.locator("main")).to_contain_text("Demo Housing 1U")
    return customer.page.url.removeprefix(customer.base_url)


def _pay_with_a_new_card(customer: Journey, number: str, step: str) -> None:
    pay = customer.page.locator("#pay")
    prepaid = pay.get_by_label("From the Prepaid Account")
    if prepaid.is_visible():
        prepaid.fill("0")  # all by card
    pay.get_by_label(re.compile("The rest by card|By card")).select_option("new")
    pay.get_by_label("Card number").fill(number)
    pay.get_by_label("Expiry month").fill("12")
    pay.get_by_label("Expiry year").fill("2031")
    pay.get_by_label("Security code").fill("123")
    customer.submit("Pay now", step)


def test_order_then_pay_its_invoice_by_card_declined_then_accepted(customer: Journey) -> None:
    # given an order placed through its review step, landing on its invoice
    invoice = _order(customer)
    expect(customer.page.locator("h1 .badge")).to_have_text("open")
    due = customer.page.locator("main tfoot tr", has_text="Still due")
    expect(due).to_contain_text("CHF 162.15")
    # when a declined card is entered on the invoice
    _pay_with_a_new_card(customer, CARD_DECLINED, "declined")
    # then a plain message says so, without the gateway's code, and the invoice stays open
    main = customer.main()
    assert "declined" in main.lower()
    assert "card_declined" not in main
    customer.go(invoice, "still-open")
    expect(customer.page.locator("h1 .badge")).to_have_text("open")
    # when a good card is entered
    _pay_with_a_new_card(customer, CARD_OK, "paid")
    # then the payment is received and the invoice is paid, nothing left due
    expect(customer.page.locator(".messages")).to_contain_text("Thank you, the payment is received.")
    customer.go(invoice, "invoice-paid")
    expect(customer.page.locator("h1 .badge")).to_have_text("paid")
    expect(customer.page.locator("main tfoot tr", has_text="Still due")).to_contain_text("CHF 0.00")
    expect(customer.page.get_by_role("button", name="Pay now")).to_have_count(0)


def test_a_card_payment_of_unknown_outcome_locks_the_invoice(customer: Journey) -> None:
    # given a new order's invoice
    invoice = _order(customer)
    # when the card's payment times out at the gateway
    _pay_with_a_new_card(customer, CARD_UNKNOWN, "unknown")
    # then the customer is told not to pay again, and the invoice offers no Pay button meanwhile
    customer.go(invoice, "being-checked")
    expect(customer.page.locator("#pay h2")).to_have_text("Payment being checked")
    expect(customer.page.locator("#pay")).to_contain_text("Please do not pay again")
    expect(customer.page.get_by_role("button", name="Pay now")).to_have_count(0)
