"""The one posting path (SPEC PRE-1, PRE-5, BIL-3, BIL-6, EVD-1): each business event that moves
money is one function over a list, and a single change is a batch of one.

- `payments_record`: payments received or attempted, with their evidence;
- `ledger_post`: movements of Prepaid Accounts, with the balance after each (PRE-1);
- `invoices_apply_payments`: money applied to invoices, PAID once nothing is due, and the paid
  hooks (BIL-3: an order starts its Service; REN-3: a renewal renews it; USE-4: a usage invoice
  reactivates it).

A customer paying one invoice and the daily run paying 500 go through the same code, so their
evidence cannot drift apart; the batch pays a fixed number of queries whatever its size. The
callers lock what these functions change (accounts, then invoices, then Services: the one lock
order) and flush the `Effects` — the evidence and the notices — before they commit.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from audit.services import Actor, AuditSpec, audit_record_many
from billing.models import Invoice, LedgerEntry, Payment, PrepaidAccount
from billing.money import quantize
from core import figures
from core.bulk import bulk_insert, bulk_update
from core.errors import RuleViolation
from notifications.services import NoticeSpec, notify_many

Kind = LedgerEntry.Kind
# The sign of each kind's amount; a staff adjustment may go either way (MONEY-2: no interest, no fees).
CREDITS = frozenset({Kind.TOP_UP, Kind.PROVIDER_REIMBURSEMENT, Kind.MONEY_BACK, Kind.SLA_PENALTY})
DEBITS = frozenset({Kind.INVOICE_PAYMENT, Kind.PROVIDER_DEBIT, Kind.CASH_OUT})


@dataclass
class Effects:
    """What a change writes besides its own rows: evidence and notices, written once at the end."""

    audit: list[AuditSpec] = field(default_factory=list)
    notices: list[NoticeSpec] = field(default_factory=list)

    def flush(self, now: dt.datetime) -> None:
        notify_many(self.notices, now=now)
        # Last: the chain head is locked from here to the commit, and parallel batches queue on it.
        audit_record_many(self.audit, at=now)
        self.audit, self.notices = [], []


def money(amount: Any) -> Decimal:
    """MONEY-1: a Decimal (never a float), finite, rounded to the cent."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"money must be a finite amount, not {amount}")
    return quantize(amount)


# --- payments --------------------------------------------------------------------------------


@dataclass
class PaymentRecord:
    """A payment to record (not saved yet), the rule its evidence cites and what else it names."""

    payment: Payment
    rule: str
    details: dict[str, Any] = field(default_factory=dict)


