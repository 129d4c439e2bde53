"""Sign-up by invitation in Chromium: a member invites a colleague, whose e-mail (printed by the
server's console e-mail backend, as `make run` shows it) leads a logged-out visitor to a page naming
who invites whom to what, then through sign-up back to the invitation, accepted."""

import re
import secrets
import time

import pytest

from tests.e2e.journey import Journey, expect
from tests.e2e.server import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

MAIL_SECONDS = 30  # the worker sends the e-mail after the request's commit


def _invitation_link(portal: Server, email: str) -> str:
    """The invitation link of the e-mail sent to `email`, from the server's output."""
    deadline = time.monotonic() + MAIL_SECONDS
    while time.monotonic() < deadline:
        log = portal.log.read_text(errors="replace")
        start = log.find(f"To: {email}")
        if start >= 0:
            found = re.search(r"http://127\.0\.0\.1:\d+/invitations/[\w-]+/", log[start:])
            if found:
                return found.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no invitation e-mail to {email} within {MAIL_SECONDS}s")


def test_sign_up_by_invitation(customer: Journey, visitor: Journey, portal: Server) -> None:
    # given the customer invites a colleague as technical contact
    email = f"colleague-{secrets.token_hex(4)}@example.com"
    customer.organization_path()
    nav = customer.page.get_by_role("navigation", name="Sections")
    if customer.phone:
        customer.page.locator("nav.sections summary").click()
    with customer.page.expect_navigation():
        nav.get_by_role("link", name="Organization", exact=True).click()
    customer.step("organization")
    invite = customer.page.locator("form", has=customer.page.get_by_role("button", name="Send the invitation"))
    invite.get_by_label("E-mail address").fill(email)
    invite.get_by_label("Role").select_option("technical")
    customer.submit("Send the invitation", "invited")
    # when the colleague, logged out, opens the link of the e-mail
    link = _invitation_link(portal, email)
    assert link.startswith(portal.url)
    visitor.go(link.removeprefix(portal.url), "invitation")
    # then the page says who invites whom to what
    expect(visitor.page.locator("h1")).to_have_text("Invitation to join Demo Cloud Sàrl")
    expect(visitor.page.locator("main")).to_contain_text(f"Dana Demo invites {email} to join Demo Cloud Sàrl")
    # when they create an account with that address
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("link", name="Create an account").click()
    visitor.step("sign-up")
    form = visitor.page.locator("main form")
    form.get_by_label("E-mail address").fill(email)
    form.get_by_label("First name").fill("Carla")
    form.get_by_label("Last name").fill("Colleague")
    form.get_by_label("Date of birth").fill("1990-03-14")
    form.get_by_label("Password", exact=True).fill("a-long-enough-passphrase-2026")
    form.get_by_label("Password again").fill("a-long-enough-passphrase-2026")
    for checkbox in form.locator("input[type=checkbox][required]").all():
        checkbox.check()
    visitor.submit("Continue", "signed-up")
    # then they are back on the invitation, and accepting it makes them a member
    expect(visitor.page.locator("h1")).to_have_text("Invitation to join Demo Cloud Sàrl")
    visitor.submit("Accept the invitation", "accepted")
    expect(visitor.page.locator("body")).to_contain_text("Demo Cloud Sàrl")
    customer.page.reload()
    customer.step("members")
    expect(customer.page.locator("#members")).to_contain_text(email)
