"""An Organization's currency, seen from billing (SPEC ENF-6, MONEY-1, PRE-1).

accounts changes the Contact Information, the currency included, and asks the apps that keep money
through `accounts.hooks.contact_changing` (accounts never imports billing). This hook refuses a new
currency while the Organization has money or obligations in the old one; otherwise an empty Prepaid
Account follows the Organization to its new currency (PRE-1: one account, in the Organization's
currency), so that later top-ups and payments are booked in it.

Concurrency: the caller holds the Organization row locked. Every movement of a Prepaid Account
locks that row too (prepaid_account_lock joins it), as does every order (subscriptions.services.orders),
so the balance, the open invoices and the Services read here cannot change before the commit.
"""

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from audit.services import Actor, audit_record
from billing import hooks
from billing.models import Invoice, PrepaidAccount
from core.errors import RuleViolation


def currency_change_blockers(organization: Any) -> list[str]:
    """ENF-6: what holds the Organization to its currency (already translated): a non-zero Prepaid
    Account, an open invoice, a Service not terminated (awaiting payment, trial, active or
    suspended: each is billed in the currency it was ordered in)."""
    reasons = []
    if PrepaidAccount.objects.filter(organization=organization).filter(~Q(balance=0)).exists():
        reasons.append(_("a Prepaid Account balance"))
    if Invoice.objects.filter(organization=organization, status=Invoice.Status.OPEN).exists():
        reasons.append(_("an open invoice"))
    reasons += hooks.currency_blockers(organization)  # a Service not terminated (subscriptions)
    return reasons


def organization_currency_changing(organization: Any, changes: dict[str, Any], *, user: Any, now: dt.datetime) -> None:
    """The accounts hook (see the module's docstring): refuse with ENF-6, or move an empty Prepaid
    Account to the new currency (recorded with ENF-6)."""
    currency = changes.get("currency")
    if currency is None or currency == organization.currency:
        return
    reasons = currency_change_blockers(organization)
    if reasons:
        raise RuleViolation(
            _("The currency cannot be changed while your organization has %(reasons)s.")
            % {"reasons": ", ".join(reasons)},
            rule="ENF-6",
            field="currency",
        )
    account = PrepaidAccount.objects.filter(organization=organization).first()
    if account is None or account.currency == currency:
        return
    before = {"currency": account.currency}
    account.currency = currency
    account.save(update_fields=["currency"])
    audit_record(
        actor=Actor.for_user(user),
        action="prepaid_account.currency_changed",
        rule="ENF-6",
        obj=account,
        organization=organization,
        before=before,
        after={"currency": currency, "balance": str(account.balance)},
        at=now,
    )
