"""USE-3 (with BIL-7, USE-5, USE-7, USE-8): the month's usage invoice issued on the 1st by the daily
run, one line per resource, VAT per line; zero and trial months closed without one; a rerun, or a
late run, changes nothing twice; a termination invoices the usage to date."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from billing.models import Invoice, InvoiceLine
from core import clock
from subscriptions.services.lifecycle import service_terminate_now
from tests.subscriptions.lifecycle.helpers import at, customer, live, snapshot
from tests.usage.invoicing_helpers import NOVEMBER, month_of_values, put, usage_plan, usage_service
from usage import selectors
from usage.models import Limit, Resource, UsageMonth
from usage.services.invoicing import month_end_run

pytestmark = pytest.mark.django_db

D = dt.date
CHF = Decimal
NOV, DEC = D(2026, 11, 1), D(2026, 12, 1)


def _lines(invoice: Invoice) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    return list(
        InvoiceLine.objects.filter(invoice=invoice)
        .order_by("position")
        .values_list("description", "quantity", "unit_price_excl_vat", "amount_excl_vat", "vat_rate", "vat_amount")
    )


def _month(svc, month: dt.date = NOV) -> UsageMonth:  # noqa: ANN001
    return UsageMonth.objects.get(service=svc, month=month)


def test_use3_on_the_1st_one_invoice_with_a_line_per_resource_vat_per_line_due_in_10_days() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, NOV, NOVEMBER)
    live(D(2026, 11, 30))
    assert not Invoice.objects.filter(service=svc).exists()  # nothing before the 1st

    live(DEC)

    invoice = Invoice.objects.get(service=svc)
    assert (invoice.kind, invoice.status, invoice.issue_date) == ("usage", "open", DEC)
    assert invoice.due_date == D(2026, 12, 11)
    assert _lines(invoice) == [
        ("Reserved cloudlets (cloudlet-hours)", CHF("2976"), CHF("0.004"), CHF("11.90"), CHF("8.1"), CHF("0.96")),
        ("Dynamic cloudlets (cloudlet-hours)", CHF("1234.5"), CHF("0.006"), CHF("7.41"), CHF("8.1"), CHF("0.60")),
        ("Storage (GB-hours)", CHF("7440"), CHF("0.00015"), CHF("1.12"), CHF("8.1"), CHF("0.09")),
        ("External traffic (GB)", CHF("12.345678"), CHF("0.05"), CHF("0.62"), CHF("8.1"), CHF("0.05")),
        ("Public IPv4 addresses (IPv4-hours)", CHF("744"), CHF("0.005"), CHF("3.72"), CHF("8.1"), CHF("0.30")),
    ]
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (CHF("24.77"), CHF("2.00"),
                                                                                   CHF("26.77"))
    assert InvoiceLine.objects.filter(invoice=invoice).values_list("period_start", "period_end").distinct().get() == (
        NOV, DEC)
    month = _month(svc)
    assert (month.closed_at, month.invoice_id, month.rate_card.valid_from) == (at(DEC), invoice.pk, D(2025, 1, 1))
    closed = AuditEvent.objects.get(action="usage_month.closed", object_id=str(month.pk))
    assert (closed.rule, closed.after["closed"], closed.after["invoice"]) == ("USE-3", "invoiced", invoice.number)
    assert AuditEvent.objects.get(action="invoice.issued", object_id=str(invoice.pk)).rule == "USE-3"


def test_use7_the_invoice_total_is_what_price_month_says_for_the_same_totals() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, NOV, NOVEMBER)

    live(DEC)

    invoice = Invoice.objects.get(service=svc)
    card = selectors.rate_cards_in_force([(svc.plan_id, "CHF")], NOV)[(svc.plan_id, "CHF")]
    priced = selectors.price_month(
        selectors.month_totals([svc.pk], NOV)[svc.pk], card, [r.pk for r in selectors.resources()], CHF("8.1")
    )
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        priced.total_excl_vat, priced.vat, priced.total_incl_vat)
    assert [line.amount for line in priced.lines] == list(
        InvoiceLine.objects.filter(invoice=invoice).order_by("position").values_list("amount_excl_vat", flat=True))


@pytest.mark.parametrize(
    ("country", "vat_number", "vat", "reverse_charge"),
    [("DE", "", CHF("4.71"), False), ("DE", "DE123456789", CHF("0.00"), True), ("US", "", CHF("0.00"), False)],
)
def test_use3_bil7_vat_of_eu_reverse_charge_and_elsewhere(country, vat_number, vat, reverse_charge) -> None:  # noqa: ANN001
    legal = customer(card=None)
    legal.organization.billing_country, legal.organization.vat_number = country, vat_number
    legal.organization.save()
    svc = usage_service(legal, auto_renew=False, currency="CHF")
    month_of_values(svc, NOV, NOVEMBER)

    live(DEC)

    invoice = Invoice.objects.get(service=svc)
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.reverse_charge) == (CHF("24.77"), vat, reverse_charge)


def test_use3_a_month_whose_total_is_zero_is_closed_without_an_invoice() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, NOV, {"reserved-cloudlets": "0", "traffic": "0.000001"})  # rounds to 0.00

    live(DEC)

    assert not Invoice.objects.filter(service=svc).exists()
    month = _month(svc)
    assert (month.closed_at, month.invoice) == (at(DEC), None)
    assert AuditEvent.objects.get(action="usage_month.closed", object_id=str(month.pk)).after["closed"] == "zero"


def test_use3_a_month_without_any_value_is_closed_too() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    fresh = usage_service(legal, auto_renew=False, created=D(2026, 12, 1))  # started after November

    live(DEC)

    assert list(UsageMonth.objects.filter(service=svc).values_list("month", "invoice")) == [(NOV, None)]
    assert _month(svc).closed_at == at(DEC)
    assert not UsageMonth.objects.filter(service=fresh).exists()


def test_use3_reran_on_the_same_day_or_late_on_the_2nd_changes_nothing_twice() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, NOV, NOVEMBER)
    live(DEC)
    before = snapshot()
    events = AuditEvent.objects.count()

    live(DEC)
    live(D(2026, 12, 2))

    assert snapshot() == before
    assert AuditEvent.objects.count() == events
    assert Invoice.objects.filter(service=svc).count() == 1


def test_use3_a_missed_1st_is_caught_up_by_a_later_run_and_an_earlier_open_month_too() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, D(2026, 10, 1), {"traffic": "10"})
    month_of_values(svc, NOV, {"traffic": "20"})

    live(D(2026, 12, 3))  # neither 1 November nor 1 December ran

    assert list(
        Invoice.objects.filter(service=svc).order_by("number").values_list("total_excl_vat", "due_date")
    ) == [(CHF("0.50"), D(2026, 12, 13)), (CHF("1.00"), D(2026, 12, 13))]
    assert set(UsageMonth.objects.filter(service=svc).values_list("month", "closed_at")) == {
        (D(2026, 10, 1), at(D(2026, 12, 3))), (NOV, at(D(2026, 12, 3)))}


def test_use8_a_month_in_trial_is_closed_without_invoice_and_only_the_days_from_t_are_invoiced() -> None:
    legal = customer()
    in_trial = usage_service(legal, status="trial", trial_ends_on=D(2026, 12, 5), activated_at=None)
    ended = usage_service(legal, status="active", trial_ends_on=D(2026, 11, 15))
    for svc in (in_trial, ended):
        put(svc, D(2026, 11, 14), "traffic", {10: "100", 11: "100"})  # in trial: not invoiced
        put(svc, D(2026, 11, 15), "traffic", {0: "10"})  # T: the first paid day
        put(svc, D(2026, 11, 30), "traffic", {23: "10"})

    live(DEC)

    assert not Invoice.objects.filter(service=in_trial).exists()
    assert AuditEvent.objects.get(action="usage_month.closed", object_id=str(_month(in_trial).pk)).rule == "USE-8"
    invoice = Invoice.objects.get(service=ended)
    assert _lines(invoice)[3] == ("External traffic (GB)", CHF("20"), CHF("0.05"), CHF("1.00"), CHF("8.1"), CHF("0.08"))
    assert {amount for *_, amount, _rate, _vat in _lines(invoice)} == {CHF("0.00"), CHF("1.00")}
    assert set(InvoiceLine.objects.filter(invoice=invoice).values_list("period_start", flat=True)) == {D(2026, 11, 15)}
    assert _month(in_trial).closed_at == _month(ended).closed_at == at(DEC)


def test_use3_a_service_terminated_mid_month_is_invoiced_on_its_termination_day() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, NOV, {"traffic": "20"})
    live(DEC)
    put(svc, D(2026, 12, 3), "storage", {5: "1000"})
    when = at(D(2026, 12, 14), hour=15)

    service_terminate_now(service=svc, user=legal.user, confirmed=True, now=when)

    december = Invoice.objects.filter(service=svc).order_by("-number").first()
    assert (december.issue_date, december.due_date, december.total_excl_vat) == (D(2026, 12, 14), D(2026, 12, 24),
                                                                                 CHF("0.15"))
    assert set(InvoiceLine.objects.filter(invoice=december).values_list("period_end", flat=True)) == {D(2026, 12, 15)}
    assert (_month(svc, DEC).closed_at, _month(svc, DEC).invoice) == (when, december)
    svc.refresh_from_db()
    assert svc.status == "terminated"
    # the month's invoice of November stays due: the Service worked then
    assert Invoice.objects.get(service=svc, issue_date=DEC).status == "open"
    live(D(2027, 1, 1))
    assert Invoice.objects.filter(service=svc).count() == 2


def test_use5_closing_the_month_lifts_its_open_limits_with_evidence() -> None:
    legal = customer(card=None)
    svc = usage_service(legal, auto_renew=False)
    month_of_values(svc, NOV, {"traffic": "20"})
    limit = Limit.objects.create(service=svc, month=NOV, reason="threshold", resource=Resource.objects.get(
        slug="traffic"), since=at(D(2026, 11, 20)))

    live(DEC)

    limit.refresh_from_db()
    assert limit.lifted_at == at(DEC)
    event = AuditEvent.objects.get(action="usage_limit.lifted")
    assert (event.rule, event.after["month"]) == ("USE-5", "2026-11-01")


@pytest.mark.postgres
def test_use3_a_batch_costs_the_same_queries_for_3_services_as_for_30() -> None:
    legal = customer(card=None)
    plan = usage_plan()
    counts = []
    for size in (1, 3, 30):  # the first makes the sequence and chain rows every later batch finds
        ids = []
        for _ in range(size):
            svc = usage_service(legal, plan=plan, auto_renew=False)
            month_of_values(svc, NOV, {"traffic": "20", "storage": "100"})
            ids.append(svc.pk)
        with CaptureQueriesContext(connection) as captured:
            assert month_end_run(ids, day=DEC, now=clock.start_of_day(DEC)) == size
        counts.append(len(captured))
    assert counts[1] == counts[2]
