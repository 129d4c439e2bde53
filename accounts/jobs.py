"""Daily job of the accounts app (registered in core.lifecycle)."""

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef

from accounts import selectors
from accounts.document_services import acceptance_deem, document_notices_send
from accounts.models import Acceptance, ContractDocument, DocumentNotice, Organization
from core import clock
from core.lifecycle import register_job

JOB_DEEMED_ACCEPTANCE = "accounts.deemed_acceptance"
JOB_DOCUMENT_NOTICES = "accounts.document_notices"


@register_job(name=JOB_DOCUMENT_NOTICES, order=890, rule="ORG-8")
def send_missing_document_notices(*, day: dt.date, now: dt.datetime) -> int:
    """Safety net behind the task queued at publication: every Organization bound by an earlier
    version of a document has its notice of the version in force (unique per organization and
    version, so a second run sends nothing)."""
    sent = 0
    for document in ContractDocument.objects.order_by("pk"):
        version = selectors.current_version(document, day)
        if version is not None:
            sent += document_notices_send(version=version, now=now)
    return sent


@register_job(name=JOB_DEEMED_ACCEPTANCE, order=900, rule="ORG-8")
def deem_documents_accepted(*, day: dt.date, now: dt.datetime) -> int:
    """A version notified on day N and not accepted binds on day N + 30 (ORG-8). Selected by state
    (no acceptance yet), backed by the unique acceptance per (organization, version)."""
    days = settings.DOCUMENT_DEEMED_ACCEPTANCE_DAYS
    # notified on or before day - 30 (Zurich)  <=>  notified before the start of day - 29
    notified_before = clock.start_of_day(day - dt.timedelta(days=days - 1))
    notices = (
        DocumentNotice.objects.filter(notified_at__lt=notified_before)
        .exclude(organization__status=Organization.Status.TERMINATED)
        .exclude(Exists(Acceptance.objects.filter(organization=OuterRef("organization"), version=OuterRef("version"))))
        .select_related("organization", "version__document")
        .order_by("id")
    )
    return sum(
        1
        for notice in notices.iterator(chunk_size=500)
        if acceptance_deem(notice=notice, now=now, job_name=JOB_DEEMED_ACCEPTANCE)
    )
