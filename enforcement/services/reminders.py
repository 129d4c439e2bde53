"""ENF-2: staff are reminded, once per breach, of a remedy deadline that passed without a decision.

Exactly once by construction: the daily job selects breaches by state (open, deadline passed, no
reminder), this batch locks them and re-checks, and the reminder's one-to-one row refuses a second
reminder for one breach; a rerun of the same day finds nothing to do.
"""

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction

from audit.services import Actor, AuditSpec, audit_record_many
from enforcement.models import DeadlineReminder
from enforcement.selectors import breaches_past_deadline
from notifications.models import Notification
from notifications.services import notify

JOB_DEADLINES = "enforcement.remedy_deadlines"


def deadline_reminders_run(breach_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    actor = Actor.system(JOB_DEADLINES)
    with transaction.atomic():
        breaches = list(
            breaches_past_deadline(day)
            .select_for_update(of=("self",))
            .filter(pk__in=list(breach_ids))
            .select_related("organization")
        )
        DeadlineReminder.objects.bulk_create(DeadlineReminder(breach=b, day=day, created_at=now) for b in breaches)
        audit_record_many(
            [
                AuditSpec(
                    actor=actor,
                    action="breach.deadline_passed",
                    rule="ENF-2",
                    obj=breach,
                    organization=breach.organization,
                    after={"remedy_deadline": breach.remedy_deadline.isoformat() if breach.remedy_deadline else None},
                )
                for breach in breaches
            ],
            at=now,
        )
        for breach in breaches:
            notify(
                organization=breach.organization,
                template="breach_deadline_passed",
                context={"breach": breach},
                channels=(Notification.Channel.EMAIL,),
                related=breach,
                email_to=settings.SUPPORT_EMAIL,
                language=settings.LANGUAGE_CODE,
                dedupe_key=f"breach-deadline:{breach.pk}",
                now=now,
            )
    return len(breaches)
