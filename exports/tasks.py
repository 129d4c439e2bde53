"""Thin Celery tasks of the exports app: they take an id, read the clock once and call a service. Safe
to run twice or on two workers at once (exports.services.export_build)."""

from celery import shared_task

from core import clock
from exports import services


@shared_task(name="exports.tasks.build_export", acks_late=True)
def build_export(export_id: int) -> str | None:
    """EVD-4, EVD-5: build one export; its status afterwards (None: no such export)."""
    export = services.export_build(export_id=export_id, now=clock.now())
    return None if export is None else export.status
