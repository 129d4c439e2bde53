"""USE-8: a usage trial records usage and invoices none of it; at its end T it becomes active when
its usage can be collected (a default auto-debit means or a positive Prepaid balance), else it is
suspended and works again once either is there."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Invoice, LedgerEntry, Payment
from billing.services.prepaid import prepaid_credit
from subscriptions.models import RenewalAttempt
from tests.subscriptions.lifecycle.helpers import at, customer, live, notices, state
from tests.usage.invoicing_helpers import put, usage_service

pytestmark = pytest.mark.django_db

D = dt.date
T = D(2026, 12, 5)


def _trial(legal, **fields):  # noqa: ANN001, ANN202
    svc = usage_service(legal, status="trial", trial_ends_on=T, activated_at=None, created=D(2026, 11, 5), **fields)
    put(svc, D(2026, 11, 20), "traffic", {3: "50"})
    return svc


def test_use8_a_trial_with_a_card_is_active_at_t_without_any_invoice_or_attempt() -> None:
    legal = customer()
    svc = _trial(legal)

    live(D(2026, 12, 1), D(2026, 12, 4))
    before_t = state(svc)[0]
    live(T)

    assert before_t == "trial"
    svc.refresh_from_db()
    assert (svc.status, svc.activated_at) == ("active", at(T))
    assert not Invoice.objects.filter(service=svc).exists()
    assert not RenewalAttempt.objects.filter(service=svc).exists()
    assert AuditEvent.objects.get(action="service.trial_ended").rule == "USE-8"


def test_use8_a_trial_with_a_prepaid_balance_only_is_active_at_t() -> None:
    legal = customer(card=None, balance="5.00")
    svc = _trial(legal, auto_renew=False)

    live(T)

    assert state(svc)[0] == "active"


def test_use8_without_a_means_it_lapses_at_t_and_works_again_the_day_after_a_top_up() -> None:
    legal = customer(card=None)
    svc = _trial(legal, auto_renew=False)
    live(T)
    lapsed = state(svc)
    live(D(2026, 12, 6))
    still = state(svc)[0]
    top_up = Payment.objects.create(organization=legal.organization, kind="card", amount=Decimal("20"),
                                    currency="CHF", status="succeeded", created_at=at(D(2026, 12, 6), hour=12))
    prepaid_credit(organization=legal.organization, kind=LedgerEntry.Kind.TOP_UP, amount=Decimal("20"),
                   now=at(D(2026, 12, 6), hour=12), actor=Actor.system("test"), rule="PRE-2", payment=top_up)

    live(D(2026, 12, 7))

    assert lapsed == ("suspended", 0, None, "trial_lapsed", D(2026, 12, 19), None)
    assert still == "suspended"
    assert state(svc) == ("active", 0, None, "", None, None)
    assert AuditEvent.objects.get(action="service.reactivated").rule == "USE-8"
    assert notices(svc)[("service_reactivated", "email")] == 1


def test_use8_a_lapsed_trial_never_given_a_means_is_terminated_after_the_grace_days() -> None:
    legal = customer(card=None)
    svc = _trial(legal, auto_renew=False)

    live(T, D(2026, 12, 19))

    svc.refresh_from_db()
    assert svc.status == "terminated"
    assert not Invoice.objects.filter(service=svc).exists()  # November was trial; December too, till T
