"""USE-8 with MB-1…MB-3: money-back on a usage Service refunds its usage invoices paid in its first
30 days and invoices nothing more for that period."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.models import Invoice
from billing.services.prepaid import prepaid_pay_invoice
from core.errors import RuleViolation
from sandbox.models import GatewayCharge
from subscriptions.models import MoneyBackRefund
from subscriptions.services.moneyback import service_money_back
from tests.subscriptions.lifecycle.helpers import CARD_DECLINED, at, customer, ledger, live, snapshot, state
from tests.usage.invoicing_helpers import NOVEMBER, month_of_values, put, usage_service
from usage.models import UsageMonth

pytestmark = pytest.mark.django_db

D = dt.date
CHF = Decimal


def test_use8_mb3_money_back_refunds_the_paid_usage_invoices_and_closes_the_month_without_one() -> None:
    legal = customer()
    svc = usage_service(legal, created=D(2026, 11, 20))
    month_of_values(svc, D(2026, 11, 1), NOVEMBER)
    live(D(2026, 12, 1))  # November's invoice, paid by card the same day
    put(svc, D(2026, 12, 3), "storage", {5: "1000"})
    when = at(D(2026, 12, 15), hour=10)  # day 25 after the activation

    refund = service_money_back(service=svc, user=legal.user, now=when)

    november = Invoice.objects.get(service=svc)
    assert (refund.amount, refund.card_amount, refund.destination, refund.invoice) == (
        CHF("26.77"), CHF("26.77"), "card", november)
    assert GatewayCharge.objects.get(idempotency_key__startswith="usage:").refunded_amount == CHF("26.77")
    assert state(svc)[0] == "terminated"
    assert Invoice.objects.filter(service=svc).count() == 1  # December's usage is not invoiced
    december = UsageMonth.objects.get(service=svc, month=D(2026, 12, 1))
    assert (december.closed_at, december.invoice) == (when, None)
    closed = AuditEvent.objects.get(action="usage_month.closed", object_id=str(december.pk))
    assert (closed.rule, closed.after["closed"]) == ("USE-8", "money_back")


def test_use8_money_back_refunds_what_was_paid_and_cancels_the_rest_of_the_period() -> None:
    legal = customer(card=CARD_DECLINED, balance="10.00")
    svc = usage_service(legal, created=D(2026, 11, 20), auto_renew=False)
    month_of_values(svc, D(2026, 11, 1), NOVEMBER)
    live(D(2026, 12, 1))
    november = Invoice.objects.get(service=svc)
    prepaid_pay_invoice(invoice=november, user=legal.user, amount=CHF("10.00"), now=at(D(2026, 12, 2)))

    refund = service_money_back(service=svc, user=legal.user, now=at(D(2026, 12, 3), hour=10))

    november.refresh_from_db()
    assert (refund.amount, refund.prepaid_amount, refund.destination) == (CHF("10.00"), CHF("10.00"), "prepaid")
    assert (november.status, november.amount_credited) == ("cancelled", CHF("16.77"))
    assert ledger(legal)[-1] == ("money_back", CHF("10.00"), CHF("10.00"))
    assert state(svc)[0] == "terminated"


def test_use8_mb2_money_back_after_the_first_30_days_is_refused_and_nothing_changes() -> None:
    legal = customer()
    svc = usage_service(legal, created=D(2026, 10, 20))
    month_of_values(svc, D(2026, 10, 1), {"traffic": "20"})
    live(D(2026, 11, 1))
    before = snapshot()

    with pytest.raises(RuleViolation) as too_late:
        service_money_back(service=svc, user=legal.user, now=at(D(2026, 11, 20), hour=10))

    assert too_late.value.rule == "MB-2"
    assert snapshot() == before


def test_use8_money_back_with_nothing_paid_is_refused_and_nothing_changes() -> None:
    legal = customer()
    svc = usage_service(legal, created=D(2026, 11, 20))
    put(svc, D(2026, 11, 25), "traffic", {1: "1"})
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        service_money_back(service=svc, user=legal.user, now=at(D(2026, 11, 28), hour=10))

    assert refused.value.rule == "MB-3"
    assert snapshot() == before
    assert not MoneyBackRefund.objects.exists()
