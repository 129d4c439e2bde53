"""Reads of the billing app."""

from typing import Any


def organization_termination_blockers(organization: Any) -> list[str]:
    """ORG-9: reasons the billing side refuses an Organization's termination (a Service not yet
    terminated, an open invoice). Services and invoices arrive with the billing issue; until then
    the billing app holds none, so nothing blocks."""
    return []
