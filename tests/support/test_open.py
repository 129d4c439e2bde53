"""SPEC SUP-1, SUP-2, SUP-5 with BIL-11, SLA-5, MB-2, ORG-9, TCU 18, SC 5.7: opening tickets by kind."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Membership
from audit.models import AuditEvent
from billing.models import PaymentMeans
from billing.services.means import means_add_card
from billing.services.payments import invoice_pay
from core.errors import RuleViolation
from subscriptions.models import MoneyBackRefund, Service
from subscriptions.services.orders import service_order
from support import hooks
from support.models import Message, Ticket
from support.selectors import overdue_complaints, ticket_documents_overdue
from support.services import ticket_open, ticket_open_by_staff
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, service_type
from tests.factories import member
from tests.support.helpers import NOW, scoped, service_of, snapshot, staff

pytestmark = pytest.mark.django_db

Role = Membership.Role


def _open(membership: Membership, **fields: Any) -> Ticket:
    arguments: dict[str, Any] = {
        "organization": membership.organization,
        "user": membership.user,
        "kind": "technical",
        "subject": "Site down",
        "body": "Our site answers 502.",
        "language": "fr",
        "now": NOW,
    } | fields
    return ticket_open(**arguments)


def _refused(rule: str, status: int, membership: Membership, **fields: Any) -> RuleViolation:
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        _open(membership, **fields)
    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert snapshot() == before
    return refused.value


# --- plain kinds, SUP-1, SUP-2 -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["technical", "billing"])
def test_sup2_a_member_opens_a_plain_ticket_that_waits_for_the_provider(kind: str) -> None:
    # given
    legal = member()
    service = service_of(legal)

    # when
    ticket = _open(legal, kind=kind, service=service, client_address="203.0.113.5")

    # then
    assert (ticket.organization, ticket.service, ticket.kind, ticket.language) == (
        legal.organization,
        service,
        kind,
        "fr",
    )
    assert (ticket.status, ticket.priority, ticket.waiting_since, ticket.opened_by, ticket.opened_by_staff) == (
        "open",
        "normal",
        NOW,
        legal.user,
        False,
    )
    assert list(ticket.messages.values_list("author", "from_staff", "internal", "body")) == [
        (legal.user.pk, False, False, "Our site answers 502.")
    ]
    events = list(AuditEvent.objects.filter(object_type__startswith="support.").values_list("action", "rule"))
    assert events == [("ticket.opened", "SUP-2"), ("ticket.message_posted", "SUP-3")]
    assert AuditEvent.objects.get(action="ticket.opened").client_address == "203.0.113.5"


def test_sup2_someone_outside_the_organization_is_told_it_does_not_exist() -> None:
    legal = member()
    outsider = member()
    _refused("SUP-2", 404, legal, user=outsider.user)


def test_sup1_only_the_five_languages() -> None:
    error = _refused("SUP-1", 400, member(), language="pt")
    assert error.field == "language"


def test_sup3_subject_and_message_are_required() -> None:
    assert _refused("SUP-3", 400, member(), subject="  ").field == "subject"
    assert _refused("SUP-3", 400, member(), body="").field == "body"


def test_org6_a_service_out_of_the_members_scope_or_of_another_organization_is_not_found() -> None:
    # given: a technical member limited to one Service
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.TECHNICAL, mine)
    foreign = service_of(member())

    # then
    assert _open(limited, service=mine).service == mine
    _refused("ORG-6", 404, limited, service=other)
    _refused("ORG-6", 404, legal, service=foreign)


@pytest.mark.parametrize("kind", ["third_party_complaint", "acceptable_use"])
def test_sup5_customers_cannot_open_staff_kinds(kind: str) -> None:
    _refused("SUP-5", 403, member(), kind=kind)


def test_sup5_an_unknown_kind_is_refused() -> None:
    _refused("SUP-5", 400, member(), kind="other")


# --- invoice dispute, BIL-11 ----------------------------------------------------------------------


def test_bil11_an_invoice_is_disputed_up_to_the_same_day_of_the_next_month() -> None:
    # given: an invoice issued on 20 February 2026; now is 20 March, 10:00 in Zurich
    legal = member()
    service = service_of(legal)
    invoice = InvoiceFactory(organization=legal.organization, service=service, issue_date=dt.date(2026, 2, 20))

    # when
    ticket = _open(legal, kind="invoice_dispute", invoice=invoice)

    # then: the ticket names the invoice and is about its Service
    assert (ticket.kind, ticket.invoice, ticket.service) == ("invoice_dispute", invoice, service)
    assert AuditEvent.objects.get(action="ticket.opened").rule == "BIL-11"


def test_bil11_the_day_after_the_month_the_dispute_is_refused_and_the_invoice_stays_due() -> None:
    # given: issued on 19 February: the last day was 19 March
    legal = member()
    invoice = InvoiceFactory(organization=legal.organization, issue_date=dt.date(2026, 2, 19))

    # then
    error = _refused("BIL-11", 409, legal, kind="invoice_dispute", invoice=invoice)
    assert "19 March 2026" in error.message and "remains due" in error.message
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_bil11_the_boundary_is_the_zurich_day() -> None:
    # given: issued on 31 January: the month ends on 28 February (clipped); 28 Feb 23:30 in Zurich
    # is 22:30 UTC, 1 March 00:30 in Zurich is still 28 February in UTC
    legal = member()
    invoice = InvoiceFactory(organization=legal.organization, issue_date=dt.date(2026, 1, 31))
    last_minute = dt.datetime(2026, 2, 28, 22, 30, tzinfo=dt.UTC)
    too_late = dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC)

    # then
    assert _open(legal, kind="invoice_dispute", invoice=invoice, now=last_minute).invoice == invoice
    _refused("BIL-11", 409, legal, kind="invoice_dispute", invoice=invoice, now=too_late)


def test_bil11_a_dispute_names_an_invoice_the_member_sees() -> None:
    legal = member()
    mine, other = service_of(legal), service_of(legal)
    limited = scoped(legal, Role.BILLING, mine)
    foreign = InvoiceFactory(organization=member().organization, issue_date=dt.date(2026, 3, 10))
    hidden = InvoiceFactory(organization=legal.organization, service=other, issue_date=dt.date(2026, 3, 10))

    assert _refused("BIL-11", 400, legal, kind="invoice_dispute").field == "invoice"
    _refused("ORG-6", 404, legal, kind="invoice_dispute", invoice=foreign)
    _refused("ORG-6", 404, limited, kind="invoice_dispute", invoice=hidden)


# --- SLA claim, SLA-5 and the seam -------------------------------------------------------------------

START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def test_sla5_a_claim_gives_the_start_and_end_of_a_past_unavailability() -> None:
    legal = member()
    service = service_of(legal)

    ticket = _open(legal, kind="sla_claim", service=service, claim_start=START, claim_end=END)

    assert (ticket.kind, ticket.service, ticket.claim_start, ticket.claim_end) == ("sla_claim", service, START, END)
    assert AuditEvent.objects.get(action="ticket.opened").rule == "SLA-5"


def test_sla5_claim_dates_are_checked() -> None:
    legal = member()
    service = service_of(legal)
    claim = {"kind": "sla_claim", "service": service}
    assert _refused("SLA-5", 400, legal, **claim, claim_start=START).field == "claim_start"
    assert _refused("SLA-5", 400, legal, **claim, claim_start=END, claim_end=START).field == "claim_end"
    assert _refused("SLA-5", 400, legal, **claim, claim_start=START, claim_end=START).field == "claim_end"
    future = NOW + dt.timedelta(minutes=1)
    assert _refused("SLA-5", 400, legal, **claim, claim_start=START, claim_end=future).field == "claim_end"
    assert _refused("SLA-5", 400, legal, kind="sla_claim", claim_start=START, claim_end=END).field == "service"


@pytest.fixture
def sla_handler() -> Any:
    calls: list[tuple[Ticket, Any, dt.datetime]] = []

    def handler(*, ticket: Ticket, user: Any, now: dt.datetime) -> None:
        calls.append((ticket, user, now))
        if ticket.claim_start < now - dt.timedelta(days=60):  # a stand-in for the SLA app's SLA-5 deadline
            raise RuleViolation("Filed more than two months after the incident.", rule="SLA-5")

    # The seam alone: the SLA app's own handler (sla.services.claim_file) stands aside meanwhile.
    saved = list(hooks._sla_claim_handlers)
    hooks._sla_claim_handlers[:] = [handler]
    yield calls
    hooks._sla_claim_handlers[:] = saved


def test_sla5_the_sla_app_registers_its_claim_handler() -> None:
    from sla.services import claim_file

    assert hooks._sla_claim_handlers == [claim_file]


def test_sla5_seam_the_registered_handler_sees_the_new_claim(sla_handler: list[Any]) -> None:
    legal = member()
    service = service_of(legal)

    ticket = _open(legal, kind="sla_claim", service=service, claim_start=START, claim_end=END)

    assert sla_handler == [(ticket, legal.user, NOW)]
    assert Ticket.objects.get().pk == ticket.pk  # the handler saw the saved ticket


def test_sla5_seam_a_handler_refusal_leaves_no_ticket(sla_handler: list[Any]) -> None:
    legal = member()
    service = service_of(legal)
    old_start = dt.datetime(2026, 1, 2, 8, 0, tzinfo=dt.UTC)

    error = _refused("SLA-5", 409, legal, kind="sla_claim", service=service, claim_start=old_start, claim_end=END)

    assert error.message == "Filed more than two months after the incident."
    assert len(sla_handler) == 1


def test_sla5_the_seam_is_not_called_for_other_kinds(sla_handler: list[Any]) -> None:
    _open(member())
    assert sla_handler == []


# --- money-back request, MB-2: the handover to billing ----------------------------------------------

ORDERED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _paid_service(legal: Membership) -> Service:
    means_add_card(organization=legal.organization, user=legal.user, number="4242424242424242", exp_month=12,
                   exp_year=2035, cvc="123", make_default=True, now=ORDERED)
    plan = PlanFactory(service_type=service_type("jelastic-cloud"), period="monthly")
    PriceFactory(plan=plan, amount=Decimal("100.00"), valid_from=dt.date(2025, 1, 1))
    service, invoice = service_order(organization=legal.organization, user=legal.user, plan=plan, now=ORDERED)
    means = PaymentMeans.objects.get(organization=legal.organization, kind="card")
    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=means, now=ORDERED)
    service.refresh_from_db()
    return service


def test_mb2_a_money_back_request_refunds_and_creates_the_ticket_resolved() -> None:
    # given: a Service ordered and paid by card on 10 March
    legal = member()
    service = _paid_service(legal)

    # when: the customer asks on 20 March
    ticket = _open(legal, kind="money_back", service=service, subject="Refund please", body="Not for us.")

    # then: refunded by billing, the Service terminated, the ticket resolved with the refund stated
    refund = MoneyBackRefund.objects.get(service=service)
    assert (refund.amount, refund.destination, refund.requested_by) == (Decimal("108.10"), "card", legal.user)
    service.refresh_from_db()
    assert service.status == "terminated"
    assert (ticket.status, ticket.waiting_since, ticket.service) == ("resolved", None, service)
    messages = list(Message.objects.filter(ticket=ticket).order_by("id"))
    assert [(m.author, m.from_staff, m.internal) for m in messages] == [(legal.user, False, False), (None, True, False)]
    assert "108,10 CHF" in messages[1].body and "résilié" in messages[1].body  # in the ticket's language (fr)
    assert ("ticket.resolved", "MB-2") in list(AuditEvent.objects.values_list("action", "rule"))


def test_mb2_the_refund_statement_is_in_the_tickets_language() -> None:
    legal = member()
    service = _paid_service(legal)

    ticket = _open(legal, kind="money_back", service=service, language="en")

    assert Message.objects.filter(ticket=ticket, author=None).get().body.startswith("Refunded under the money-back")


def test_mb2_a_refused_money_back_leaves_no_ticket() -> None:
    # given: a Service activated on 5 January, far beyond 30 days
    legal = member()
    service = service_of(legal)

    # then: billing's refusal propagates and nothing exists
    error = _refused("MB-2", 409, legal, kind="money_back", service=service)
    assert "30 days" in error.message or "paid Service" in error.message
    assert MoneyBackRefund.objects.count() == 0


def test_mb2_billing_role_rules_apply_a_technical_member_is_refused() -> None:
    legal = member()
    service = _paid_service(legal)
    technical = scoped(legal, Role.TECHNICAL)
    _refused("ORG-5", 403, technical, kind="money_back", service=service)
    assert _refused("MB-2", 400, legal, kind="money_back").field == "service"


# --- termination request, ORG-9 -------------------------------------------------------------------


def test_org9_a_legal_responsible_asks_for_termination() -> None:
    legal = member()
    ticket = _open(legal, kind="termination", subject="We leave")
    assert (ticket.kind, ticket.status) == ("termination", "open")
    assert AuditEvent.objects.get(action="ticket.opened").rule == "ORG-9"


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.BILLING, Role.TECHNICAL])
def test_org9_only_a_legal_responsible_asks_for_termination(role: str) -> None:
    legal = member()
    _refused("ORG-9", 403, scoped(legal, role), kind="termination")


# --- staff-opened kinds: TCU 18, SC 5.7 ----------------------------------------------------------


def _staff_open(organization: Any, **fields: Any) -> Ticket:
    arguments: dict[str, Any] = {
        "organization": organization,
        "staff_user": staff(),
        "kind": "third_party_complaint",
        "subject": "Complaint about your site",
        "body": "Please send the documents.",
        "language": "de",
        "now": NOW,
    } | fields
    return ticket_open_by_staff(**arguments)


def test_tcu18_staff_open_a_complaint_with_a_deadline_shown_when_passed() -> None:
    # given
    legal = member()
    ticket = _staff_open(legal.organization, documents_due_on=dt.date(2026, 3, 27))

    # then
    assert (ticket.kind, ticket.status, ticket.opened_by_staff, ticket.documents_due_on) == (
        "third_party_complaint",
        "waiting_customer",
        True,
        dt.date(2026, 3, 27),
    )
    assert AuditEvent.objects.get(action="ticket.opened").rule == "TCU 18"
    assert not ticket_documents_overdue(ticket, dt.date(2026, 3, 27))  # the deadline day is in time
    assert ticket_documents_overdue(ticket, dt.date(2026, 3, 28))
    assert list(overdue_complaints(dt.date(2026, 3, 27))) == []
    assert list(overdue_complaints(dt.date(2026, 3, 28))) == [ticket]


def test_tcu18_a_complaint_needs_a_deadline_after_today() -> None:
    legal = member()
    for due in (None, dt.date(2026, 3, 20)):
        before = snapshot()
        with pytest.raises(RuleViolation) as refused:
            _staff_open(legal.organization, documents_due_on=due)
        assert (refused.value.rule, refused.value.field) == ("TCU 18", "documents_due_on")
        assert snapshot() == before


def test_sc57_an_acceptable_use_case_needs_a_category_and_a_service() -> None:
    legal = member()
    service = service_of(legal)
    ticket = _staff_open(legal.organization, kind="acceptable_use", service=service, aup_category="crypto_mining")
    assert (ticket.aup_category, ticket.service, ticket.documents_due_on) == ("crypto_mining", service, None)
    assert AuditEvent.objects.filter(action="ticket.opened").last().rule == "SC 5.7"

    for fields in ({"service": service}, {"aup_category": "spam"}, {"service": service, "aup_category": "x"}):
        before = snapshot()
        with pytest.raises(RuleViolation) as refused:
            _staff_open(legal.organization, kind="acceptable_use", **fields)
        assert refused.value.rule == "SC 5.7"
        assert snapshot() == before


def test_sup5_only_staff_use_the_staff_door() -> None:
    legal = member()
    before = snapshot()
    with pytest.raises(RuleViolation) as refused:
        _staff_open(legal.organization, staff_user=legal.user, documents_due_on=dt.date(2026, 4, 1))
    assert (refused.value.rule, refused.value.status) == ("SUP-5", 403)
    assert snapshot() == before


def test_staff_cannot_open_a_ticket_about_another_organizations_service() -> None:
    legal = member()
    foreign = service_of(member())
    with pytest.raises(RuleViolation) as refused:
        _staff_open(legal.organization, kind="acceptable_use", service=foreign, aup_category="spam")
    assert refused.value.status == 404
