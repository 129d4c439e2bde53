"""Issue 13, items 1-3: the contract readings of RW-3 (attempts on the warranty term's invoice go on
to E; paying the warranty's invoice reactivates; a termination names the invoice actually unpaid),
and REN-6 (a default means added during a trial gives the T - 14 … T attempts, unless the customer
switched automatic renewal off themselves). The timeline of a day and what the daily run then did
must agree. Lived day by day at 02:00 Zurich; CHF, VAT 8.1% (CH)."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.models import CreditNote, Invoice
from billing.services.means import means_add_card
from billing.services.payments import invoice_pay
from core import clock
from subscriptions.models import RenewalAttempt, Service
from subscriptions.services.lifecycle import service_renew_now, service_set_auto_renew
from subscriptions.timeline import service_timeline
from tests.subscriptions.lifecycle.helpers import (
    CARD_DECLINED,
    CARD_OK,
    at,
    attempts,
    customer,
    invoices,
    live,
    live_twice,
    service,
    snapshot,
    state,
)

pytestmark = pytest.mark.django_db

D = dt.date
CHF = Decimal
DECLINED, OK, NO_MEANS = "declined", "succeeded", "no_means"
ZERO = CHF("0.00")
DAY = dt.timedelta(days=1)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _protected(period: str = "monthly", price: str = "100.00", anchor: dt.date = dt.date(2026, 1, 31),
               expires: dt.date = dt.date(2026, 2, 28), card: str = CARD_DECLINED):  # noqa: ANN202
    """Web hosting (RW-1 eligible, 14 grace days) with the Renewal Warranty on."""
    legal = customer(card=card)
    svc = service(legal, type_slug="web-hosting", period=period, price=price, anchor=anchor, expires=expires,
                  renewal_warranty=True)
    return legal, svc


def _new_card(legal, when: dt.datetime, number: str = CARD_OK, *, default: bool = True):  # noqa: ANN001, ANN202
    return means_add_card(organization=legal.organization, user=legal.user, number=number, exp_month=12,
                          exp_year=2035, cvc="123", make_default=default, now=when)


def _trial(legal, ends: dt.date, **fields) -> Service:  # noqa: ANN001
    return service(legal, anchor=None, expires=None, term=0, status="trial", trial_ends_on=ends, activated_at=None,
                   **fields)


# --- item 1: the timeline of day D and what the jobs did up to D + 60 ----------------------------

_HAPPENED_ACTIONS = {
    "service.warranty_renewed": "warranty_renewal",
    "service.suspended": "suspension",
    "service.terminated": "termination",
}


def _predicted(svc: Service, day: dt.date) -> dict[str, set[dt.date]]:
    """The timeline's coming events of `day`, the debit attempts expanded to every day of each run
    of attempts (from a "debit_attempt" to the "debit_retries" that ends it)."""
    events = [e for e in service_timeline(Service.objects.get(pk=svc.pk), today=day) if not e.past]
    predicted: dict[str, set[dt.date]] = {}
    start = None
    for event in events:
        if event.kind == "debit_attempt":
            if start is not None:
                predicted.setdefault("debit_attempt", set()).add(start)
            start = event.day
        elif event.kind == "debit_retries":
            assert start is not None
            predicted.setdefault("debit_attempt", set()).update(_days(start, event.day))
            start = None
        else:
            predicted.setdefault(event.kind, set()).add(event.day)
    if start is not None:
        predicted.setdefault("debit_attempt", set()).add(start)
    return predicted


def _happened(svc: Service, first: dt.date, last: dt.date) -> dict[str, set[dt.date]]:
    happened: dict[str, set[dt.date]] = {}
    days = RenewalAttempt.objects.filter(service=svc, forced_by__isnull=True, day__gte=first, day__lte=last)
    for day in days.values_list("day", flat=True):
        happened.setdefault("debit_attempt", set()).add(day)
    for action, occurred_at in AuditEvent.objects.filter(
        object_type="subscriptions.service", object_id=str(svc.pk), action__in=list(_HAPPENED_ACTIONS)
    ).values_list("action", "occurred_at"):
        day = clock.business_date(occurred_at)
        if first <= day <= last:
            happened.setdefault(_HAPPENED_ACTIONS[action], set()).add(day)
    return happened


def _ordinary():  # noqa: ANN202
    return service(customer(card=CARD_DECLINED)), D(2026, 2, 10), None


def _trial_declined():  # noqa: ANN202
    return _trial(customer(card=CARD_DECLINED), D(2026, 3, 31)), D(2026, 3, 10), None


def _warranty_monthly():  # noqa: ANN202
    return _protected()[1], D(2026, 2, 10), None


def _warranty_monthly_renewed():  # noqa: ANN202
    # the timeline of E - 1, the day after the provider renewed it (the daily run lived to E - 2)
    return _protected()[1], D(2026, 2, 27), D(2026, 2, 13)


def _warranty_quarterly():  # noqa: ANN202
    return _protected("quarterly", "300.00", D(2025, 11, 30), D(2026, 2, 28))[1], D(2026, 2, 10), None


def _warranty_annual():  # noqa: ANN202
    return _protected("annual", "1200.00", D(2026, 1, 31), D(2027, 1, 31))[1], D(2027, 1, 10), None


@pytest.mark.parametrize(
    "given",
    [_ordinary, _trial_declined, _warranty_monthly, _warranty_monthly_renewed, _warranty_quarterly, _warranty_annual],
    ids=["ordinary", "trial", "warranty-monthly", "warranty-monthly-renewed", "warranty-quarterly", "warranty-annual"],
)
def test_ren2_rw3_the_timeline_of_day_d_is_what_the_jobs_do_to_d_plus_60(given) -> None:  # noqa: ANN001
    # given: an auto-renewing Service whose card is always declined, and its timeline of day D
    svc, day, lived_from = given()
    if lived_from is not None:
        live(lived_from, day - DAY)
    predicted = _predicted(svc, day)
    horizon = day + dt.timedelta(days=60)

    # when: the daily run lives D … D + 60
    live(day, horizon)

    # then: every event predicted up to D + 60 happened on its day, nothing else did — for the debit
    # attempts, up to the last the timeline foresees (a renewal under the warranty starts a new
    # term, whose own attempts the timeline shows once that term exists)
    last_attempt = max(predicted["debit_attempt"])
    expected = {kind: {d for d in days if d <= horizon} for kind, days in predicted.items()}
    expected = {kind: days for kind, days in expected.items() if days}
    happened = _happened(svc, day, horizon)
    happened["debit_attempt"] = {d for d in happened.get("debit_attempt", set()) if d <= last_attempt}
    assert happened == expected


def test_ren2_rw3_warranty_service_attempted_up_to_expiry_on_the_warranty_invoice() -> None:
    # given: monthly web hosting under the warranty, E = 28 February, the card always declined
    _legal, svc = _protected()

    # when: lived from E - 15 to E + 1, each day run twice (REN-8)
    live_twice(D(2026, 2, 13), D(2026, 3, 1))

    # then: renewed by the provider on E - 2, and attempted every day up to and including E (REN-2):
    # on E - 1 and E on the warranty term's invoice, once a day
    warranty = Invoice.objects.get(service=svc, term=2)
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, D(2026, 4, 18))
    assert attempts(svc) == [(2, day, DECLINED, ZERO, CHF("113.51")) for day in _days(D(2026, 2, 14), D(2026, 2, 28))]
    assert set(RenewalAttempt.objects.filter(service=svc).values_list("invoice", flat=True)) == {warranty.pk}
    assert invoices(svc) == [(1, "renewal", 2, "open", CHF("113.51"), ZERO, D(2026, 2, 14))]


def test_ren2_rw3_a_card_replaced_on_e_minus_1_pays_the_warranty_invoice_on_e() -> None:
    # given: renewed under the warranty on E - 2; the customer replaces the card on E - 1 afternoon
    legal, svc = _protected()
    live(D(2026, 2, 13), D(2026, 2, 27))
    _new_card(legal, at(D(2026, 2, 27), hour=15))

    # when
    live(D(2026, 2, 28), D(2026, 3, 17))

    # then: E's attempt pays the warranty's invoice: a normal paid Service again, term 3 debited on
    # its own E - 14 (17 March)
    assert attempts(svc)[-2:] == [
        (2, D(2026, 2, 28), OK, ZERO, CHF("113.51")),
        (3, D(2026, 3, 17), OK, ZERO, CHF("113.51")),
    ]
    assert state(svc) == ("active", 3, D(2026, 4, 30), "", None, None)
    assert [row[3] for row in invoices(svc)] == ["paid", "paid"]


def test_ren8_a_warranty_charge_of_unknown_outcome_on_e_is_looked_up_before_the_next_charge() -> None:
    # given: renewed under the warranty; on E the new card's charge times out (settled as paid on lookup)
    legal, svc = _protected()
    live(D(2026, 2, 13), D(2026, 2, 27))
    _new_card(legal, at(D(2026, 2, 27), hour=15), number="4000000000000119")

    # when
    live(D(2026, 2, 28), D(2026, 3, 2))

    # then: the next day's run looks it up by its key and books it on the warranty's invoice; the
    # warranty is settled without a second charge
    assert attempts(svc)[-1] == (2, D(2026, 2, 28), "reconciled", ZERO, CHF("113.51"))
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert invoices(svc) == [(1, "renewal", 2, "paid", CHF("113.51"), CHF("113.51"), D(2026, 2, 14))]


# --- item 2: paying the warranty's invoice reactivates (RW-3 Decision) -------------------------


def _pay_warranty(legal, svc: Service, door: str, when: dt.datetime) -> Invoice:  # noqa: ANN001
    card = _new_card(legal, when)
    warranty = Invoice.objects.get(pk=Service.objects.get(pk=svc.pk).warranty_invoice_id)
    if door == "renew_now":
        return service_renew_now(service=svc, user=legal.user, prepaid_amount=ZERO, means=card, now=when)
    invoice_pay(invoice=warranty, user=legal.user, prepaid_amount=ZERO, means=card, now=when)
    warranty.refresh_from_db()
    return warranty


@pytest.mark.parametrize("door", ["renew_now", "invoice_page"])
def test_rw3_a_monthly_warranty_invoice_paid_after_the_suspension_reactivates(door: str) -> None:
    # given: monthly, E = 28 February, suspended on E + 49 = 18 April (term 3, due 31 March, unpaid too)
    legal, svc = _protected()
    live(D(2026, 2, 13), D(2026, 4, 19))
    assert state(svc) == ("suspended", 2, D(2026, 3, 31), "warranty_unpaid", D(2026, 4, 29), D(2026, 4, 18))
    warranty = Invoice.objects.get(service=svc, term=2)

    # when: the customer pays the warranty's invoice on 20 April
    when = at(D(2026, 4, 20), hour=10)
    paid = _pay_warranty(legal, svc, door, when)

    # then: it works again at once (RW-3), the warranty settled
    assert (paid, paid.status) == (warranty, "paid")
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert svc.warranty_invoice is None
    assert AuditEvent.objects.filter(action="service.reactivated").values_list("rule", flat=True).get() == "RW-3"

    # and term 3 runs its own course from its own E (31 March, REN-3, REN-4): unpaid, the next run
    # suspends it and, its 14 grace days over (14 April), terminates it, naming term 3's invoice
    live(D(2026, 4, 21), D(2026, 4, 30))
    svc.refresh_from_db()
    assert (svc.status, svc.termination_reason, svc.terminated_at) == ("terminated", "Renewal unpaid",
                                                                       at(D(2026, 4, 21)))
    terminated = AuditEvent.objects.get(action="service.terminated")
    assert (terminated.rule, terminated.after["unpaid_invoice"]) == ("REN-4", 2)
    assert [e.rule for e in AuditEvent.objects.filter(action="service.suspended").order_by("id")] == ["RW-3", "REN-3"]
    assert invoices(svc) == [
        (1, "renewal", 2, "paid", CHF("113.51"), CHF("113.51"), D(2026, 2, 14)),
        (2, "renewal", 3, "cancelled", CHF("113.51"), ZERO, D(2026, 3, 17)),
    ]
    assert not AuditEvent.objects.filter(action="service.terminated", rule="RW-3").exists()


def test_rw3_a_quarterly_warranty_invoice_paid_after_the_suspension_reactivates_and_the_next_term_renews() -> None:
    # given: quarterly (anchored 30 November 2025), E = 28 February, suspended on E + 49 = 18 April
    legal, svc = _protected("quarterly", "300.00", D(2025, 11, 30), D(2026, 2, 28))
    live(D(2026, 2, 13), D(2026, 4, 18))
    assert state(svc) == ("suspended", 2, D(2026, 5, 30), "warranty_unpaid", D(2026, 4, 29), D(2026, 4, 18))

    # when: paid on 25 April with a new card (now the default), through "renew now"
    _pay_warranty(legal, svc, "renew_now", at(D(2026, 4, 25), hour=10))
    live(D(2026, 4, 25), D(2026, 5, 17))

    # then: reactivated for its term (to 30 May); term 3 is debited on its own E - 14 and paid,
    # without the surcharge: the option ended with the suspension (RW-6)
    assert attempts(svc)[-1] == (3, D(2026, 5, 16), OK, ZERO, CHF("324.30"))
    assert state(svc) == ("active", 3, D(2026, 8, 30), "", None, None)
    assert [row[3] for row in invoices(svc)] == ["paid", "paid"]


def test_rw3_a_termination_names_the_warranty_invoice_left_unpaid() -> None:
    # given: the warranty's invoice is never paid
    _legal, svc = _protected()

    # when
    live(D(2026, 2, 13), D(2026, 4, 29))

    # then
    svc.refresh_from_db()
    assert (svc.status, svc.termination_reason) == ("terminated", "Renewal Warranty invoice unpaid")
    terminated = AuditEvent.objects.get(action="service.terminated")
    assert (terminated.rule, terminated.after["unpaid_invoice"]) == ("RW-3", 1)
    assert list(CreditNote.objects.values_list("invoice__number", flat=True)) == [2]  # term 3's, not the warranty's


# --- item 3: a default means added during a trial (REN-6, BIL-12) -------------------------------


def test_ren6_a_card_added_before_t_minus_14_to_a_trial_started_without_means_is_debited_from_t_minus_14() -> None:
    # given: a trial ending on T = 31 March, started without a means (so without automatic renewal)
    legal = customer(card=None)
    svc = _trial(legal, D(2026, 3, 31), auto_renew=False)

    # when: a card is added as the default on 1 March
    _new_card(legal, at(D(2026, 3, 1), hour=15))
    svc.refresh_from_db()
    live(D(2026, 3, 16), D(2026, 4, 1))

    # then: automatic renewal on (REN-6), paid on T - 14, the first paid term from T
    assert svc.auto_renew is True
    assert AuditEvent.objects.get(action="service.auto_renew_changed").rule == "REN-6"
    assert attempts(svc) == [(1, D(2026, 3, 17), OK, ZERO, CHF("108.10"))]
    assert state(svc) == ("active", 1, D(2026, 4, 30), "", None, None)


def test_ren6_a_declined_card_added_during_a_trial_is_attempted_every_day_to_t_then_the_trial_lapses() -> None:
    legal = customer(card=None)
    svc = _trial(legal, D(2026, 3, 31), auto_renew=False)
    _new_card(legal, at(D(2026, 3, 1), hour=15), number=CARD_DECLINED)

    live(D(2026, 3, 16), D(2026, 4, 1))

    assert attempts(svc) == [(1, day, DECLINED, ZERO, CHF("108.10")) for day in _days(D(2026, 3, 17), D(2026, 3, 31))]
    assert state(svc) == ("suspended", 0, None, "trial_lapsed", D(2026, 4, 14), None)


def test_ren6_a_customer_who_switched_auto_renewal_off_during_the_trial_is_not_switched_on_by_a_new_card() -> None:
    # given: a trial with a card, automatic renewal switched off by the customer on 1 March
    legal = customer()
    svc = _trial(legal, D(2026, 3, 31))
    service_set_auto_renew(service=svc, user=legal.user, enabled=False, now=at(D(2026, 3, 1), hour=9))
    before = AuditEvent.objects.filter(action="service.auto_renew_changed").count()

    # when: a new default card on 2 March
    _new_card(legal, at(D(2026, 3, 2), hour=9), number="5555555555554444")
    live(D(2026, 3, 16), D(2026, 4, 1))

    # then: nothing switched on, no attempt, the trial lapses at T
    svc.refresh_from_db()
    assert (svc.auto_renew, svc.auto_renew_off_by_customer) == (False, True)
    assert AuditEvent.objects.filter(action="service.auto_renew_changed").count() == before == 1
    assert attempts(svc) == []
    assert state(svc)[:4] == ("suspended", 0, None, "trial_lapsed")


def test_ren6_switching_off_an_automatic_renewal_already_off_keeps_it_off_when_a_card_is_added() -> None:
    legal = customer(card=None)
    svc = _trial(legal, D(2026, 3, 31), auto_renew=False)
    service_set_auto_renew(service=svc, user=legal.user, enabled=False, now=at(D(2026, 3, 1), hour=9))

    _new_card(legal, at(D(2026, 3, 2), hour=9))

    svc.refresh_from_db()
    assert (svc.auto_renew, svc.auto_renew_off_by_customer) == (False, True)


def test_ren6_a_card_added_without_making_it_the_default_changes_nothing() -> None:
    legal = customer(card=None)
    svc = _trial(legal, D(2026, 3, 31), auto_renew=False)
    before = snapshot()

    _new_card(legal, at(D(2026, 3, 2), hour=9), default=False)

    svc.refresh_from_db()
    assert svc.auto_renew is False
    after = snapshot()
    assert after["services"] == before["services"]
    assert [row[1] for row in after["audit"][len(before["audit"]):]] == ["payment_means.added"]


def test_ren6_other_organizations_trials_are_left_alone() -> None:
    mine, theirs = customer(card=None), customer(card=None)
    other = _trial(theirs, D(2026, 3, 31), auto_renew=False)

    _new_card(mine, at(D(2026, 3, 2), hour=9))

    other.refresh_from_db()
    assert other.auto_renew is False
