"""The Renewal Warranty's provider renewal and its last notice (SPEC RW-2, RW-3, RW-5, RW-6): a
protected Service unpaid on E - 2 is renewed by the provider with an unpaid invoice and keeps working
for a while. Moved out of `lifecycle` (its size); the same batch functions the daily run calls.
"""

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Membership
from audit.services import Actor
from billing.services.posting import Effects
from core.bulk import bulk_update
from notifications.models import Notification
from notifications.services import NoticeSpec
from subscriptions.batch import locked_services
from subscriptions.models import Service
from subscriptions.services.lifecycle import ALL_CHANNELS, Status, service_audit
from subscriptions.services.renewal_invoices import (
    next_term,
    next_term_invoices,
    open_renewal_invoices,
    renewal_invoices_issue,
)

JOB_WARRANTY = "billing.renewal_warranty"


# --- Renewal Warranty (RW-3, RW-5, RW-6) ------------------------------------------------------


def legal_responsible_copies(notices: Sequence[NoticeSpec]) -> list[NoticeSpec]:
    """RW-5: the escalation also reaches the person legally responsible — each Legal Responsible at
    their login e-mail, unless the notice reaches that address already (the contact or secondary
    address). Same dedupe key: each copy is its own recorded contact (its channel and address)."""
    organization_ids = {notice.organization.pk for notice in notices}
    emails: dict[int, list[str]] = defaultdict(list)
    for organization_id, email in (
        Membership.objects.filter(organization_id__in=organization_ids, role=Membership.Role.LEGAL_RESPONSIBLE)
        .order_by("pk")
        .values_list("organization_id", "user__email")
    ):
        emails[organization_id].append(email)
    copies = []
    for notice in notices:
        organization = notice.organization
        reached = {organization.contact_email.lower(), (organization.secondary_email or "").lower()}
        for email in emails[organization.pk]:
            if email.lower() in reached:
                continue
            reached.add(email.lower())
            copies.append(
                dataclasses.replace(notice, channels=(Notification.Channel.EMAIL,), all_contacts=False, email_to=email)
            )
    return copies


def warranty_due(day: dt.date) -> QuerySet[Service]:
    """RW-3: protected Services still unpaid on E - 2 (after that day's attempt), with no warranty
    renewal unpaid already (RW-6). Catches up a missed day up to E - 1."""
    return Service.objects.filter(
        status=Status.ACTIVE,
        renewal_warranty=True,
        plan__service_type__warranty_eligible=True,
        warranty_invoice__isnull=True,
        renewal_declined_at__isnull=True,
        expires_on__gt=day,
        expires_on__lte=day + dt.timedelta(days=settings.RENEWAL_WARRANTY_DAYS_BEFORE),
    ).order_by("pk")


def warranty_renew_run(service_ids: Sequence[int], *, day: dt.date, now: dt.datetime) -> int:
    """RW-3: the provider renews each Service for its period with an unpaid renewal invoice (with
    the surcharge, RW-2); the Service keeps working until E + 49 (monthly) or E + 220 (annual) days,
    and the customer is told through every channel on file (RW-5)."""
    actor = Actor.system(JOB_WARRANTY)
    with transaction.atomic():
        found = open_renewal_invoices(service_ids, lock=True)
        services = [
            s
            for s in locked_services(service_ids)
            if s.status == Status.ACTIVE
            and s.renewal_warranty
            and s.warranty_invoice_id is None
            and s.renewal_declined_at is None
            and s.expires_on is not None
            and day < s.expires_on <= day + dt.timedelta(days=settings.RENEWAL_WARRANTY_DAYS_BEFORE)
        ]
        invoices = next_term_invoices(services, found)
        missing = [s for s in services if s.pk not in invoices]
        invoices.update(renewal_invoices_issue(missing, day=day, actor=actor, rule="RW-3", now=now))
        effects = Effects()
        changed = []
        for service in services:
            invoice = invoices.get(service.pk)
            if invoice is None:
                continue
            before = {"term": service.term, "expires_on": service.expires_on, "warranty_until": None}
            expiry = service.expires_on
            assert expiry is not None
            number, _start, end = next_term(service)
            service.term, service.expires_on = number, end
            service.warranty_invoice = invoice
            service.warranty_until = expiry + dt.timedelta(
                days=settings.RENEWAL_WARRANTY_WORKING_DAYS[service.plan.period]
            )
            service_audit(effects, actor, service, "service.warranty_renewed", "RW-3", before)
            effects.notices.append(
                NoticeSpec(
                    organization=service.organization,
                    template="warranty_renewed",
                    context={"service": service, "invoice": invoice, "expired_on": expiry},
                    related=service,
                    channels=ALL_CHANNELS,
                    all_contacts=True,
                    dedupe_key=f"warranty-renewed:{service.pk}:{invoice.pk}",
                )
            )
            changed.append(service)
        bulk_update(changed, ["term", "expires_on", "warranty_invoice", "warranty_until"])
        effects.notices.extend(legal_responsible_copies(effects.notices))  # RW-5
        effects.flush(now)
    return len(changed)


def warranty_final_notice_due(day: dt.date) -> QuerySet[Service]:
    """RW-5: a last escalation, through every channel, some days before the warranty runs out."""
    return Service.objects.filter(
        status=Status.ACTIVE,
        warranty_invoice__isnull=False,
        warranty_until=day + dt.timedelta(days=settings.RENEWAL_WARRANTY_FINAL_NOTICE_DAYS),
    ).order_by("pk")
