"""SPEC BIL-6 (gapless numbers, immutable invoices, credit notes), BIL-7 and MONEY-1 on invoices."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import CreditNote, Invoice, InvoiceSequence
from billing.services.invoices import LineSpec, credit_note_issue, invoice_apply_payment, invoice_issue
from core.errors import RuleViolation
from tests.billing.factories import service_type
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
JOB = Actor.system("test")


def _issue(organization, *lines: LineSpec, slug: str = "jelastic-cloud") -> Invoice:
    return invoice_issue(
        organization=organization,
        kind="order",
        service_type=service_type(slug),
        lines=lines,
        actor=JOB,
        rule="BIL-3",
        now=NOW,
    )


def test_bil6_bil7_money1_an_invoice_for_a_swiss_customer() -> None:
    organization = OrganizationFactory(billing_country="CH", name="Acme SA", language="fr")

    invoice = _issue(
        organization,
        LineSpec(
            "Jelastic Cloud · M (monthly)",
            Decimal("19.95"),
            period_start=dt.date(2026, 3, 10),
            period_end=dt.date(2026, 4, 10),
        ),
        LineSpec("Public IP", Decimal("3.33"), quantity=Decimal("3")),
    )

    lines = list(invoice.lines.values_list("amount_excl_vat", "vat_rate", "vat_amount", "amount_incl_vat"))
    # 19.95 * 8.1 % = 1.61595 -> 1.62; 9.99 * 8.1 % = 0.80919 -> 0.81 (half-up per line)
    assert lines == [
        (Decimal("19.95"), Decimal("8.10"), Decimal("1.62"), Decimal("21.57")),
        (Decimal("9.99"), Decimal("8.10"), Decimal("0.81"), Decimal("10.80")),
    ]
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        Decimal("29.94"),
        Decimal("2.43"),
        Decimal("32.37"),
    )
    assert (invoice.number, invoice.currency, invoice.status, invoice.reverse_charge) == (1, "CHF", "open", False)
    assert (invoice.issue_date, invoice.due_date, invoice.language) == (dt.date(2026, 3, 10), dt.date(2026, 4, 9), "fr")
    assert invoice.billing_address == {
        "name": "Acme SA",
        "contact": "Alice Holder",
        "lines": ["Rue du Test 1", "1200 Genève"],
        "country": "CH",
        "vat_number": "",
    }
    event = AuditEvent.objects.get(action="invoice.issued")
    assert (event.rule, event.after["total_incl_vat"]) == ("BIL-3", "32.37")


def test_bil7_an_eu_customer_with_a_vat_number_gets_a_reverse_charge_invoice() -> None:
    organization = OrganizationFactory(billing_country="DE", vat_number="DE136695976", currency="EUR")

    invoice = _issue(organization, LineSpec("Jelastic Cloud", Decimal("100.00")))

    assert (invoice.total_vat, invoice.total_incl_vat, invoice.reverse_charge, invoice.currency) == (
        Decimal("0.00"),
        Decimal("100.00"),
        True,
        "EUR",
    )


def test_bil6_numbers_follow_each_other_and_a_rollback_gives_its_number_back() -> None:
    organization = OrganizationFactory()
    first = _issue(organization, LineSpec("A", Decimal("1.00")))

    def order_failing_after_its_invoice() -> None:
        with transaction.atomic():
            _issue(organization, LineSpec("B", Decimal("1.00")))
            raise RuntimeError("the order failed after the invoice")

    with pytest.raises(RuntimeError):
        order_failing_after_its_invoice()
    second = _issue(organization, LineSpec("C", Decimal("1.00")))

    assert (first.number, second.number) == (1, 2)
    assert list(Invoice.objects.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert InvoiceSequence.objects.get().last_number == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bil6_invoices_issued_at_the_same_moment_get_distinct_consecutive_numbers() -> None:
    organization = OrganizationFactory()
    workers = 6
    barrier = threading.Barrier(workers)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def issue() -> None:
        try:
            barrier.wait(timeout=5)
            numbers.append(_issue(organization, LineSpec("Race", Decimal("1.00"))).number)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(numbers) == list(range(1, workers + 1))


def test_bil6_a_partial_credit_note_then_a_full_one_cancels_the_invoice() -> None:
    staff = UserFactory(is_staff=True)
    invoice = _issue(OrganizationFactory(), LineSpec("A", Decimal("100.00")))  # 108.10 incl. VAT

    first = credit_note_issue(invoice=invoice, amount=Decimal("8.10"), reason="Goodwill", staff_user=staff, now=NOW)
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.amount_due, invoice.status) == (Decimal("8.10"), Decimal("100.00"), "open")
    second = credit_note_issue(
        invoice=invoice, amount=Decimal("100.00"), reason="Order cancelled", staff_user=staff, now=NOW
    )

    invoice.refresh_from_db()
    assert (first.number, second.number) == (2, 3)  # same gapless sequence as the invoice (1)
    assert (invoice.status, invoice.total_incl_vat, invoice.amount_due) == (
        "cancelled",
        Decimal("108.10"),
        Decimal("0.00"),
    )
    assert list(invoice.lines.values_list("amount_incl_vat", flat=True)) == [Decimal("108.10")]  # unchanged


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        (Decimal("108.11"), "Too much", "At most 108.10 CHF"),
        (Decimal("0"), "Zero", "must be positive"),
        (Decimal("5"), "  ", "reason is required"),
    ],
)
def test_bil6_credit_note_refusals_change_nothing(amount: Decimal, reason: str, message: str) -> None:
    invoice = _issue(OrganizationFactory(), LineSpec("A", Decimal("100.00")))
    events = AuditEvent.objects.count()

    with pytest.raises(RuleViolation, match=message) as refused:
        credit_note_issue(invoice=invoice, amount=amount, reason=reason, staff_user=UserFactory(is_staff=True), now=NOW)

    assert refused.value.rule == "BIL-6"
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.status) == (Decimal("0.00"), "open")
    assert CreditNote.objects.count() == 0
    assert InvoiceSequence.objects.get().last_number == 1
    assert AuditEvent.objects.count() == events


def test_bil6_payments_settle_an_invoice_in_parts_and_never_beyond_it() -> None:
    invoice = _issue(OrganizationFactory(), LineSpec("A", Decimal("100.00")))
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        invoice_apply_payment(invoice=locked, amount=Decimal("50.00"), actor=JOB, rule="BIL-5", now=NOW)
        with pytest.raises(RuleViolation, match="At most 58.10 CHF"):
            invoice_apply_payment(invoice=locked, amount=Decimal("58.11"), actor=JOB, rule="BIL-5", now=NOW)
        invoice_apply_payment(invoice=locked, amount=Decimal("58.10"), actor=JOB, rule="BIL-5", now=NOW)

    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("108.10"), "paid")
    assert list(AuditEvent.objects.filter(object_type="billing.invoice").values_list("action", flat=True)) == [
        "invoice.issued",
        "invoice.part_paid",
        "invoice.paid",
    ]
