"""SPEC BIL-5 (bank transfers booked by staff), BIL-3 (paid in full starts the Service)."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from billing.models import Payment
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
