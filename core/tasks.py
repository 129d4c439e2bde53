from celery import shared_task

from core import clock, lifecycle


@shared_task(name="core.tasks.run_daily_lifecycle")
def run_daily_lifecycle() -> dict[str, dict[str, int]]:
    """Beat's 02:00 task: the daily run as of today's Zurich date (same code as run_lifecycle),
    after any day since the last finished run that was missed. Safe to run twice or on two
    workers at once (REN-8): every job selects by state and the database refuses doubles."""
    now = clock.now()
    done = {}
    for day in lifecycle.days_to_run(clock.business_date(now)):
        results = lifecycle.run_day(day, now=now)
        done[day.isoformat()] = {job.name: count for job, count in results}
    return done
