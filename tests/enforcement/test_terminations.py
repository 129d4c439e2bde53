"""SPEC ENF-3 and ORG-9: staff terminate a Service or a whole Organization for cause (data deleted,
open invoices stay due, no refund, every member told), and carry out a customer's termination
request from its ticket."""

from typing import Any

import pytest

from accounts.models import Membership, Organization
from audit.models import AuditEvent
from billing.models import CreditNote, Invoice
from core.errors import RuleViolation
from enforcement.models import CauseTermination
from enforcement.services import (
    organization_terminate_for_cause,
    service_terminate_for_cause,
    termination_request_execute,
)
from notifications.models import Notification
from subscriptions.models import Service
from support.hooks import termination_request_execute as execute_through_the_hook
from support.models import Message, Ticket
from support.services import ticket_open
from tests.enforcement.helpers import NOW, customer, hosting, open_invoice, snapshot, staff
from tests.factories import member

pytestmark = pytest.mark.django_db

Status = Service.Status


def _refused(function: Any, rule: str, message: str, **arguments: Any) -> None:
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        function(now=NOW, **arguments)
    assert (refused.value.rule, refused.value.message) == (rule, message)
    assert snapshot() == before


# --- ENF-3: for cause -----------------------------------------------------------------------------


def test_enf_3_an_organization_terminated_for_cause_ends_every_service_invoices_stay_due_members_told() -> None:
    # given an Organization with two members, a running Service with an open renewal invoice and an
    # order waiting for its first payment
    legal = customer(email="legal@example.com")
    org = legal.organization
    tech = member(Membership.Role.TECHNICAL, organization=org, email="tech@example.com")
    running = hosting(legal)
    renewal = open_invoice(running, kind="renewal", term=2)
    waiting = hosting(legal, status=Status.AWAITING_PAYMENT, anchor_date=None, expires_on=None, activated_at=None)
    order = open_invoice(waiting, kind="order")
    agent = staff()
    # when staff terminate the Organization for fraud
    record = organization_terminate_for_cause(
        organization=org, staff_user=agent, cause="fraud", reason="Stolen card used.", now=NOW
    )
    # then every Service is terminated, its data deletion recorded (SC 8.3)
    for service in (running, waiting):
        service.refresh_from_db()
        assert (service.status, service.data_deleted_at, service.renewal_warranty) == (Status.TERMINATED, NOW, False)
    assert AuditEvent.objects.filter(action="service.data_deleted", rule="SC 8.3").count() == 2
    # open invoices stay due: no credit note, nothing refunded (BIL-13)
    assert set(Invoice.objects.values_list("pk", "status")) == {(renewal.pk, "open"), (order.pk, "open")}
    assert CreditNote.objects.count() == 0
    # the Organization ends (ORG-9's terminated state)
    org.refresh_from_db()
    assert (org.status, org.terminated_at) == (Organization.Status.TERMINATED, NOW)
    assert (record.cause, record.rule, record.service, record.services_terminated) == ("fraud", "ENF-3", None, 2)
    assert sorted(record.open_invoices) == sorted([str(renewal.number), str(order.number)])
    # every member told at their own e-mail, and the contact address and inbox
    told = Notification.objects.filter(template="terminated_by_staff")
    assert sorted(told.values_list("channel", "address")) == sorted(
        [("email", org.contact_email), ("inbox", ""), ("email", "legal@example.com"), ("email", tech.user.email)]
    )
    body = told.get(channel="inbox").body
    assert "fraud" in body and str(renewal.number) in body and "ENF-3" not in body
    event = AuditEvent.objects.get(action="contract.terminated_by_staff")
    assert event.rule == "ENF-3" and event.after["refund"] == "none (BIL-13)"


def test_enf_3_a_single_service_terminated_for_cause_leaves_the_others_and_its_invoice_due() -> None:
    legal = customer()
    svc, other = hosting(legal), hosting(legal)
    invoice = open_invoice(svc, kind="renewal", term=2)
    record = service_terminate_for_cause(
        organization=legal.organization,
        service=svc,
        staff_user=staff(),
        cause="abusive_conduct",
        reason="Threats.",
        now=NOW,
    )
    svc.refresh_from_db()
    other.refresh_from_db()
    invoice.refresh_from_db()
    assert (svc.status, other.status, invoice.status) == (Status.TERMINATED, Status.ACTIVE, "open")
    assert record.service == svc
    legal.organization.refresh_from_db()
    assert legal.organization.status == Organization.Status.ACTIVE


