"""One dispatch of a beat task per business date (TIME-2): the claim behind core.tasks."""

import datetime as dt

from django.db import IntegrityError, transaction

from core.models import DailyDispatch


def daily_dispatch_claim(*, task: str, day: dt.date, dispatch_id: str, now: dt.datetime) -> DailyDispatch:
    """Claim `day` of `task` for the message `dispatch_id`, unless another one claimed it first;
    return the claim, whoever holds it. Backed by the unique (task, day) constraint, so of two
    messages racing exactly one holds it."""
    try:
        with transaction.atomic():
            return DailyDispatch.objects.create(task=task, day=day, dispatch_id=dispatch_id, claimed_at=now)
    except IntegrityError:
        return DailyDispatch.objects.get(task=task, day=day)


def daily_dispatch_release(*, task: str, day: dt.date, dispatch_id: str) -> int:
    """Give up the claim of a dispatch whose run failed, so that another dispatch of the day may run."""
    deleted, _ = DailyDispatch.objects.filter(task=task, day=day, dispatch_id=dispatch_id).delete()
    return deleted
