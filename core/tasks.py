import logging
from typing import Any

from celery import Task, shared_task

from core import clock, lifecycle
from core.dispatch import daily_dispatch_claim, daily_dispatch_release

logger = logging.getLogger(__name__)


@shared_task(name="core.tasks.run_daily_lifecycle", bind=True)
def run_daily_lifecycle(self: Task[Any, Any]) -> dict[str, dict[str, int]]:
    """Beat's 02:00 task: the daily run as of today's Zurich date (same code as run_lifecycle),
    after any day since the last finished run that was missed. Safe to run twice or on two
    workers at once (REN-8): every job selects by state and the database refuses doubles.

    A second message of the same day (a second beat) does nothing and logs why (TIME-2,
    core.models.DailyDispatch); the same message delivered again finishes its run."""
    now = clock.now()
    today = clock.business_date(now)
    dispatch_id = self.request.id
    if dispatch_id:  # sent through Celery (not called as a plain function)
        claim = daily_dispatch_claim(task=self.name, day=today, dispatch_id=dispatch_id, now=now)
        if claim.dispatch_id != dispatch_id:
            logger.warning(
                "daily run of %s: this dispatch (%s) does nothing; the day was claimed by dispatch %s at %s",
                today.isoformat(),
                dispatch_id,
                claim.dispatch_id,
                claim.claimed_at.isoformat(),
            )
            return {}
    try:
        done = {}
        for day in lifecycle.days_to_run(today):
            results = lifecycle.run_day(day, now=now)
            done[day.isoformat()] = {job.name: count for job, count in results}
    except BaseException:
        if dispatch_id:  # a failed run leaves the day to another dispatch
            daily_dispatch_release(task=self.name, day=today, dispatch_id=dispatch_id)
        raise
    return done


@shared_task(name="core.tasks.run_lifecycle_batch")
def run_lifecycle_batch(batch_id: int) -> int:
    """One batch of a daily job (core.batches, the Celery engine): run it unless it is done or
    another runner holds its lease. Acknowledged late: a worker killed under it gives the message
    back, and the lease lets the orchestrator take the batch again if no message does."""
    from core import batches

    batch = batches.claim(batch_id)
    if batch is None:
        return 0
    return batches.execute(batch)
