"""Reads of the enforcement app: the breaches a customer sees (ENF-2), the evidence they may open,
and the breaches whose remedy deadline passed without a decision (the daily reminder)."""

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from enforcement.models import Breach, BreachEvidence


def breaches_for_customer(organization_id: int) -> QuerySet[Breach]:
    """ENF-2: the Organization's breaches as its members see them: not those an authority forbade
    telling them of (TCU 13.1), each with its Services and only the evidence they may see."""
    return (
        Breach.objects.filter(organization_id=organization_id, notice_withheld=False)
        .prefetch_related(
            "services__plan__service_type",
            Prefetch(
                "evidence",
                queryset=BreachEvidence.objects.filter(visible_to_customer=True).select_related("ticket"),
                to_attr="visible_evidence",
            ),
        )
        .order_by("-opened_at", "-id")
    )


def evidence_for_customer(*, organization_id: int, breach_id: int, evidence_id: int) -> BreachEvidence:
    """A file the customer may open (tenancy: another Organization's, or hidden, answers 404)."""
    found = (
        BreachEvidence.objects.filter(
            pk=evidence_id,
            breach_id=breach_id,
            breach__organization_id=organization_id,
            breach__notice_withheld=False,
            visible_to_customer=True,
        )
        .exclude(file="")
        .first()
    )
    if found is None:
        raise Http404("No such file.")
    return found


def breaches_awaiting_decision(day: dt.date) -> QuerySet[Breach]:
    """ENF-2: open breaches whose remedy deadline passed before `day` (the deadline day itself is the
    customer's), reminded or not, of an Organization whose contract still runs: staff decide them."""
    return Breach.objects.filter(status=Breach.Status.OPEN, remedy_deadline__lt=day).exclude(
        organization__status="terminated"
    )


def breaches_past_deadline(day: dt.date) -> QuerySet[Breach]:
    """ENF-2: open breaches whose remedy deadline passed before `day` and whose staff were not
    reminded yet (the deadline day itself is the customer's); not those of an Organization whose
    contract has ended meanwhile (nothing is left to decide)."""
    return (
        Breach.objects.filter(status=Breach.Status.OPEN, remedy_deadline__lt=day, deadline_reminder__isnull=True)
        .exclude(organization__status="terminated")
        .order_by("pk")
    )
