"""The Prepaid Account (SPEC PRE-1 … PRE-5, TCU 5.10): every movement of its balance.

The balance lives on the account row and is the sum of its append-only ledger (PRE-1). Every
movement goes through `_post`, called with the account row locked FOR UPDATE, so two debits are
serialized and the second one sees what the first left; the database refuses a negative balance
(CHECK constraints on the account and on each entry's `balance_after`) should Python ever let one
through. Lock order, everywhere: the account row first, then the invoice or cash-out request row
(the whole order, with the audit chain head last: docs/decisions.md, "Lock order").

Refusals raise RuleViolation before anything is written. Amounts are Decimal (MONEY-1), in the
account's currency, rounded to the cent by `billing.money.quantize`. The account is not a bank
account (MONEY-2): there are no interest or fee entries, and none may be added here.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import Membership, Organization, User
from accounts.permissions import require_staff
from audit.services import Actor, audit_record
from billing import hooks
from billing.models import CashOutRequest, Invoice, LedgerEntry, Payment, PrepaidAccount
from billing.services.posting import (
    CREDITS,
    Application,
    Effects,
    PaymentRecord,
    Posting,
    invoices_apply_payments,
    ledger_post,
    money,
    payments_record,
)
from core import clock, figures
from core.errors import RuleViolation
from notifications.services import notify

Kind = LedgerEntry.Kind

# PRE-2: what may fund the account, from other apps through `prepaid_credit`.
CREDIT_KINDS = CREDITS
# PRE-3: the balance is spent only to order or renew Services, and on usage invoices (USE-4: a
# usage Service's month is what it pays to keep running) — never on a top-up invoice, which would
# fund the account with its own money. An add-on's activation fee is part of ordering the add-on
# (BIL-8); a purchase of a Service's credits (BIL-9) is neither an order nor a renewal.
PAYABLE_INVOICE_KINDS = frozenset({Invoice.Kind.ORDER, Invoice.Kind.RENEWAL, Invoice.Kind.USAGE, Invoice.Kind.ADD_ON})
PREPAID_PAYMENT_KIND = "prepaid"  # Payment.kind of a payment taken from the balance


# --- helpers ---------------------------------------------------------------------------------


def _positive(amount: Any, *, rule: str) -> Decimal:
    value = money(amount)
    if value <= 0:
        raise RuleViolation(_("The amount must be greater than zero."), rule=rule, status=400)
    return value


def _require_currency(account: PrepaidAccount, currency: str) -> None:
    if currency != account.currency:
        raise RuleViolation(
            _("The Prepaid Account is kept in %(account)s; an amount in %(other)s cannot be booked on it.")
            % {"account": account.currency, "other": currency},
            rule="MONEY-1",
        )


def _require_reason(reason: str, *, rule: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_("A reason is required."), rule=rule, status=400)
    return reason


def require_billing_member(organization: Organization, user: User) -> Membership:
    """ORG-5: who may use the Prepaid Account (accounts.permissions)."""
    return permissions.require_billing_member(
        organization,
        user,
        refusal=_("Only a Legal Responsible, an administrator or a billing member can use the Prepaid Account."),
    )


def _require_no_open_invoice(organization: Organization) -> None:
    if Invoice.objects.filter(organization=organization, status=Invoice.Status.OPEN).exists():
        raise RuleViolation(
            _("The balance can be paid out only once no invoice is open: please pay the open invoices first."),
            rule="PRE-4",
        )


def prepaid_account_for(organization: Organization) -> PrepaidAccount:
    """PRE-1: the Organization's one Prepaid Account, opened (empty, in the Organization's currency)
    the first time it is needed. Race-safe: `get_or_create` inserts in a savepoint and, when a
    concurrent transaction inserted first, the one-to-one unique constraint refuses the second
    row and the existing one is read instead."""
    account, _created = PrepaidAccount.objects.get_or_create(
        organization=organization, defaults={"currency": organization.currency}
    )
    return account


def prepaid_account_lock(organization: Organization) -> PrepaidAccount:
    """The account row, locked FOR UPDATE until the end of the transaction (call inside one). Other
    services that also lock an invoice call this first: the account row, then the invoice row.
    The account row only (`of`): its Organization is read beside it, never locked with it, or an
    audit event naming the Organization, written under the chain head, would deadlock against this
    lock (SLA-4; the one lock order: docs/decisions.md, "Lock order")."""
    account = prepaid_account_for(organization)
    return PrepaidAccount.objects.select_for_update(of=("self",)).select_related("organization").get(pk=account.pk)


# --- the one primitive -----------------------------------------------------------------------


def _post(
    *,
    account: PrepaidAccount,
    kind: str,
    amount: Decimal,
    now: dt.datetime,
    invoice: Invoice | None = None,
    payment: Payment | None = None,
    claim_reference: str = "",
    staff_user: User | None = None,
    reason: str = "",
    actor: Actor,
    rule: str,
) -> LedgerEntry:
    """Book one movement: `account` must be locked FOR UPDATE by the caller, in this transaction.
    A batch of one of `posting.ledger_post`: the balance, the entry with the balance after it, and
    the evidence."""
    effects = Effects()
    posting = Posting(
        account=account,
        kind=kind,
        amount=amount,
        rule=rule,
        invoice=invoice,
        payment=payment,
        claim_reference=claim_reference,
        staff_user=staff_user,
        reason=reason,
    )
    [entry] = ledger_post([posting], actor=actor, now=now, effects=effects)
    effects.flush(now)
    return entry


# --- credits (PRE-2) -------------------------------------------------------------------------


def prepaid_credit(
    *,
    organization: Organization,
    kind: str,
    amount: Decimal,
    now: dt.datetime,
    actor: Actor,
    rule: str,
    payment: Payment | None = None,
    invoice: Invoice | None = None,
    claim_reference: str = "",
    currency: str | None = None,
) -> LedgerEntry:
    """PRE-2: fund the account — a confirmed top-up (`payment`), the provider reimbursing an
    invoice (5.10.1, `invoice`), a money-back credit (MB-3, `invoice`) or an SLA penalty
    (SC 10.1.4, `claim_reference`). `rule` is the caller's rule id for the evidence. `currency`,
    when given, must be the account's; so must the payment's and the invoice's (MONEY-1).

    A top-up payment is credited once (checked under the account lock), and so is the penalty of an
    SLA claim, named by its reference (SLA-4; a partial unique index backs it across accounts)."""
    value = _positive(amount, rule="PRE-2")
    if kind not in CREDIT_KINDS:
        raise RuleViolation(
            _("The Prepaid Account is funded only by top-ups, reimbursements, money-back credits and SLA penalties."),
            rule="PRE-2",
            status=400,
        )
    claim_reference = claim_reference.strip()
    with transaction.atomic():
        account = prepaid_account_lock(organization)
        if currency is not None:
            _require_currency(account, currency)
        for cause in (payment, invoice):
            if cause is not None:
                if cause.organization_id != organization.pk:
                    raise RuleViolation(
                        _("This payment or invoice belongs to another organization."), rule="PRE-1", status=400
                    )
                _require_currency(account, cause.currency)
        if kind == Kind.TOP_UP:
            if payment is None or payment.status != Payment.Status.SUCCEEDED:
                raise RuleViolation(
                    _("A top-up is credited once its payment has been received."), rule="PRE-1", status=400
                )
            if LedgerEntry.objects.filter(account=account, kind=Kind.TOP_UP, payment=payment).exists():
                raise RuleViolation(_("This payment has already been credited."), rule="PRE-1")
        if kind in (Kind.PROVIDER_REIMBURSEMENT, Kind.MONEY_BACK) and invoice is None:
            raise RuleViolation(_("A reimbursement names the invoice it reimburses."), rule="PRE-1", status=400)
        if kind == Kind.SLA_PENALTY and not claim_reference:
            raise RuleViolation(_("An SLA penalty names its claim."), rule="PRE-1", status=400)
        if kind == Kind.SLA_PENALTY and LedgerEntry.objects.filter(kind=kind, claim_reference=claim_reference).exists():
            # SLA-4: once per claim (a unique constraint backs this check).
            raise RuleViolation(_("The penalty of this claim has already been credited."), rule="SLA-4")
        return _post(
            account=account,
            kind=kind,
            amount=value,
            now=now,
            invoice=invoice,
            payment=payment,
            claim_reference=claim_reference,
            actor=actor,
            rule=rule,
        )


def invoice_reimbursable(invoice: Invoice) -> Decimal:
    """PRE-2 (5.10.1): what the provider may still reimburse of an invoice: what was paid on it,
    less what was already given back — reimbursements and money-back credits to the Prepaid Account
    naming it, and money-back refunds to the card (billing.hooks)."""
    given_back = LedgerEntry.objects.filter(
        invoice=invoice, kind__in=(Kind.PROVIDER_REIMBURSEMENT, Kind.MONEY_BACK), amount__gt=0
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    return max(invoice.amount_paid - given_back - hooks.refunded_elsewhere(invoice), Decimal("0.00"))


def prepaid_reimburse_invoice(
    *, invoice: Invoice, amount: Decimal, reason: str, staff_user: User, now: dt.datetime
) -> LedgerEntry:
    """PRE-2 (TCU 5.10.1): staff reimburse all or part of what the customer paid on an invoice
    "for which the provider cannot satisfy the request", to the Prepaid Account: at most what was
    paid on it less what was already given back, with a reason (kept in the ledger and the
    evidence, and told to the customer)."""
    require_staff(staff_user, rule="PRE-2", refusal=_("Only our staff can do this."))
    reason = _require_reason(reason, rule="PRE-2")
    value = _positive(amount, rule="PRE-2")
    with transaction.atomic():
        account = prepaid_account_lock(invoice.organization)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.kind == Invoice.Kind.TOP_UP:
            raise RuleViolation(
                _("A top-up invoice funded the Prepaid Account already: it cannot be reimbursed to it."),
                rule="PRE-2",
            )
        _require_currency(account, locked.currency)
        left = invoice_reimbursable(locked)
        if value > left:
            raise RuleViolation(
                _("At most %(currency)s %(left)s of this invoice can still be reimbursed.")
                % {"currency": locked.currency, "left": left},
                rule="PRE-2",
                status=400,
                field="amount",
            )
        entry = _post(
            account=account,
            kind=Kind.PROVIDER_REIMBURSEMENT,
            amount=value,
            now=now,
            invoice=locked,
            staff_user=staff_user,
            reason=reason,
            actor=Actor.for_user(staff_user),
            rule="PRE-2",
        )
        notify(
            organization=account.organization,
            template="invoice_reimbursed",
            context={"invoice": locked, "amount": value, "currency": account.currency, "reason": reason},
            related=locked,
            now=now,
        )
    return entry


# --- spending (PRE-3) ------------------------------------------------------------------------


def _lock_payable_invoice(account: PrepaidAccount, invoice: Invoice) -> Invoice:
    """The invoice row, locked after the account row; refused unless it is an open order or
    renewal invoice of the account's Organization, in the account's currency."""
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.organization_id != account.organization_id:
        raise RuleViolation(_("No such invoice."), rule="PRE-3", status=404)
    if locked.kind not in PAYABLE_INVOICE_KINDS:
        raise RuleViolation(
            _("The Prepaid Account pays only for ordering, renewing or using Services."), rule="PRE-3", status=400
        )
    if locked.status != Invoice.Status.OPEN:
        raise RuleViolation(_("This invoice is not open: there is nothing to pay."), rule="PRE-3")
    _require_currency(account, locked.currency)
    return locked


def _settle(
    *,
    account: PrepaidAccount,
    invoice: Invoice,
    amount: Decimal,
    kind: str,
    now: dt.datetime,
    actor: Actor,
    staff_user: User | None,
    rule: str,
) -> LedgerEntry:
    """Pay `amount` of the locked `invoice` from the locked `account`: a "prepaid" payment, the
    debit naming it and the invoice, and the payment applied to the invoice (BIL-3: an order starts
    its Service) — the posting path the daily run's batches take too."""
    effects = Effects()
    payment = Payment(
        organization=account.organization,
        invoice=invoice,
        kind=PREPAID_PAYMENT_KIND,
        amount=amount,
        currency=account.currency,
        status=Payment.Status.SUCCEEDED,
        recorded_by=staff_user,
        created_at=now,
    )
    payments_record([PaymentRecord(payment, rule)], actor=actor, effects=effects)
    posting = Posting(
        account=account, kind=kind, amount=-amount, rule=rule, invoice=invoice, payment=payment, staff_user=staff_user
    )
    [entry] = ledger_post([posting], actor=actor, now=now, effects=effects)
    application = Application(invoice=invoice, amount=amount, rule=rule)
    invoices_apply_payments([application], actor=actor, now=now, effects=effects)
    effects.flush(now)
    return entry


