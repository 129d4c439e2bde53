from celery import shared_task

from accounts.document_services import document_notices_send
from accounts.models import DocumentVersion
from core import clock


@shared_task(name="accounts.tasks.send_document_notices")
def send_document_notices(version_id: int) -> int:
    """Notify the Organizations bound by an earlier version of a newly published document (ORG-8)."""
    version = DocumentVersion.objects.select_related("document").get(pk=version_id)
    return document_notices_send(version=version, now=clock.now())
