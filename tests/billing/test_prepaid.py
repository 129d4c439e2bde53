"""SPEC PRE-1 … PRE-4, MONEY-1, MONEY-2: the Prepaid Account — its ledger, its refusals, its locks."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import Membership, User
from audit.models import AuditEvent
from billing.models import Invoice, LedgerEntry, Payment, PrepaidAccount
from billing.services.prepaid import (
    prepaid_account_for,
    prepaid_cash_out_pay,
    prepaid_cash_out_request,
    prepaid_credit,
    prepaid_pay_invoice,
    prepaid_staff_adjust,
)
from core.errors import RuleViolation
from subscriptions.models import Service
from tests.billing.factories import ServiceFactory
from tests.billing.prepaid_helpers import (
    JOB,
    NOW,
    Kind,
    balance_of,
    card_payment,
    claim_numbers,
    entries_of,
    fund,
    make_invoice,
    make_staff,
    state_of,
)
from tests.factories import OrganizationFactory, UserFactory, member

pytestmark = pytest.mark.django_db


# --- the account ----------------------------------------------------------------------------


def test_pre1_one_account_per_organization_in_its_currency() -> None:
    organization = OrganizationFactory(currency="EUR")

    first = prepaid_account_for(organization)
    second = prepaid_account_for(organization)

    assert first.pk == second.pk
    assert (first.currency, first.balance) == ("EUR", Decimal("0.00"))
    assert PrepaidAccount.objects.filter(organization=organization).count() == 1


def test_money2_the_ledger_has_no_interest_or_fee_entries() -> None:
    assert set(Kind.values) == {
        "top_up",
        "invoice_payment",
        "provider_reimbursement",
        "money_back",
        "sla_penalty",
        "provider_debit",
        "cash_out",
        "staff_adjustment",
    }


def test_pre1_the_database_refuses_a_negative_balance() -> None:
    # given: an account with 10.00
    organization = OrganizationFactory()
    account = prepaid_account_for(organization)
    fund(organization, "10.00")

    # when / then: PostgreSQL (or SQLite) itself refuses a negative balance, whatever Python does
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {PrepaidAccount._meta.db_table} SET balance = -1 WHERE id = %s", [account.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=account,
            kind=Kind.CASH_OUT,
            amount=Decimal("-11.00"),
            balance_after=Decimal("-1.00"),
            created_at=NOW,
        )
    assert balance_of(organization) == Decimal("10.00")
    assert entries_of(organization) == [("sla_penalty", Decimal("10.00"), Decimal("10.00"))]


# --- credits (PRE-2) --------------------------------------------------------------------------


def test_pre2_a_confirmed_top_up_is_credited_naming_its_payment() -> None:
    # given
    organization = OrganizationFactory()
    payment = card_payment(organization, "100.00")

    # when
    entry = prepaid_credit(
        organization=organization,
        kind=Kind.TOP_UP,
        amount=Decimal("100.00"),
        now=NOW,
        actor=JOB,
        rule="PRE-2",
        payment=payment,
        currency="CHF",
    )

    # then
    assert (entry.kind, entry.amount, entry.balance_after, entry.payment, entry.created_at) == (
        "top_up",
        Decimal("100.00"),
        Decimal("100.00"),
        payment,
        NOW,
    )
    assert balance_of(organization) == Decimal("100.00")
    event = AuditEvent.objects.get()
    assert (event.action, event.rule, event.object_type, event.object_id, event.organization) == (
        "ledger_entry.top_up",
        "PRE-2",
        "billing.ledgerentry",
        str(entry.pk),
        organization,
    )
    assert (event.before, event.after["amount"], event.after["balance"], event.after["payment"]) == (
        {"balance": "0.00"},
        "100.00",
        "100.00",
        payment.pk,
    )


def test_pre2_reimbursements_money_back_and_sla_penalties_add_up_with_rounding() -> None:
    organization = OrganizationFactory()
    invoice = make_invoice(organization, status=Invoice.Status.PAID, amount_paid=Decimal("108.10"))

    prepaid_credit(
        organization=organization,
        kind=Kind.PROVIDER_REIMBURSEMENT,
        amount=Decimal("50.00"),
        now=NOW,
        actor=JOB,
        rule="PRE-2",
        invoice=invoice,
    )
    prepaid_credit(
        organization=organization,
        kind=Kind.MONEY_BACK,
        amount=Decimal("20.005"),  # rounded half up to the cent
        now=NOW,
        actor=JOB,
        rule="MB-3",
        invoice=invoice,
    )
    penalty = fund(organization, "10.81", reference=" claim-42 ")

    assert entries_of(organization) == [
        ("provider_reimbursement", Decimal("50.00"), Decimal("50.00")),
        ("money_back", Decimal("20.01"), Decimal("70.01")),
        ("sla_penalty", Decimal("10.81"), Decimal("80.82")),
    ]
    assert penalty.claim_reference == "claim-42"
    assert balance_of(organization) == Decimal("80.82")
    assert list(AuditEvent.objects.values_list("action", "rule")) == [
        ("ledger_entry.provider_reimbursement", "PRE-2"),
        ("ledger_entry.money_back", "MB-3"),
        ("ledger_entry.sla_penalty", "SLA-4"),
    ]


@pytest.mark.parametrize(
    ("case", "rule", "message"),
    [
        ("zero", "PRE-2", "greater than zero"),
        ("negative", "PRE-2", "greater than zero"),
        ("rounds to zero", "PRE-2", "greater than zero"),
        ("a debit kind", "PRE-2", "funded only by"),
        ("a staff adjustment", "PRE-2", "funded only by"),
        ("penalty without claim", "PRE-1", "names its claim"),
        ("money-back without invoice", "PRE-1", "names the invoice"),
        ("top-up without payment", "PRE-1", "once its payment has been received"),
        ("top-up with a pending payment", "PRE-1", "once its payment has been received"),
        ("top-up credited twice", "PRE-1", "already been credited"),
        ("penalty credited twice", "SLA-4", "penalty of this claim has already been credited"),
        ("another currency", "MONEY-1", "kept in CHF"),
        ("an invoice in another currency", "MONEY-1", "kept in CHF"),
        ("another organization's invoice", "PRE-1", "another organization"),
    ],
)
def test_pre2_credit_refusals_change_nothing(case: str, rule: str, message: str) -> None:
    # given: an account with 5.00 and a top-up already credited
    organization = OrganizationFactory()
    credited = card_payment(organization, "5.00")
    prepaid_credit(
        organization=organization,
        kind=Kind.TOP_UP,
        amount=Decimal("5.00"),
        now=NOW,
        actor=JOB,
        rule="PRE-2",
        payment=credited,
    )
    fund(OrganizationFactory(), "1.00", reference="claim-credited")  # a claim's penalty, credited elsewhere
    arguments: dict[str, Any] = {
        "organization": organization,
        "kind": Kind.SLA_PENALTY,
        "amount": Decimal("10.00"),
        "now": NOW,
        "actor": JOB,
        "rule": "SLA-4",
        "claim_reference": "claim-1",
    }
    changes: dict[str, dict[str, Any]] = {
        "zero": {"amount": Decimal("0.00")},
        "negative": {"amount": Decimal("-10.00")},
        "rounds to zero": {"amount": Decimal("0.004")},
        "a debit kind": {"kind": Kind.INVOICE_PAYMENT},
        "a staff adjustment": {"kind": Kind.STAFF_ADJUSTMENT},
        "penalty without claim": {"claim_reference": "  "},
        "money-back without invoice": {"kind": Kind.MONEY_BACK, "rule": "MB-3"},
        "top-up without payment": {"kind": Kind.TOP_UP},
        "top-up with a pending payment": {
            "kind": Kind.TOP_UP,
            "payment": card_payment(organization, "10.00", status=Payment.Status.PENDING),
        },
        "top-up credited twice": {"kind": Kind.TOP_UP, "payment": credited},
        "penalty credited twice": {"claim_reference": "claim-credited"},
        "another currency": {"currency": "EUR"},
        "an invoice in another currency": {"invoice": make_invoice(organization, currency="EUR")},
        "another organization's invoice": {"kind": Kind.MONEY_BACK, "invoice": make_invoice(OrganizationFactory())},
    }
    arguments.update(changes[case])
    before = state_of(organization)

    with pytest.raises(RuleViolation, match=message) as refused:
        prepaid_credit(**arguments)

    assert refused.value.rule == rule
    assert state_of(organization) == before
    assert balance_of(organization) == Decimal("5.00")


@pytest.mark.parametrize("amount", [10.0, 10, "10.00"])
def test_money1_an_amount_that_is_not_a_decimal_is_rejected(amount: Any) -> None:
    organization = OrganizationFactory()
    before = state_of(organization)

    with pytest.raises(TypeError, match="must be a Decimal"):
        prepaid_credit(
            organization=organization,
            kind=Kind.SLA_PENALTY,
            amount=amount,
            now=NOW,
            actor=JOB,
            rule="SLA-4",
            claim_reference="claim-1",
        )
    with pytest.raises(TypeError, match="must be a Decimal"):
        prepaid_staff_adjust(organization=organization, amount=amount, reason="r", staff_user=make_staff(), now=NOW)

    assert state_of(organization) == before


def test_money1_an_account_in_euro_takes_no_franc_invoice() -> None:
    legal = member(organization=OrganizationFactory(currency="EUR"))
    organization = legal.organization
    fund(organization, "200.00")
    invoice = make_invoice(organization)  # CHF
    before = state_of(organization)

    with pytest.raises(RuleViolation, match="kept in EUR") as refused:
        prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("108.10"), now=NOW)

    assert refused.value.rule == "MONEY-1"
    assert state_of(organization) == before


# --- paying an invoice (PRE-3) ----------------------------------------------------------------


def test_pre3_an_invoice_paid_whole_from_the_balance() -> None:
    # given: 150.00 on the account, an open invoice of 108.10
    billing = member("billing")
    organization = billing.organization
    fund(organization, "150.00")
    invoice = make_invoice(organization)

    # when
    entry = prepaid_pay_invoice(
        invoice=invoice, user=billing.user, amount=Decimal("108.10"), now=NOW, client_address="192.0.2.7"
    )

    # then: one debit naming the invoice and its payment; the invoice is paid
    assert (entry.kind, entry.amount, entry.balance_after, entry.invoice) == (
        "invoice_payment",
        Decimal("-108.10"),
        Decimal("41.90"),
        invoice,
    )
    assert balance_of(organization) == Decimal("41.90")
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", Decimal("108.10"), Decimal("0.00"))
    payment = Payment.objects.get(organization=organization)
    assert entry.payment == payment
    assert (payment.kind, payment.amount, payment.currency, payment.status, payment.invoice) == (
        "prepaid",
        Decimal("108.10"),
        "CHF",
        "succeeded",
        invoice,
    )
    events = list(AuditEvent.objects.filter(actor_user=billing.user))
    assert [(e.action, e.rule) for e in events] == [
        ("payment.succeeded", "PRE-3"),
        ("ledger_entry.invoice_payment", "PRE-3"),
        ("invoice.paid", "PRE-3"),
    ]
    assert {e.client_address for e in events} == {"192.0.2.7"}
    assert events[2].after == {"amount": "108.10", "amount_paid": "108.10", "status": "paid"}


def test_bil3_an_order_paid_in_full_from_the_balance_starts_its_service() -> None:
    # given: an order waiting for its invoice to be paid
    legal = member()
    organization = legal.organization
    fund(organization, "108.10")
    service = ServiceFactory(
        organization=organization,
        status=Service.Status.AWAITING_PAYMENT,
        anchor_date=None,
        term=0,
        expires_on=None,
        activated_at=None,
    )
    invoice = make_invoice(organization, service=service)

    # when
    prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("108.10"), now=NOW)

    # then: the paid hooks ran (BIL-3)
    service.refresh_from_db()
    assert (service.status, service.anchor_date, service.activated_at) == ("active", NOW.date(), NOW)
    assert balance_of(organization) == Decimal("0.00")


def test_pre3_an_invoice_paid_in_two_parts() -> None:
    legal = member()
    organization = legal.organization
    fund(organization, "200.00")
    invoice = make_invoice(organization)

    prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("50.00"), now=NOW)

    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", Decimal("50.00"), Decimal("58.10"))
    assert AuditEvent.objects.filter(action="invoice.part_paid").count() == 1

    prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("58.10"), now=NOW)

    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert entries_of(organization) == [
        ("sla_penalty", Decimal("200.00"), Decimal("200.00")),
        ("invoice_payment", Decimal("-50.00"), Decimal("150.00")),
        ("invoice_payment", Decimal("-58.10"), Decimal("91.90")),
    ]


def test_pre3_what_is_due_takes_credit_notes_into_account() -> None:
    legal = member()
    organization = legal.organization
    fund(organization, "200.00")
    invoice = make_invoice(organization, amount_credited=Decimal("8.10"))

    with pytest.raises(RuleViolation, match="Only CHF 100.00 is due"):
        prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("108.10"), now=NOW)
    prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("100.00"), now=NOW)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("100.00"))
    assert balance_of(organization) == Decimal("100.00")


@pytest.mark.parametrize(
    ("case", "rule", "status", "message"),
    [
        ("balance too small", "PRE-1", 409, "does not cover 108.10"),
        ("more than due", "PRE-3", 400, "Only CHF 108.10 is due"),
        ("zero", "PRE-3", 400, "greater than zero"),
        ("invoice already paid", "PRE-3", 409, "not open"),
        ("invoice cancelled", "PRE-3", 409, "not open"),
        ("top-up invoice", "PRE-3", 400, "only for ordering, renewing or using"),
        ("technical member", "ORG-5", 403, "Legal Responsible, an administrator or a billing member"),
        ("member of another organization", "ORG-5", 404, "not a member"),
    ],
)
def test_pre3_payment_refusals_change_nothing(case: str, rule: str, status: int, message: str) -> None:
    # given: 100.00 on the account (or 200.00), an invoice of 108.10
    legal = member()
    organization = legal.organization
    fund(organization, "100.00" if case == "balance too small" else "200.00")
    invoice = make_invoice(
        organization,
        **{
            "invoice already paid": {"status": Invoice.Status.PAID, "amount_paid": Decimal("108.10")},
            "invoice cancelled": {"status": Invoice.Status.CANCELLED, "amount_credited": Decimal("108.10")},
            "top-up invoice": {"kind": Invoice.Kind.TOP_UP},
        }.get(case, {}),
    )
    user = {
        "technical member": lambda: member("technical", organization=organization).user,
        "member of another organization": lambda: member().user,
    }.get(case, lambda: legal.user)()
    amount = {"more than due": Decimal("108.11"), "zero": Decimal("0")}.get(case, Decimal("108.10"))
    before = state_of(organization)

    # when
    with pytest.raises(RuleViolation, match=message) as refused:
        prepaid_pay_invoice(invoice=invoice, user=user, amount=amount, now=NOW)

    # then
    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert state_of(organization) == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_pre1_two_concurrent_payments_cannot_both_spend_the_balance(attempt: int) -> None:
    # given: 150.00 on the account, two open invoices of 108.10: the balance covers one
    legal = member()
    organization = legal.organization
    fund(organization, "150.00")
    invoices = [make_invoice(organization), make_invoice(organization)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def pay(invoice: Invoice) -> None:
        try:
            barrier.wait(timeout=5)
            prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("108.10"), now=NOW)
            outcomes.append("paid")
        except RuleViolation as violation:
            outcomes.append(violation.rule)
        finally:
            connection.close()

    # when: each invoice is paid on its own connection at the same moment
    threads = [threading.Thread(target=pay, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # then: exactly one payment went through; the balance is what the ledger says, never negative
    assert sorted(outcomes) == ["PRE-1", "paid"]
    assert balance_of(organization) == Decimal("41.90")
    assert entries_of(organization) == [
        ("sla_penalty", Decimal("150.00"), Decimal("150.00")),
        ("invoice_payment", Decimal("-108.10"), Decimal("41.90")),
    ]
    assert sorted(Invoice.objects.filter(organization=organization).values_list("status", "amount_paid")) == [
        ("open", Decimal("0.00")),
        ("paid", Decimal("108.10")),
    ]
    assert Payment.objects.filter(organization=organization).count() == 1


# --- the property: any sequence keeps the ledger and the balance in step ----------------------

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), AMOUNTS, st.booleans()),
        st.tuples(st.just("adjust"), AMOUNTS, st.booleans()),  # flag: downwards
        st.tuples(st.just("invoice"), AMOUNTS, st.booleans()),
        st.tuples(st.just("pay"), AMOUNTS, st.booleans()),  # flag: the whole amount due
        st.tuples(st.just("cash_out"), AMOUNTS, st.booleans()),
    ),
    max_size=10,
)


def _check_ledger(account: PrepaidAccount) -> None:
    account.refresh_from_db()
    entries = list(LedgerEntry.objects.filter(account=account).order_by("id").values_list("amount", "balance_after"))
    total = LedgerEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    assert account.balance == total
    assert account.balance >= 0
    running = Decimal("0.00")
    for amount, balance_after in entries:
        running += amount
        assert balance_after == running


def _predict(
    operation: str, amount: Decimal, flag: bool, balance: Decimal, open_invoice: Invoice | None
) -> tuple[Decimal, str | None]:
    """What the operation should do to the balance, and the rule that should refuse it, if any."""
    if operation == "credit":
        return amount, None
    if operation == "adjust":
        delta = -amount if flag else amount
        return delta, "PRE-1" if balance + delta < 0 else None
    if operation == "pay" and open_invoice is not None:
        paid = open_invoice.amount_due if flag else amount
        return -paid, "PRE-3" if paid > open_invoice.amount_due else "PRE-1" if paid > balance else None
    if operation == "cash_out":
        return -balance, "PRE-4" if open_invoice is not None or balance == 0 else None
    return Decimal("0.00"), None  # a new invoice, or nothing to pay


def _perform(
    operation: str,
    amount: Decimal,
    flag: bool,
    *,
    legal: Membership,
    staff: User,
    open_invoice: Invoice | None,
    step: int,
) -> None:
    organization = legal.organization
    if operation == "credit":
        prepaid_credit(
            organization=organization,
            kind=Kind.SLA_PENALTY if flag else Kind.MONEY_BACK,
            amount=amount,
            now=NOW,
            actor=JOB,
            rule="SLA-4" if flag else "MB-3",
            claim_reference=f"claim-{next(claim_numbers)}" if flag else "",
            invoice=None if flag else make_invoice(organization, status="paid", amount_paid=Decimal("108.10")),
        )
    elif operation == "adjust":
        prepaid_staff_adjust(
            organization=organization, amount=-amount if flag else amount, reason="test", staff_user=staff, now=NOW
        )
    elif operation == "invoice":
        make_invoice(organization, str(amount))
    elif operation == "pay" and open_invoice is not None:
        paid = open_invoice.amount_due if flag else amount
        prepaid_pay_invoice(invoice=open_invoice, user=legal.user, amount=paid, now=NOW)
    elif operation == "cash_out":
        request = prepaid_cash_out_request(organization=organization, user=legal.user, now=NOW)
        prepaid_cash_out_pay(request=request, staff_user=staff, now=NOW)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_pre1_any_sequence_of_operations_keeps_the_balance_equal_to_the_ledger(
    operations: list[tuple[str, Decimal, bool]],
) -> None:
    # given: a fresh Organization for each example (the examples share one test transaction)
    legal = member()
    organization = legal.organization
    staff = UserFactory(is_staff=True)
    account = prepaid_account_for(organization)
    expected = Decimal("0.00")  # the model the services must agree with

    for step, (operation, amount, flag) in enumerate(operations):
        account.refresh_from_db()
        open_invoice = Invoice.objects.filter(organization=organization, status=Invoice.Status.OPEN).first()
        delta, predicted = _predict(operation, amount, flag, account.balance, open_invoice)
        before = state_of(organization)

        # when
        refused: str | None = None
        try:
            _perform(operation, amount, flag, legal=legal, staff=staff, open_invoice=open_invoice, step=step)
        except RuleViolation as violation:
            refused = violation.rule
        event(f"{operation}: {refused or 'done'}")  # --hypothesis-show-statistics shows the mix

        # then: refused exactly when the rules say so; a refusal leaves no trace
        assert refused == predicted, (operation, amount, flag, account.balance)
        if refused is None:
            expected += delta
        else:
            after = state_of(organization)
            for key in ("account", "entries", "payments", "cash_outs", "audit_events"):
                assert after[key] == before[key], key
        _check_ledger(account)
        assert account.balance == expected
