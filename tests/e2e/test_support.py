"""A support ticket with an attachment, in Chromium."""

import re
import secrets

import pytest

from tests.e2e.journey import Journey, expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

LOG = b"2026-12-01 09:20:11 ERROR upstream timed out (110: Connection timed out)\n"


def test_ticket_with_an_attachment_reaches_the_support_queue(customer: Journey) -> None:
    # given the customer on the support page
    org = customer.organization_path()
    customer.go(f"{org}/support/", "tickets")
    with customer.page.expect_navigation():
        customer.page.locator("main").get_by_role("link", name=re.compile("ticket", re.IGNORECASE)).first.click()
    customer.step("new-ticket")
    # when they choose a technical question and describe it with a log file attached
    customer.page.get_by_label("What is it about?").select_option("technical")
    customer.submit(re.compile("Continue|Change the kind"), "kind-chosen")
    subject = f"Deploy fails {secrets.token_hex(3)}"
    customer.page.get_by_label("Subject").fill(subject)
    customer.page.get_by_label("Message").fill("Since Monday the deploy of my app times out.")
    customer.page.get_by_label("Service").select_option(label="#1 · Jelastic Cloud · Pay per use (monthly)")
    customer.page.get_by_label("Attachments").set_input_files(
        files=[{"name": "error-log.txt", "mimeType": "text/plain", "buffer": LOG}]
    )
    customer.step("filled")
    customer.submit("Send", "ticket")
    # then the ticket is open with the message, the Service and the attachment, which downloads as sent
    expect(customer.page.locator(".messages")).to_contain_text("Your ticket is open")
    expect(customer.page.locator("h1")).to_contain_text(subject)
    expect(customer.page.locator("main")).to_contain_text("Since Monday the deploy of my app times out.")
    expect(customer.page.locator("main")).to_contain_text("Jelastic Cloud · Pay per use")
    attachment = customer.page.get_by_role("link", name="error-log.txt")
    expect(attachment).to_be_visible()
    download = customer.page.request.get(customer.base_url + (attachment.get_attribute("href") or ""))
    assert download.ok and download.body() == LOG
    # and the ticket is in the customer's list
    customer.go(f"{org}/support/", "tickets-after")
    expect(customer.page.locator("main")).to_contain_text(subject)
