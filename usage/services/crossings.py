"""Thresholds and budgets crossed by the values just accepted (SPEC USE-5, USE-6)."""

import datetime as dt
from dataclasses import dataclass, field

from audit.services import AuditSpec, audit_record_many
from notifications.services import NoticeSpec, notify_many


@dataclass
class Effects:
    """What a batch tells and records, written at its end in one go each: the notices, then the
    evidence (the audit chain head is the last lock of a transaction, docs/decisions.md)."""

    audits: list[AuditSpec] = field(default_factory=list)
    notices: list[NoticeSpec] = field(default_factory=list)

    def flush(self, now: dt.datetime) -> None:
        notify_many(self.notices, now=now)
        audit_record_many(self.audits, at=now)
        self.audits, self.notices = [], []


def crossings_check(
    *, moved: set[tuple[int, dt.date]], plans: dict[int, int], now: dt.datetime, effects: Effects
) -> None:
    """USE-5, USE-6: the alerts and limits reached by the (Service, month) totals that moved."""
    return None
