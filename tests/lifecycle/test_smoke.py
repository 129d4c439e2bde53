import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Invoice, RenewalAttempt
from tests.lifecycle.helpers import customer, live, service

pytestmark = pytest.mark.django_db


def test_monthly_auto_renewal_paid_on_first_attempt() -> None:
    legal = customer()
    svc = service(legal)
    live(dt.date(2026, 2, 13), dt.date(2026, 2, 14))
    svc.refresh_from_db()
    attempt = RenewalAttempt.objects.get(service=svc)
    invoice = Invoice.objects.get(service=svc, kind="renewal")
    assert (attempt.outcome, attempt.term, attempt.day) == ("succeeded", 2, dt.date(2026, 2, 14))
    assert (svc.term, svc.expires_on, invoice.status, invoice.total_incl_vat) == (
        2, dt.date(2026, 3, 31), "paid", Decimal("108.10"))
