"""Money received for invoices (SPEC BIL-3, BIL-5, PRE-3, PRE-5)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Actor, audit_record
from billing.models import Invoice, MeansKind, Payment
from billing.money import quantize
from billing.services.invoices import invoice_apply_payment
from core.errors import RuleViolation


def bank_transfer_record(
    *, invoice: Invoice, amount: Decimal, reference: str, staff_user: Any, now: dt.datetime
) -> Payment:
    """Staff record a bank transfer received for an invoice (BIL-5: transfers take up to 10 working
    days, so they are booked by hand when the money is on the account)."""
    amount = quantize(amount)
    actor = Actor.for_user(staff_user)
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != Invoice.Status.OPEN:
            raise RuleViolation(_("This invoice is not open."), rule="BIL-6")
        if amount <= 0 or amount > locked.amount_due:
            raise RuleViolation(
                _("At most %(due)s %(currency)s is due on this invoice.")
                % {"due": locked.amount_due, "currency": locked.currency},
                rule="BIL-5",
                status=400,
                field="amount",
            )
        payment = Payment.objects.create(
            organization=locked.organization,
            invoice=locked,
            kind=MeansKind.BANK_TRANSFER,
            amount=amount,
            currency=locked.currency,
            status=Payment.Status.SUCCEEDED,
            reference=reference[:100],
            recorded_by=staff_user,
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="payment.bank_transfer_recorded",
            rule="BIL-5",
            obj=payment,
            organization=locked.organization,
            after={"invoice": locked.number, "amount": str(amount), "reference": reference},
            at=now,
        )
        invoice_apply_payment(invoice=locked, amount=amount, actor=actor, rule="BIL-5", now=now)
    return payment
