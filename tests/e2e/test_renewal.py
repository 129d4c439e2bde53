"""A paid Service's renewal in Chromium: the auto-renewal switch, and "Renew now" by card."""

import re

import pytest

from tests.e2e.journey import CARD_OK, Journey, expect, order, pay_with_a_new_card

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _newest_housing_service(customer: Journey, org: str) -> str:
    customer.go(f"{org}/services/", "services")
    links = customer.page.locator("main table tbody a", has_text="Demo Housing 1U")
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    return max(hrefs, key=lambda href: int(re.findall(r"/services/(\d+)/", href)[0]))


def _field(customer: Journey, name: str) -> str:
    return customer.page.locator("main tr", has=customer.page.locator("th", has_text=name)).first.inner_text()


def test_auto_renewal_switch_and_renew_now_by_card(customer: Journey) -> None:
    # given a Service ordered and paid by card: active, paid until the end of its first month
    order(customer)
    pay_with_a_new_card(customer, CARD_OK, "order-paid")
    org = customer.organization_path()
    service = _newest_housing_service(customer, org)
    customer.go(service, "service")
    expect(customer.page.locator("h1")).to_contain_text("active")
    paid_until = _field(customer, "Paid until")
    was_on = _field(customer, "Auto-renewal").endswith("on")
    # when the customer flips the automatic renewal switch, then flips it back
    first, second = ("off", "on") if was_on else ("on", "off")
    customer.submit(f"Switch automatic renewal {first}", f"auto-renewal-{first}")
    # then the Service shows each new state
    assert _field(customer, "Auto-renewal").endswith(first)
    customer.submit(f"Switch automatic renewal {second}", f"auto-renewal-{second}")
    assert _field(customer, "Auto-renewal").endswith(second)
    # when they renew now, all by the card saved with the order's payment
    renew = customer.page.locator("#actions form", has=customer.page.get_by_role("button", name="Renew now"))
    renew.get_by_label("From the Prepaid Account").fill("0")
    means = renew.get_by_label("The rest by card")
    card = means.locator("option", has_text="4242").first.get_attribute("value")
    assert card
    means.select_option(card)
    customer.submit("Renew now", "renewed")
    # then the renewal invoice is paid and the Service is paid a term further
    expect(customer.page.locator(".messages")).to_contain_text(re.compile(r"Thank you: invoice \d+ is paid\."))
    assert _field(customer, "Paid until") != paid_until
