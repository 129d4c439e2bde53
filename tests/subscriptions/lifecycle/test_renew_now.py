"""Renew now (PRE-5, BIL-1, BIL-6): the renewal invoice and its payment are one transaction, so a
refused payment leaves nothing behind — no invoice, no number used, no price fixed early."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceSequence, PaymentMeans
from core.errors import RuleViolation
from subscriptions.services.lifecycle import service_renew_now
from tests.subscriptions.lifecycle.helpers import CARD_DECLINED, at, customer, service, snapshot

pytestmark = pytest.mark.django_db


def test_pre5_a_declined_renew_now_leaves_no_renewal_invoice_and_no_number_used() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = service(legal, auto_renew=False)  # E = 28 Feb 2026
    card = PaymentMeans.objects.get(organization=legal.organization)
    before = snapshot()
    numbers = InvoiceSequence.objects.filter(id=1).values_list("last_number", flat=True).first()

    with pytest.raises(RuleViolation, match="declined") as refused:
        service_renew_now(
            service=svc, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=at(dt.date(2026, 1, 20), 10)
        )

    assert (refused.value.rule, refused.value.status) == ("BIL-4", 402)
    assert snapshot() == before
    assert InvoiceSequence.objects.filter(id=1).values_list("last_number", flat=True).first() == numbers
    assert not Invoice.objects.filter(service=svc).exists()


def test_pre5_renew_now_pays_the_next_term_at_todays_price() -> None:
    legal = customer()
    svc = service(legal, auto_renew=False)
    card = PaymentMeans.objects.get(organization=legal.organization)

    invoice = service_renew_now(
        service=svc, user=legal.user, prepaid_amount=Decimal("0"), means=card, now=at(dt.date(2026, 1, 20), 10)
    )

    svc.refresh_from_db()
    assert (invoice.kind, invoice.term, invoice.status, invoice.issue_date, invoice.total_incl_vat) == (
        "renewal",
        2,
        "paid",
        dt.date(2026, 1, 20),
        Decimal("108.10"),
    )
    assert (svc.term, svc.expires_on) == (2, dt.date(2026, 3, 31))
