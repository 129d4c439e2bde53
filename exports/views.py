"""Browser pages of exports: an Organization's statements (EVD-4) and the user's own data (EVD-5).
The Organization resolves through the user's memberships and each export through what they may see
(exports.selectors): anything else answers 404. A waiting export's row is refreshed by htmx polling
until it is ready."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.views import member_required
from core import clock
from core.errors import RuleViolation
from core.forms import call_service
from core.http import client_address
from exports import selectors
from exports.forms import StatementForm
from exports.models import Export
from exports.services import (
    export_download,
    export_personal_request,
    export_statement_request,
    statement_file_name,
    statement_member,
)

# Seconds between two refreshes of a waiting export's row.
POLL_SECONDS = 2


def file_response(export: Export, content: bytes) -> HttpResponse:
    """The export as a download, never rendered by the browser (PrivateDownloadsMiddleware: no cache)."""
    if export.kind == Export.Kind.STATEMENT:
        content_type, name = "application/zip", statement_file_name(export)
    else:
        content_type, name = (
            "application/json",
            f"personal-data-{clock.business_date(export.requested_at):%Y-%m-%d}.json",
        )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@member_required
def statements(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """EVD-4: ask for a statement of a date range; the latest ones, with their progress."""
    organization = membership.organization
    try:
        statement_member(organization.pk, request.user)
    except RuleViolation as refused:
        return render(
            request,
            "exports/statements.html",
            {"organization": organization, "membership": membership, "section": "exports", "refusal": refused.message},
            status=403,
        )
    today = clock.today()
    form = StatementForm(request.POST or None, initial={"start": dt.date(today.year, 1, 1), "end": today})
    if request.method == "POST" and form.is_valid():
        export = call_service(
            form,
            lambda: export_statement_request(
                organization_id=organization.pk,
                user=request.user,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if export is not None:
            messages.success(request, _("Your statement is being prepared. We will e-mail you when it is ready."))
            return redirect("exports:statements", org_id=organization.pk)
    return render(
        request,
        "exports/statements.html",
        {
            "organization": organization,
            "membership": membership,
            "section": "exports",
            "form": form,
            "exports": selectors.statements_of(membership)[: selectors.LISTED],
            "poll_seconds": POLL_SECONDS,
        },
    )


@member_required
@require_GET
def statement_status(request: AuthenticatedHttpRequest, membership: Membership, export_id: int) -> HttpResponse:
    """One statement's row of the list (htmx polling)."""
    export = selectors.statement_for(organization_id=membership.organization_id, user=request.user, export_id=export_id)
    return render(
        request,
        "exports/_statement_row.html",
        {"organization": membership.organization, "export": export, "poll_seconds": POLL_SECONDS},
    )


@member_required
@require_GET
def statement_download(request: AuthenticatedHttpRequest, membership: Membership, export_id: int) -> HttpResponse:
    export = selectors.statement_for(organization_id=membership.organization_id, user=request.user, export_id=export_id)
    return _download(request, export)


def _download(request: AuthenticatedHttpRequest, export: Export) -> HttpResponse:
    try:
        content = export_download(
            export=export, user=request.user, client_address=client_address(request), now=clock.now()
        )
    except RuleViolation as refused:
        raise Http404(refused.message) from refused
    return file_response(export, content)


@login_required
def personal(request: AuthenticatedHttpRequest) -> HttpResponse:
    """EVD-5: ask for the personal data the portal holds about you; the latest exports."""
    if request.method == "POST":
        try:
            export_personal_request(user=request.user, client_address=client_address(request), now=clock.now())
        except RuleViolation as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Your data is being gathered. This page shows when it is ready."))
        return redirect("exports:personal")
    return render(
        request,
        "exports/personal.html",
        {"exports": selectors.personal_exports_of(request.user)[: selectors.LISTED], "poll_seconds": POLL_SECONDS},
    )


@login_required
@require_GET
def personal_status(request: AuthenticatedHttpRequest, export_id: int) -> HttpResponse:
    export = selectors.personal_export_for(user=request.user, export_id=export_id)
    return render(request, "exports/_personal_row.html", {"export": export, "poll_seconds": POLL_SECONDS})


@login_required
@require_GET
def personal_download(request: AuthenticatedHttpRequest, export_id: int) -> HttpResponse:
    return _download(request, selectors.personal_export_for(user=request.user, export_id=export_id))
