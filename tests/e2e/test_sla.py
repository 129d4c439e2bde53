"""The SLA in Chromium: a customer claims an incident from its Claim button; staff, logged in with
their second factor (TOTP), accept the claim in the admin, and the customer sees the decision."""

import re
import secrets

import pytest

from tests.e2e.journey import STAFF, Journey, expect, file_claim, record_incident, staff_code
from tests.e2e.server import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_claim_from_the_claim_button_is_filed_and_listed(customer: Journey, portal: Server) -> None:
    # given an incident of the customer's Service, resolved, that nobody claimed yet
    title = f"Cluster unreachable {secrets.token_hex(3)}"
    record_incident(portal, title)
    # when the customer presses its Claim button and sends the pre-filled claim
    subject = file_claim(customer, title)
    # then the ticket is an SLA claim about that Service
    expect(customer.page.locator("main")).to_contain_text("Jelastic Cloud · Pay per use")
    # and the Service's SLA page lists the claim, and no longer offers to claim that incident
    customer.page.go_back()
    customer.page.go_back()
    customer.page.reload()
    customer.step("service-sla-after")
    if customer.phone:  # the chart keeps legible labels: it scrolls in its box rather than shrink
        month = customer.page.locator("figure.chart svg text.month").first.bounding_box()
        assert month is not None and month["height"] >= 10, month
    claims = customer.page.locator("#claims")
    expect(claims).to_contain_text(subject)
    expect(claims).to_contain_text("under analysis")
    incident = customer.page.locator("main tr", has_text=title)
    expect(incident.get_by_role("link", name="Claim", exact=True)).to_have_count(0)


def test_staff_log_in_with_totp_and_accept_a_claim(customer: Journey, visitor: Journey, portal: Server) -> None:
    # given a claim the customer filed
    title = f"Storage lost {secrets.token_hex(3)}"
    record_incident(portal, title)
    subject = file_claim(customer, title)
    staff = visitor
    # when staff log in: password, then the second factor's code
    staff.go("/admin/", "admin-door")
    if "/login/" in staff.page.url:
        staff.page.get_by_label(re.compile("e-mail", re.IGNORECASE)).fill(STAFF[0])
        staff.page.get_by_label("Password").fill(STAFF[1])
        staff.submit("Log in", "password-given")
    else:
        staff.log_in(*STAFF)
        staff.go("/admin/", "admin-door-again")
    expect(staff.page.locator("h1")).to_have_text("Staff second factor")
    staff.page.get_by_label("6-digit code").fill(staff_code())
    staff.submit("Verify", "admin")
    # then the admin site opens
    expect(staff.page).to_have_url(re.compile(r"/admin/$"))
    # when staff find the claim and accept it, naming the incident suggested
    staff.go(f"/admin/sla/claim/?q={subject.split(':')[-1].strip()}&status__exact=pending", "claims")
    row = staff.page.locator("#result_list tbody tr", has_text=title)
    expect(row).to_have_count(1)
    with staff.page.expect_navigation():
        row.locator("th a, td a").first.click()
    staff.step("claim")
    with staff.page.expect_navigation():
        staff.page.locator(".object-tools").get_by_role("link", name="Accept").click()
    staff.step("accept-form")
    # the incident of this claim (the suggestion may be a neighbour another claim already earned)
    incident = staff.page.get_by_label(re.compile("Incident that caused"))
    value = incident.locator("option", has_text=title).get_attribute("value")
    assert value
    incident.select_option(value)
    staff.submit("Accept", "accepted")
    # then the claim is accepted, with its penalty computed
    expect(staff.page.locator(".messagelist")).to_contain_text("Claim accepted")
    # and the customer's SLA page shows the decision
    org = customer.organization_path()
    customer.go(f"{org}/sla/", "sla-decided")
    expect(customer.page.locator("main li, main tr", has_text=subject).first).to_contain_text("accepted")