def prepaid_pay_invoice(
    *, invoice: Invoice, user: User, amount: Decimal, now: dt.datetime, client_address: str | None = None
) -> LedgerEntry:
    """PRE-3: a member pays all or part of an open order or renewal invoice from the balance. At
    most the amount due; refused (PRE-1) when the balance does not cover `amount` — the caller
    decides about paying the rest by card."""
    value = _positive(amount, rule="PRE-3")
    with transaction.atomic():
        account = prepaid_account_lock(invoice.organization)
        require_billing_member(account.organization, user)
        locked = _lock_payable_invoice(account, invoice)
        if value > locked.amount_due:
            raise RuleViolation(
                _("Only %(currency)s %(due)s is due on this invoice.")
                % {"currency": locked.currency, "due": locked.amount_due},
                rule="PRE-3",
                status=400,
            )
        if value > account.balance:
            raise RuleViolation(
                _("The Prepaid Account's balance (%(currency)s %(balance)s) does not cover %(amount)s.")
                % {
                    "currency": account.currency,
                    "balance": figures.amount(account.balance),
                    "amount": figures.amount(value),
                },
                rule="PRE-1",
            )
        entry = _settle(
            account=account,
            invoice=locked,
            amount=value,
            kind=Kind.INVOICE_PAYMENT,
            now=now,
            actor=Actor.for_user(user, client_address=client_address),
            staff_user=None,
            rule="PRE-3",
        )
    invoice.refresh_from_db(fields=["amount_paid", "status"])
    return entry


