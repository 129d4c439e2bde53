"""The daily job of support (registered in core.lifecycle at order 700, SPEC TIME-2).

Escalation: a ticket waiting for the provider (opened by the customer, or its last public message
from the customer) longer than SUPPORT_ESCALATION_HOURS is escalated: `escalated_at` is set,
audited, and staff are told by an e-mail to SUPPORT_EMAIL (a Notification, EVD-3, in the
portal's source language). Once per waiting period: a ticket is due while it waits and was not
escalated since it started waiting, so a rerun finds nothing to do; the notice's dedupe key
(ticket, start of the wait) is the last line of defence.

Rule id cited: SUP-7 (SC 10.3.4, the support exchange between the customer's contact persons and
the support address). No SPEC rule sets a response time; the escalation is the provider's side of
that exchange, and the configurable delay is the issue's decision.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet

from audit.services import Actor, AuditSpec, audit_record_many
from core.bulk import bulk_update
from core.lifecycle import register_job
from notifications.models import Notification
from notifications.services import notify
from support.models import Ticket

JOB_ESCALATION = "support.escalation"
WAITING = (Ticket.Status.OPEN, Ticket.Status.WAITING_PROVIDER)


def escalation_due(now: dt.datetime) -> QuerySet[Ticket]:
    """Tickets waiting for the provider longer than SUPPORT_ESCALATION_HOURS, not escalated since they
    started waiting (the partial index on `waiting_since` serves this)."""
    cutoff = now - dt.timedelta(hours=settings.SUPPORT_ESCALATION_HOURS)
    return (
        Ticket.objects.filter(waiting_since__isnull=False, waiting_since__lte=cutoff, status__in=WAITING)
        .filter(Q(escalated_at__isnull=True) | Q(escalated_at__lt=F("waiting_since")))
        .order_by("pk")
    )


def escalate_batch(ticket_ids: list[int], *, now: dt.datetime) -> int:
    """One transaction: lock the tickets, re-check that each is still due, escalate and tell staff."""
    actor = Actor.system(JOB_ESCALATION)
    with transaction.atomic():
        tickets = list(
            escalation_due(now).select_for_update(of=("self",)).filter(pk__in=ticket_ids).select_related("organization")
        )
        for ticket in tickets:
            ticket.escalated_at = now
        bulk_update(tickets, ["escalated_at"])
        audit_record_many(
            [
                AuditSpec(
                    actor=actor,
                    action="ticket.escalated",
                    rule="SUP-7",
                    obj=ticket,
                    organization=ticket.organization,
                    after={"waiting_since": ticket.waiting_since.isoformat() if ticket.waiting_since else None},
                )
                for ticket in tickets
            ],
            at=now,
        )
        for ticket in tickets:
            assert ticket.waiting_since is not None
            notify(
                organization=ticket.organization,
                template="support_escalated",
                context={"ticket": ticket, "hours": settings.SUPPORT_ESCALATION_HOURS},
                channels=(Notification.Channel.EMAIL,),
                related=ticket,
                email_to=settings.SUPPORT_EMAIL,
                language=settings.LANGUAGE_CODE,
                dedupe_key=f"support_escalation:{ticket.pk}:{ticket.waiting_since.isoformat()}",
                now=now,
            )
    return len(tickets)


@register_job(name=JOB_ESCALATION, order=700, rule="SUP-7")
def escalate_waiting_tickets(*, day: dt.date, now: dt.datetime) -> int:
    """Escalate the tickets waiting for the provider too long, in batches of LIFECYCLE_BATCH_SIZE
    (keyset pagination on the primary key; a handful of queries per batch plus one notice each)."""
    size = settings.LIFECYCLE_BATCH_SIZE
    done, last_id = 0, 0
    while True:
        ids = list(escalation_due(now).filter(pk__gt=last_id).values_list("pk", flat=True)[:size])
        if not ids:
            return done
        last_id = ids[-1]
        done += escalate_batch(ids, now=now)
