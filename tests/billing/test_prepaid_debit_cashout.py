"""SPEC PRE-3 (provider debit), PRE-1 (staff adjustments), PRE-4 (cash-out): the Prepaid Account's staff side."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Organization
from audit.models import AuditEvent
from billing.models import Invoice, LedgerEntry
from billing.services.prepaid import (
    prepaid_account_for,
    prepaid_cash_out_pay,
    prepaid_cash_out_refuse,
    prepaid_cash_out_request,
    prepaid_provider_debit,
    prepaid_staff_adjust,
)
from core.errors import RuleViolation
from tests.billing.prepaid_helpers import (
    NOW,
    balance_of,
    fund,
    make_invoice,
    make_staff,
    state_of,
)
from tests.factories import OrganizationFactory, member

pytestmark = pytest.mark.django_db


# --- provider debit (PRE-3, TCU 5.10.4) -------------------------------------------------------


def test_pre3_staff_settle_a_defaulted_invoice_as_far_as_the_balance_goes() -> None:
    # given: 50.00 on the account, an overdue invoice of 108.10
    organization = OrganizationFactory()
    staff = make_staff()
    fund(organization, "50.00")
    invoice = make_invoice(organization)

    # when
    entry = prepaid_provider_debit(invoice=invoice, staff_user=staff, now=NOW)

    # then: the whole balance goes to the invoice, which stays open for the rest
    assert (entry.kind, entry.amount, entry.balance_after, entry.invoice, entry.staff_user) == (
        "provider_debit",
        Decimal("-50.00"),
        Decimal("0.00"),
        invoice,
        staff,
    )
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", Decimal("50.00"), Decimal("58.10"))
    assert entry.payment is not None and entry.payment.recorded_by == staff

    # when: more money arrives, the rest is settled
    fund(organization, "100.00", reference="claim-2")
    prepaid_provider_debit(invoice=invoice, staff_user=staff, now=NOW)

    # then
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert balance_of(organization) == Decimal("41.90")
    assert list(AuditEvent.objects.filter(actor_user=staff).values_list("action", "rule")) == [
        ("payment.succeeded", "PRE-3"),
        ("ledger_entry.provider_debit", "PRE-3"),
        ("invoice.part_paid", "PRE-3"),
        ("payment.succeeded", "PRE-3"),
        ("ledger_entry.provider_debit", "PRE-3"),
        ("invoice.paid", "PRE-3"),
    ]


@pytest.mark.parametrize(
    ("case", "rule", "message"),
    [
        ("not yet overdue", "PRE-3", "not overdue: it is due on 10.04.2026"),
        ("no balance", "PRE-3", "no balance"),
        ("paid", "PRE-3", "not open"),
        ("not staff", "PRE-3", "Only our staff"),
    ],
)
def test_pre3_provider_debit_refusals_change_nothing(case: str, rule: str, message: str) -> None:
    organization = OrganizationFactory()
    if case != "no balance":
        fund(organization, "500.00")
    else:
        prepaid_account_for(organization)
    invoice = make_invoice(
        organization,
        **{
            "not yet overdue": {"due_date": dt.date(2026, 4, 10)},
            "paid": {"status": Invoice.Status.PAID, "amount_paid": Decimal("108.10")},
        }.get(case, {}),
    )
    staff_user = member().user if case == "not staff" else make_staff()
    before = state_of(organization)

    with pytest.raises(RuleViolation, match=message) as refused:
        prepaid_provider_debit(invoice=invoice, staff_user=staff_user, now=NOW)

    assert refused.value.rule == rule
    assert state_of(organization) == before


# --- staff adjustments ------------------------------------------------------------------------


def test_pre1_staff_adjust_up_and_down_to_exactly_zero_naming_themselves_and_the_reason() -> None:
    organization = OrganizationFactory()
    staff = make_staff()

    up = prepaid_staff_adjust(
        organization=organization, amount=Decimal("30.00"), reason=" Goodwill ", staff_user=staff, now=NOW
    )
    down = prepaid_staff_adjust(
        organization=organization, amount=Decimal("-30.00"), reason="Booked twice", staff_user=staff, now=NOW
    )

    assert (up.staff_user, up.reason, up.amount, up.balance_after) == (
        staff,
        "Goodwill",
        Decimal("30.00"),
        Decimal("30.00"),
    )
    assert (down.staff_user, down.reason, down.amount, down.balance_after) == (
        staff,
        "Booked twice",
        Decimal("-30.00"),
        Decimal("0.00"),
    )
    assert balance_of(organization) == Decimal("0.00")
    assert list(AuditEvent.objects.values_list("action", "rule", "actor_type")) == [
        ("ledger_entry.staff_adjustment", "PRE-1", "staff"),
        ("ledger_entry.staff_adjustment", "PRE-1", "staff"),
    ]


@pytest.mark.parametrize(
    ("amount", "reason", "is_staff", "message", "status"),
    [
        ("-20.01", "Correction", True, "cannot go below zero", 409),
        ("5.00", "   ", True, "A reason is required", 400),
        ("0.00", "Correction", True, "cannot be zero", 400),
        ("5.00", "Correction", False, "Only our staff", 403),
    ],
)
def test_pre1_staff_adjustment_refusals_change_nothing(
    amount: str, reason: str, is_staff: bool, message: str, status: int
) -> None:
    organization = OrganizationFactory()
    fund(organization, "20.00")
    user = make_staff() if is_staff else member(organization=organization).user
    before = state_of(organization)

    with pytest.raises(RuleViolation, match=message) as refused:
        prepaid_staff_adjust(organization=organization, amount=Decimal(amount), reason=reason, staff_user=user, now=NOW)

    assert (refused.value.rule, refused.value.status) == ("PRE-1", status)
    assert state_of(organization) == before


# --- cash-out (PRE-4) -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["legal_responsible", "administrator", "billing"])
def test_pre4_the_whole_balance_is_paid_out_on_request(role: str) -> None:
    # given: 75.50 on the account, no open invoice (one paid)
    requester = member(role)
    organization = requester.organization
    staff = make_staff()
    fund(organization, "75.50")
    make_invoice(organization, status=Invoice.Status.PAID, amount_paid=Decimal("108.10"))

    # when: the customer asks, staff pay out
    request = prepaid_cash_out_request(organization=organization, user=requester.user, now=NOW)
    assert (request.amount, request.status, request.requested_by) == (Decimal("75.50"), "requested", requester.user)
    paid = prepaid_cash_out_pay(request=request, staff_user=staff, now=NOW + dt.timedelta(days=1))

    # then
    assert (paid.status, paid.decided_at) == ("paid", NOW + dt.timedelta(days=1))
    assert balance_of(organization) == Decimal("0.00")
    entry = LedgerEntry.objects.filter(account__organization=organization).first()  # newest first
    assert entry is not None
    assert (entry.kind, entry.amount, entry.balance_after, entry.staff_user, entry.claim_reference) == (
        "cash_out",
        Decimal("-75.50"),
        Decimal("0.00"),
        staff,
        f"cash-out:{request.pk}",
    )
    assert list(AuditEvent.objects.filter(rule="PRE-4").values_list("action", "actor_label")) == [
        ("cash_out.requested", requester.user.email),
        ("ledger_entry.cash_out", "staff@example.com"),
        ("cash_out.paid", "staff@example.com"),
    ]


@pytest.mark.parametrize(
    ("case", "rule", "status", "message"),
    [
        ("an open invoice", "PRE-4", 409, "once no invoice is open"),
        ("no balance", "PRE-4", 409, "no balance to pay out"),
        ("a request already open", "PRE-4", 409, "already waiting"),
        ("technical member", "ORG-5", 403, "Legal Responsible, an administrator or a billing member"),
        ("not a member", "ORG-5", 404, "not a member"),
        ("blocked organization", "ORG-2", 403, "blocked"),
    ],
)
def test_pre4_cash_out_request_refusals_change_nothing(case: str, rule: str, status: int, message: str) -> None:
    legal = member()
    organization = legal.organization
    if case == "no balance":
        prepaid_account_for(organization)
    else:
        fund(organization, "75.50")
    if case == "an open invoice":
        make_invoice(organization)
    if case == "a request already open":
        prepaid_cash_out_request(organization=organization, user=legal.user, now=NOW)
    if case == "blocked organization":
        Organization.objects.filter(pk=organization.pk).update(status=Organization.Status.BLOCKED)
    user = {
        "technical member": lambda: member("technical", organization=organization).user,
        "not a member": lambda: member().user,
    }.get(case, lambda: legal.user)()
    before = state_of(organization)

    with pytest.raises(RuleViolation, match=message) as refused:
        prepaid_cash_out_request(organization=organization, user=user, now=NOW)

    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert state_of(organization) == before


@pytest.mark.parametrize(
    ("case", "rule", "message"),
    [
        ("balance spent since", "PRE-4", "no longer covers the requested 75.50"),
        ("invoice opened since", "PRE-4", "once no invoice is open"),
        ("already refused", "PRE-4", "already been decided"),
        ("not staff", "PRE-4", "Only our staff"),
    ],
)
def test_pre4_cash_out_payment_refusals_change_nothing(case: str, rule: str, message: str) -> None:
    legal = member()
    organization = legal.organization
    staff = make_staff()
    fund(organization, "75.50")
    request = prepaid_cash_out_request(organization=organization, user=legal.user, now=NOW)
    if case == "balance spent since":
        prepaid_staff_adjust(
            organization=organization, amount=Decimal("-0.50"), reason="Fix", staff_user=staff, now=NOW
        )
    if case == "invoice opened since":
        make_invoice(organization)
    if case == "already refused":
        prepaid_cash_out_refuse(request=request, staff_user=staff, reason="Identity to confirm", now=NOW)
    user = legal.user if case == "not staff" else staff
    before = state_of(organization)

    with pytest.raises(RuleViolation, match=message) as refused:
        prepaid_cash_out_pay(request=request, staff_user=user, now=NOW)

    assert refused.value.rule == rule
    assert state_of(organization) == before


def test_pre4_staff_refuse_a_request_with_a_reason_and_the_balance_stays() -> None:
    legal = member()
    organization = legal.organization
    staff = make_staff()
    fund(organization, "75.50")
    request = prepaid_cash_out_request(organization=organization, user=legal.user, now=NOW)
    before = state_of(organization)

    with pytest.raises(RuleViolation, match="A reason is required"):
        prepaid_cash_out_refuse(request=request, staff_user=staff, reason=" ", now=NOW)
    assert state_of(organization) == before

    refused = prepaid_cash_out_refuse(request=request, staff_user=staff, reason="Identity to confirm", now=NOW)

    assert (refused.status, refused.decided_at) == ("refused", NOW)
    assert balance_of(organization) == Decimal("75.50")
    event = AuditEvent.objects.order_by("id").last()
    assert event is not None
    assert (event.action, event.rule, event.after) == (
        "cash_out.refused",
        "PRE-4",
        {"status": "refused", "reason": "Identity to confirm"},
    )
    # a new request may follow once the first is decided
    again = prepaid_cash_out_request(organization=organization, user=legal.user, now=NOW)
    assert (again.amount, again.status) == (Decimal("75.50"), "requested")
