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


def test_ren8_the_attempts_lock_the_services_again_and_see_what_changed_since_the_invoices() -> None:
    """The debit batch's second transaction reuses the instances the first one read, but re-reads
    their rows under the lock: a Service changed in between is seen as it is now, and one moved to
    another plan is read in full with that plan."""
    from billing.models import Service
    from billing.services.renewals import locked_services
    from tests.billing.factories import PlanFactory

    legal = customer()
    first, second, third = service(legal), service(legal), service(legal)
    known = locked_services([first.pk, second.pk])  # read before; `third` was not
    Service.objects.filter(pk=first.pk).update(auto_renew=False, term=5)
    other_plan = PlanFactory(service_type=second.plan.service_type, period="annual")
    Service.objects.filter(pk=second.pk).update(plan=other_plan)

    locked = locked_services([first.pk, second.pk, third.pk], known)

    assert [s.pk for s in locked] == [first.pk, second.pk, third.pk]
    assert locked[0] is known[0] and (locked[0].auto_renew, locked[0].term) == (False, 5)
    assert locked[1] is not known[1] and (locked[1].plan_id, locked[1].plan.period) == (other_plan.pk, "annual")
    assert locked[2].organization.pk == legal.organization.pk
