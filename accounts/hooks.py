"""Seams through which the other apps take part in account rules without accounts importing them."""

from collections.abc import Callable
from typing import Any

# ORG-9: each check returns the reasons (already translated) why an Organization cannot be
# terminated yet, e.g. "2 Services are not terminated", "invoice 2026-0042 is open".
TerminationBlocker = Callable[[Any], list[str]]
_termination_blockers: list[TerminationBlocker] = []


def register_termination_blocker(check: TerminationBlocker) -> TerminationBlocker:
    if check not in _termination_blockers:
        _termination_blockers.append(check)
    return check


def unregister_termination_blocker(check: TerminationBlocker) -> None:
    _termination_blockers.remove(check)


def termination_blockers(organization: Any) -> list[str]:
    reasons: list[str] = []
    for check in _termination_blockers:
        reasons.extend(check(organization))
    return reasons


# Called with the locked Organization, the Contact Information about to change (field -> new value),
# the user changing it and the time, before anything is written: a hook refuses with RuleViolation
# (ENF-6: billing refuses a currency change) or follows the change in its own rows.
ContactChangeHook = Callable[..., None]
_contact_change_hooks: list[ContactChangeHook] = []


def register_contact_change_hook(hook: ContactChangeHook) -> ContactChangeHook:
    if hook not in _contact_change_hooks:
        _contact_change_hooks.append(hook)
    return hook


def contact_changing(organization: Any, changes: dict[str, Any], *, user: Any, now: Any) -> None:
    for hook in _contact_change_hooks:
        hook(organization, changes, user=user, now=now)


# ENF-4: the Organization's invoices unpaid past their due date on a day, as display numbers
# (billing answers): staff may hold its orders only while there is one.
OverdueInvoices = Callable[[Any, Any], list[str]]
_overdue_invoices: list[OverdueInvoices] = []


def register_overdue_invoices(check: OverdueInvoices) -> OverdueInvoices:
    if check not in _overdue_invoices:
        _overdue_invoices.append(check)
    return check


def overdue_invoices(organization: Any, day: Any) -> list[str]:
    return [number for check in _overdue_invoices for number in check(organization, day)]
