"""Daily jobs of usage billing (registered in core.lifecycle, SPEC USE-3).

The month-end invoices run before the debit attempts (100), so a usage invoice issued on the 1st
gets its first collection attempt the same day (USE-4).
"""

import datetime as dt

from core.batches import in_batches
from core.lifecycle import register_job
from subscriptions.services import usage_collection
from usage.services import invoicing


@register_job(name=invoicing.JOB_MONTH_END, order=50, rule="USE-3")
def month_end(*, day: dt.date, now: dt.datetime) -> int:
    """USE-3, USE-5, USE-8: each usage Service's months before this one closed and invoiced."""
    return in_batches(invoicing.month_end_due(day), invoicing.month_end_run, day=day, now=now)


@register_job(name="usage.trials_resume", order=60, rule="USE-8")
def trials_resume(*, day: dt.date, now: dt.datetime) -> int:
    """USE-8: lapsed usage trials work again once their Organization has a means to collect from."""
    return in_batches(
        usage_collection.usage_trials_resume_due(day), usage_collection.usage_trials_resume_run, day=day, now=now
    )