def payment_evidence(payment: Payment, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the evidence of a payment says, the same wherever it was recorded."""
    return {
        "kind": payment.kind,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "invoice": payment.invoice.number if payment.invoice is not None else None,
        **({"means": str(payment.means)} if payment.means_id else {}),
        **({"key": payment.idempotency_key} if payment.idempotency_key else {}),
        **(details or {}),
    }


def payments_record(records: Sequence[PaymentRecord], *, actor: Actor, effects: Effects) -> list[Payment]:
    """Insert the payments (one statement for the lot) and add their evidence to `effects`."""
    payments = [record.payment for record in records]
    bulk_insert(payments)
    for record in records:
        payment = record.payment
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action=f"payment.{payment.status}",
                rule=record.rule,
                obj=payment,
                organization=payment.organization_id,
                after=payment_evidence(payment, record.details),
            )
        )
    return payments


# --- the Prepaid Account's ledger (PRE-1) ----------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """One movement of a Prepaid Account locked FOR UPDATE by the caller, in its transaction."""

    account: PrepaidAccount
    kind: str
    amount: Decimal  # signed: credits positive, debits negative
    rule: str
    invoice: Invoice | None = None
    payment: Payment | None = None
    claim_reference: str = ""
    staff_user: Any = None
    reason: str = ""


def ledger_post(postings: Sequence[Posting], *, actor: Actor, now: dt.datetime, effects: Effects) -> list[LedgerEntry]:
    """Book the movements in order (several on one account each see the balance the previous one
    left): the balances, the entries with the balance after each, and their evidence. A balance
    that would go below zero refuses the whole list before anything is written (PRE-1; CHECK
    constraints on the account and on each entry back it)."""
    entries: list[LedgerEntry] = []
    specs: list[AuditSpec] = []
    accounts: dict[int, PrepaidAccount] = {}
    balances = {posting.account.pk: posting.account.balance for posting in postings}
    for posting in postings:
        amount = money(posting.amount)
        kind = posting.kind
        if kind not in Kind.values:  # MONEY-2: no interest, no fees — only the kinds of the ledger
            raise ValueError(f"unknown ledger entry kind {kind!r}")
        if amount == 0 or (kind in CREDITS and amount < 0) or (kind in DEBITS and amount > 0):
            raise ValueError(f"a {kind} entry cannot be {amount}")
        account = posting.account
        before = balances[account.pk]
        after = before + amount
        if after < 0:
            raise RuleViolation(
                _("The Prepaid Account's balance (%(currency)s %(balance)s) does not cover %(amount)s.")
                % {"currency": account.currency, "balance": figures.amount(before), "amount": figures.amount(-amount)},
                rule="PRE-1",
            )
        balances[account.pk] = after
        accounts[account.pk] = account
        entry = LedgerEntry(
            account=account,
            kind=kind,
            amount=amount,
            balance_after=after,
            invoice=posting.invoice,
            payment=posting.payment,
            claim_reference=posting.claim_reference,
            staff_user=posting.staff_user,
            reason=posting.reason,
            created_at=now,
        )
        entries.append(entry)
        specs.append(
            AuditSpec(
                actor=actor,
                action=f"ledger_entry.{kind}",
                rule=posting.rule,
                obj=entry,
                organization=account.organization_id,
                before={"balance": before},
                after={
                    "kind": kind,
                    "amount": amount,
                    "currency": account.currency,
                    "balance": after,
                    "invoice": posting.invoice.number if posting.invoice else None,
                    "payment": posting.payment.pk if posting.payment else None,
                    "claim_reference": posting.claim_reference,
                    "staff_user": posting.staff_user.email if posting.staff_user else None,
                    "reason": posting.reason,
                },
            )
        )
    for account in accounts.values():
        account.balance = balances[account.pk]
    bulk_insert(entries)
    bulk_update(list(accounts.values()), ["balance"])
    effects.audit.extend(specs)
    return entries


# --- invoices --------------------------------------------------------------------------------

# Called with the invoices a list of payments has paid in full, inside the transaction (BIL-3: a
# Service starts when its order invoice is paid). `services`: Services the caller already locked,
# by id, which a hook uses instead of reading them again. Registered by the services concerned.
PaidHook = Callable[..., object]
_paid_hooks: list[PaidHook] = []
HookT = TypeVar("HookT", bound=PaidHook)


def on_invoices_paid(hook: HookT) -> HookT:
    if hook not in _paid_hooks:
        _paid_hooks.append(hook)
    return hook


@dataclass(frozen=True)
class Application:
    """Money applied to an invoice locked by the caller."""

    invoice: Invoice
    amount: Decimal
    rule: str


def invoices_apply_payments(
    applications: Sequence[Application],
    *,
    actor: Actor,
    now: dt.datetime,
    effects: Effects,
    services: dict[int, Any] | None = None,
) -> list[Invoice]:
    """Apply money received to invoices (several applications of one invoice in order); an invoice
    paid in full becomes PAID and the paid hooks run once for all of them. Overpaying, or paying an
    invoice that is not open, is refused before anything is written (and by the database)."""
    touched: dict[int, Invoice] = {}
    paid: list[Invoice] = []
    for application in applications:
        invoice, amount = application.invoice, application.amount
        if invoice.status != Invoice.Status.OPEN:
            raise RuleViolation(_("This invoice is not open."), rule="BIL-6")
        if amount <= 0 or amount > invoice.amount_due:
            raise RuleViolation(
                _("At most %(due)s %(currency)s is due on this invoice.")
                % {"due": invoice.amount_due, "currency": invoice.currency},
                rule=application.rule,
                status=400,
                field="amount",
            )
        invoice.amount_paid += amount
        if invoice.amount_due == 0:
            invoice.status = Invoice.Status.PAID
            paid.append(invoice)
        touched[invoice.pk] = invoice
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="invoice.paid" if invoice.status == Invoice.Status.PAID else "invoice.part_paid",
                rule=application.rule,
                obj=invoice,
                organization=invoice.organization_id,
                after={"amount": str(amount), "amount_paid": str(invoice.amount_paid), "status": invoice.status},
            )
        )
    bulk_update(list(touched.values()), ["amount_paid", "status"])
    if paid:
        for hook in _paid_hooks:
            hook(invoices=paid, actor=actor, now=now, effects=effects, services=services or {})
    return list(touched.values())


def of_kind(invoices: Iterable[Invoice], kind: str) -> list[Invoice]:
    """The invoices of one kind that name a Service (what each paid hook looks at)."""
    return [invoice for invoice in invoices if invoice.kind == kind and invoice.service_id is not None]
