"""Seams through which the subscriptions app takes part in billing's rules without billing importing
it (the way `billing.services.posting.on_invoices_paid` starts what a paid invoice starts)."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

# ORG-6: narrows the invoices a member sees (a member limited to some Services sees only theirs).
InvoiceScope = Callable[[Any, QuerySet[Any]], QuerySet[Any]]
_invoice_scopes: list[InvoiceScope] = []

# ENF-6: the reasons (already translated) why the Organization's currency cannot change yet.
CurrencyBlocker = Callable[[Any], list[str]]
_currency_blockers: list[CurrencyBlocker] = []

# REN-8: which of the invoices (by id) have a charge made elsewhere (a debit attempt) in flight or in doubt.
ChargeInDoubt = Callable[[list[int]], set[int]]
_charges_in_doubt: list[ChargeInDoubt] = []

# PRE-2: what of an invoice's payments was given back other than through the Prepaid Account's
# ledger (a money-back refund to the card), in the invoice's currency.
RefundedElsewhere = Callable[[Any], Decimal]
_refunded_elsewhere: list[RefundedElsewhere] = []

# REN-6, BIL-12: the Organization's default means now allows automatic debit (called under the
# Organization's lock with the means, the actor and the time).
DefaultMeansHook = Callable[..., object]
_default_means_hooks: list[DefaultMeansHook] = []


def _register(hooks: list[Any], hook: Any) -> Any:
    if hook not in hooks:
        hooks.append(hook)
    return hook


def register_invoice_scope(hook: InvoiceScope) -> InvoiceScope:
    return _register(_invoice_scopes, hook)


def register_currency_blocker(hook: CurrencyBlocker) -> CurrencyBlocker:
    return _register(_currency_blockers, hook)


def register_charge_in_doubt(hook: ChargeInDoubt) -> ChargeInDoubt:
    return _register(_charges_in_doubt, hook)


def register_refunded_elsewhere(hook: RefundedElsewhere) -> RefundedElsewhere:
    return _register(_refunded_elsewhere, hook)


def register_default_means_usable(hook: DefaultMeansHook) -> DefaultMeansHook:
    return _register(_default_means_hooks, hook)


def invoices_in_scope(membership: Any, invoices: QuerySet[Any]) -> QuerySet[Any]:
    for scope in _invoice_scopes:
        invoices = scope(membership, invoices)
    return invoices


def currency_blockers(organization: Any) -> list[str]:
    return [reason for blocker in _currency_blockers for reason in blocker(organization)]


def invoices_in_doubt(invoice_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for check in _charges_in_doubt:
        found |= check(invoice_ids)
    return found


def refunded_elsewhere(invoice: Any) -> Decimal:
    return sum((hook(invoice) for hook in _refunded_elsewhere), Decimal("0.00"))


def default_means_usable(*, organization: Any, means: Any, actor: Any, now: dt.datetime) -> None:
    for hook in _default_means_hooks:
        hook(organization=organization, means=means, actor=actor, now=now)
