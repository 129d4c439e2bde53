"""Every change of state of the enforcement app (ENF-1, ENF-2, ENF-3, ORG-9)."""

from enforcement.services.breaches import Evidence, breach_add_evidence, breach_decide, breach_open
from enforcement.services.reminders import deadline_reminders_run
from enforcement.services.terminations import (
    organization_terminate_for_cause,
    service_terminate_for_cause,
    terminate_for_default,
    termination_request_execute,
)

__all__ = [
    "Evidence",
    "breach_add_evidence",
    "breach_decide",
    "breach_open",
    "deadline_reminders_run",
    "organization_terminate_for_cause",
    "service_terminate_for_cause",
    "terminate_for_default",
    "termination_request_execute",
]
