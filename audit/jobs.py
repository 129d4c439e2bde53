"""Daily job of the audit app (registered in core.lifecycle)."""

import datetime as dt

from audit.seals import seal_write
from core.lifecycle import register_job

JOB_SEAL = "audit.seal"


@register_job(name=JOB_SEAL, order=990, rule="EVD-1")
def seal_the_chain(*, day: dt.date, now: dt.datetime) -> int:
    """Last of the day: seal the chain's end with the key kept outside the database. A day sealed
    already is not sealed again (one seal file per day)."""
    return 0 if seal_write(day=day, now=now) is None else 1
