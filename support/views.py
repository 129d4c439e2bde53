"""Browser pages of support (SUP-1…SUP-7). Organizations resolve through the user's memberships and
tickets through what the member sees (ORG-6): anything else answers 404. Every refusal of a service
is shown on its form, with its reason, and changes nothing. There is no delete anywhere (SUP-3)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.views import member_required
from billing import selectors as billing_selectors
from core import clock
from core.errors import RuleViolation
from core.forms import show_refusal
from core.http import client_address
from core.paging import page_of
from subscriptions import selectors as subscription_selectors
from support import selectors
from support.forms import PriorityForm, ReplyForm, TicketForm, customer_kinds
from support.models import Attachment, Ticket
from support.services import CUSTOMER_KINDS, message_post, ticket_open, ticket_set_priority


def _page(membership: Membership, **context: Any) -> dict[str, Any]:
    return {"organization": membership.organization, "membership": membership, "section": "support", **context}


@member_required
@require_GET
def tickets(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """The tickets the member sees (ORG-6), newest first, a page at a time (core.paging)."""
    page = page_of(selectors.tickets_for_member(membership), request)
    return render(request, "support/tickets.html", _page(membership, tickets=page.object_list, page=page))


@member_required
def ticket_new(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """Choose the kind first (?kind=), then the form for that kind (SUP-5): an invoice picker for a
    dispute (BIL-11), the start and end of the unavailability for an SLA claim (SLA-5), a Service
    where the kind is about one. Staff-only kinds are not offered. A GET may pre-fill the form
    (subject, Service, claimed start and end: the SLA page's "Claim" button); a POST ignores them."""
    # "Change the kind" posts the form typed so far: the new kind's form keeps what fits it.
    changing = request.method == "POST" and "change_kind" in request.POST
    if changing:
        kind = request.POST.get("new_kind")
    else:
        kind = request.POST.get("kind") if request.method == "POST" else request.GET.get("kind")
    if kind not in CUSTOMER_KINDS:
        if request.method == "POST":
            messages.error(request, _("Choose the kind of request."))
        return render(request, "support/ticket_new.html", _page(membership, kinds=customer_kinds(), form=None))
    posting = request.method == "POST" and not changing
    form = TicketForm(
        request.POST if posting else None,
        request.FILES if posting else None,
        kind=kind,
        services=subscription_selectors.services_for_member(membership).select_related("plan"),
        invoices=billing_selectors.invoices_for_member(membership),
        prefill=request.POST if changing else request.GET if request.method == "GET" else None,
    )
    if posting and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_open(
                organization=membership.organization,
                user=request.user,
                kind=kind,
                subject=data["subject"],
                body=data["body"],
                language=data["language"],
                service=data.get("service"),
                invoice=data.get("invoice"),
                claim_start=data.get("claim_start"),
                claim_end=data.get("claim_end"),
                attachments=data["attachments"],
                client_address=client_address(request),
                now=clock.now(),
            )
        except RuleViolation as violation:
            show_refusal(form, violation)
        else:
            if ticket.status == Ticket.Status.RESOLVED:
                messages.success(request, _("Your request is done: see the ticket for the details."))
            else:
                messages.success(request, _("Your ticket is open: our support team will answer here."))
            return redirect("support:ticket", org_id=membership.organization_id, ticket_id=ticket.pk)
    return render(
        request,
        "support/ticket_new.html",
        _page(membership, kinds=customer_kinds(), form=form, kind=kind, kind_label=Ticket.Kind(kind).label),
    )


def _detail(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    ticket: Ticket,
    reply_form: ReplyForm | None = None,
    priority_form: PriorityForm | None = None,
) -> HttpResponse:
    is_contact = selectors.is_contact_person(membership, ticket)
    return render(
        request,
        "support/ticket.html",
        _page(
            membership,
            ticket=ticket,
            ticket_messages=selectors.messages_for_member(ticket),
            reply_form=reply_form or ReplyForm(),
            priority_form=(priority_form or PriorityForm(initial={"priority": ticket.priority}))
            if is_contact
            else None,
            can_reply=ticket.status != Ticket.Status.CLOSED,
        ),
    )


@member_required
@require_GET
def ticket(request: AuthenticatedHttpRequest, membership: Membership, ticket_id: int) -> HttpResponse:
    """A ticket: its messages without the internal notes, its attachments, a reply form and, for the
    contact persons of its Service, the priority (SUP-4)."""
    return _detail(request, membership, selectors.ticket_for_member(membership=membership, ticket_id=ticket_id))


@member_required
@require_POST
def ticket_reply(request: AuthenticatedHttpRequest, membership: Membership, ticket_id: int) -> HttpResponse:
    """A customer message, with attachments (SUP-3); a closed ticket refuses it."""
    found = selectors.ticket_for_member(membership=membership, ticket_id=ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message_post(
                ticket=found,
                user=request.user,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
                client_address=client_address(request),
                as_staff=False,
                now=clock.now(),
            )
        except RuleViolation as violation:
            if violation.status == 404:
                raise Http404(violation.message) from violation
            show_refusal(form, violation)
        else:
            messages.success(request, _("Your message is sent."))
            return redirect("support:ticket", org_id=membership.organization_id, ticket_id=found.pk)
    return _detail(request, membership, found, reply_form=form)


@member_required
@require_POST
def ticket_priority(request: AuthenticatedHttpRequest, membership: Membership, ticket_id: int) -> HttpResponse:
    """SUP-4: the contact persons of the ticket's Service set its priority; anyone else who sees the
    ticket is refused (403), even though the form is not shown to them."""
    found = selectors.ticket_for_member(membership=membership, ticket_id=ticket_id)
    form = PriorityForm(request.POST)
    if form.is_valid():
        try:
            changed = ticket_set_priority(
                ticket=found, user=request.user, priority=form.cleaned_data["priority"], as_staff=False, now=clock.now()
            )
        except RuleViolation as violation:
            if violation.status == 404:
                raise Http404(violation.message) from violation
            if violation.status == 403:
                raise PermissionDenied(violation.message) from violation
            show_refusal(form, violation)
        else:
            shown = changed.get_priority_display()
            messages.success(request, _("The priority is now %(priority)s.") % {"priority": shown})
            return redirect("support:ticket", org_id=membership.organization_id, ticket_id=found.pk)
    return _detail(request, membership, found, priority_form=form)


def attachment_response(attachment: Attachment) -> HttpResponse:
    """The file as a download under the name the customer gave it, never rendered by the browser
    (at most SUPPORT_ATTACHMENT_MAX_BYTES, so read at once)."""
    with attachment.file.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.original_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@member_required
@require_GET
def attachment(
    request: AuthenticatedHttpRequest, membership: Membership, ticket_id: int, attachment_id: int
) -> HttpResponse:
    """An attachment of a message the member sees (support.selectors.attachment_for): never one of an
    internal note, of another Organization's ticket or of a ticket outside the member's scope (404)."""
    found = selectors.ticket_for_member(membership=membership, ticket_id=ticket_id)
    attached = selectors.attachment_for(request.user, attachment_id)
    if attached.message.ticket_id != found.pk or attached.message.internal:
        raise Http404("No such attachment.")
    return attachment_response(attached)
