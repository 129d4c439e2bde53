"""USE-4 (with PRE-3, PRE-5, REN-2, REN-3, REN-4, REN-8): a usage invoice is collected by the renewal
debit engine — one attempt a day from its issue to its due date, the Prepaid Account first, all or
nothing — then the Service is suspended on the due date and terminated grace days later; paying
reactivates it."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from billing.gateway import ChargeResult
from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, LedgerEntry, Payment
from billing.services.means import means_add_card
from billing.services.payments import invoice_pay
from billing.services.prepaid import prepaid_credit, prepaid_pay_invoice
from core.errors import RuleViolation
from sandbox.models import GatewayCharge
from subscriptions.models import RenewalAttempt
from subscriptions.services.staff import staff_reactivate
from tests.factories import UserFactory
from tests.subscriptions.lifecycle.helpers import (
    CARD_DECLINED,
    CARD_OK,
    CARD_UNKNOWN,
    at,
    attempts,
    customer,
    ledger,
    live,
    notices,
    snapshot,
    state,
)
from tests.usage.invoicing_helpers import NOVEMBER, month_of_values, usage_service

pytestmark = pytest.mark.django_db

D = dt.date
CHF = Decimal
ZERO = CHF("0.00")
NOV, DEC = D(2026, 11, 1), D(2026, 12, 1)
TOTAL = CHF("26.77")  # NOVEMBER's values at the test rates, VAT included


def _usage_service(legal, **fields):  # noqa: ANN001, ANN202
    svc = usage_service(legal, **fields)
    month_of_values(svc, NOV, NOVEMBER)
    return svc


def test_use4_the_invoice_is_debited_on_its_issue_day_by_the_renewal_engine() -> None:
    legal = customer(card=CARD_OK)
    svc = _usage_service(legal)

    live(DEC)

    invoice = Invoice.objects.get(service=svc)
    assert (invoice.status, invoice.amount_paid) == ("paid", TOTAL)
    assert attempts(svc) == [(0, DEC, "succeeded", ZERO, TOTAL)]
    attempt = RenewalAttempt.objects.get(service=svc)
    assert (attempt.invoice_id, attempt.idempotency_key) == (invoice.pk, f"usage:{svc.pk}:invoice:{invoice.pk}:day:"
                                                                         "2026-12-01")
    assert list(Payment.objects.filter(invoice=invoice).values_list("kind", "amount", "idempotency_key")) == [
        ("card", TOTAL, attempt.idempotency_key)]
    assert AuditEvent.objects.get(action="invoice.paid", object_id=str(invoice.pk)).rule == "USE-4"


def test_use4_pre5_the_prepaid_balance_first_and_the_rest_on_the_card() -> None:
    legal = customer(card=CARD_OK, balance="10.00")
    svc = _usage_service(legal)

    live(DEC)

    assert attempts(svc) == [(0, DEC, "succeeded", CHF("10.00"), CHF("16.77"))]
    assert ledger(legal)[-1] == ("invoice_payment", CHF("-10.00"), ZERO)
    assert Invoice.objects.get(service=svc).status == "paid"


def test_use4_pre3_a_balance_that_covers_the_invoice_pays_it_without_a_card() -> None:
    legal = customer(card=None, balance="30.00")
    svc = _usage_service(legal)

    live(DEC)

    assert attempts(svc) == [(0, DEC, "succeeded", TOTAL, ZERO)]
    assert ledger(legal)[-1] == ("invoice_payment", -TOTAL, CHF("3.23"))


def test_use4_pre5_a_declined_card_consumes_no_balance_and_the_customer_is_told() -> None:
    legal = customer(card=CARD_DECLINED, balance="10.00")
    svc = _usage_service(legal)

    live(DEC)

    assert attempts(svc) == [(0, DEC, "declined", ZERO, CHF("16.77"))]
    assert ledger(legal)[-1] == ("top_up", CHF("10.00"), CHF("10.00"))
    assert Invoice.objects.get(service=svc).status == "open"
    assert notices(svc)[("usage_attempt_failed", "email")] == 1


def test_use4_ren3_ren4_one_attempt_a_day_to_the_due_date_then_suspended_then_terminated() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = _usage_service(legal)

    live(DEC, D(2026, 12, 10))
    assert state(svc)[0] == "active"
    live(D(2026, 12, 11))  # the due date: its attempt, then the suspension
    suspended = state(svc)
    live(D(2026, 12, 12), D(2026, 12, 24))
    before_termination = state(svc)
    live(D(2026, 12, 25))

    assert [a[1] for a in attempts(svc)] == [DEC + dt.timedelta(days=n) for n in range(11)]
    assert {a[2] for a in attempts(svc)} == {"declined"}
    assert suspended == ("suspended", 0, None, "unpaid", D(2026, 12, 25), None)
    assert before_termination == suspended
    svc.refresh_from_db()
    assert (svc.status, svc.termination_reason) == ("terminated", "Usage invoice unpaid")
    assert notices(svc)[("usage_attempt_failed", "email")] == 11
    assert AuditEvent.objects.get(action="service.suspended").rule == "USE-4"
    terminated = AuditEvent.objects.get(action="service.terminated")
    assert (terminated.rule, terminated.after["unpaid_invoice"]) == ("USE-4", Invoice.objects.get(
        service=svc, issue_date=DEC).number)
    assert Invoice.objects.get(service=svc, issue_date=DEC).status == "open"  # still due (REN-3)


def test_use4_ren8_the_daily_run_twice_makes_one_attempt_and_one_notice() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = _usage_service(legal)
    live(DEC)
    before = snapshot()

    live(DEC)

    assert snapshot() == before
    assert len(attempts(svc)) == 1


def test_use4_without_auto_debit_no_attempt_and_suspended_on_the_due_date() -> None:
    legal = customer(card=CARD_OK)
    svc = _usage_service(legal, auto_renew=False)

    live(DEC, D(2026, 12, 11))

    assert attempts(svc) == []
    assert state(svc)[0:4] == ("suspended", 0, None, "unpaid")


def test_use4_paying_the_invoice_by_hand_reactivates_the_suspended_service() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = _usage_service(legal)
    live(DEC, D(2026, 12, 11))
    assert state(svc)[0] == "suspended"
    means_add_card(organization=legal.organization, user=legal.user, number=CARD_OK, exp_month=12, exp_year=2035,
                   cvc="123", make_default=True, now=at(D(2026, 12, 12), hour=9))
    means = legal.organization.means.get(is_default=True)

    invoice_pay(invoice=Invoice.objects.get(service=svc), user=legal.user, prepaid_amount=ZERO, means=means,
                now=at(D(2026, 12, 12), hour=10))

    assert state(svc) == ("active", 0, None, "", None, None)
    assert AuditEvent.objects.filter(action="service.reactivated").get().rule == "USE-4"
    assert notices(svc)[("service_reactivated", "email")] == 1


def test_use4_pre3_paying_from_the_prepaid_account_reactivates_it_too() -> None:
    legal = customer(card=None)
    svc = _usage_service(legal, auto_renew=False)
    live(DEC, D(2026, 12, 11))
    top_up = Payment.objects.create(organization=legal.organization, kind="card", amount=CHF("50"), currency="CHF",
                                    status="succeeded", created_at=at(D(2026, 12, 12)))
    prepaid_credit(organization=legal.organization, kind=LedgerEntry.Kind.TOP_UP, amount=CHF("50"),
                   now=at(D(2026, 12, 12)), actor=Actor.system("test"), rule="PRE-2", payment=top_up)

    prepaid_pay_invoice(invoice=Invoice.objects.get(service=svc), user=legal.user, amount=TOTAL,
                        now=at(D(2026, 12, 12), hour=11))

    assert state(svc)[0] == "active"
    assert Invoice.objects.get(service=svc).status == "paid"


def test_use4_staff_reactivation_is_refused_while_the_usage_invoice_is_past_due_and_nothing_changes() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = _usage_service(legal)
    live(DEC, D(2026, 12, 11))
    staff = UserFactory(is_staff=True)
    before = snapshot()

    with pytest.raises(RuleViolation) as refused:
        staff_reactivate(service=svc, staff_user=staff, reason="asked", now=at(D(2026, 12, 12), hour=9))

    assert refused.value.rule == "REN-3"
    assert snapshot() == before


def test_use4_ren8_an_unknown_outcome_is_looked_up_before_the_next_attempt_and_booked() -> None:
    legal = customer(card=CARD_UNKNOWN)
    svc = _usage_service(legal)
    live(DEC)
    assert attempts(svc) == [(0, DEC, "unknown", ZERO, TOTAL)]

    live(D(2026, 12, 2))

    assert attempts(svc) == [(0, DEC, "reconciled", ZERO, TOTAL)]
    invoice = Invoice.objects.get(service=svc)
    assert (invoice.status, invoice.amount_paid) == ("paid", TOTAL)
    assert GatewayCharge.objects.filter(outcome="succeeded").count() == 1
    assert state(svc)[0] == "active"


def test_use4_ren8_an_unknown_outcome_on_the_due_date_is_not_suspended_until_looked_up(monkeypatch) -> None:  # noqa: ANN001
    legal = customer(card=CARD_DECLINED)
    svc = _usage_service(legal)
    live(DEC, D(2026, 12, 10))
    means_add_card(organization=legal.organization, user=legal.user, number=CARD_UNKNOWN, exp_month=12,
                   exp_year=2035, cvc="123", make_default=True, now=at(D(2026, 12, 10), hour=15))
    live(D(2026, 12, 11))
    on_due_date = state(svc)[0]
    monkeypatch.setattr(SandboxGateway, "lookup", lambda self, key: ChargeResult("declined", "card_declined"))

    live(D(2026, 12, 12))

    assert on_due_date == "active"
    assert attempts(svc)[-1] == (0, D(2026, 12, 11), "declined", ZERO, TOTAL)
    assert state(svc)[0:4] == ("suspended", 0, None, "unpaid")
