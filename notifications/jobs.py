"""Daily job of the notifications app (registered in core.lifecycle)."""

import datetime as dt

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction

from audit.services import Actor, audit_record
from core import clock
from core.lifecycle import register_job
from notifications.models import Notification

JOB_TACIT_READING = "notifications.tacit_reading"
# Messages handled per transaction: each costs one row lock and one audit event.
BATCH_SIZE = 500


def tacit_acceptance_date(posted_at: dt.datetime) -> dt.date:
    """ORG-3: a message posted on day P with no reaction is tacitly read and accepted on P + 1 month.

    Month arithmetic with relativedelta clamps to the month's end (31 Jan + 1 month = 28/29 Feb).
    """
    months = settings.INBOX_TACIT_ACCEPTANCE_MONTHS
    return clock.business_date(posted_at) + relativedelta(months=months)


@register_job(name=JOB_TACIT_READING, order=910, rule="ORG-3")
def mark_tacitly_read(*, day: dt.date, now: dt.datetime) -> int:
    """Inbox messages without a reaction one month after they were posted become tacitly read and
    accepted. Selected by state, so a second run of the same day finds nothing."""
    months = settings.INBOX_TACIT_ACCEPTANCE_MONTHS
    # Superset bound (a few days of slack for month-end clamping); the exact date is checked per row.
    latest_posting = clock.start_of_day(day - relativedelta(months=months) + dt.timedelta(days=4))
    actor = Actor.system(JOB_TACIT_READING)
    changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization")
                .filter(
                    channel=Notification.Channel.INBOX,
                    reaction="",
                    tacitly_accepted_at__isnull=True,
                    sent_at__lt=latest_posting,
                    id__gt=last_id,
                )
                .order_by("id")[:BATCH_SIZE]
            )
            if not batch:
                return changed
            last_id = batch[-1].id
            for message in batch:
                if message.sent_at is None or tacit_acceptance_date(message.sent_at) > day:
                    continue
                message.tacitly_accepted_at = now
                message.read_at = message.read_at or now
                message.save(update_fields=["tacitly_accepted_at", "read_at"])
                audit_record(
                    actor=actor,
                    action="inbox.tacitly_accepted",
                    rule="ORG-3",
                    obj=message,
                    organization=message.organization,
                    after={"tacitly_accepted_at": now.isoformat()},
                    at=now,
                )
                changed += 1
