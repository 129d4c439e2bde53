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
