"""The customer's page of breach notices (ENF-2): each breach of the Organization in plain words —
its category, reason, the Services it concerns, the evidence the customer may see and the remedy
deadline — and the evidence files they may open. The Organization resolves through the user's
memberships (another one answers 404); breaches an authority forbade telling are not shown."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.views import member_required
from enforcement import selectors
from enforcement.models import BreachEvidence


def evidence_response(evidence: BreachEvidence) -> HttpResponse:
    """The file as a download under its original name, never rendered by the browser (its size is
    bounded by the support attachment limits, so it is read at once)."""
    with evidence.file.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type=evidence.content_type)
    response["Content-Disposition"] = content_disposition_header(True, evidence.original_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@member_required
@require_GET
def breaches(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    return render(
        request,
        "enforcement/breaches.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "breaches",
            "breaches": selectors.breaches_for_customer(membership.organization_id),
        },
    )


@member_required
@require_GET
def evidence_file(
    request: AuthenticatedHttpRequest, membership: Membership, breach_id: int, evidence_id: int
) -> HttpResponse:
    found = selectors.evidence_for_customer(
        organization_id=membership.organization_id, breach_id=breach_id, evidence_id=evidence_id
    )
    return evidence_response(found)
