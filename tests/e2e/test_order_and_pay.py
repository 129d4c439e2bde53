"""An order in Chromium, from the catalog through its review step to its invoice, then that invoice
paid by a card entered on it: declined (a plain message), accepted, or of unknown outcome (locked)."""

import pytest

from tests.e2e.journey import CARD_DECLINED, CARD_OK, CARD_UNKNOWN, Journey, expect, order, pay_with_a_new_card

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_order_then_pay_its_invoice_by_card_declined_then_accepted(customer: Journey) -> None:
    # given an order placed through its review step, landing on its invoice
    invoice = order(customer)
    expect(customer.page.locator("h1 .badge")).to_have_text("open")
    due = customer.page.locator("main tfoot tr", has_text="Still due")
    expect(due).to_contain_text("CHF 162.15")
    # when a declined card is entered on the invoice
    pay_with_a_new_card(customer, CARD_DECLINED, "declined")
    # then a plain message says so, without the gateway's code, and the invoice stays open
    main = customer.main()
    assert "declined" in main.lower()
    assert "card_declined" not in main
    customer.go(invoice, "still-open")
    expect(customer.page.locator("h1 .badge")).to_have_text("open")
    # when a good card is entered
    pay_with_a_new_card(customer, CARD_OK, "paid")
    # then the payment is received and the invoice is paid, nothing left due
    expect(customer.page.locator(".messages")).to_contain_text("Thank you, the payment is received.")
    customer.go(invoice, "invoice-paid")
    expect(customer.page.locator("h1 .badge")).to_have_text("paid")
    expect(customer.page.locator("main tfoot tr", has_text="Still due")).to_contain_text("CHF 0.00")
    expect(customer.page.get_by_role("button", name="Pay now")).to_have_count(0)


def test_a_card_payment_of_unknown_outcome_locks_the_invoice(customer: Journey) -> None:
    # given a new order's invoice
    invoice = order(customer)
    # when the card's payment times out at the gateway
    pay_with_a_new_card(customer, CARD_UNKNOWN, "unknown")
    # then the customer is told not to pay again, and the invoice offers no Pay button meanwhile
    customer.go(invoice, "being-checked")
    expect(customer.page.locator("#pay h2")).to_have_text("Payment being checked")
    expect(customer.page.locator("#pay")).to_contain_text("Please do not pay again")
    expect(customer.page.get_by_role("button", name="Pay now")).to_have_count(0)
