"""The seams through which the SLA app takes part in filing an SLA claim (SPEC SLA-5), and the
enforcement app in carrying out a termination request (ORG-9), without support importing them.

A handler is called as `handler(ticket=..., user=..., now=...)` inside the transaction that
creates the ticket, after the ticket and its first message exist. It may raise
`core.errors.RuleViolation` to refuse the claim (e.g. filed later than two months after the
incident, SLA-5): then no ticket is created. It may also create what it needs (a claim row).
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

SlaClaimHandler = Callable[..., Any]
_sla_claim_handlers: list[SlaClaimHandler] = []


def register_sla_claim_handler(handler: SlaClaimHandler) -> SlaClaimHandler:
    if handler not in _sla_claim_handlers:
        _sla_claim_handlers.append(handler)
    return handler


def unregister_sla_claim_handler(handler: SlaClaimHandler) -> None:
    _sla_claim_handlers.remove(handler)


def sla_claim_filed(*, ticket: Any, user: Any, now: dt.datetime) -> None:
    for handler in list(_sla_claim_handlers):
        handler(ticket=ticket, user=user, now=now)


# ORG-9: staff carry out a termination request from its ticket (support.admin); the enforcement app
# does it, called as `handler(ticket=..., staff_user=..., answer=..., now=...)`.
TerminationRequestHandler = Callable[..., Any]
_termination_request_handlers: list[TerminationRequestHandler] = []


def register_termination_request_handler(handler: TerminationRequestHandler) -> TerminationRequestHandler:
    if handler not in _termination_request_handlers:
        _termination_request_handlers.append(handler)
    return handler


def termination_request_execute(*, ticket: Any, staff_user: Any, answer: str, now: dt.datetime) -> None:
    from core.errors import RuleViolation

    if not _termination_request_handlers:
        raise RuleViolation("No handler carries out termination requests.", rule="ORG-9")
    for handler in list(_termination_request_handlers):
        handler(ticket=ticket, staff_user=staff_user, answer=answer, now=now)
