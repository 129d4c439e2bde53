import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Invoice
from subscriptions.models import RenewalAttempt
from tests.subscriptions.lifecycle.helpers import customer, live, service

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
    from subscriptions.batch import locked_services
    from subscriptions.models import Service
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


def test_perf_the_services_of_a_batch_share_one_plan_instance_per_plan() -> None:
    """Read in full or re-read onto instances of an earlier transaction, Services on the same plan
    get the same Plan instance (what is computed from a plan is computed once per batch)."""
    from subscriptions.batch import locked_services
    from tests.billing.factories import ServiceFactory

    legal = customer()
    first = service(legal)
    second, third = (ServiceFactory(organization=legal.organization, plan=first.plan) for _ in range(2))
    other = service(legal)  # a plan of its own

    known = locked_services([first.pk, second.pk, other.pk])
    again = locked_services([first.pk, second.pk, third.pk, other.pk], known)

    assert known[0].plan is known[1].plan and known[2].plan is not known[0].plan
    assert [s.plan_id for s in again] == [first.plan_id, first.plan_id, first.plan_id, other.plan_id]
    assert again[2].plan is known[0].plan  # `third`, read in full, is given the plan already read
    assert again[3].plan is known[2].plan
