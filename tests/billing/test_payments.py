"""SPEC BIL-5 (bank transfers booked by staff), BIL-3 (paid in full starts the Service)."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.models import Payment, PaymentMeans
from billing.services.payments import bank_transfer_record
from core.errors import RuleViolation
from tests.billing.factories import InvoiceFactory, ServiceFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


def test_bil5_bil3_a_bank_transfer_paying_the_order_invoice_starts_the_service() -> None:
    staff = UserFactory(is_staff=True)
    service = ServiceFactory(status="awaiting_payment", anchor_date=None, expires_on=None, term=0, activated_at=None)
    invoice = InvoiceFactory(organization=service.organization, service=service)

    bank_transfer_record(invoice=invoice, amount=Decimal("100.00"), reference="BANK-1", staff_user=staff, now=NOW)
    bank_transfer_record(invoice=invoice, amount=Decimal("8.10"), reference="BANK-2", staff_user=staff, now=NOW)

    invoice.refresh_from_db()
    service.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert list(Payment.objects.order_by("id").values_list("kind", "amount", "reference", "recorded_by")) == [
        ("bank_transfer", Decimal("100.00"), "BANK-1", staff.pk),
        ("bank_transfer", Decimal("8.10"), "BANK-2", staff.pk),
    ]
    assert (service.status, service.anchor_date, service.expires_on) == (
        "active",
        dt.date(2026, 3, 20),
        dt.date(2026, 4, 20),
    )


@pytest.mark.parametrize("amount", [Decimal("108.11"), Decimal("0"), Decimal("-5")])
def test_bil5_a_transfer_beyond_what_is_due_is_refused_and_changes_nothing(amount: Decimal) -> None:
    invoice = InvoiceFactory()

    with pytest.raises(RuleViolation, match="At most 108.10 CHF") as refused:
        bank_transfer_record(
            invoice=invoice, amount=amount, reference="X", staff_user=UserFactory(is_staff=True), now=NOW
        )

    assert refused.value.rule == "BIL-5"
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("0.00"), "open")
    assert Payment.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_bil5_staff_record_a_bank_transfer_in_the_admin(client) -> None:  # noqa: ANN001
    from django.urls import reverse
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    staff = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client.force_login(staff)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    client.post(reverse("accounts:staff_otp"), {"token": f"{code:06d}", "next": "/admin/"})
    invoice = InvoiceFactory()
    url = reverse("admin:billing_invoice_bank_transfer", args=[invoice.pk])

    form = client.get(url)
    done = client.post(url, {"amount": "108.10", "reference": "CAMT-77"})

    assert form.status_code == 200
    assert done.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("108.10"))
    assert client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).status_code == 200


# --- paying an invoice: Prepaid Account and/or card (PRE-3, PRE-5, BIL-4, REN-8) -------------------

from audit.services import Actor  # noqa: E402
from billing.models import LedgerEntry, PrepaidAccount  # noqa: E402
from billing.services.means import means_add_card  # noqa: E402
from billing.services.payments import invoice_pay, payment_reconcile  # noqa: E402
from billing.services.prepaid import prepaid_credit  # noqa: E402
from tests.factories import member  # noqa: E402


def _payer_with(balance: str, card_number: str | None = None):  # noqa: ANN202
    legal = member()
    organization = legal.organization
    service = ServiceFactory(organization=organization, status="awaiting_payment", anchor_date=None, expires_on=None,
                             term=0, activated_at=None)
    invoice = InvoiceFactory(organization=organization, service=service)  # 108.10 CHF
    if Decimal(balance):
        top_up = Payment.objects.create(organization=organization, kind="card", amount=Decimal(balance),
                                        currency="CHF", status="succeeded", created_at=NOW)
        prepaid_credit(organization=organization, kind=LedgerEntry.Kind.TOP_UP, amount=Decimal(balance), now=NOW,
                       actor=Actor.system("test"), rule="PRE-2", payment=top_up)
    card = None
    if card_number:
        card = means_add_card(organization=organization, user=legal.user, number=card_number, exp_month=12,
                              exp_year=2030, cvc="123", make_default=True, now=NOW)
    return legal, service, invoice, card


def _balance(organization) -> Decimal:  # noqa: ANN001
    return PrepaidAccount.objects.get(organization=organization).balance


def test_pre3_bil3_the_balance_pays_everything_and_the_service_starts() -> None:
    legal, service, invoice, _ = _payer_with("200.00")

    assert invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("108.10"), means=None, now=NOW) is None

    invoice.refresh_from_db()
    service.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, _balance(legal.organization)) == ("paid", Decimal("108.10"),
                                                                                   Decimal("91.90"))
    assert service.status == "active"


def test_pre5_part_from_the_balance_and_the_rest_by_card() -> None:
    legal, service, invoice, card = _payer_with("8.10", "4242424242424242")

    payment = invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("8.10"), means=card, now=NOW)

    invoice.refresh_from_db()
    assert payment is not None
    assert (payment.kind, payment.amount, payment.status) == ("card", Decimal("100.00"), "succeeded")
    assert (invoice.status, _balance(legal.organization)) == ("paid", Decimal("0.00"))
    assert sorted(Payment.objects.filter(invoice=invoice).values_list("kind", "amount")) == [
        ("card", Decimal("100.00")), ("prepaid", Decimal("8.10"))]


@pytest.mark.parametrize(("number", "reason", "sentence"), [
    ("4000000000000002", "card_declined", "Your bank declined the card. Nothing was charged."),
    ("4000000000009995", "insufficient_funds", "The card does not have enough funds. Nothing was charged."),
])
def test_pre5_a_declined_card_consumes_no_balance(number: str, reason: str, sentence: str) -> None:
    legal, service, invoice, card = _payer_with("50.00", number)
    entries = LedgerEntry.objects.count()

    with pytest.raises(RuleViolation) as refused:
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("50.00"), means=card, now=NOW)

    # the customer reads a sentence; the gateway's code stays in the evidence
    assert (refused.value.message, refused.value.rule, refused.value.status) == (sentence, "BIL-4", 402)
    invoice.refresh_from_db()
    service.refresh_from_db()
    assert (invoice.amount_paid, invoice.status, service.status) == (Decimal("0.00"), "open", "awaiting_payment")
    assert _balance(legal.organization) == Decimal("50.00")
    assert LedgerEntry.objects.count() == entries
    # the declined charge stays on record, with its key and why; nothing was booked (BIL-4, REN-8)
    failed = Payment.objects.get(invoice=invoice)
    assert (failed.status, failed.failure_reason, failed.amount) == ("failed", reason, Decimal("58.10"))
    assert failed.idempotency_key == f"invoice:{invoice.pk}:card:1"


def test_ren8_an_unknown_card_outcome_books_nothing_until_reconciled() -> None:
    legal, service, invoice, card = _payer_with("20.00", "4000000000000119")

    unknown = invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("20.00"), means=card, now=NOW)

    invoice.refresh_from_db()
    assert unknown is not None
    assert (unknown.status, unknown.amount) == ("unknown", Decimal("88.10"))
    assert (invoice.amount_paid, _balance(legal.organization)) == (Decimal("0.00"), Decimal("20.00"))

    reconciled = payment_reconcile(payment=unknown, now=NOW)

    invoice.refresh_from_db()
    service.refresh_from_db()
    assert reconciled.status == "succeeded"
    assert (invoice.amount_paid, invoice.amount_due) == (Decimal("88.10"), Decimal("20.00"))
    assert payment_reconcile(payment=unknown, now=NOW).status == "succeeded"  # a second time changes nothing
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("88.10")


def test_pre3_bil4_payment_refusals_change_nothing() -> None:
    legal, service, invoice, card = _payer_with("10.00", "4242424242424242")
    transfer = PaymentMeans.objects.create(organization=legal.organization, kind="bank_transfer", created_at=NOW)
    technical = member("technical", organization=legal.organization)

    with pytest.raises(RuleViolation, match="Choose one of your organization's cards"):
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("0"), means=transfer, now=NOW)
    with pytest.raises(RuleViolation, match="does not cover"):
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("20.00"), means=card, now=NOW)
    with pytest.raises(RuleViolation, match="Between 0 and 108.10"):
        invoice_pay(invoice=invoice, user=legal.user, prepaid_amount=Decimal("200"), means=card, now=NOW)
    with pytest.raises(RuleViolation) as role:
        invoice_pay(invoice=invoice, user=technical.user, prepaid_amount=Decimal("0"), means=card, now=NOW)

    assert role.value.status == 403
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status, _balance(legal.organization)) == (Decimal("0.00"), "open",
                                                                                   Decimal("10.00"))
    assert Payment.objects.filter(invoice=invoice).count() == 0
