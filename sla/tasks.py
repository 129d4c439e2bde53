"""Thin Celery tasks of the SLA app: they take ids, read the clock once and call a service. Each is
safe to run twice or on two workers at once: the services lock and the database refuses doubles
(the notices' dedupe keys, one ledger entry per claim)."""

from celery import shared_task

from core import clock
from sla import services


@shared_task(name="sla.tasks.notify_incident", acks_late=True)
def notify_incident(incident_id: int, event: str) -> int:
    return services.incident_notify(incident_id=incident_id, event=event, now=clock.now())


@shared_task(name="sla.tasks.notify_maintenance", acks_late=True)
def notify_maintenance(maintenance_id: int) -> int:
    return services.maintenance_notify(maintenance_id=maintenance_id, now=clock.now())


@shared_task(name="sla.tasks.credit_penalty", acks_late=True)
def credit_penalty(penalty_id: int) -> bool:
    """SLA-4: credit one accepted claim's penalty (the daily job credits any this task missed)."""
    return services.penalty_credit(penalty_id=penalty_id, now=clock.now()) is not None


def queue(what: str, object_id: int) -> None:
    """Queue the task for `what` (called after commit by the services). A broker that is down loses
    nothing: the daily jobs credit the penalties left (600) and tell the notices untold (610)."""
    import logging

    try:
        if what == "incident_detected":
            notify_incident.delay(object_id, "detected")
        elif what == "incident_resolved":
            notify_incident.delay(object_id, "resolved")
        elif what == "maintenance_announced":
            notify_maintenance.delay(object_id)
        elif what == "penalty_credit":
            credit_penalty.delay(object_id)
        else:
            raise ValueError(f"unknown SLA task {what!r}")
    except ValueError:
        raise
    except Exception:  # broker down
        logging.getLogger(__name__).exception("could not queue %s for %s", what, object_id)
