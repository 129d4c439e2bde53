"""SPEC ENF-5 (with BIL-6, PRE-2, ORG-9, PRE-4): an order invoice unpaid 30 days after issue is
cancelled by a credit note and its waiting Service dropped, the customer reminded 7 and 1 day(s)
before; cancelling or terminating a Service that awaits its first payment cancels its order invoice
the same way. The days are settings."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import hooks
from audit.models import AuditEvent
from billing.models import CreditNote, Invoice, LedgerEntry, PrepaidAccount
from billing.services.payments import bank_transfer_record
from billing.services.prepaid import prepaid_cash_out_request, prepaid_pay_invoice
from core import lifecycle
from notifications.models import Notification
from subscriptions.models import Service
from subscriptions.services.lifecycle import service_terminate_now
from subscriptions.services.order_expiry import order_expiry_due, order_expiry_run
from subscriptions.services.orders import service_order
from tests.billing.factories import InvoiceFactory, PlanFactory, PriceFactory, ServiceFactory, service_type
from tests.factories import AcceptanceFactory, DocumentVersionFactory, UserFactory
from tests.subscriptions.lifecycle.helpers import at, customer, live_twice

pytestmark = pytest.mark.django_db

ORDERED = dt.date(2026, 3, 10)  # the order invoice's issue date: expires on 9 April 2026


@pytest.fixture
def ordered():  # noqa: ANN201
    """A Legal Responsible (CHF 10.00 on the Prepaid Account, no card) who ordered a monthly
    Jelastic Cloud plan at CHF 20.00 excluding VAT on 10 March 2026: CHF 21.62 due."""
    legal = customer(card=None, balance="10.00")
    AcceptanceFactory(
        organization=legal.organization, version=DocumentVersionFactory(label="tcu-2026"), user=legal.user
    )
    plan = PlanFactory(service_type=service_type(), name="M", period="monthly")
    PriceFactory(plan=plan, amount=Decimal("20.00"), valid_from=dt.date(2026, 1, 1))
    service, invoice = service_order(organization=legal.organization, user=legal.user, plan=plan, now=at(ORDERED, 10))
    assert (service.status, invoice.kind, invoice.total_incl_vat) == ("awaiting_payment", "order", Decimal("21.62"))
    return legal, service, invoice


def _invoice(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return invoice.status, invoice.amount_paid, invoice.amount_credited


def _sent(template: str) -> list[tuple[dt.date, str, str]]:
    rows = Notification.objects.filter(template=template, channel="email").order_by("pk")
    return [(row.created_at.date(), row.dedupe_key or "", row.subject) for row in rows]


def test_enf5_org9_pre4_terminating_a_service_awaiting_its_first_payment_cancels_its_order_invoice(ordered) -> None:
    # given
    legal, service, invoice = ordered
    assert hooks.termination_blockers(legal.organization) == [
        "1 Service(s) not terminated",
        f"open invoice(s): {invoice.display_number}",
    ]

    # when
    service_terminate_now(service=service, user=legal.user, confirmed=True, now=at(dt.date(2026, 3, 12), 9))

    # then: cancelled by one credit note for the whole amount; nothing blocks ORG-9 or PRE-4 now
    service.refresh_from_db()
    assert service.status == "terminated"
    assert _invoice(invoice) == ("cancelled", Decimal("0.00"), Decimal("21.62"))
    note = CreditNote.objects.get()
    assert (note.invoice_id, note.amount, note.reason) == (
        invoice.pk,
        Decimal("21.62"),
        "Service terminated: the order is cancelled.",
    )
    event = AuditEvent.objects.get(action="credit_note.issued")
    assert (event.rule, event.after["invoice"], event.after["amount"]) == ("ENF-5", invoice.number, "21.62")
    assert hooks.termination_blockers(legal.organization) == []
    request = prepaid_cash_out_request(organization=legal.organization, user=legal.user, now=at(dt.date(2026, 3, 12)))
    assert request.amount == Decimal("10.00")


def test_enf5_an_order_unpaid_30_days_is_cancelled_and_its_service_dropped_reminded_7_and_1_days_before(
    ordered,
) -> None:
    # given
    legal, service, invoice = ordered

    # when: every day's run, each made twice, up to two days after the expiry
    live_twice(dt.date(2026, 3, 11), dt.date(2026, 4, 11))

    # then: a reminder on 2 April (7 days before) and on 8 April (1 day before), once each
    assert _sent("order_invoice_reminder") == [
        (
            dt.date(2026, 4, 2),
            f"order-invoice-reminder:{invoice.pk}:7",
            f"Invoice {invoice.display_number} unpaid: your order is cancelled on 9 April 2026",
        ),
        (
            dt.date(2026, 4, 8),
            f"order-invoice-reminder:{invoice.pk}:1",
            f"Invoice {invoice.display_number} unpaid: your order is cancelled on 9 April 2026",
        ),
    ]
    # on 9 April, 30 days after issue: cancelled by a credit note, the Service dropped, the customer told
    assert _invoice(invoice) == ("cancelled", Decimal("0.00"), Decimal("21.62"))
    note = CreditNote.objects.get()
    assert (note.amount, note.issued_at.date(), note.reason) == (
        Decimal("21.62"),
        dt.date(2026, 4, 9),
        "Order invoice not paid within 30 days of its issue.",
    )
    service.refresh_from_db()
    assert (service.status, service.terminated_at.date(), service.data_deleted_at) == (
        "terminated",
        dt.date(2026, 4, 9),
        None,
    )
    assert _sent("order_invoice_cancelled") == [
        (
            dt.date(2026, 4, 9),
            f"order-invoice-cancelled:{invoice.pk}",
            f"Order cancelled: invoice {invoice.display_number} unpaid",
        )
    ]
    body = Notification.objects.get(template="order_invoice_cancelled", channel="email").body
    assert "Your order of Jelastic Cloud · M (monthly) is dropped" in body
    assert list(AuditEvent.objects.filter(rule="ENF-5").order_by("pk").values_list("action", "actor_label")) == [
        ("credit_note.issued", "job:billing.order_expiry"),
        ("service.order_dropped", "job:billing.order_expiry"),
    ]
    assert hooks.termination_blockers(legal.organization) == []
    assert [job.order for job in lifecycle.jobs() if job.name == "billing.order_expiry"] == [510]


def test_enf5_pre2_a_partly_paid_order_invoice_is_cancelled_and_what_was_paid_goes_back_to_the_prepaid_account(
    ordered,
) -> None:
    # given: CHF 10.00 of the CHF 21.62 paid from the Prepaid Account
    legal, service, invoice = ordered
    prepaid_pay_invoice(invoice=invoice, user=legal.user, amount=Decimal("10.00"), now=at(dt.date(2026, 3, 11), 9))
    assert PrepaidAccount.objects.get().balance == Decimal("0.00")

    # when: the day it expires
    live_twice(dt.date(2026, 4, 9))

    # then: the credit note cancels what was still due; the CHF 10.00 paid is reimbursed once
    assert _invoice(invoice) == ("cancelled", Decimal("10.00"), Decimal("11.62"))
    assert list(CreditNote.objects.values_list("amount", flat=True)) == [Decimal("11.62")]
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", "amount", "balance_after", "invoice_id")) == [
        ("top_up", Decimal("10.00"), Decimal("10.00"), None),
        ("invoice_payment", Decimal("-10.00"), Decimal("0.00"), invoice.pk),
        ("provider_reimbursement", Decimal("10.00"), Decimal("10.00"), invoice.pk),
    ]
    assert AuditEvent.objects.get(action="ledger_entry.provider_reimbursement").rule == "ENF-5"
    body = Notification.objects.get(template="order_invoice_cancelled", channel="email").body
    assert "The CHF 10.00 already paid is credited to your Prepaid Account." in body
    service.refresh_from_db()
    assert service.status == "terminated"


def test_enf5_a_trials_unpaid_switch_to_paid_is_cancelled_and_the_trial_goes_on() -> None:
    # given: a trial (ending 1 May) whose switch-to-paid order invoice of 1 March is unpaid
    legal = customer(card=None)
    trial = ServiceFactory(
        organization=legal.organization,
        status="trial",
        anchor_date=None,
        expires_on=None,
        term=0,
        trial_ends_on=dt.date(2026, 5, 1),
    )
    invoice = InvoiceFactory(organization=legal.organization, service=trial, issue_date=dt.date(2026, 3, 1))

    # when
    changed = order_expiry_run([invoice.pk], day=dt.date(2026, 3, 31), now=at(dt.date(2026, 3, 31)))

    # then
    assert changed == 1
    assert _invoice(invoice) == ("cancelled", Decimal("0.00"), Decimal("108.10"))
    trial.refresh_from_db()
    assert trial.status == "trial"
    body = Notification.objects.get(template="order_invoice_cancelled", channel="email").body
    assert "dropped" not in body


def test_enf5_the_days_are_settings(settings) -> None:
    # given: cancellation 10 days after issue, one reminder 3 days before
    settings.ORDER_INVOICE_EXPIRY_DAYS = 10
    settings.ORDER_INVOICE_REMINDER_DAYS = (3,)
    legal = customer(card=None)
    service = ServiceFactory(
        organization=legal.organization, status="awaiting_payment", anchor_date=None, expires_on=None, term=0
    )
    invoice = InvoiceFactory(organization=legal.organization, service=service, issue_date=dt.date(2026, 3, 1))

    # when / then
    due = {day: list(order_expiry_due(day)) for day in (dt.date(2026, 3, 7), dt.date(2026, 3, 8), dt.date(2026, 3, 11))}
    assert due == {dt.date(2026, 3, 7): [], dt.date(2026, 3, 8): [invoice], dt.date(2026, 3, 11): [invoice]}
    assert order_expiry_run([invoice.pk], day=dt.date(2026, 3, 8), now=at(dt.date(2026, 3, 8))) == 1
    assert order_expiry_run([invoice.pk], day=dt.date(2026, 3, 8), now=at(dt.date(2026, 3, 8))) == 0
    assert _sent("order_invoice_reminder")[0][1] == f"order-invoice-reminder:{invoice.pk}:3"
    assert order_expiry_run([invoice.pk], day=dt.date(2026, 3, 11), now=at(dt.date(2026, 3, 11))) == 1
    assert _invoice(invoice)[0] == "cancelled"
    assert list(order_expiry_due(dt.date(2026, 3, 12))) == []  # a rerun finds nothing


def test_enf5_a_paid_order_invoice_is_left_alone(ordered) -> None:
    # given: the order paid in full by bank transfer, so its Service started (BIL-3)
    legal, service, invoice = ordered
    bank_transfer_record(
        invoice=invoice,
        amount=Decimal("21.62"),
        reference="x",
        staff_user=UserFactory(is_staff=True),
        now=at(dt.date(2026, 3, 20)),
    )

    # when
    live_twice(dt.date(2026, 4, 2))
    live_twice(dt.date(2026, 4, 9))

    # then
    assert _invoice(invoice) == ("paid", Decimal("21.62"), Decimal("0.00"))
    assert CreditNote.objects.count() == 0
    assert not Notification.objects.filter(template__startswith="order_invoice").exists()
    service.refresh_from_db()
    assert service.status == "active"


def _population(count: int, issue_date: dt.date) -> list[int]:
    ids = []
    for _ in range(count):
        legal = customer(card=None)
        service = ServiceFactory(
            organization=legal.organization, status="awaiting_payment", anchor_date=None, expires_on=None, term=0
        )
        ids.append(InvoiceFactory(organization=legal.organization, service=service, issue_date=issue_date).pk)
    return ids


@pytest.mark.parametrize("issue_date", [dt.date(2026, 3, 1), dt.date(2026, 3, 8)], ids=["expired", "reminded"])
def test_enf5_perf_a_batch_costs_the_same_queries_for_3_and_for_12_invoices(issue_date: dt.date) -> None:
    # given: orders issued 30 days before the day (to cancel) or 23 days before (to remind)
    day = dt.date(2026, 3, 31)
    order_expiry_run(_population(1, issue_date), day=day, now=at(day))  # creates the counters' rows
    small, large = _population(3, issue_date), _population(12, issue_date)

    # when
    counts = []
    for ids in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert order_expiry_run(ids, day=day, now=at(day)) == len(ids)
        counts.append(len(queries))

    # then
    assert counts[0] == counts[1]
    if issue_date == dt.date(2026, 3, 1):
        assert Service.objects.filter(status="terminated").count() == 16
