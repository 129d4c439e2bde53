"""MB-3, REN-8: a money-back refund gives card payments back with no row lock held while the
gateway answers; a request that stops between the refund and its booking leaves the card part
SENDING — flagged to staff the next day, never sent twice. On PostgreSQL, with a second connection
probing the locks."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.gateway import RefundResult
from billing.gateways.sandbox import SandboxGateway
from billing.models import Payment, PrepaidAccount
from sandbox.models import GatewayCharge
from subscriptions import jobs
from subscriptions.models import MoneyBackCardRefund, MoneyBackRefund, Service
from subscriptions.services.moneyback import service_money_back
from tests.subscriptions.lifecycle.helpers import customer
from tests.subscriptions.lifecycle.test_charges_outside_locks import RunStopped, _probe
from tests.subscriptions.test_moneyback import LATER, _ordered

postgres = pytest.mark.postgres


class ProbingRefundGateway(SandboxGateway):
    """The sandbox, probing the Service and Prepaid Account rows while each refund is under way."""

    probes: list[dict[str, str]] = []
    rows: dict[str, list[int]] = {}

    def refund(self, *, idempotency_key: str, amount: Decimal) -> RefundResult:
        self.probes.append({table: _probe(table, ids) for table, ids in self.rows.items()})
        return super().refund(idempotency_key=idempotency_key, amount=amount)


class DyingRefundGateway(SandboxGateway):
    """Refunds, then the worker dies before the answer is booked."""

    def refund(self, *, idempotency_key: str, amount: Decimal) -> RefundResult:
        super().refund(idempotency_key=idempotency_key, amount=amount)
        raise RunStopped


@postgres
@pytest.mark.django_db(transaction=True)
def test_mb3_ren8_no_row_lock_is_held_while_the_card_is_refunded(settings) -> None:  # noqa: ANN001
    legal = customer(balance="8.10")
    service, invoice = _ordered(legal, prepaid="8.10")  # 8.10 from the balance, 100.00 by card
    settings.PAYMENT_GATEWAY = "tests.subscriptions.test_moneyback_refunds.ProbingRefundGateway"
    ProbingRefundGateway.probes = []
    ProbingRefundGateway.rows = {
        "billing_service": [service.pk],
        "billing_prepaidaccount": list(PrepaidAccount.objects.filter(organization=legal.organization).values_list(
            "pk", flat=True)),
    }

    refund = service_money_back(service=service, user=legal.user, now=LATER)

    assert ProbingRefundGateway.probes == [{"billing_service": "free", "billing_prepaidaccount": "free"}]
    assert (refund.destination, refund.card_amount, refund.prepaid_amount) == (
        "card", Decimal("100.00"), Decimal("8.10"))
    assert list(MoneyBackCardRefund.objects.values_list("outcome", "amount")) == [("refunded", Decimal("100.00"))]
    card_key = Payment.objects.get(invoice=invoice, kind="card").idempotency_key
    assert GatewayCharge.objects.get(idempotency_key=card_key).refunded_amount == Decimal("100.00")


@postgres
@pytest.mark.django_db(transaction=True)
def test_mb3_ren8_a_refund_stopped_before_its_booking_is_flagged_to_staff_and_never_sent_twice(
    settings,  # noqa: ANN001
) -> None:
    legal = customer()
    service, invoice = _ordered(legal)
    card_key = Payment.objects.get(invoice=invoice, kind="card").idempotency_key
    settings.PAYMENT_GATEWAY = "tests.subscriptions.test_moneyback_refunds.DyingRefundGateway"

    with pytest.raises(RunStopped):
        service_money_back(service=service, user=legal.user, now=LATER)

    # The first transaction stands: the refund and its card part recorded, the Service terminated.
    service.refresh_from_db()
    assert service.status == "terminated"
    assert list(MoneyBackCardRefund.objects.values_list("outcome", "flagged_at")) == [("sending", None)]
    assert GatewayCharge.objects.get(idempotency_key=card_key).refunded_amount == Decimal("108.10")

    settings.PAYMENT_GATEWAY = "billing.gateways.sandbox.SandboxGateway"
    next_day = LATER + dt.timedelta(days=1, hours=1)
    jobs.flag_unknown_payments(day=next_day.date(), now=next_day)
    jobs.flag_unknown_payments(day=next_day.date(), now=next_day)  # flagged once

    card_refund = MoneyBackCardRefund.objects.get()
    assert (card_refund.outcome, card_refund.flagged_at) == ("sending", next_day)
    assert AuditEvent.objects.filter(action="money_back.refund_flagged", rule="MB-3").count() == 1
    # Nothing was refunded a second time, and a second request is refused: the Service is gone.
    assert GatewayCharge.objects.get(idempotency_key=card_key).refunded_amount == Decimal("108.10")
    assert MoneyBackRefund.objects.filter(service=service).count() == 1
    assert Service.objects.get(pk=service.pk).status == "terminated"
