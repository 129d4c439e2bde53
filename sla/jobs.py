"""The daily jobs of the SLA app (registered in core.lifecycle at orders 600 and 610, SPEC TIME-2).

SLA-4: every accepted claim's penalty not yet credited (its task lost, the broker down) is credited
to the Prepaid Account. Exactly once by construction: the job selects penalties by state
(`credited_at` empty, a partial index), `penalty_credit` locks each row and re-checks it, and the
ledger refuses a second entry for one claim; a rerun of the same day finds nothing to do.
"""

import datetime as dt
import logging

from core.errors import RuleViolation
from core.lifecycle import register_job
from sla.models import Penalty
from sla.services import JOB_CREDIT, incident_notify, maintenance_notify, notices_untold, penalty_credit

logger = logging.getLogger(__name__)

# Penalties read per round trip: accepted claims are few (staff decide each one).
CREDIT_BATCH = 200


@register_job(name=JOB_CREDIT, order=600, rule="SLA-4")
def credit_penalties(*, day: dt.date, now: dt.datetime) -> int:
    credited = 0
    last_id = 0
    while True:
        ids = list(
            Penalty.objects.filter(credited_at__isnull=True, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:CREDIT_BATCH]
        )
        if not ids:
            return credited
        for penalty_id in ids:
            try:
                if penalty_credit(penalty_id=penalty_id, now=now) is not None:
                    credited += 1
            except RuleViolation:
                # The Prepaid Account refused it (e.g. the Organization's currency changed since the
                # invoice): left uncredited for staff, and the rest of the daily run goes on.
                logger.exception("SLA penalty %s could not be credited", penalty_id)
        last_id = ids[-1]


@register_job(name="sla.notices", order=610, rule="SLA-8")
def tell_untold(*, day: dt.date, now: dt.datetime) -> int:
    """SLA-7, SLA-8: the notices of incidents and maintenance windows whose task was lost (the broker
    was down when they were recorded) are sent now; the dedupe keys keep them to one per person."""
    events, windows = notices_untold()
    for incident_id, event in events:
        incident_notify(incident_id=incident_id, event=event, now=now)
    for maintenance_id in windows:
        maintenance_notify(maintenance_id=maintenance_id, now=now)
    return len(events) + len(windows)