def prepaid_provider_debit(*, invoice: Invoice, staff_user: User, now: dt.datetime) -> LedgerEntry:
    """PRE-3 (TCU 5.10.4): staff settle a defaulted invoice — open, its due date passed — from the
    Organization's balance, as far as the balance covers what is due."""
    require_staff(staff_user, rule="PRE-3", refusal=_("Only our staff can do this."))
    with transaction.atomic():
        account = prepaid_account_lock(invoice.organization)
        locked = _lock_payable_invoice(account, invoice)
        if locked.due_date >= clock.business_date(now):
            raise RuleViolation(
                _("This invoice is not overdue: it is due on %(date)s.") % {"date": figures.short_day(locked.due_date)},
                rule="PRE-3",
            )
        value = min(account.balance, locked.amount_due)
        if value <= 0:
            raise RuleViolation(_("The Prepaid Account has no balance to settle this invoice."), rule="PRE-3")
        entry = _settle(
            account=account,
            invoice=locked,
            amount=value,
            kind=Kind.PROVIDER_DEBIT,
            now=now,
            actor=Actor.for_user(staff_user),
            staff_user=staff_user,
            rule="PRE-3",
        )
    invoice.refresh_from_db(fields=["amount_paid", "status"])
    return entry


# --- staff adjustments -----------------------------------------------------------------------


