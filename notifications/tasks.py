import datetime as dt

from celery import shared_task

from core import clock
from notifications.models import Notification
from notifications.services import notification_deliver, notifications_store_text

# A pending notification older than this had its delivery task lost (broker down, worker killed).
STALE_AFTER = dt.timedelta(minutes=5)
SWEEP_LIMIT = 1000


@shared_task(name="notifications.tasks.deliver_notification")
def deliver_notification(notification_id: int) -> None:
    notification_deliver(notification_id=notification_id, now=clock.now())


@shared_task(name="notifications.tasks.deliver_notifications")
def deliver_notifications(notification_ids: list[int]) -> None:
    """The notices of one batch of the daily run: one task for hundreds, not one each. Their text,
    rendered at delivery (notifications.deferred), is stored first, the inbox's included."""
    for notification_id in notifications_store_text(notification_ids):
        notification_deliver(notification_id=notification_id, now=clock.now())


@shared_task(name="notifications.tasks.deliver_pending_notifications")
def deliver_pending_notifications() -> int:
    cutoff = clock.now() - STALE_AFTER
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    for notification_id in ids:
        notification_deliver(notification_id=notification_id, now=clock.now())
    return len(ids)
