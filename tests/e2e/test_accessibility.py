"""axe-core (bundled with axe-playwright-python: nothing from the internet) over the main pages, at
both widths: no serious or critical violation."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.journey import Journey

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

BLOCKING = {"serious", "critical"}
AXE = Axe()


def _violations(journey: Journey) -> list[str]:
    results = AXE.run(journey.page)
    return [
        f"{journey.page.url} {violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


def test_the_log_in_page_has_no_serious_accessibility_violation(visitor: Journey) -> None:
    visitor.go("/login/", "login")
    assert _violations(visitor) == []


def test_the_main_pages_have_no_serious_accessibility_violation(customer: Journey) -> None:
    # given the customer's main pages
    org = customer.organization_path()
    customer.go(f"{org}/invoices/", "invoices")
    invoice = customer.page.locator("main table tbody a").first.get_attribute("href")
    customer.go(f"{org}/services/", "services")
    service = customer.page.locator("main table tbody a", has_text="Jelastic").first.get_attribute("href")
    assert invoice and service
    pages = [
        f"{org}/",
        f"{org}/invoices/",
        invoice,
        f"{org}/services/",
        f"{org}/services/order/",
        service,
        f"{org}/prepaid/",
        f"{org}/payment-methods/",
        f"{org}/sla/",
        re.sub(r"/$", "/sla/", service),
        f"{org}/support/",
        f"{org}/support/new/?kind=technical",
        f"{org}/documents/",
        f"{org}/inbox/",
        "/account/security/",
    ]
    found = []
    for number, path in enumerate(pages):
        customer.go(path, f"axe-{number:02d}")
        # when axe-core checks each
        found += _violations(customer)
    # then it finds nothing serious or critical
    assert found == []