def prepaid_staff_adjust(
    *, organization: Organization, amount: Decimal, reason: str, staff_user: User, now: dt.datetime
) -> LedgerEntry:
    """Staff correct the balance, up or down, naming themselves and the reason (PRE-1); never
    below zero."""
    require_staff(staff_user, rule="PRE-1", refusal=_("Only our staff can do this."))
    reason = _require_reason(reason, rule="PRE-1")
    value = money(amount)
    if value == 0:
        raise RuleViolation(_("The amount cannot be zero."), rule="PRE-1", status=400)
    with transaction.atomic():
        account = prepaid_account_lock(organization)
        if account.balance + value < 0:
            raise RuleViolation(
                _("The balance is %(currency)s %(balance)s: it cannot go below zero.")
                % {"currency": account.currency, "balance": figures.amount(account.balance)},
                rule="PRE-1",
            )
        return _post(
            account=account,
            kind=Kind.STAFF_ADJUSTMENT,
            amount=value,
            now=now,
            staff_user=staff_user,
            reason=reason,
            actor=Actor.for_user(staff_user),
            rule="PRE-1",
        )


# --- cash-out (PRE-4) ------------------------------------------------------------------------


def prepaid_cash_out_request(
    *, organization: Organization, user: User, now: dt.datetime, client_address: str | None = None
) -> CashOutRequest:
    """PRE-4: a Legal Responsible, administrator or billing member asks for the whole balance back,
    once no invoice is open. One open request at a time (also a partial unique constraint). A
    blocked Organization cannot (ORG-2: suspected unauthorized use)."""
    with transaction.atomic():
        account = prepaid_account_lock(organization)
        locked_organization = account.organization
        require_billing_member(locked_organization, user)
        if locked_organization.status == Organization.Status.BLOCKED:
            raise RuleViolation(_("This organization is blocked: please contact support."), rule="ORG-2", status=403)
        if CashOutRequest.objects.filter(account=account, status=CashOutRequest.Status.REQUESTED).exists():
            raise RuleViolation(_("A cash-out request is already waiting for our staff."), rule="PRE-4")
        _require_no_open_invoice(locked_organization)
        if account.balance <= 0:
            raise RuleViolation(_("The Prepaid Account has no balance to pay out."), rule="PRE-4")
        request = CashOutRequest.objects.create(
            account=account, amount=account.balance, requested_by=user, requested_at=now
        )
        audit_record(
            actor=Actor.for_user(user, client_address=client_address),
            action="cash_out.requested",
            rule="PRE-4",
            obj=request,
            organization=locked_organization,
            after={"amount": request.amount, "currency": account.currency},
            at=now,
        )
    return request