def test_enf_3_refusals_change_nothing() -> None:
    legal, stranger = customer(), customer()
    svc, theirs = hosting(legal), hosting(stranger)
    gone = hosting(legal, status=Status.TERMINATED)
    agent = staff()
    org = legal.organization
    _refused(
        organization_terminate_for_cause,
        "ENF-3",
        "A reason is required.",
        organization=org,
        staff_user=agent,
        cause="fraud",
        reason=" ",
    )
    _refused(
        organization_terminate_for_cause,
        "ENF-3",
        "Choose the cause of the termination.",
        organization=org,
        staff_user=agent,
        cause="default",
        reason="x",
    )
    _refused(
        service_terminate_for_cause,
        "ENF-3",
        "This Service is not one of this organization's.",
        organization=org,
        service=theirs,
        staff_user=agent,
        cause="fraud",
        reason="x",
    )
    _refused(
        service_terminate_for_cause,
        "ENF-3",
        "This Service is terminated already.",
        organization=org,
        service=gone,
        staff_user=agent,
        cause="fraud",
        reason="x",
    )
    _refused(
        organization_terminate_for_cause,
        "ENF-3",
        "Only our staff may do this.",
        organization=org,
        staff_user=legal.user,
        cause="fraud",
        reason="x",
    )
    organization_terminate_for_cause(organization=org, staff_user=agent, cause="insolvency", reason="x", now=NOW)
    _refused(
        organization_terminate_for_cause,
        "ENF-3",
        "This organization's contract is terminated already.",
        organization=org,
        staff_user=agent,
        cause="fraud",
        reason="again",
    )
    assert svc.pk  # the first Service went with the Organization
    assert Service.objects.get(pk=svc.pk).status == Status.TERMINATED


# --- ORG-9: a termination request carried out from its ticket -------------------------------------


def _request(legal: Membership, service: Service | None = None) -> Ticket:
    return ticket_open(
        organization=legal.organization,
        user=legal.user,
        kind="termination",
        subject="Please end our contract",
        body="We stop.",
        language="en",
        service=service,
        now=NOW,
    )


def test_org_9_staff_carry_out_a_termination_request_for_the_whole_contract_and_close_the_ticket() -> None:
    legal = customer()
    svc = hosting(legal)
    ticket = _request(legal)
    agent = staff()
    record = execute_through_the_hook(ticket=ticket, staff_user=agent, answer="Done as asked.", now=NOW)
    assert record is None  # the hook answers nothing; the record is the enforcement app's
    svc.refresh_from_db()
    legal.organization.refresh_from_db()
    ticket.refresh_from_db()
    assert svc.status == Status.TERMINATED
    assert legal.organization.status == Organization.Status.TERMINATED
    assert ticket.status == Ticket.Status.CLOSED
    answer = Message.objects.filter(ticket=ticket, from_staff=True).get()
    assert answer.body == "Done as asked." and not answer.internal
    done = CauseTermination.objects.get()
    assert (done.cause, done.rule, done.ticket_id) == ("customer_request", "ORG-9", ticket.pk)


def test_org_9_a_request_about_one_service_terminates_that_service_only() -> None:
    legal = customer()
    svc, other = hosting(legal), hosting(legal)
    ticket = _request(legal, service=svc)
    termination_request_execute(ticket=ticket, staff_user=staff(), answer="Done.", now=NOW)
    assert dict(Service.objects.values_list("pk", "status")) == {svc.pk: Status.TERMINATED, other.pk: Status.ACTIVE}
    legal.organization.refresh_from_db()
    assert legal.organization.status == Organization.Status.ACTIVE


def test_org_9_a_request_is_refused_while_an_invoice_is_open_and_nothing_changes() -> None:
    legal = customer()
    svc = hosting(legal)
    invoice = open_invoice(svc, kind="renewal", term=2)
    ticket = _request(legal)
    _refused(
        termination_request_execute,
        "ORG-9",
        f"The organization is not in good standing: invoices {invoice.number} are open.",
        ticket=ticket,
        staff_user=staff(),
        answer="Done.",
    )


def test_org_9_only_a_termination_request_is_carried_out() -> None:
    legal = customer()
    ticket = ticket_open(
        organization=legal.organization,
        user=legal.user,
        kind="technical",
        subject="Slow",
        body="It is slow.",
        language="en",
        now=NOW,
    )
    _refused(
        termination_request_execute,
        "ORG-9",
        "Only a termination request is carried out this way.",
        ticket=ticket,
        staff_user=staff(),
        answer="Done.",
    )
    _refused(
        termination_request_execute,
        "ORG-9",
        "A reason is required.",
        ticket=_request(legal),
        staff_user=staff(),
        answer="",
    )
