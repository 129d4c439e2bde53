"""The one posting path (PRE-1, PRE-5, BIL-3, EVD-1): a member paying one invoice and the daily run
paying a batch go through the same functions, so they write the same evidence — the same events,
with the same keys and the same values but for the ids and the rule that caused them."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from audit.models import AuditEvent
from billing.models import Invoice, LedgerEntry, PaymentMeans
from billing.services.payments import invoice_pay
from billing.services.posting import Effects, Posting, ledger_post
from billing.services.prepaid import prepaid_account_lock, prepaid_pay_invoice
from core.errors import RuleViolation
from subscriptions.models import Service
from subscriptions.services.renewals import debit_attempts_run, renewal_invoices_run
from tests.subscriptions.lifecycle.helpers import at, customer, service

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 2, 20)  # inside the attempts' window of Services expiring on 28 February
POSTED = ("payment.succeeded", "ledger_entry.invoice_payment", "invoice.paid", "invoice.part_paid", "service.renewed")
IDS = ("invoice", "payment", "key")  # what names a row: differs between two Organizations by nature


def _evidence(svc: Service) -> list[tuple[str, Any, Any]]:
    """(action, before, after) of the money's evidence for one Organization, the ids blanked."""
    rows = AuditEvent.objects.filter(organization_id=svc.organization_id, action__in=POSTED).order_by("pk")
    return sorted(
        (row.action, row.before, {k: ("<id>" if k in IDS and v else v) for k, v in (row.after or {}).items()})
        for row in rows
    )


def _renewal_invoice(svc: Service) -> Invoice:
    renewal_invoices_run([svc.pk], day=DAY, now=at(DAY))
    return Invoice.objects.get(service=svc, kind=Invoice.Kind.RENEWAL)


def test_pre5_paying_from_the_balance_writes_the_same_evidence_alone_and_in_the_daily_batch() -> None:
    alone, batched = customer(card=None, balance="200"), customer(card=None, balance="200")
    alone_service, batched_service = service(alone), service(batched)

    invoice = _renewal_invoice(alone_service)
    prepaid_pay_invoice(invoice=invoice, user=alone.user, amount=invoice.amount_due, now=at(DAY))
    debit_attempts_run([batched_service.pk], day=DAY, now=at(DAY))

    expected = [
        ("invoice.paid", {}, {"amount": "108.10", "amount_paid": "108.10", "status": "paid"}),
        (
            "ledger_entry.invoice_payment",
            {"balance": "200.00"},
            {
                "kind": "invoice_payment",
                "amount": "-108.10",
                "currency": "CHF",
                "balance": "91.90",
                "invoice": "<id>",
                "payment": "<id>",
                "claim_reference": "",
                "staff_user": None,
                "reason": "",
            },
        ),
        (
            "payment.succeeded",
            {},
            {"kind": "prepaid", "amount": "108.10", "currency": "CHF", "invoice": "<id>"},
        ),
        (
            "service.renewed",
            {"status": "active", "term": 1, "expires_on": "2026-02-28"},
            {"status": "active", "term": 2, "expires_on": "2026-03-31", "invoice": "<id>"},
        ),
    ]
    assert _evidence(alone_service) == expected
    assert _evidence(batched_service) == expected


def test_bil4_paying_by_card_writes_the_same_evidence_on_the_invoice_page_and_in_the_daily_batch() -> None:
    alone, batched = customer(), customer()
    alone_service, batched_service = service(alone), service(batched)

    invoice = _renewal_invoice(alone_service)
    card = PaymentMeans.objects.get(organization=alone.organization)
    invoice_pay(invoice=invoice, user=alone.user, prepaid_amount=Decimal("0.00"), means=card, now=at(DAY))
    debit_attempts_run([batched_service.pk], day=DAY, now=at(DAY))

    card_evidence = {
        "kind": "card",
        "amount": "108.10",
        "currency": "CHF",
        "invoice": "<id>",
        "means": "Visa •••• 4242 (12/2035)",
        "key": "<id>",
    }
    alone_evidence, batched_evidence = _evidence(alone_service), _evidence(batched_service)
    assert alone_evidence == batched_evidence
    assert [(action, after) for action, _before, after in alone_evidence if action == "payment.succeeded"] == [
        ("payment.succeeded", card_evidence)
    ]


def test_pre1_a_batch_of_postings_that_would_overdraw_one_account_writes_nothing() -> None:
    legal = customer(card=None, balance="50")
    account = prepaid_account_lock(legal.organization)
    before = list(LedgerEntry.objects.values_list("pk", "balance_after"))
    postings = [
        Posting(account=account, kind=LedgerEntry.Kind.PROVIDER_DEBIT, amount=Decimal("-30.00"), rule="PRE-3"),
        Posting(account=account, kind=LedgerEntry.Kind.PROVIDER_DEBIT, amount=Decimal("-30.00"), rule="PRE-3"),
    ]

    with pytest.raises(RuleViolation) as refused:
        ledger_post(postings, actor=None, now=at(DAY), effects=Effects())  # type: ignore[arg-type]

    assert refused.value.rule == "PRE-1"
    assert list(LedgerEntry.objects.values_list("pk", "balance_after")) == before
    account.refresh_from_db()
    assert account.balance == Decimal("50.00")
