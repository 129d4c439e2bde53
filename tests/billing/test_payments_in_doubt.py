"""REN-8: a member's card payment is charged outside any transaction; while its answer is not booked
nobody can pay the invoice again, and a request that stopped between the charge and its booking
leaves a PROCESSING payment that the daily look-up settles by its key — booked when the gateway
charged it, failed when the gateway never received it. Nobody is charged twice."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from billing.gateway import get_gateway
from billing.models import Invoice, Payment
from billing.services.means import means_add_card
from billing.services.payments import card_payment_charge, card_payment_open, invoice_pay
from core.errors import RuleViolation
from sandbox.models import GatewayCharge
from subscriptions import jobs
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=20)  # past PROCESSING_PAYMENT_STALE_AFTER (15 minutes)


def _stopped_request(*, charged: bool) -> tuple[Invoice, Payment]:
    """An invoice whose card payment was recorded PROCESSING by a request that then stopped, after
    the charge reached the gateway (`charged`) or before."""
    legal = member()
    service = ServiceFactory(organization=legal.organization, status="awaiting_payment", anchor_date=None,
                             expires_on=None, term=0, activated_at=None)
    invoice = InvoiceFactory(organization=legal.organization, service=service)  # 108.10 CHF
    card = means_add_card(organization=legal.organization, user=legal.user, number="4242424242424242",
                          exp_month=12, exp_year=2030, cvc="123", make_default=True, now=NOW)
    with transaction.atomic():
        payment = card_payment_open(organization=legal.organization, means=card, amount=invoice.amount_due,
                                    currency="CHF", idempotency_key=f"invoice:{invoice.pk}:card:1", now=NOW,
                                    invoice=invoice)
    if charged:
        card_payment_charge(payment, now=NOW)
    return invoice, payment


@pytest.mark.parametrize("charged", [True, False])
def test_ren8_the_invoice_cannot_be_paid_again_while_its_card_payment_is_in_doubt(charged: bool) -> None:
    invoice, payment = _stopped_request(charged=charged)
    legal_user = invoice.organization.memberships.get().user
    card = payment.means
    charges = GatewayCharge.objects.count()

    with pytest.raises(RuleViolation, match="being checked") as refused:
        invoice_pay(invoice=invoice, user=legal_user, prepaid_amount=Decimal("0.00"), means=card, now=NOW)

    assert refused.value.rule == "REN-8"
    assert (GatewayCharge.objects.count(), Payment.objects.count()) == (charges, 1)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))


def test_ren8_a_processing_payment_whose_charge_went_through_is_booked_by_the_daily_look_up() -> None:
    invoice, payment = _stopped_request(charged=True)

    jobs.flag_unknown_payments(day=LATER.date(), now=NOW + dt.timedelta(minutes=5))  # too early: its request may live
    payment.refresh_from_db()
    assert payment.status == "processing"

    jobs.flag_unknown_payments(day=LATER.date(), now=LATER)
    jobs.flag_unknown_payments(day=LATER.date(), now=LATER)  # a second run finds nothing to do

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == "succeeded"
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert GatewayCharge.objects.count() == 1
    assert get_gateway().lookup(payment.idempotency_key).status == "succeeded"


def test_ren8_a_processing_payment_the_gateway_never_received_fails_and_the_invoice_can_be_paid() -> None:
    invoice, payment = _stopped_request(charged=False)

    jobs.flag_unknown_payments(day=LATER.date(), now=LATER)

    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == ("failed", "never_received")
    assert GatewayCharge.objects.count() == 0
    paid = invoice_pay(invoice=invoice, user=invoice.organization.memberships.get().user,
                       prepaid_amount=Decimal("0.00"), means=payment.means, now=LATER)
    invoice.refresh_from_db()
    assert paid is not None and (paid.status, paid.idempotency_key) == ("succeeded", f"invoice:{invoice.pk}:card:2")
    assert (invoice.status, GatewayCharge.objects.count()) == ("paid", 1)
