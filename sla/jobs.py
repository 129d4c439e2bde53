"""The daily job of the SLA app (registered in core.lifecycle at order 600, SPEC TIME-2).

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
from sla.services import JOB_CREDIT, penalty_credit

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
