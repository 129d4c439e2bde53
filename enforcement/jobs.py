"""The daily job of the enforcement app (registered in core.lifecycle at order 520, SPEC TIME-2):
ENF-2, staff reminded once of each breach whose remedy deadline passed without a decision."""

import datetime as dt

from core.lifecycle import register_job
from enforcement.selectors import breaches_past_deadline
from enforcement.services.reminders import JOB_DEADLINES, deadline_reminders_run

# Breaches per transaction: few (staff open each one by hand).
REMINDER_BATCH = 100


@register_job(name=JOB_DEADLINES, order=520, rule="ENF-2")
def remind_passed_deadlines(*, day: dt.date, now: dt.datetime) -> int:
    ids = list(breaches_past_deadline(day).values_list("pk", flat=True))
    done = 0
    for start in range(0, len(ids), REMINDER_BATCH):
        done += deadline_reminders_run(ids[start : start + REMINDER_BATCH], day=day, now=now)
    return done
