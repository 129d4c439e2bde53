"""The demo of `make run` for usage billing (USE-1…USE-8): Jelastic Cloud sold by usage only, with
rate cards in CHF and EUR and plan thresholds; the demo customer's Jelastic Service with its trial,
three months of usage invoices (paid once due, from the Prepaid Account), a living current month, a
threshold of its own and a budget — the same after a second run."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from audit.services import audit_verify
from billing.models import Invoice, Plan
from core import clock
from sla.selectors import invoice_covering
from subscriptions.models import Service
from tests.billing.factories import InvoiceFactory
from tests.factories import member
from tests.usage.portal_helpers import usage_service
from usage import selectors
from usage.models import Budget, RateCard, Threshold, UsageDay, UsageMonth, UsageTotal

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 3, 15, 20, tzinfo=dt.UTC)  # 16:20 in Zurich


def seed(settings) -> None:  # noqa: ANN001
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())


def demo_service() -> Service:
    return Service.objects.get(plan__service_type__slug="jelastic-cloud", usage_based=True)


def test_use1_bil2_bil10_jelastic_cloud_is_sold_by_usage_only(settings) -> None:  # noqa: ANN001
    with time_machine.travel(NOW, tick=False):
        seed(settings)
    jelastic = Plan.objects.filter(service_type__slug="jelastic-cloud", is_active=True)
    assert [(p.name, p.period, p.usage_based) for p in jelastic] == [("Pay per use", "monthly", True)]
    cards = {card.currency: card for card in RateCard.objects.filter(plan=jelastic.get())}
    assert sorted(cards) == ["CHF", "EUR"]
    assert {r.resource.slug: r.rate for r in cards["CHF"].rates.select_related("resource")} == {
        "reserved-cloudlets": Decimal("0.008000"),
        "dynamic-cloudlets": Decimal("0.012000"),
        "storage": Decimal("0.000200"),
        "traffic": Decimal("0.050000"),
        "public-ipv4": Decimal("0.004000"),
    }
    assert set(Threshold.objects.filter(plan=jelastic.get()).values_list("resource__slug", "quantity")) == {
        ("dynamic-cloudlets", Decimal("20000")),
        ("traffic", Decimal("2000")),
    }


def test_use3_use8_the_demo_service_has_its_trial_three_invoiced_months_and_a_living_month(settings) -> None:  # noqa: ANN001
    with time_machine.travel(NOW, tick=False):
        seed(settings)
        service = demo_service()
        # ordered on 3 August, a trial to 2 September (USE-8), then paid (a positive Prepaid balance)
        assert service.status == Service.Status.ACTIVE
        assert service.created_at.astimezone(clock.ZURICH).date() == dt.date(2026, 8, 3)
        months = list(
            UsageMonth.objects.filter(service=service)
            .order_by("month")
            .values_list("month", "closed_at", "invoice__status")
        )
        assert [(m, closed is not None, status) for m, closed, status in months] == [
            (dt.date(2026, 8, 1), True, None),  # all trial: no invoice
            (dt.date(2026, 9, 1), True, "paid"),
            (dt.date(2026, 10, 1), True, "paid"),
            (dt.date(2026, 11, 1), True, "open"),  # issued on 1 December, due on the 11th
            (dt.date(2026, 12, 1), False, None),
        ]
        invoices = Invoice.objects.filter(service=service, kind=Invoice.Kind.USAGE).order_by("number")
        assert [i.issue_date for i in invoices] == [dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)]
        # the living month: values up to the hour that started at 16:00 in Zurich
        today = UsageDay.objects.get(service=service, day=dt.date(2026, 12, 3), resource__slug="storage")
        assert today.h16 is not None and today.h17 is None
        figures = selectors.month_to_date(service, organization=service.organization, now=NOW)
        assert figures.total > 0 and figures.forecast > figures.total
        assert [row.invoice for row in figures.invoiced[-4:]] == [None, *invoices]
        # its threshold and the customer's budget
        assert Threshold.objects.get(service=service).quantity == Decimal("400")
        assert Budget.objects.get(service=service).amount == Decimal("150.00")
        assert audit_verify()[1] is None


def test_the_usage_demo_is_the_same_after_a_second_run_and_lives_on(settings) -> None:  # noqa: ANN001
    with time_machine.travel(NOW, tick=False):
        seed(settings)
    service = demo_service()
    before = (
        list(UsageTotal.objects.filter(service=service).order_by("pk").values_list("month", "resource_id", "quantity")),
        list(Invoice.objects.order_by("number").values_list("number", "status", "total_incl_vat")),
    )
    with time_machine.travel(NOW, tick=False):
        seed(settings)
    after = (
        list(UsageTotal.objects.filter(service=service).order_by("pk").values_list("month", "resource_id", "quantity")),
        list(Invoice.objects.order_by("number").values_list("number", "status", "total_incl_vat")),
    )
    assert after == before
    # three hours later the month has three more hours, nothing else changed
    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        seed(settings)
    day = UsageDay.objects.get(service=service, day=dt.date(2026, 12, 3), resource__slug="storage")
    assert day.h19 is not None
    assert list(Invoice.objects.order_by("number").values_list("number", "status", "total_incl_vat")) == before[1]
    assert audit_verify()[1] is None


def test_sla3_the_invoice_covering_an_incident_of_a_usage_service_is_its_months_usage_invoice() -> None:
    legal = member()
    service = usage_service(legal)
    march = InvoiceFactory(organization=legal.organization, service=service, kind=Invoice.Kind.USAGE)
    UsageMonth.objects.create(service=service, month=dt.date(2026, 3, 1), closed_at=NOW, invoice=march)
    UsageMonth.objects.create(service=service, month=dt.date(2026, 2, 1), closed_at=NOW)  # a trial month
    cancelled = InvoiceFactory(
        organization=legal.organization, service=service, kind=Invoice.Kind.USAGE, status="cancelled"
    )
    UsageMonth.objects.create(service=service, month=dt.date(2026, 1, 1), closed_at=NOW, invoice=cancelled)
    # 31 March, 23:30 in Zurich is still March; 1 April 00:30 is April (not invoiced yet)
    assert invoice_covering(service, dt.datetime(2026, 3, 31, 21, 30, tzinfo=dt.UTC)) == march
    assert invoice_covering(service, dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC)) is None
    assert invoice_covering(service, dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC)) is None
    assert invoice_covering(service, dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)) is None