def _lock_open_request(request: CashOutRequest) -> tuple[PrepaidAccount, CashOutRequest]:
    """The account row, then the request row (the one lock order)."""
    account = prepaid_account_lock(request.account.organization)
    locked = CashOutRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != CashOutRequest.Status.REQUESTED:
        raise RuleViolation(_("This cash-out request has already been decided."), rule="PRE-4")
    return account, locked


def prepaid_cash_out_pay(*, request: CashOutRequest, staff_user: User, now: dt.datetime) -> CashOutRequest:
    """PRE-4: staff pay out a request: the ledger is debited by the requested amount (naming the
    staff user and the request). Refused if an invoice has been opened since, or if the balance no
    longer covers the amount (the customer spent some of it): refuse the request instead. The
    customer is told either decision."""
    require_staff(staff_user, rule="PRE-4", refusal=_("Only our staff can do this."))
    with transaction.atomic():
        account, locked = _lock_open_request(request)
        _require_no_open_invoice(account.organization)
        if account.balance < locked.amount:
            raise RuleViolation(
                _("The balance (%(currency)s %(balance)s) no longer covers the requested %(amount)s.")
                % {
                    "currency": account.currency,
                    "balance": figures.amount(account.balance),
                    "amount": figures.amount(locked.amount),
                },
                rule="PRE-4",
            )
        _post(
            account=account,
            kind=Kind.CASH_OUT,
            amount=-locked.amount,
            now=now,
            claim_reference=f"cash-out:{locked.pk}",
            staff_user=staff_user,
            actor=Actor.for_user(staff_user),
            rule="PRE-4",
        )
        locked.status = CashOutRequest.Status.PAID
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="cash_out.paid",
            rule="PRE-4",
            obj=locked,
            organization=account.organization,
            before={"status": CashOutRequest.Status.REQUESTED},
            after={"status": locked.status, "amount": locked.amount, "currency": account.currency},
            at=now,
        )
        _notify_decision(account, locked, now=now)
    return locked


def _notify_decision(account: PrepaidAccount, request: CashOutRequest, *, now: dt.datetime, reason: str = "") -> None:
    notify(
        organization=account.organization,
        template="cash_out_decided",
        context={"cash_out": request, "currency": account.currency, "reason": reason},
        related=request,
        now=now,
    )


def prepaid_cash_out_refuse(
    *, request: CashOutRequest, staff_user: User, reason: str, now: dt.datetime
) -> CashOutRequest:
    """Staff refuse a cash-out request, with a reason (kept in the evidence and told to the customer);
    the balance stays."""
    require_staff(staff_user, rule="PRE-4", refusal=_("Only our staff can do this."))
    reason = _require_reason(reason, rule="PRE-4")
    with transaction.atomic():
        account, locked = _lock_open_request(request)
        locked.status = CashOutRequest.Status.REFUSED
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=Actor.for_user(staff_user),
            action="cash_out.refused",
            rule="PRE-4",
            obj=locked,
            organization=account.organization,
            before={"status": CashOutRequest.Status.REQUESTED},
            after={"status": locked.status, "reason": reason},
            at=now,
        )
        _notify_decision(account, locked, now=now, reason=reason)
    return locked
