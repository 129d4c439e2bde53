from django.db.models import QuerySet
from django.http import Http404

from notifications.models import Notification


def inbox_of(organization_id: int) -> QuerySet[Notification]:
    """Messages posted to the Organization's portal inbox, newest first (ORG-3). By the Organization's
    id: notifications sits below accounts and does not import it."""
    return Notification.objects.filter(organization_id=organization_id, channel=Notification.Channel.INBOX).order_by(
        "-created_at", "-id"
    )


def inbox_unread_count(organization_id: int) -> int:
    return inbox_of(organization_id).filter(read_at__isnull=True).count()


def inbox_message(*, organization_id: int, message_id: int) -> Notification:
    message = inbox_of(organization_id).filter(pk=message_id).first()
    if message is None:
        raise Http404("No such message.")
    return message


def unsent(keys: dict[int, str]) -> dict[int, str]:
    """The dedupe keys (by the id of what each notice is about) not used by any notice yet: what a
    daily job still has to send, in one query (a rerun finds them sent)."""
    sent = set(Notification.objects.filter(dedupe_key__in=keys.values()).values_list("dedupe_key", flat=True))
    return {pk: key for pk, key in keys.items() if key not in sent}
