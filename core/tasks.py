from celery import shared_task

from core import clock, lifecycle


@shared_task(name="core.tasks.run_daily_lifecycle")
def run_daily_lifecycle() -> dict[str, int]:
    """Beat's 02:00 task: the daily run as of today's Zurich date (same code as run_lifecycle)."""
    now = clock.now()
    results = lifecycle.run_day(clock.business_date(now), now=now)
    return {job.name: count for job, count in results}
