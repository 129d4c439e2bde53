"""SPEC MB-1, MB-2, MB-3 (TCU Art. 7): the money-back guarantee — cancel and refund in one action."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from accounts.models import Membership
from audit.models import AuditEvent
from billing.gateway import get_gateway
from billing.models import CreditNote, Invoice, LedgerEntry, Payment, PaymentMeans, PrepaidAccount
from billing.services.payments import bank_transfer_record, invoice_pay
from core.errors import RuleViolation
from notifications.models import Notification
from sandbox.models import GatewayCharge
from subscriptions.models import MoneyBackRefund, Service
from subscriptions.services.moneyback import service_money_back
from subscriptions.services.orders import service_order
from tests.billing.factories import PlanFactory, PriceFactory, service_type
from tests.factories import UserFactory, member
from tests.subscriptions.lifecycle.helpers import customer, live

pytestmark = pytest.mark.django_db

ORDERED = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)  # 10 March 2026, 10:00 in Zurich: activation day
LATER = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)  # day 10


def _plan(slug: str = "jelastic-cloud") -> Any:
    plan = PlanFactory(service_type=service_type(slug), period="monthly")
    PriceFactory(plan=plan, amount=Decimal("100.00"), valid_from=dt.date(2025, 1, 1))
    return plan


def _card(legal: Membership) -> PaymentMeans:
    return PaymentMeans.objects.get(organization=legal.organization, kind="card")


def _ordered(legal: Membership, *, prepaid: str = "0", card: bool = True, when: dt.datetime = ORDERED,
             plan: Any = None) -> tuple[Service, Invoice]:
    """An order of CHF 100.00 + 8.1% VAT = 108.10, paid at `when` (the Service is activated then)."""
    service, invoice = service_order(organization=legal.organization, user=legal.user, plan=plan or _plan(), now=when)
    invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal(prepaid), means=_card(legal) if card else None,
                now=when)
    service.refresh_from_db()
    invoice.refresh_from_db()
    assert (service.status, service.activated_at, invoice.status) == ("active", when, "paid")
    return service, invoice


def _ledger(legal: Membership) -> list[tuple[str, Decimal, Decimal]]:
    return list(
        LedgerEntry.objects.filter(account__organization=legal.organization)
        .order_by("id")
        .values_list("kind", "amount", "balance_after")
    )


def _state() -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {
        "refunds": MoneyBackRefund.objects.count(),
        "ledger": list(LedgerEntry.objects.order_by("id").values_list("id", "amount")),
        "accounts": list(PrepaidAccount.objects.order_by("id").values_list("id", "balance")),
        "charges": list(GatewayCharge.objects.order_by("id").values_list("id", "outcome", "refunded_amount")),
        "services": list(Service.objects.order_by("id").values_list("id", "status", "data_deleted_at")),
        "invoices": list(Invoice.objects.order_by("id").values_list("id", "status", "amount_credited")),
        "credit_notes": CreditNote.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def _assert_terminated(service: Service, when: dt.datetime) -> None:
    service.refresh_from_db()
    assert (service.status, service.terminated_at, service.data_deleted_at, service.termination_reason) == (
        "terminated",
        when,
        when,
        "Cancelled under the money-back guarantee",
    )
    assert (service.auto_renew, service.terminates_on) == (False, None)


def _notices(service: Service) -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(related_id=str(service.pk), template="money_back_refunded").values_list(
            "template", "channel"
        )
    )


# --- refunds the way the order was paid (MB-3) ------------------------------------------------


def test_mb3_a_card_order_is_refunded_to_the_card_and_the_service_terminated() -> None:
    # given: the order paid by card on 10 March
    legal = customer()
    service, invoice = _ordered(legal)
    charge = GatewayCharge.objects.get(idempotency_key=Payment.objects.get(invoice=invoice).idempotency_key)

    # when: the customer asks on day 10
    refund = service_money_back(service=service, user=legal.user, client_address="203.0.113.5", now=LATER)

    # then: the charge is refunded in full at the gateway, nothing goes to the Prepaid Account
    charge.refresh_from_db()
    assert (charge.refunded_amount, charge.outcome) == (Decimal("108.10"), "refunded")
    assert (refund.service, refund.invoice, refund.amount, refund.currency, refund.destination) == (
        service,
        invoice,
        Decimal("108.10"),
        "CHF",
        "card",
    )
    assert (refund.card_amount, refund.prepaid_amount, refund.requested_by, refund.created_at) == (
        Decimal("108.10"),
        Decimal("0.00"),
        legal.user,
        LATER,
    )
    assert _ledger(legal) == []
    _assert_terminated(service, LATER)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))  # the invoice itself stands
    assert _notices(service) == [("money_back_refunded", "email"), ("money_back_refunded", "inbox")]
    assert "CHF 108.10 is refunded" in Notification.objects.get(template="money_back_refunded", channel="email").body
    event = AuditEvent.objects.get(action="service.money_back")
    assert (event.rule, event.actor_label, event.client_address, event.after["card"]) == (
        "MB-3",
        legal.user.email,
        "203.0.113.5",
        "108.10",
    )
    assert AuditEvent.objects.filter(action="service.terminated", rule="MB-2").count() == 1
    assert AuditEvent.objects.filter(action="payment.refunded", rule="MB-3").count() == 1


def test_mb3_pre2_an_order_paid_from_the_prepaid_account_is_credited_back() -> None:
    # given: 200.00 on the Prepaid Account pays the whole order
    legal = customer(card=None, balance="200.00")
    service, invoice = _ordered(legal, prepaid="108.10", card=False)

    # when
    refund = service_money_back(service=service, user=legal.user, now=LATER)

    # then
    assert (refund.destination, refund.card_amount, refund.prepaid_amount) == (
        "prepaid",
        Decimal("0.00"),
        Decimal("108.10"),
    )
    assert _ledger(legal) == [
        ("top_up", Decimal("200.00"), Decimal("200.00")),
        ("invoice_payment", Decimal("-108.10"), Decimal("91.90")),
        ("money_back", Decimal("108.10"), Decimal("200.00")),
    ]
    entry = LedgerEntry.objects.get(kind="money_back")
    assert (entry.invoice, entry.created_at) == (invoice, LATER)
    assert AuditEvent.objects.get(action="ledger_entry.money_back").rule == "MB-3"
    _assert_terminated(service, LATER)
    assert "credited to your Prepaid Account" in Notification.objects.get(
        template="money_back_refunded", channel="email"
    ).body


def test_mb3_a_mixed_payment_goes_back_part_to_the_card_part_to_the_prepaid_account() -> None:
    # given: 50.00 from the balance, 58.10 by card
    legal = customer(balance="50.00")
    service, invoice = _ordered(legal, prepaid="50.00")
    card_payment = Payment.objects.get(invoice=invoice, kind="card")
    assert card_payment.amount == Decimal("58.10")

    # when
    refund = service_money_back(service=service, user=legal.user, now=LATER)

    # then
    assert (refund.amount, refund.card_amount, refund.prepaid_amount, refund.destination) == (
        Decimal("108.10"),
        Decimal("58.10"),
        Decimal("50.00"),
        "card",
    )
    assert GatewayCharge.objects.get(idempotency_key=card_payment.idempotency_key).refunded_amount == Decimal("58.10")
    assert _ledger(legal) == [
        ("top_up", Decimal("50.00"), Decimal("50.00")),
        ("invoice_payment", Decimal("-50.00"), Decimal("0.00")),
        ("money_back", Decimal("50.00"), Decimal("50.00")),
    ]
    _assert_terminated(service, LATER)


def test_mb3_a_bank_transfer_cannot_take_a_refund_so_it_is_credited_to_the_prepaid_account() -> None:
    # given: the order paid by two bank transfers recorded by staff
    legal = customer(card=None)
    staff = UserFactory(is_staff=True)
    service, invoice = service_order(organization=legal.organization, user=legal.user, plan=_plan(), now=ORDERED)
    bank_transfer_record(invoice=invoice, amount=Decimal("100.00"), reference="B-1", staff_user=staff, now=ORDERED)
    bank_transfer_record(invoice=invoice, amount=Decimal("8.10"), reference="B-2", staff_user=staff, now=ORDERED)

    # when
    refund = service_money_back(service=service, user=legal.user, now=LATER)

    # then: no gateway involved, the whole amount credited
    assert (refund.destination, refund.card_amount, refund.prepaid_amount) == (
        "prepaid",
        Decimal("0.00"),
        Decimal("108.10"),
    )
    assert GatewayCharge.objects.count() == 0
    assert _ledger(legal) == [("money_back", Decimal("108.10"), Decimal("108.10"))]
    _assert_terminated(service, LATER)


def test_mb3_a_card_refund_the_gateway_refuses_is_credited_to_the_prepaid_account() -> None:
    # given: the charge was already refunded at the gateway (e.g. by the bank), so it refuses another
    legal = customer()
    service, invoice = _ordered(legal)
    key = Payment.objects.get(invoice=invoice).idempotency_key
    assert key is not None
    get_gateway().refund(idempotency_key=key, amount=Decimal("108.10"))

    # when
    refund = service_money_back(service=service, user=legal.user, now=LATER)

    # then
    assert (refund.destination, refund.card_amount, refund.prepaid_amount) == (
        "prepaid",
        Decimal("0.00"),
        Decimal("108.10"),
    )
    assert GatewayCharge.objects.get(idempotency_key=key).refunded_amount == Decimal("108.10")  # not twice
    assert _ledger(legal) == [("money_back", Decimal("108.10"), Decimal("108.10"))]
    assert AuditEvent.objects.get(action="payment.refund_refused").after["reason"] == "amount_exceeds_charge"


def test_mb3_bil13_a_renewal_already_paid_for_the_next_term_is_not_refunded() -> None:
    # given: a monthly Service activated on 10 March whose term 2 was already debited on 27 March (E - 14)
    legal = customer()
    service, invoice = _ordered(legal)
    live(dt.date(2026, 3, 27))
    renewal = Invoice.objects.get(service=service, kind="renewal")
    assert (renewal.term, renewal.status) == (2, "paid")

    # when: the money-back request on day 30
    refund = service_money_back(service=service, user=legal.user, now=dt.datetime(2026, 4, 9, 9, 0, tzinfo=dt.UTC))

    # then: only the purchase (the order invoice) comes back (BIL-13)
    assert (refund.invoice, refund.amount) == (invoice, Decimal("108.10"))
    renewal_key = Payment.objects.get(invoice=renewal).idempotency_key
    assert GatewayCharge.objects.get(idempotency_key=renewal_key).refunded_amount == Decimal("0.00")


def test_mb2_ren6_a_trial_converted_by_the_automatic_debit_refunds_its_term_1_invoice() -> None:
    # given: a Jelastic trial ending on 31 March, converted by the debit on T - 14 (17 March)
    legal = customer()
    plan = _plan()
    service = Service.objects.create(
        organization=legal.organization,
        plan=plan,
        currency="CHF",
        status="trial",
        trial_ends_on=dt.date(2026, 3, 31),
        auto_renew=True,
        created_at=ORDERED,
    )
    live(dt.date(2026, 3, 17))
    service.refresh_from_db()
    first = Invoice.objects.get(service=service)
    assert (service.status, service.anchor_date, first.kind, first.term, first.status) == (
        "active",
        dt.date(2026, 3, 31),
        "renewal",
        1,
        "paid",
    )

    # when
    refund = service_money_back(service=service, user=legal.user, now=LATER)

    # then
    assert (refund.invoice, refund.amount, refund.card_amount) == (first, Decimal("108.10"), Decimal("108.10"))
    _assert_terminated(service, LATER)


def test_mb2_a_service_suspended_unpaid_within_the_30_days_is_refunded_and_its_open_renewal_credited() -> None:
    # given: ordered on 31 January (paid by bank transfer, no card), so E = 28 February; the renewal
    # invoice issued on E - 14 stays open and the Service is suspended on E
    legal = customer(card=None)
    staff = UserFactory(is_staff=True)
    ordered = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)
    service, invoice = service_order(organization=legal.organization, user=legal.user, plan=_plan(), now=ordered)
    bank_transfer_record(invoice=invoice, amount=Decimal("108.10"), reference="B-1", staff_user=staff, now=ordered)
    live(dt.date(2026, 2, 14), dt.date(2026, 3, 1))
    service.refresh_from_db()
    renewal = Invoice.objects.get(service=service, kind="renewal")
    assert (service.status, renewal.status, renewal.term) == ("suspended", "open", 2)

    # when: day 30 (2 March)
    when = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    refund = service_money_back(service=service, user=legal.user, now=when)

    # then: the purchase credited, the never-provided term's invoice cancelled by a credit note
    assert (refund.invoice, refund.amount, refund.destination) == (invoice, Decimal("108.10"), "prepaid")
    assert _ledger(legal) == [("money_back", Decimal("108.10"), Decimal("108.10"))]
    renewal.refresh_from_db()
    assert (renewal.status, renewal.amount_credited) == ("cancelled", Decimal("108.10"))
    assert list(CreditNote.objects.values_list("invoice", "amount")) == [(renewal.pk, Decimal("108.10"))]
    _assert_terminated(service, when)


# --- the 30 days (MB-2) -----------------------------------------------------------------------

# Activated at 00:30 in Zurich on 11 March (23:30 UTC on the 10th): day 0 is 11 March, day 30 is 10 April.
LATE_ACTIVATION = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)


def test_mb2_day_30_in_zurich_is_still_inside() -> None:
    legal = customer()
    service, _invoice = _ordered(legal, when=LATE_ACTIVATION)
    last_minute = dt.datetime(2026, 4, 10, 21, 59, tzinfo=dt.UTC)  # 23:59 on 10 April in Zurich

    refund = service_money_back(service=service, user=legal.user, now=last_minute)

    assert refund.amount == Decimal("108.10")
    _assert_terminated(service, last_minute)


def test_mb2_day_31_in_zurich_is_refused_and_changes_nothing() -> None:
    legal = customer()
    service, _invoice = _ordered(legal, when=LATE_ACTIVATION)
    day_31 = dt.datetime(2026, 4, 10, 22, 0, tzinfo=dt.UTC)  # 00:00 on 11 April in Zurich
    before = _state()

    with pytest.raises(RuleViolation, match="within 30 days of activation; it ended on 10 April 2026") as refused:
        service_money_back(service=service, user=legal.user, now=day_31)

    assert (refused.value.rule, refused.value.status) == ("MB-2", 409)
    assert _state() == before


# --- refusals (MB-1, MB-2, ORG-5, ORG-6) -------------------------------------------------------


def test_mb1_a_type_without_the_guarantee_is_refused_and_nothing_changes() -> None:
    # given: a domain name (not in the MB-1 list)
    legal = customer()
    service, _invoice = _ordered(legal, plan=_plan("domain-name"))
    before = _state()

    with pytest.raises(RuleViolation, match="Domain name is not covered by the money-back guarantee") as refused:
        service_money_back(service=service, user=legal.user, now=LATER)

    assert refused.value.rule == "MB-1"
    assert _state() == before


def test_mb2_only_the_first_order_of_a_service_type_and_only_once() -> None:
    # given: two Jelastic orders, the first activated on 10 March, the second on 12 March
    legal = customer()
    plan = _plan()
    first, _ = _ordered(legal, plan=plan)
    second, _ = _ordered(legal, plan=plan, when=ORDERED + dt.timedelta(days=2))
    before = _state()

    # when / then: the second order is refused, changing nothing
    with pytest.raises(RuleViolation, match="covers only the first order of Jelastic Cloud") as refused:
        service_money_back(service=second, user=legal.user, now=LATER)
    assert refused.value.rule == "MB-2"
    assert _state() == before

    # the first is refunded once; asking again is refused
    service_money_back(service=first, user=legal.user, now=LATER)
    before = _state()
    with pytest.raises(RuleViolation, match="already refunded") as again:
        service_money_back(service=first, user=legal.user, now=LATER)
    assert again.value.rule == "MB-2"
    assert _state() == before


def test_mb2_a_new_order_after_a_refunded_one_is_not_a_first_order() -> None:
    legal = customer()
    plan = _plan()
    first, _ = _ordered(legal, plan=plan)
    service_money_back(service=first, user=legal.user, now=LATER)
    again, _ = _ordered(legal, plan=plan, when=LATER + dt.timedelta(hours=1))
    before = _state()

    with pytest.raises(RuleViolation, match="first order") as refused:
        service_money_back(service=again, user=legal.user, now=LATER + dt.timedelta(days=1))

    assert refused.value.rule == "MB-2"
    assert _state() == before


@pytest.mark.parametrize(
    ("who", "rule", "status"),
    [
        ("member of another organization", "ORG-6", 404),
        ("administrator limited to another service", "ORG-6", 404),
        ("technical member", "ORG-5", 403),
    ],
)
def test_org5_org6_only_managers_who_see_the_service_may_ask(who: str, rule: str, status: int) -> None:
    legal = customer()
    service, _invoice = _ordered(legal)
    organization = legal.organization
    if who == "member of another organization":
        user = customer().user
    elif who == "technical member":
        user = member(Membership.Role.TECHNICAL, organization=organization).user
    else:
        other, _ = _ordered(legal, when=ORDERED + dt.timedelta(days=1))
        scoped = member(Membership.Role.ADMINISTRATOR, organization=organization)
        scoped.service_scopes.create(service=other)
        user = scoped.user
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        service_money_back(service=service, user=user, now=LATER)

    assert (refused.value.rule, refused.value.status) == (rule, status)
    assert _state() == before


@pytest.mark.parametrize("role", [Membership.Role.ADMINISTRATOR, Membership.Role.BILLING])
def test_org5_an_administrator_or_billing_member_may_ask(role: str) -> None:
    legal = customer()
    service, _invoice = _ordered(legal)
    user = member(role, organization=legal.organization).user

    refund = service_money_back(service=service, user=user, now=LATER)

    assert refund.requested_by == user


# --- exactly once (MB-2, MB-3) -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_mb3_two_concurrent_requests_refund_once(attempt: int) -> None:
    # given: a card order, and the same request sent twice at the same moment
    legal = customer()
    service, invoice = _ordered(legal, prepaid="0")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            barrier.wait(timeout=5)
            service_money_back(service=Service.objects.get(pk=service.pk), user=legal.user, now=LATER)
            outcomes.append("refunded")
        except RuleViolation as violation:
            outcomes.append(violation.rule)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # then: one refund, one refusal; the card refunded once
    assert sorted(outcomes) == ["MB-2", "refunded"]
    assert MoneyBackRefund.objects.filter(service=service).count() == 1
    key = Payment.objects.get(invoice=invoice).idempotency_key
    assert GatewayCharge.objects.get(idempotency_key=key).refunded_amount == Decimal("108.10")
    assert LedgerEntry.objects.filter(kind="money_back").count() == 0
    assert Notification.objects.filter(template="money_back_refunded").count() == 2  # e-mail + inbox, once
    assert AuditEvent.objects.filter(action="service.terminated").count() == 1
