from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Organization
from notifications.models import Notification


def inbox_of(organization: Organization) -> QuerySet[Notification]:
    """Messages posted to the Organization's portal inbox, newest first (ORG-3)."""
    return Notification.objects.filter(organization=organization, channel=Notification.Channel.INBOX).order_by(
        "-created_at", "-id"
    )


def inbox_unread_count(organization: Organization) -> int:
    return inbox_of(organization).filter(read_at__isnull=True).count()


def inbox_message(*, organization: Organization, message_id: int) -> Notification:
    message = inbox_of(organization).filter(pk=message_id).first()
    if message is None:
        raise Http404("No such message.")
    return message
