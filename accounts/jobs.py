"""Daily job of the accounts app (registered in core.lifecycle)."""

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef

from accounts.models import Acceptance, DocumentNotice, Organization
from accounts.services import acceptance_deem
from core import clock
from core.lifecycle import register_job

JOB_DEEMED_ACCEPTANCE = "accounts.deemed_acceptance"


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
