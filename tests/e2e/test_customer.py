"""A customer's first steps in Chromium: log-in, the dashboard, the section menu, the language."""

import re

import pytest

from tests.e2e.journey import Journey, expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_log_in_refuses_a_wrong_password_then_lands_on_the_dashboard(visitor: Journey) -> None:
    # given the log-in page
    visitor.go("/login/", "login")
    # when a wrong password is tried
    visitor.page.get_by_label(re.compile("e-mail", re.IGNORECASE)).fill("demo@example.com")
    visitor.page.get_by_label("Password").fill("not-the-password")
    visitor.submit("Log in", "wrong-password")
    # then the page says so and nobody is logged in
    expect(visitor.page.locator("main .errorlist, main .errornote, main [role=alert]").first).to_be_visible()
    expect(visitor.page.get_by_role("button", name="Log out")).to_have_count(0)
    # when the right one is
    visitor.log_in()
    # then the dashboard of the customer's Organization shows
    expect(visitor.page).to_have_url(re.compile(r"/orgs/\d+/$"))
    expect(visitor.page.locator("main")).to_contain_text("Demo Cloud Sàrl")
    expect(visitor.page.get_by_role("button", name="Log out")).to_be_visible()


def test_dashboard_flags_the_open_invoices_and_the_menu_reaches_every_section(customer: Journey) -> None:
    # given the logged-in customer on the dashboard
    org = customer.organization_path()
    customer.step("dashboard")
    nav = customer.page.get_by_role("navigation", name="Sections")
    if customer.phone:
        # then on a phone the section menu is folded behind one button, and opens on a tap
        expect(nav.get_by_role("link", name="Invoices")).to_be_hidden()
        customer.page.locator("nav.sections summary").click()
        customer.step("menu-open")
    expect(nav.get_by_role("link", name="Invoices")).to_be_visible()
    # when the customer follows the menu to the invoices
    with customer.page.expect_navigation():
        nav.get_by_role("link", name="Invoices").click()
    customer.step("invoices")
    # then the seeded open invoices are listed with what is still due
    expect(customer.page).to_have_url(re.compile(rf"{org}/invoices/$"))
    rows = customer.page.locator("main table tbody tr").filter(has_text="open")
    expect(rows.first).to_be_visible()
    expect(rows.first).to_contain_text("CHF")


def test_language_switch_translates_the_pages_and_back(customer: Journey) -> None:
    # given the customer on the dashboard, in English
    customer.organization_path()
    customer.step("english")
    nav = customer.page.get_by_role("navigation", name="Sections")
    try:
        # when French is chosen in the language switch (it submits on change)
        with customer.page.expect_navigation():
            customer.page.locator("#language-switch").select_option("fr")
        customer.step("french")
        # then the page speaks French
        expect(customer.page.locator("html")).to_have_attribute("lang", "fr")
        expect(customer.page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        expect(nav).to_contain_text("Factures")
    finally:
        # and back to English (the other journeys read English)
        with customer.page.expect_navigation():
            customer.page.locator("#language-switch").select_option("en")
    customer.step("english-again")
    expect(customer.page.locator("html")).to_have_attribute("lang", "en")
    expect(customer.page.get_by_role("button", name="Log out")).to_be_visible()
