"""The daily job of the exports app (core.lifecycle, order 950, SPEC EVD-4 / EVD-5).

1. Removes the file of every ready export whose retention (EXPORT_RETENTION_DAYS after it was built)
   ends on or before the day: the row stays, with its evidence, as "removed". Selected by state and
   date (a partial index), each export locked and re-checked: a rerun of the day finds nothing to do.
2. Builds the exports requested before the day and still waiting: their task was lost (the broker
   was down). A build that another worker already finished is left alone (exports.services).
"""

import datetime as dt

from core import clock
from core.lifecycle import register_job
from exports.models import Export
from exports.services import JOB_RETENTION, export_build, export_remove

# Exports read per round trip: a handful a day per Organization at most.
BATCH = 200


@register_job(name=JOB_RETENTION, order=950, rule="EVD-4")
def remove_expired_exports(*, day: dt.date, now: dt.datetime) -> int:
    changed = 0
    last_id = 0
    while True:
        ids = list(
            Export.objects.filter(status=Export.Status.READY, expires_on__lte=day, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            break
        changed += sum(export_remove(export_id=export_id, day=day, now=now) for export_id in ids)
        last_id = ids[-1]
    waiting = Export.objects.filter(
        status__in=[Export.Status.REQUESTED, Export.Status.BUILDING], requested_at__lt=clock.start_of_day(day)
    ).order_by("pk")
    for export_id in waiting.values_list("pk", flat=True):
        built = export_build(export_id=export_id, now=now)
        changed += built is not None and built.status == Export.Status.READY
    return changed
