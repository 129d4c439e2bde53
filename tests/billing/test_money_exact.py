"""MONEY-1: amounts are exact Decimals on both databases. On SQLite (the embedded `make run`) a
decimal column holds a float: the checks that add amounts and the sums read back must still be exact
(core/sqlite/base.py, billing.models.invoices.money_sum)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from billing.models import Invoice, LedgerEntry, PrepaidAccount
from tests.billing.factories import InvoiceFactory
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_money1_an_invoice_of_29_94_plus_2_43_vat_totals_32_37_in_the_database() -> None:
    # given/when: totals whose float sum is 32.370000000000005
    invoice = InvoiceFactory(
        total_excl_vat=Decimal("29.94"), total_vat=Decimal("2.43"), total_incl_vat=Decimal("32.37")
    )

    # then: the database's check accepted them, and they read back exact
    assert Invoice.objects.filter(pk=invoice.pk).values_list("total_excl_vat", "total_vat", "total_incl_vat").get() == (
        Decimal("29.94"),
        Decimal("2.43"),
        Decimal("32.37"),
    )


def test_money1_an_invoice_whose_totals_do_not_add_up_is_refused_and_nothing_is_written() -> None:
    organization = OrganizationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceFactory(
            organization=organization,
            total_excl_vat=Decimal("29.94"),
            total_vat=Decimal("2.43"),
            total_incl_vat=Decimal("32.38"),
        )
    assert not Invoice.objects.filter(organization=organization).exists()


def test_money1_an_invoice_paid_exactly_what_is_left_after_a_credit_is_not_overpaid() -> None:
    # given: 32.37 due, 2.43 credited: 29.94 is left, and 32.37 - 2.43 is 29.939999999999998 in floats
    invoice = InvoiceFactory(
        total_excl_vat=Decimal("29.94"),
        total_vat=Decimal("2.43"),
        total_incl_vat=Decimal("32.37"),
        amount_credited=Decimal("2.43"),
    )

    # when: it is paid exactly what is left
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("29.94"), status=Invoice.Status.PAID)

    # then
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_credited, invoice.status) == (Decimal("29.94"), Decimal("2.43"), "paid")


def test_money1_an_invoice_paid_one_cent_more_than_is_left_is_refused_and_nothing_changes() -> None:
    invoice = InvoiceFactory(
        total_excl_vat=Decimal("29.94"),
        total_vat=Decimal("2.43"),
        total_incl_vat=Decimal("32.37"),
        amount_credited=Decimal("2.43"),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("29.95"))

    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("0.00"), "open")


def test_money1_a_ledger_summed_in_the_database_is_exact_to_the_cent() -> None:
    # given: movements that cancel out (0.10 + 0.20 - 0.30 is 5.55e-17 in floats) and then 29.94 + 2.43
    organization = OrganizationFactory()
    account = PrepaidAccount.objects.create(organization=organization, currency="CHF", balance=Decimal("0.00"))
    running = Decimal("0.00")
    for amount in ("0.10", "0.20", "-0.30"):
        running += Decimal(amount)
        LedgerEntry.objects.create(
            account=account, kind="top_up", amount=Decimal(amount), balance_after=running, created_at=NOW
        )
    entries = LedgerEntry.objects.filter(account=account)

    # when/then: the database's sum is the exact Decimal, not a float's leftovers
    total = entries.aggregate(total=Sum("amount"))["total"]
    assert (total, str(total)) == (Decimal("0.00"), "0.00")

    for amount in ("29.94", "2.43"):
        running += Decimal(amount)
        LedgerEntry.objects.create(
            account=account, kind="top_up", amount=Decimal(amount), balance_after=running, created_at=NOW
        )
    total = entries.aggregate(total=Sum("amount"))["total"]
    assert (total, str(total)) == (Decimal("32.37"), "32.37")
