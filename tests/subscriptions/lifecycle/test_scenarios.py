"""Whole lives of Services through the daily run (SPEC §3: REN-1…REN-8, RW-1…RW-6, PRE-5, BIL-1,
TIME-3), day by day at 02:00 Zurich with time travel. Every figure is exact: CHF, VAT 8.1% (CH)."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.gateway import ChargeResult
from billing.gateways.sandbox import SandboxGateway
from billing.models import CreditNote, Invoice, LedgerEntry, Payment, PrepaidAccount
from billing.services.means import means_add_card
from billing.services.payments import bank_transfer_record
from core.errors import RuleViolation
from notifications.models import Notification
from sandbox.models import GatewayCharge
from subscriptions.models import RenewalAttempt, Service
from subscriptions.services.lifecycle import service_decline_renewal, service_renew_now
from subscriptions.services.orders import trial_convert
from tests.factories import UserFactory
from tests.subscriptions.lifecycle.helpers import (
    CARD_DECLINED,
    CARD_OK,
    CARD_UNKNOWN,
    at,
    attempts,
    customer,
    invoices,
    ledger,
    live,
    live_twice,
    notices,
    service,
    snapshot,
    state,
)

pytestmark = pytest.mark.django_db

D = dt.date
CHF = Decimal
OK, DECLINED, NO_MEANS = "succeeded", "declined", "no_means"
ZERO = CHF("0.00")


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _replace_card(legal, when: dt.datetime, number: str = CARD_OK) -> None:  # noqa: ANN001
    means_add_card(organization=legal.organization, user=legal.user, number=number, exp_month=12, exp_year=2035,
                   cvc="123", make_default=True, now=when)


def _lines(invoice: Invoice) -> list[tuple[str, Decimal, Decimal, Decimal, dt.date | None, dt.date | None]]:
    return [
        (line.description, line.unit_price_excl_vat, line.vat_amount, line.amount_incl_vat, line.period_start,
         line.period_end)
        for line in invoice.lines.order_by("position")
    ]


# --- (a) (b) automatic renewal paid on the first attempt (REN-1, BIL-1, TIME-3) ---------------


def test_ren1_time3_monthly_auto_renewal_paid_on_e_minus_14_then_the_next_term() -> None:
    # given: monthly at CHF 100.00, anchored on 31 January, E = 28 February, a good card
    legal = customer()
    svc = service(legal)

    # when: lived from 1 February to 31 March
    live(D(2026, 2, 1), D(2026, 3, 31))

    # then: one attempt per term, each on E - 14 (14 Feb for E = 28 Feb; 17 Mar for E = 31 Mar)
    assert attempts(svc) == [
        (2, D(2026, 2, 14), OK, ZERO, CHF("108.10")),
        (3, D(2026, 3, 17), OK, ZERO, CHF("108.10")),
    ]
    # each term ends on anchor + k months: 31 Jan -> 28 Feb -> 31 Mar -> 30 Apr
    assert state(svc) == ("active", 3, D(2026, 4, 30), "", None, None)
    assert invoices(svc) == [
        (1, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 2, 14)),
        (2, "renewal", 3, "paid", CHF("108.10"), CHF("108.10"), D(2026, 3, 17)),
    ]
    second, third = Invoice.objects.filter(service=svc).order_by("number")
    assert _lines(second) == [
        ("Jelastic Cloud · " + svc.plan.name + " (monthly)", CHF("100.00"), CHF("8.10"), CHF("108.10"),
         D(2026, 2, 28), D(2026, 3, 31)),
    ]
    assert (second.due_date, third.due_date, third.total_vat) == (D(2026, 2, 28), D(2026, 3, 31), CHF("8.10"))
    payments = list(Payment.objects.filter(invoice__service=svc).order_by("pk").values_list("kind", "amount",
                                                                                            "idempotency_key"))
    assert payments == [
        ("card", CHF("108.10"), f"renewal:{svc.pk}:term:2:day:2026-02-14"),
        ("card", CHF("108.10"), f"renewal:{svc.pk}:term:3:day:2026-03-17"),
    ]
    assert GatewayCharge.objects.filter(outcome="succeeded").count() == 2
    assert ledger(legal) == []
    assert notices(svc) == {("renewal_paid", "email"): 2, ("renewal_paid", "inbox"): 2}


def test_ren1_time3_annual_auto_renewal_paid_on_e_minus_14_then_the_next_year() -> None:
    # given: annual at CHF 1200.00, anchored on 29 February 2024 (TIME-3: then 28 Feb, never drifting)
    legal = customer()
    svc = service(legal, period="annual", price="1200.00", anchor=D(2024, 2, 29), expires=D(2027, 2, 28), term=3)

    # when: around the two next first attempts (nothing is due in between)
    live(D(2027, 2, 12), D(2027, 3, 1))
    after_first = state(svc)
    live(D(2028, 2, 13), D(2028, 2, 16))

    # then: E - 14 = 14 Feb 2027 and 15 Feb 2028 (2028 is a leap year: E = 29 Feb 2028)
    assert after_first == ("active", 4, D(2028, 2, 29), "", None, None)
    assert attempts(svc) == [
        (4, D(2027, 2, 14), OK, ZERO, CHF("1297.20")),
        (5, D(2028, 2, 15), OK, ZERO, CHF("1297.20")),
    ]
    assert state(svc) == ("active", 5, D(2029, 2, 28), "", None, None)
    assert invoices(svc) == [
        (1, "renewal", 4, "paid", CHF("1297.20"), CHF("1297.20"), D(2027, 2, 14)),
        (2, "renewal", 5, "paid", CHF("1297.20"), CHF("1297.20"), D(2028, 2, 15)),
    ]
    assert _lines(Invoice.objects.get(number=2))[0][1:] == (
        CHF("1200.00"), CHF("97.20"), CHF("1297.20"), D(2028, 2, 29), D(2029, 2, 28))
    assert notices(svc) == {("renewal_paid", "email"): 2, ("renewal_paid", "inbox"): 2}


def test_bil1_the_renewal_uses_the_price_in_force_on_the_day_of_the_attempt() -> None:
    # given: a new price from 14 February (the attempt day), another from 15 February
    legal = customer()
    svc = service(legal)
    svc.plan.prices.create(currency="CHF", amount=CHF("120.00"), valid_from=D(2026, 2, 14))
    svc.plan.prices.create(currency="CHF", amount=CHF("150.00"), valid_from=D(2026, 2, 15))

    live(D(2026, 2, 13), D(2026, 2, 15))

    assert invoices(svc) == [(1, "renewal", 2, "paid", CHF("129.72"), CHF("129.72"), D(2026, 2, 14))]


# --- (c) declined card, then a new card (REN-2) -----------------------------------------------


def test_ren2_a_declined_card_is_retried_daily_with_one_email_per_failure_until_a_new_card_pays() -> None:
    # given: the default card is declined
    legal = customer(card=CARD_DECLINED)
    svc = service(legal)

    # when: attempts from E - 14 (14 Feb) to E - 6 (22 Feb) fail; the customer replaces the card on
    # 22 February in the afternoon; the attempt of E - 5 (23 Feb) pays
    live(D(2026, 2, 13), D(2026, 2, 22))
    _replace_card(legal, at(D(2026, 2, 22), hour=15))
    live(D(2026, 2, 23), D(2026, 3, 2))

    # then
    failed = [(2, day, DECLINED, ZERO, CHF("108.10")) for day in _days(D(2026, 2, 14), D(2026, 2, 22))]
    assert attempts(svc) == [*failed, (2, D(2026, 2, 23), OK, ZERO, CHF("108.10"))]
    assert set(RenewalAttempt.objects.filter(outcome=DECLINED).values_list("reason", flat=True)) == {"card_declined"}
    # one invoice for the term, issued on the first attempt and paid on the last
    assert invoices(svc) == [(1, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 2, 14))]
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert notices(svc) == {
        ("renewal_attempt_failed", "email"): 9,
        ("renewal_attempt_failed", "inbox"): 9,
        ("renewal_paid", "email"): 1,
        ("renewal_paid", "inbox"): 1,
    }
    assert Payment.objects.filter(invoice__service=svc).count() == 1
    assert list(GatewayCharge.objects.order_by("created_at").values_list("outcome", flat=True)) == [
        "declined"
    ] * 9 + ["succeeded"]


# --- (d) never paid: suspended on E, terminated after the grace days (REN-3, REN-4) -----------


def test_ren3_ren4_never_paid_suspended_on_e_and_terminated_after_grace_days_with_the_invoice_cancelled() -> None:
    # given: no means of payment at all; Jelastic Cloud's grace days: 14 (seeded catalog)
    legal = customer(card=None)
    svc = service(legal)
    assert svc.plan.service_type.grace_days == 14

    # when: lived to E + 14 = 14 March (and one more day)
    live(D(2026, 2, 13), D(2026, 2, 27))
    before_e = state(svc)
    live(D(2026, 2, 28))
    on_e = state(svc)
    live(D(2026, 3, 1), D(2026, 3, 13))
    before_end = state(svc)
    live(D(2026, 3, 14), D(2026, 3, 15))

    # then: an attempt "no valid means" every day from E - 14 to E, each told once
    assert attempts(svc) == [(2, day, NO_MEANS, ZERO, ZERO) for day in _days(D(2026, 2, 14), D(2026, 2, 28))]
    assert before_e == ("active", 1, D(2026, 2, 28), "", None, None)
    assert on_e == ("suspended", 1, D(2026, 2, 28), "unpaid", D(2026, 3, 14), None)
    assert before_end == on_e
    svc.refresh_from_db()
    assert (svc.status, svc.terminated_at, svc.data_deleted_at, svc.termination_reason) == (
        "terminated", at(D(2026, 3, 14)), at(D(2026, 3, 14)), "Renewal unpaid")
    assert svc.suspended_at == at(D(2026, 2, 28))
    # the renewal invoice of a term never provided is cancelled by a credit note (BIL-6)
    assert invoices(svc) == [(1, "renewal", 2, "cancelled", CHF("108.10"), ZERO, D(2026, 2, 14))]
    note = CreditNote.objects.get()
    assert (note.number, note.invoice.number, note.amount, note.issued_at) == (
        2, 1, CHF("108.10"), at(D(2026, 3, 14)))
    assert notices(svc) == {
        ("renewal_attempt_failed", "email"): 15,
        ("renewal_attempt_failed", "inbox"): 15,
        ("service_suspended", "email"): 1,
        ("service_suspended", "inbox"): 1,
        ("service_terminated", "email"): 1,
        ("service_terminated", "inbox"): 1,
    }
    assert AuditEvent.objects.filter(action="service.data_deleted", rule="SC 8.3").count() == 1
    assert AuditEvent.objects.get(action="service.terminated").rule == "REN-4"


def test_ren3_paying_the_open_renewal_invoice_while_suspended_reactivates_at_once_on_the_anchor_term() -> None:
    # given: suspended on E = 28 February for lack of a means
    legal = customer(card=None)
    svc = service(legal)
    live(D(2026, 2, 13), D(2026, 3, 4))
    assert state(svc) == ("suspended", 1, D(2026, 2, 28), "unpaid", D(2026, 3, 14), None)
    invoice = Invoice.objects.get(service=svc)

    # when: staff record the customer's bank transfer on 5 March at 10:00
    paid_at = at(D(2026, 3, 5), hour=10)
    bank_transfer_record(invoice=invoice, amount=CHF("108.10"), reference="QR-1", staff_user=UserFactory(is_staff=True),
                         now=paid_at)

    # then: active again at once; term 2 still ends on anchor + 2 months = 31 March (not 5 April)
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert svc.suspended_at is None
    assert notices(svc)[("service_reactivated", "email")] == 1
    assert AuditEvent.objects.get(action="service.reactivated").rule == "REN-3"

    # and the daily run leaves it alone past its old termination date; the next term is billed
    # as usual from E - 14 = 17 March (still no card: "no valid means")
    live(D(2026, 3, 5), D(2026, 3, 17))
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert attempts(svc)[-1] == (3, D(2026, 3, 17), NO_MEANS, ZERO, ZERO)
    assert invoices(svc) == [
        (1, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 2, 14)),
        (2, "renewal", 3, "open", CHF("108.10"), ZERO, D(2026, 3, 17)),
    ]


# --- (e) the Prepaid Account first (PRE-5) ----------------------------------------------------


def test_pre5_a_balance_covering_everything_pays_without_a_card() -> None:
    # given: 250.00 on the Prepaid Account and no card (a covering balance is a valid means)
    legal = customer(card=None, balance="250.00")
    svc = service(legal)

    live(D(2026, 2, 13), D(2026, 3, 17))

    assert attempts(svc) == [
        (2, D(2026, 2, 14), OK, CHF("108.10"), ZERO),
        (3, D(2026, 3, 17), OK, CHF("108.10"), ZERO),
    ]
    assert ledger(legal) == [
        ("top_up", CHF("250.00"), CHF("250.00")),
        ("invoice_payment", CHF("-108.10"), CHF("141.90")),
        ("invoice_payment", CHF("-108.10"), CHF("33.80")),
    ]
    assert [e.invoice.number for e in LedgerEntry.objects.filter(kind="invoice_payment").order_by("id")] == [1, 2]
    assert list(Payment.objects.filter(invoice__service=svc).values_list("kind", "amount")) == [
        ("prepaid", CHF("108.10")), ("prepaid", CHF("108.10"))]
    assert GatewayCharge.objects.count() == 0
    assert state(svc) == ("active", 3, D(2026, 4, 30), "", None, None)

    # the third term: 33.80 left does not cover 108.10 and there is no card: nothing is taken
    live(D(2026, 4, 16))
    assert attempts(svc)[-1] == (4, D(2026, 4, 16), NO_MEANS, ZERO, ZERO)
    assert ledger(legal)[-1] == ("invoice_payment", CHF("-108.10"), CHF("33.80"))


def test_pre5_a_balance_covering_part_pays_first_and_the_card_the_rest() -> None:
    legal = customer(balance="50.00")
    svc = service(legal)

    live(D(2026, 2, 13), D(2026, 2, 15))

    assert attempts(svc) == [(2, D(2026, 2, 14), OK, CHF("50.00"), CHF("58.10"))]
    assert ledger(legal) == [
        ("top_up", CHF("50.00"), CHF("50.00")),
        ("invoice_payment", CHF("-50.00"), ZERO),
    ]
    assert sorted(Payment.objects.filter(invoice__service=svc).values_list("kind", "amount")) == [
        ("card", CHF("58.10")), ("prepaid", CHF("50.00"))]
    assert GatewayCharge.objects.get().amount == CHF("58.10")
    assert invoices(svc) == [(1, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 2, 14))]


def test_pre5_a_declined_card_consumes_no_balance_both_or_neither() -> None:
    # given: 50.00 on the account, the card declined
    legal = customer(card=CARD_DECLINED, balance="50.00")
    svc = service(legal)

    live(D(2026, 2, 13), D(2026, 2, 16))

    # then: each attempt planned 50.00 + 58.10; the card failed, so none of the balance was taken
    assert attempts(svc) == [(2, day, DECLINED, ZERO, CHF("58.10")) for day in _days(D(2026, 2, 14), D(2026, 2, 16))]
    assert ledger(legal) == [("top_up", CHF("50.00"), CHF("50.00"))]
    assert PrepaidAccount.objects.get(organization=legal.organization).balance == CHF("50.00")
    assert Payment.objects.filter(invoice__service=svc).count() == 0
    assert invoices(svc) == [(1, "renewal", 2, "open", CHF("108.10"), ZERO, D(2026, 2, 14))]


# --- (f) trials (REN-6) -----------------------------------------------------------------------


def test_ren6_a_trial_with_a_card_is_converted_by_the_debit_on_t_minus_14_and_paid_from_t() -> None:
    # given: a Jelastic trial ending on T = 31 March, a good card
    legal = customer()
    svc = service(legal, anchor=None, expires=None, term=0, status="trial", trial_ends_on=D(2026, 3, 31),
                  activated_at=None)

    # when
    live(D(2026, 3, 16), D(2026, 4, 16))

    # then: paid on T - 14; the first paid term runs from T (31 March) to 30 April; the next
    # attempt is on E - 14 = 16 April
    assert attempts(svc) == [
        (1, D(2026, 3, 17), OK, ZERO, CHF("108.10")),
        (2, D(2026, 4, 16), OK, ZERO, CHF("108.10")),
    ]
    svc.refresh_from_db()
    assert (svc.status, svc.anchor_date, svc.term, svc.expires_on, svc.activated_at) == (
        "active", D(2026, 3, 31), 2, D(2026, 5, 31), at(D(2026, 3, 17)))
    first = Invoice.objects.get(service=svc, term=1)
    assert _lines(first)[0][4:] == (D(2026, 3, 31), D(2026, 4, 30))
    assert invoices(svc) == [
        (1, "renewal", 1, "paid", CHF("108.10"), CHF("108.10"), D(2026, 3, 17)),
        (2, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 4, 16)),
    ]
    assert AuditEvent.objects.filter(action="service.renewed", rule="REN-6").count() == 1
    assert notices(svc) == {("renewal_paid", "email"): 2, ("renewal_paid", "inbox"): 2}


def test_ren6_a_trial_without_means_lapses_at_t_then_is_terminated_after_grace_days() -> None:
    # given: a trial ending on T = 31 March, no means (so no automatic renewal, BIL-12)
    legal = customer(card=None)
    svc = service(legal, anchor=None, expires=None, term=0, status="trial", trial_ends_on=D(2026, 3, 31),
                  activated_at=None, auto_renew=False)

    live(D(2026, 3, 16), D(2026, 3, 30))
    before_t = state(svc)
    live(D(2026, 3, 31))
    on_t = state(svc)
    live(D(2026, 4, 1), D(2026, 4, 13))
    before_end = state(svc)
    live(D(2026, 4, 14), D(2026, 4, 15))

    assert before_t == ("trial", 0, None, "", None, None)
    assert on_t == ("suspended", 0, None, "trial_lapsed", D(2026, 4, 14), None)  # T + 14 grace days
    assert before_end == on_t
    assert state(svc) == ("terminated", 0, None, "trial_lapsed", None, None)
    svc.refresh_from_db()
    assert (svc.terminated_at, svc.data_deleted_at) == (at(D(2026, 4, 14)), at(D(2026, 4, 14)))
    assert attempts(svc) == []
    assert invoices(svc) == []
    assert notices(svc) == {
        ("service_suspended", "email"): 1,
        ("service_suspended", "inbox"): 1,
        ("service_terminated", "email"): 1,
        ("service_terminated", "inbox"): 1,
    }
    assert AuditEvent.objects.get(action="service.suspended").rule == "REN-6"


# --- (g) Renewal Warranty (RW-2, RW-3, RW-4, RW-5, RW-6) --------------------------------------

EVERY_CHANNEL = {"email": 2, "sms": 1, "phone": 2, "letter": 1, "inbox": 1}  # RW-5: every address on file
# RW-5: during the warranty period, also the Legal Responsible's login e-mail
ESCALATION = EVERY_CHANNEL | {"email": 3}


def _protected(period: str, price: str, anchor: dt.date, expires: dt.date):  # noqa: ANN202
    """Web hosting (RW-1 eligible) with the Renewal Warranty on, a declined card, and every contact
    channel on file: login and secondary e-mail, mobile, landline, postal address."""
    legal = customer(card=CARD_DECLINED)
    organization = legal.organization
    organization.secondary_email, organization.landline = "second@example.com", "+41221234567"
    organization.save(update_fields=["secondary_email", "landline"])
    svc = service(legal, type_slug="web-hosting", period=period, price=price, anchor=anchor, expires=expires,
                  renewal_warranty=True)
    return legal, svc


def _by_channel(svc: Service, template: str) -> dict[str, int]:
    return {channel: n for (name, channel), n in notices(svc).items() if name == template}


def test_rw3_rw5_monthly_warranty_renews_on_e_minus_2_works_to_e_plus_49_then_suspended_and_terminated() -> None:
    # given: monthly web hosting at CHF 100.00, E = 28 February, the card always declined
    legal, svc = _protected("monthly", "100.00", D(2026, 1, 31), D(2026, 2, 28))

    # when: E - 2 = 26 February
    live(D(2026, 2, 13), D(2026, 2, 25))
    before = state(svc)
    live(D(2026, 2, 26))

    # then: renewed by the provider for term 2 with an open invoice with the 5% surcharge (RW-2)
    assert before == ("active", 1, D(2026, 2, 28), "", None, None)
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, D(2026, 4, 18))  # E + 49
    warranty = Invoice.objects.get(service=svc, term=2)
    assert svc.warranty_invoice == warranty
    assert (warranty.number, warranty.status, warranty.total_excl_vat, warranty.total_vat, warranty.total_incl_vat) == (
        1, "open", CHF("105.00"), CHF("8.51"), CHF("113.51"))
    assert [line[:4] for line in _lines(warranty)] == [
        (f"Web hosting · {svc.plan.name} (monthly)", CHF("100.00"), CHF("8.10"), CHF("108.10")),
        ("Renewal Warranty (5%)", CHF("5.00"), CHF("0.41"), CHF("5.41")),
    ]
    assert _by_channel(svc, "warranty_renewed") == ESCALATION
    assert AuditEvent.objects.get(action="service.warranty_renewed").rule == "RW-3"

    # when: lived on; normal billing of term 3 goes on from 17 March (RW-4: two invoices open)
    live(D(2026, 2, 27), D(2026, 4, 10))
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, D(2026, 4, 18))
    live(D(2026, 4, 11))
    assert _by_channel(svc, "warranty_final_notice") == ESCALATION  # E + 49 - 7
    live(D(2026, 4, 12), D(2026, 4, 17))
    assert state(svc)[0] == "active"  # still working on E + 48
    live(D(2026, 4, 18))
    on_end = state(svc)
    live(D(2026, 4, 19), D(2026, 4, 28))
    before_end = state(svc)
    live(D(2026, 4, 29), D(2026, 4, 30))

    # then: suspended on E + 49, terminated 11 days later (RW-3), the option ended (RW-6)
    assert on_end == ("suspended", 2, D(2026, 3, 31), "warranty_unpaid", D(2026, 4, 29), D(2026, 4, 18))
    assert before_end == on_end
    svc.refresh_from_db()
    assert (svc.status, svc.renewal_warranty, svc.data_deleted_at, svc.termination_reason) == (
        "terminated", False, at(D(2026, 4, 29)), "Renewal Warranty invoice unpaid")
    # REN-2: the warranty term's invoice is debited up to and including E (28 February)
    term_2 = [(2, day, DECLINED, ZERO, CHF("113.51")) for day in _days(D(2026, 2, 14), D(2026, 2, 28))]
    term_3 = [(3, day, DECLINED, ZERO, CHF("113.51")) for day in _days(D(2026, 3, 17), D(2026, 3, 31))]
    assert attempts(svc) == term_2 + term_3
    # the warranty's invoice stays due (the Service worked in that term); term 3's is cancelled
    assert invoices(svc) == [
        (1, "renewal", 2, "open", CHF("113.51"), ZERO, D(2026, 2, 14)),
        (2, "renewal", 3, "cancelled", CHF("113.51"), ZERO, D(2026, 3, 17)),
    ]
    assert list(CreditNote.objects.values_list("number", "invoice__number", "amount")) == [(3, 2, CHF("113.51"))]
    assert _by_channel(svc, "service_suspended") == EVERY_CHANNEL
    assert _by_channel(svc, "service_terminated") == {"email": 1, "inbox": 1}
    assert _by_channel(svc, "renewal_attempt_failed") == {"email": 30, "inbox": 30}
    assert [e.rule for e in AuditEvent.objects.filter(action__in=["service.suspended", "service.terminated"])
            .order_by("id")] == ["RW-3", "RW-3"]


def test_rw3_annual_warranty_works_to_e_plus_220_then_30_days_to_pay() -> None:
    # given: annual web hosting at CHF 1200.00, E = 31 January 2027
    legal, svc = _protected("annual", "1200.00", D(2026, 1, 31), D(2027, 1, 31))

    # when: E - 2 = 29 January 2027 (nothing else is due until the warranty's end)
    live(D(2027, 1, 16), D(2027, 2, 1))

    # then: renewed to 31 January 2028, working until E + 220 = 8 September 2027
    assert state(svc) == ("active", 2, D(2028, 1, 31), "", None, D(2027, 9, 8))
    warranty = Invoice.objects.get(service=svc, term=2)
    assert (warranty.total_excl_vat, warranty.total_vat, warranty.total_incl_vat, warranty.status) == (
        CHF("1260.00"), CHF("102.06"), CHF("1362.06"), "open")
    assert attempts(svc) == [(2, day, DECLINED, ZERO, CHF("1362.06")) for day in _days(D(2027, 1, 17), D(2027, 1, 31))]
    assert _by_channel(svc, "warranty_renewed") == ESCALATION

    live(D(2027, 8, 31), D(2027, 9, 7))
    assert _by_channel(svc, "warranty_final_notice") == ESCALATION  # 1 September
    assert state(svc)[0] == "active"
    live(D(2027, 9, 8))
    assert state(svc) == ("suspended", 2, D(2028, 1, 31), "warranty_unpaid", D(2027, 10, 8), D(2027, 9, 8))
    live(D(2027, 10, 7))
    assert state(svc)[0] == "suspended"
    live(D(2027, 10, 8))
    assert state(svc)[0] == "terminated"
    assert invoices(svc) == [(1, "renewal", 2, "open", CHF("1362.06"), ZERO, D(2027, 1, 17))]


def test_rw3_paying_during_the_warranty_makes_the_service_a_normal_paid_one_again() -> None:
    # given: renewed under the warranty on 26 February
    legal, svc = _protected("monthly", "100.00", D(2026, 1, 31), D(2026, 2, 28))
    live(D(2026, 2, 13), D(2026, 3, 9))
    warranty = Invoice.objects.get(service=svc, term=2)

    # when: on 10 March the customer adds a good card and pays ("renew now" pays the warranty's invoice first)
    when = at(D(2026, 3, 10), hour=11)
    _replace_card(legal, when)
    paid = service_renew_now(service=svc, user=legal.user, prepaid_amount=ZERO,
                             means=legal.organization.means.get(is_default=True, revoked_at__isnull=True), now=when)

    # then
    assert paid == warranty
    assert (paid.status, paid.amount_paid) == ("paid", CHF("113.51"))
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert svc.warranty_invoice is None

    # and life goes on: term 3 debited on 17 March, term 4 on 16 April; never suspended
    live(D(2026, 3, 10), D(2026, 4, 30))
    assert state(svc) == ("active", 4, D(2026, 5, 31), "", None, None)
    assert attempts(svc)[-2:] == [
        (3, D(2026, 3, 17), OK, ZERO, CHF("113.51")),
        (4, D(2026, 4, 16), OK, ZERO, CHF("113.51")),
    ]
    assert "service_suspended" not in {name for name, _channel in notices(svc)}
    assert _by_channel(svc, "warranty_renewed") == ESCALATION  # only the one of February


# --- (h) manual renewal (REN-5) ----------------------------------------------------------------


def test_ren5_manual_renewal_invoice_on_e_minus_14_and_reminders_exactly_once_even_when_days_run_twice() -> None:
    # given: automatic renewal off; term 2 ends on E = 31 March
    legal = customer()
    svc = service(legal, term=2, expires=D(2026, 3, 31), auto_renew=False)

    # when: every day from 20 February to 30 March is run twice
    live_twice(D(2026, 2, 20), D(2026, 3, 30))

    # then: the invoice is issued on E - 14 = 17 March, due on E; reminders on E - 30 (1 Mar),
    # E - 14 (17 Mar), E - 7 (24 Mar) and E - 1 (30 Mar), one each; nothing is debited
    assert invoices(svc) == [(1, "renewal", 3, "open", CHF("108.10"), ZERO, D(2026, 3, 17))]
    assert Invoice.objects.get().due_date == D(2026, 3, 31)
    reminders = Notification.objects.filter(template="renewal_reminder", channel="email").order_by("id")
    assert [clock_day(n.created_at) for n in reminders] == [D(2026, 3, 1), D(2026, 3, 17), D(2026, 3, 24),
                                                             D(2026, 3, 30)]
    assert sorted(reminders.values_list("dedupe_key", flat=True)) == sorted(
        f"renewal-reminder:{svc.pk}:3:{days}" for days in (30, 14, 7, 1))
    assert notices(svc) == {("renewal_reminder", "email"): 4, ("renewal_reminder", "inbox"): 4}
    assert attempts(svc) == []
    assert GatewayCharge.objects.count() == 0

    # and unpaid at E it is suspended like any other (REN-3); paying it by hand reactivates it
    live(D(2026, 3, 31))
    assert state(svc) == ("suspended", 2, D(2026, 3, 31), "unpaid", D(2026, 4, 14), None)
    paid = service_renew_now(service=svc, user=legal.user, prepaid_amount=ZERO,
                             means=legal.organization.means.get(), now=at(D(2026, 4, 2), hour=9))
    assert (paid.number, paid.status) == (1, "paid")
    assert state(svc) == ("active", 3, D(2026, 4, 30), "", None, None)


def clock_day(instant: dt.datetime) -> dt.date:
    from core import clock

    return clock.business_date(instant)


# --- (i) "do not renew" (REN-5) ----------------------------------------------------------------


def test_ren5_do_not_renew_ends_the_service_at_e_without_attempt_invoice_or_reminder() -> None:
    # given: an auto-renewing Service whose customer asks on 10 February not to renew it
    legal = customer()
    svc = service(legal)
    service_decline_renewal(service=svc, user=legal.user, now=at(D(2026, 2, 10), hour=9))

    # when
    live(D(2026, 2, 10), D(2026, 2, 27))
    before_e = state(svc)
    live(D(2026, 2, 28), D(2026, 3, 16))

    # then: works to the end of its term, ends on E with its data; nothing billed
    assert before_e == ("active", 1, D(2026, 2, 28), "", None, None)
    svc.refresh_from_db()
    assert (svc.status, svc.terminated_at, svc.data_deleted_at, svc.termination_reason, svc.auto_renew) == (
        "terminated", at(D(2026, 2, 28)), at(D(2026, 2, 28)), "Not renewed, as the customer asked", False)
    assert attempts(svc) == []
    assert invoices(svc) == []
    assert notices(svc) == {("service_terminated", "email"): 1, ("service_terminated", "inbox"): 1}
    assert AuditEvent.objects.get(action="service.terminated").rule == "REN-5"


def test_ren5_do_not_renew_after_failed_attempts_cancels_the_open_invoice_and_stops_the_attempts() -> None:
    legal = customer(card=CARD_DECLINED)
    svc = service(legal)
    live(D(2026, 2, 13), D(2026, 2, 16))
    service_decline_renewal(service=svc, user=legal.user, now=at(D(2026, 2, 16), hour=9))
    live(D(2026, 2, 17), D(2026, 2, 28))

    assert attempts(svc) == [(2, day, DECLINED, ZERO, CHF("108.10")) for day in _days(D(2026, 2, 14), D(2026, 2, 16))]
    assert invoices(svc) == [(1, "renewal", 2, "cancelled", CHF("108.10"), ZERO, D(2026, 2, 14))]
    assert list(CreditNote.objects.values_list("number", "amount", "issued_at")) == [
        (2, CHF("108.10"), at(D(2026, 2, 16), hour=9))]
    assert state(svc)[0] == "terminated"


# --- (j) idempotency of the daily run (REN-8) ---------------------------------------------------


def test_ren8_running_any_day_twice_changes_nothing_the_second_time() -> None:
    # given: a population in every state the run touches, all with E = 28 February
    paid = service(customer())
    declined = service(customer(card=CARD_DECLINED))
    no_means = service(customer(card=None))
    prepaid = service(customer(card=None, balance="500.00"))
    mixed_declined = service(customer(card=CARD_DECLINED, balance="50.00"))
    manual = service(customer(), auto_renew=False)
    _legal, protected = _protected("monthly", "100.00", D(2026, 1, 31), D(2026, 2, 28))
    trial = service(customer(card=None), anchor=None, expires=None, term=0, status="trial",
                    trial_ends_on=D(2026, 2, 28), activated_at=None, auto_renew=False)
    trial_card = service(customer(), anchor=None, expires=None, term=0, status="trial", trial_ends_on=D(2026, 2, 28),
                         activated_at=None)
    leaving_legal = customer()
    leaving = service(leaving_legal)
    service_decline_renewal(service=leaving, user=leaving_legal.user, now=at(D(2026, 1, 20)))

    # when / then: from E - 30 to past the terminations, each day run twice
    for day in _days(D(2026, 1, 29), D(2026, 4, 20)):
        live(day)
        first = snapshot()
        live(day)
        assert snapshot() == first, day

    # and the lives went as expected
    assert [state(s)[0] for s in (paid, declined, no_means, prepaid, mixed_declined, manual, protected, trial,
                                  trial_card, leaving)] == [
        "active", "terminated", "terminated", "active", "terminated", "terminated", "suspended", "terminated",
        "active", "terminated"]
    assert RenewalAttempt.objects.filter(service=declined).count() == 15
    assert len(snapshot()["audit"]) == AuditEvent.objects.count()


def test_rw3_ren2_a_card_working_again_during_the_warranty_pays_the_warranty_invoice_first() -> None:
    # given: renewed under the warranty on 26 February (invoice 1, term 2, unpaid)
    legal, svc = _protected("monthly", "100.00", D(2026, 1, 31), D(2026, 2, 28))
    live(D(2026, 2, 13), D(2026, 3, 9))
    warranty = Invoice.objects.get(service=svc, term=2)

    # when: the customer only replaces the card (10 March) and lets the daily run collect
    _replace_card(legal, at(D(2026, 3, 10), hour=11))
    live(D(2026, 3, 10), D(2026, 5, 1))

    # then: 17 March collects the warranty's invoice (term 3's is issued all the same, RW-4);
    # 18 March term 3; 16 April term 4 — never suspended, the option still on
    assert attempts(svc)[-3:] == [
        (3, D(2026, 3, 17), OK, ZERO, CHF("113.51")),
        (3, D(2026, 3, 18), OK, ZERO, CHF("113.51")),
        (4, D(2026, 4, 16), OK, ZERO, CHF("113.51")),
    ]
    assert RenewalAttempt.objects.get(day=D(2026, 3, 17)).invoice == warranty
    assert invoices(svc) == [
        (1, "renewal", 2, "paid", CHF("113.51"), CHF("113.51"), D(2026, 2, 14)),
        (2, "renewal", 3, "paid", CHF("113.51"), CHF("113.51"), D(2026, 3, 17)),
        (3, "renewal", 4, "paid", CHF("113.51"), CHF("113.51"), D(2026, 4, 16)),
    ]
    assert state(svc) == ("active", 4, D(2026, 5, 31), "", None, None)
    assert svc.renewal_warranty is True
    assert "service_suspended" not in {name for name, _channel in notices(svc)}


def test_ren6_ren3_a_lapsed_trial_paid_by_hand_while_suspended_becomes_a_paid_service_from_t() -> None:
    # given: a trial ending on T = 31 March whose card is declined from T - 14 to T, then suspended
    legal = customer(card=CARD_DECLINED)
    svc = service(legal, anchor=None, expires=None, term=0, status="trial", trial_ends_on=D(2026, 3, 31),
                  activated_at=None)
    live(D(2026, 3, 16), D(2026, 4, 2))
    assert state(svc) == ("suspended", 0, None, "trial_lapsed", D(2026, 4, 14), None)
    assert attempts(svc) == [(1, day, DECLINED, ZERO, CHF("108.10")) for day in _days(D(2026, 3, 17), D(2026, 3, 31))]

    # when: on 3 April the customer pays the term-1 invoice with a new card
    when = at(D(2026, 4, 3), hour=10)
    _replace_card(legal, when)
    service_renew_now(service=svc, user=legal.user, prepaid_amount=ZERO,
                      means=legal.organization.means.get(is_default=True, revoked_at__isnull=True), now=when)

    # then: active at once, the first paid term from T; its activation time is the payment's (MB-2)
    svc.refresh_from_db()
    assert (svc.status, svc.anchor_date, svc.term, svc.expires_on, svc.activated_at) == (
        "active", D(2026, 3, 31), 1, D(2026, 4, 30), when)
    assert invoices(svc) == [(1, "renewal", 1, "paid", CHF("108.10"), CHF("108.10"), D(2026, 3, 17))]
    assert notices(svc)[("service_reactivated", "email")] == 1


# --- unknown outcomes (REN-8) ------------------------------------------------------------------


def test_ren8_an_unknown_outcome_on_day_e_is_looked_up_the_next_day_and_booked_without_a_new_charge() -> None:
    # given: declined until E - 1; on the evening of E - 1 the customer's new card times out at the
    # gateway (the sandbox settles it as paid on lookup)
    legal = customer(card=CARD_DECLINED)
    svc = service(legal)
    live(D(2026, 2, 13), D(2026, 2, 27))
    _replace_card(legal, at(D(2026, 2, 27), hour=15), number=CARD_UNKNOWN)

    # when: E = 28 February: the attempt's outcome is unknown, so the Service is not suspended
    live(D(2026, 2, 28))
    on_e = state(svc)
    live(D(2026, 3, 1), D(2026, 3, 16))

    # then: 1 March looks the charge up by its key and books it; no second charge, never suspended
    assert on_e == ("active", 1, D(2026, 2, 28), "", None, None)
    assert attempts(svc)[-1] == (2, D(2026, 2, 28), "reconciled", ZERO, CHF("108.10"))
    assert RenewalAttempt.objects.get(day=D(2026, 2, 28)).settled_at == at(D(2026, 3, 1))
    assert state(svc) == ("active", 2, D(2026, 3, 31), "", None, None)
    assert invoices(svc) == [(1, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 2, 14))]
    assert GatewayCharge.objects.filter(outcome="succeeded").count() == 1
    assert list(Payment.objects.filter(invoice__service=svc).values_list("amount", "status", "idempotency_key")) == [
        (CHF("108.10"), "succeeded", f"renewal:{svc.pk}:term:2:day:2026-02-28")]
    assert "service_suspended" not in {name for name, _channel in notices(svc)}


def test_ren8_ren3_an_unknown_outcome_on_day_e_found_declined_is_suspended_the_next_day(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(SandboxGateway, "lookup", lambda self, key: ChargeResult("declined", "card_declined"))
    legal = customer(card=CARD_UNKNOWN)
    svc = service(legal)  # E = 28 February
    live(D(2026, 2, 28))  # the only attempt lived, on E itself, ends unknown
    assert state(svc)[0] == "active"

    live(D(2026, 3, 1))

    assert attempts(svc) == [(2, D(2026, 2, 28), DECLINED, ZERO, CHF("108.10"))]
    assert state(svc) == ("suspended", 1, D(2026, 2, 28), "unpaid", D(2026, 3, 14), None)


def test_ren6_ren7_a_trial_whose_term_1_renewal_invoice_is_open_converts_by_paying_it_not_by_a_new_order() -> None:
    # given: a trial ending on T = 31 March; two declined attempts leave invoice 1 (term 1) open
    legal = customer(card=CARD_DECLINED)
    svc = service(legal, anchor=None, expires=None, term=0, status="trial", trial_ends_on=D(2026, 3, 31),
                  activated_at=None)
    live(D(2026, 3, 16), D(2026, 3, 18))
    when = at(D(2026, 3, 19), hour=10)
    _replace_card(legal, when)
    before = snapshot()

    # when: switching to paid with a new order is refused (it would leave invoice 1 open for ever)
    with pytest.raises(RuleViolation, match="Invoice 00000001 already waits for payment") as refused:
        trial_convert(service=svc, user=legal.user, now=when)
    assert refused.value.rule == "REN-7"
    assert snapshot() == before

    # and paying invoice 1 converts the trial: the first paid term starts on T
    service_renew_now(service=svc, user=legal.user, prepaid_amount=ZERO,
                      means=legal.organization.means.get(is_default=True, revoked_at__isnull=True), now=when)
    live(D(2026, 3, 19), D(2026, 4, 16))
    assert state(svc) == ("active", 2, D(2026, 5, 31), "", None, None)
    assert invoices(svc) == [
        (1, "renewal", 1, "paid", CHF("108.10"), CHF("108.10"), D(2026, 3, 17)),
        (2, "renewal", 2, "paid", CHF("108.10"), CHF("108.10"), D(2026, 4, 16)),
    ]
