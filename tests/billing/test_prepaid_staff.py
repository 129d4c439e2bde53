"""Staff doors of the Prepaid Account: PRE-2 (TCU 5.10.1) the provider reimbursing an invoice to the
balance, and PRE-4 (5.10.5) the cash-out queue — waiting requests first, the "no open invoice" rule
checked at pay-out, the customer told of the decision. Refusals name their rule and change nothing."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import CashOutRequest, Invoice, LedgerEntry, Payment, PrepaidAccount
from billing.services.prepaid import (
    invoice_reimbursable,
    prepaid_account_for,
    prepaid_cash_out_pay,
    prepaid_cash_out_refuse,
    prepaid_cash_out_request,
    prepaid_credit,
    prepaid_reimburse_invoice,
)
from core.errors import RuleViolation
from notifications.models import Notification
from subscriptions.models import MoneyBackCardRefund, MoneyBackRefund
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 10, 9, 0, tzinfo=dt.UTC)
JOB = Actor.system("tests.prepaid_staff")


@pytest.fixture(autouse=True)
def _fixed_time():  # noqa: ANN202
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def legal():  # noqa: ANN201
    return member()


@pytest.fixture
def staff():  # noqa: ANN201
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def verified(staff) -> Client:
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client = Client()
    client.force_login(staff)
    token = f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"
    response = client.post(reverse("accounts:staff_otp"), {"token": token, "next": "/admin/"})
    assert response.status_code == 302
    return client


def _paid_invoice(organization, paid: str = "108.10", **fields) -> Invoice:  # noqa: ANN001, ANN003
    status = "paid" if Decimal(paid) == Decimal("108.10") else "open"
    return InvoiceFactory(organization=organization, amount_paid=Decimal(paid), status=status, **fields)


def _fund(organization, amount: str, claim: str = "c1") -> None:  # noqa: ANN001
    prepaid_credit(
        organization=organization,
        kind=LedgerEntry.Kind.SLA_PENALTY,
        amount=Decimal(amount),
        now=NOW,
        actor=JOB,
        rule="SLA-4",
        claim_reference=f"{claim}-{organization.pk}",
    )


def _state() -> tuple[list, ...]:
    return (
        list(LedgerEntry.objects.order_by("pk").values()),
        list(PrepaidAccount.objects.order_by("pk").values()),
        list(CashOutRequest.objects.order_by("pk").values()),
        list(Notification.objects.order_by("pk").values("template", "channel")),
        list(Payment.objects.order_by("pk").values()),
    )


# --- PRE-2: reimbursing an invoice ----------------------------------------------------------------


def test_pre_2_staff_reimburse_part_then_the_rest_of_a_paid_invoice(legal, staff) -> None:
    # given
    invoice = _paid_invoice(legal.organization)

    # when
    first = prepaid_reimburse_invoice(
        invoice=invoice, amount=Decimal("50.00"), reason="Domain transfer impossible", staff_user=staff, now=NOW
    )
    second = prepaid_reimburse_invoice(
        invoice=invoice, amount=Decimal("58.10"), reason="Domain transfer impossible", staff_user=staff, now=NOW
    )

    # then
    assert (first.kind, first.amount, first.invoice_id, first.staff_user_id, first.reason) == (
        "provider_reimbursement",
        Decimal("50.00"),
        invoice.pk,
        staff.pk,
        "Domain transfer impossible",
    )
    assert second.balance_after == Decimal("108.10")
    assert prepaid_account_for(legal.organization).balance == Decimal("108.10")
    assert invoice_reimbursable(invoice) == Decimal("0.00")
    events = AuditEvent.objects.filter(rule="PRE-2", actor_user=staff)
    assert events.count() == 2
    notice = Notification.objects.filter(template="invoice_reimbursed", channel="email").order_by("pk").first()
    assert notice is not None
    assert (
        f"We have credited CHF 50.00 to your Prepaid Account, reimbursing what you paid on invoice "
        f"{invoice.display_number}." in notice.body
    )
    assert "Reason: Domain transfer impossible" in notice.body
    assert "PRE-2" not in notice.body


def test_pre_2_reimbursement_refused_beyond_what_was_paid_less_what_was_given_back(legal, staff) -> None:
    invoice = _paid_invoice(legal.organization, paid="40.00")
    prepaid_credit(
        organization=legal.organization,
        kind=LedgerEntry.Kind.MONEY_BACK,
        amount=Decimal("15.00"),
        now=NOW,
        actor=JOB,
        rule="MB-3",
        invoice=invoice,
    )
    before = _state()

    with pytest.raises(RuleViolation) as too_much:
        prepaid_reimburse_invoice(invoice=invoice, amount=Decimal("25.01"), reason="x", staff_user=staff, now=NOW)

    assert (too_much.value.rule, too_much.value.message) == (
        "PRE-2",
        "At most CHF 25.00 of this invoice can still be reimbursed.",
    )
    assert _state() == before


def test_pre_2_a_money_back_refund_to_the_card_counts_as_given_back(legal, staff) -> None:
    # given: 108.10 paid by card, 100.00 of it refunded to the card under the money-back guarantee
    invoice = _paid_invoice(legal.organization)
    payment = Payment.objects.create(
        organization=legal.organization,
        invoice=invoice,
        kind="card",
        amount=Decimal("108.10"),
        currency="CHF",
        status="succeeded",
        created_at=NOW,
    )
    refund = MoneyBackRefund.objects.create(
        service=ServiceFactory(organization=legal.organization),
        invoice=invoice,
        amount=Decimal("108.10"),
        currency="CHF",
        destination="card",
        requested_by=legal.user,
        created_at=NOW,
    )
    MoneyBackCardRefund.objects.create(
        refund=refund, payment=payment, amount=Decimal("100.00"), outcome="refunded", created_at=NOW
    )
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        prepaid_reimburse_invoice(invoice=invoice, amount=Decimal("8.11"), reason="x", staff_user=staff, now=NOW)

    assert invoice_reimbursable(invoice) == Decimal("8.10")
    assert refused.value.message == "At most CHF 8.10 of this invoice can still be reimbursed."
    assert _state() == before


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("10.00", "  ", "A reason is required."),
        ("0.00", "Refund", "The amount must be greater than zero."),
        ("-5.00", "Refund", "The amount must be greater than zero."),
    ],
)
def test_pre_2_reimbursement_refused_without_reason_or_positive_amount(
    legal, staff, amount: str, reason: str, message: str
) -> None:
    invoice = _paid_invoice(legal.organization)
    before = _state()

    with pytest.raises(RuleViolation) as refused:
        prepaid_reimburse_invoice(invoice=invoice, amount=Decimal(amount), reason=reason, staff_user=staff, now=NOW)

    assert (refused.value.rule, refused.value.message) == ("PRE-2", message)
    assert _state() == before


def test_pre_2_reimbursement_refused_to_customers_for_unpaid_and_top_up_invoices(legal, staff) -> None:
    unpaid = InvoiceFactory(organization=legal.organization)
    top_up = _paid_invoice(legal.organization, kind=Invoice.Kind.TOP_UP)
    before = _state()

    with pytest.raises(RuleViolation) as customer:
        prepaid_reimburse_invoice(
            invoice=_paid_invoice(legal.organization), amount=Decimal("1"), reason="x", staff_user=legal.user, now=NOW
        )
    with pytest.raises(RuleViolation) as nothing_paid:
        prepaid_reimburse_invoice(invoice=unpaid, amount=Decimal("1"), reason="x", staff_user=staff, now=NOW)
    with pytest.raises(RuleViolation) as funded:
        prepaid_reimburse_invoice(invoice=top_up, amount=Decimal("1"), reason="x", staff_user=staff, now=NOW)

    assert (customer.value.rule, customer.value.status) == ("PRE-2", 403)
    assert (nothing_paid.value.rule, nothing_paid.value.message) == (
        "PRE-2",
        "At most CHF 0.00 of this invoice can still be reimbursed.",
    )
    assert funded.value.rule == "PRE-2"
    assert _state() == before


def test_pre_2_staff_site_reimburse_form_keeps_input_on_refusal(legal, verified, staff) -> None:
    invoice = _paid_invoice(legal.organization)
    url = reverse("admin:billing_invoice_reimburse", args=[invoice.pk])

    change = verified.get(reverse("admin:billing_invoice_change", args=[invoice.pk]))
    form = verified.get(url)
    too_much = verified.post(url, {"amount": "200.00", "reason": "Service could not be delivered"})
    done = verified.post(url, {"amount": "108.10", "reason": "Service could not be delivered"})

    assert url in change.content.decode()
    assert form.status_code == 200
    assert "108.10" in form.content.decode()
    page = too_much.content.decode()
    assert "At most CHF 108.10 of this invoice can still be reimbursed. (PRE-2)" in page
    assert "Service could not be delivered" in page
    assert done.url == reverse("admin:billing_invoice_change", args=[invoice.pk])
    assert prepaid_account_for(legal.organization).balance == Decimal("108.10")
    assert url not in verified.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()


# --- PRE-4: the cash-out queue --------------------------------------------------------------------


def test_pre_4_pay_out_refused_once_an_invoice_is_open_then_refused_with_a_reason(legal, staff) -> None:
    # given: a request made while no invoice was open, and an invoice issued since
    _fund(legal.organization, "30.00")
    request = prepaid_cash_out_request(organization=legal.organization, user=legal.user, now=NOW)
    InvoiceFactory(organization=legal.organization)
    before = _state()

    # when
    with pytest.raises(RuleViolation) as refused:
        prepaid_cash_out_pay(request=request, staff_user=staff, now=NOW)

    # then
    assert refused.value.rule == "PRE-4"
    assert refused.value.message == (
        "The balance can be paid out only once no invoice is open: please pay the open invoices first."
    )
    assert _state() == before

    prepaid_cash_out_refuse(request=request, staff_user=staff, reason="An invoice is open", now=NOW)
    notice = Notification.objects.get(template="cash_out_decided", channel="email")
    assert notice.subject == "Your cash-out request is refused"
    assert "We cannot pay out the CHF 30.00 you asked for" in notice.body
    assert "Reason: An invoice is open" in notice.body
    assert prepaid_account_for(legal.organization).balance == Decimal("30.00")


def test_pre_4_pay_out_debits_the_balance_and_tells_the_customer(legal, staff) -> None:
    _fund(legal.organization, "1234.50")
    request = prepaid_cash_out_request(organization=legal.organization, user=legal.user, now=NOW)

    prepaid_cash_out_pay(request=request, staff_user=staff, now=NOW)

    request.refresh_from_db()
    assert (request.status, request.decided_at) == ("paid", NOW)
    assert prepaid_account_for(legal.organization).balance == Decimal("0.00")
    notice = Notification.objects.get(template="cash_out_decided", channel="email")
    assert notice.subject == "Your cash-out is paid"
    assert "We have paid out CHF 1" in notice.body
    assert "234.50 from your Prepaid Account, as you asked." in notice.body
    assert Notification.objects.filter(template="cash_out_decided", channel="inbox").count() == 1


def test_pre_4_the_queue_lists_waiting_requests_first_with_their_count(verified, staff) -> None:
    # given: three Organizations; one request decided, two waiting (one with an open invoice)
    decided, late, early = member(), member(), member()
    for membership in (decided, late, early):
        _fund(membership.organization, "10.00")
    done = prepaid_cash_out_request(organization=decided.organization, user=decided.user, now=NOW)
    prepaid_cash_out_pay(request=done, staff_user=staff, now=NOW)
    waiting_early = prepaid_cash_out_request(
        organization=early.organization, user=early.user, now=NOW + dt.timedelta(minutes=1)
    )
    waiting_late = prepaid_cash_out_request(
        organization=late.organization, user=late.user, now=NOW + dt.timedelta(minutes=2)
    )
    InvoiceFactory(organization=late.organization)
    url = reverse("admin:billing_cashoutrequest_changelist")

    # when
    everything = verified.get(url).content.decode()
    waiting = verified.get(url, {"decision": "waiting"}).content.decode()

    index = verified.get(reverse("admin:index")).content.decode()

    # then
    assert f'href="{url}?decision=waiting">Cash-out requests (2 waiting)</a>' in index
    assert "waiting (2)" in everything
    positions = [everything.index(f'value="{pk}"') for pk in (waiting_early.pk, waiting_late.pk, done.pk)]
    assert positions == sorted(positions)
    assert f'value="{done.pk}"' not in waiting
    assert f'value="{waiting_early.pk}"' in waiting
    assert f'value="{waiting_late.pk}"' in waiting
