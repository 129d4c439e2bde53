"""A customer's or staff member's walk through the portal in Chromium: each step is a screenshot under
var/e2e/ (what the browser saw, for a failed CI run) and, on a phone, a check that nothing scrolls
sideways."""

import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from demo.management.commands.seed_demo import DEMO_CUSTOMER, DEMO_STAFF, DEMO_TOTP_KEY

if TYPE_CHECKING:
    from tests.e2e.server import Server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "e2e"
PHONE, DESKTOP = 390, 1280
CARD_OK, CARD_DECLINED, CARD_UNKNOWN = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0000 0000 0119"
_steps: dict[Path, int] = {}  # screenshots taken per test folder, this session


class Journey:
    def __init__(self, page: Page, *, base_url: str, width: int, name: str) -> None:
        self.page, self.base_url, self.width = page, base_url, width
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        if self.folder not in _steps:  # a test's first journey: the screenshots of an earlier run go
            shutil.rmtree(self.folder, ignore_errors=True)
            _steps[self.folder] = 0
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def phone(self) -> bool:
        return self.width <= PHONE

    def go(self, path: str, step: str) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        self.step(step)

    def step(self, name: str) -> None:
        """The page as it stands: a screenshot, and on a phone no sideways scrolling."""
        self.page.wait_for_load_state()
        _steps[self.folder] += 1  # one numbering for the journeys of a test (a customer's and staff's)
        self.page.screenshot(path=self.folder / f"{_steps[self.folder]:02d}-{name}.png", full_page=True)
        if self.phone:
            widths = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], f"{self.page.url} scrolls sideways at {self.width}px: {widths}"

    def main(self) -> str:
        return self.page.locator("main").inner_text()

    def submit(self, name: str | re.Pattern[str], step: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=name).click()
        self.step(step)

    # what many journeys begin with

    def log_in(self, email: str = DEMO_CUSTOMER[0], password: str = DEMO_CUSTOMER[1]) -> None:
        self.go("/login/", "login")
        self.page.get_by_label(re.compile("e-mail", re.IGNORECASE)).fill(email)
        self.page.get_by_label("Password").fill(password)
        self.submit("Log in", "logged-in")

    def organization_path(self) -> str:
        """The demo customer's Organization: the portal's home leads a member of one to its dashboard."""
        self.go("/", "home")
        match = re.search(r"/orgs/(\d+)/", self.page.url)
        assert match, self.page.url
        return f"/orgs/{match.group(1)}"

    def add_card(self, org: str, number: str = CARD_OK) -> None:
        self.go(f"{org}/payment-methods/", "payment-methods")
        self.page.get_by_label("Card number").fill(number)
        self.page.get_by_label("Expiry month").fill("12")
        self.page.get_by_label("Expiry year").fill("2030")
        self.page.get_by_label("Security code").fill("123")
        self.submit("Add the card", "card-added")


_last_staff_step = 0


def staff_code() -> str:
    """The demo staff user's current TOTP code, as `manage.py demo_totp` computes it; a code is taken
    once (django-otp refuses a step already used), so a second log-in waits for the next step."""
    global _last_staff_step  # noqa: PLW0603
    totp = TOTP(bytes.fromhex(DEMO_TOTP_KEY), step=30, t0=0, digits=6, drift=0)
    while True:
        totp.time = time.time()
        if totp.t() > _last_staff_step:
            break
        time.sleep(1)
    _last_staff_step = totp.t()
    return f"{totp.token():06d}"


STAFF = DEMO_STAFF


_incidents = 0


def record_incident(portal: "Server", title: str) -> None:
    """A resolved 20-minute failure of the demo Jelastic Service, recorded as monitoring would, on a
    day of its own (two days back, then one more per incident), so that each claim journey has an
    incident nobody claimed yet."""
    global _incidents  # noqa: PLW0603
    _incidents += 1
    portal.shell(
        f"""
import datetime as dt
from core import clock
from accounts.models import User
from sla.services.incidents import incident_record
from subscriptions.models import Service
now = clock.now()
service = Service.objects.get(plan__service_type__slug="jelastic-cloud", organization__name="Demo Cloud Sàrl")
day = clock.business_date(now) - dt.timedelta(days={1 + _incidents})
start = dt.datetime.combine(day, dt.time(8, 0), tzinfo=clock.ZURICH)
incident_record(user=User.objects.get(email={STAFF[0]!r}), incident_class="A", title={title!r},
    started_at=start, resolved_at=start + dt.timedelta(minutes=20), service_ids=[service.pk], now=now)
"""
    )


def file_claim(customer: Journey, title: str) -> str:
    """From the Service's SLA page, the Claim button of the incident titled so, then the pre-filled
    claim sent; returns the ticket's subject."""
    org = customer.organization_path()
    customer.go(f"{org}/sla/", "sla")
    with customer.page.expect_navigation():
        customer.page.locator("main").get_by_role("link", name="Jelastic Cloud · Pay per use").first.click()
    customer.step("service-sla")
    row = customer.page.locator("main tr", has_text=title)
    expect(row).to_have_count(1)
    with customer.page.expect_navigation():
        row.get_by_role("link", name="Claim", exact=True).click()
    customer.step("claim-form")
    subject = customer.page.get_by_label("Subject").input_value()
    assert title in subject, subject
    message = customer.page.get_by_label("Message")
    if not message.input_value():
        message.fill("The cluster did not answer for twenty minutes.")
    customer.submit("Send", "claim-filed")
    expect(customer.page.locator("h1")).to_contain_text(subject)
    return subject


HOUSING = "Housing · Demo Housing 1U"


def order(customer: Journey) -> str:
    """Orders the monthly housing plan; returns the path of the order's invoice, where the order lands."""
    org = customer.organization_path()
    customer.go(f"{org}/services/", "services")
    with customer.page.expect_navigation():
        customer.page.locator("main").get_by_role("link", name="Order a Service").click()
    customer.step("catalog")
    offer = customer.page.locator("main section", has=customer.page.get_by_role("heading", name=HOUSING))
    with customer.page.expect_navigation():
        offer.get_by_role("button", name="Order", exact=True).click()
    customer.step("review")
    expect(customer.page.locator("h1")).to_have_text("Review your order")
    expect(customer.page.locator("main")).to_contain_text("CHF 162.15")
    customer.submit("Confirm order", "ordered")
    expect(customer.page).to_have_url(re.compile(rf"{org}/invoices/\d+/$"))
    expect(customer.page.locator("main")).to_contain_text("Demo Housing 1U")
    return customer.page.url.removeprefix(customer.base_url)


def pay_with_a_new_card(customer: Journey, number: str, step: str) -> None:
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
