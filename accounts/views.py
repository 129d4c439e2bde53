"""The browser portal's account pages. Every page that names an Organization resolves it through
the user's own memberships (selectors.membership_for), so another Organization's id answers 404."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts import document_services, selectors, services
from accounts.forms import (
    ContactForm,
    MemberAddForm,
    MemberRoleForm,
    OrganizationCreateForm,
    OtpTokenForm,
    SignupForm,
    TerminateForm,
)
from accounts.http import AuthenticatedHttpRequest
from accounts.models import DocumentVersion, Invitation, Language, Membership
from accounts.otp import staff_device, staff_device_qr_svg, staff_otp_verify
from audit.services import Actor
from core import clock
from core.errors import RuleViolation
from core.forms import call_service
from core.http import client_address
from notifications import selectors as notification_selectors
from notifications.models import Notification
from notifications.services import inbox_message_react, inbox_message_read

View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    """Resolve `org_id` to the user's membership (404 when the user is not a member)."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, org_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = selectors.membership_for(user=request.user, organization_id=org_id)
        return view(request, membership, *args, **kwargs)

    return wrapper


def _refused(request: AuthenticatedHttpRequest, violation: RuleViolation) -> None:
    messages.error(request, violation.message)


# --- sign-up and the start page --------------------------------------------------------------


def signup(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = SignupForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = call_service(
            form,
            lambda: services.user_register(
                email=data["email"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                language=data["language"],
                date_of_birth=data["date_of_birth"],
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if next_url:  # e.g. back to the invitation that brought them here
                return HttpResponseRedirect(next_url)
            return redirect("accounts:organization_create")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    organizations = list(selectors.organizations_for_user(request.user))
    if not organizations and not request.user.is_staff:
        return redirect("accounts:organization_create")
    if len(organizations) == 1:  # straight to its dashboard (the dashboard app, which imports this one)
        return redirect("dashboard:home", org_id=organizations[0].pk)
    return render(request, "accounts/dashboard.html", {"organizations": organizations})


@login_required
def organization_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = clock.today()
    tcu = selectors.current_tcu(today)
    initial = {
        "contact_first_name": request.user.first_name,
        "contact_last_name": request.user.last_name,
        "contact_email": request.user.email,
        "language": request.user.language,
        "currency": "CHF",
        "country": "CH",
        "billing_country": "CH",
        "tcu_version": tcu.pk if tcu else None,
        "date_of_birth": request.user.date_of_birth,
    }
    form = OrganizationCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        accepted = (
            DocumentVersion.objects.filter(pk=data.pop("tcu_version")).first() if data.pop("accept_tcu") else None
        )
        birth = data.pop("date_of_birth")
        organization = call_service(
            form,
            lambda: services.organization_create(
                user=request.user,
                contact=data,
                accepted_tcu=accepted,
                date_of_birth=birth,
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if organization is not None:
            messages.success(request, _("Welcome! Your organization is registered."))
            return redirect("dashboard:home", org_id=organization.pk)
    tcu_text = selectors.version_text(tcu, request.LANGUAGE_CODE) if tcu else None
    return render(request, "accounts/organization_create.html", {"form": form, "tcu": tcu, "tcu_text": tcu_text})


# --- one organization ------------------------------------------------------------------------


@member_required
def organization_detail(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    today = clock.today()
    context = {
        "membership": membership,
        "organization": organization,
        "members": selectors.members_of(organization),
        "invitations": selectors.open_invitations(organization, clock.now()),
        "pending_documents": selectors.documents_to_accept(
            organization, today, settings.DOCUMENT_DEEMED_ACCEPTANCE_DAYS
        ),
        "inbox": notification_selectors.inbox_of(organization.pk)[:5],
        "unread_count": notification_selectors.inbox_unread_count(organization.pk),
        "unauthorised_minors": selectors.unauthorised_minors(organization, today),
        "role_form": MemberRoleForm(),
        "add_form": MemberAddForm(),
    }
    return render(request, "accounts/organization_detail.html", context)


@member_required
def organization_contact(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    initial = {field: getattr(organization, field) for field in services.CONTACT_FIELDS}
    initial["country"] = organization.country.code
    initial["billing_country"] = organization.billing_country.code
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {field: value for field, value in form.cleaned_data.items() if field in form.changed_data}
        updated = call_service(
            form,
            lambda: services.organization_update_contact(
                organization=organization,
                user=request.user,
                changes=changes,
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if updated is not None:
            messages.success(request, _("Contact information saved."))
            return redirect("accounts:organization", org_id=organization.pk)
    return render(
        request,
        "accounts/organization_contact.html",
        {"form": form, "organization": organization, "membership": membership},
    )


@member_required
@require_POST
def member_invite(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    form = MemberAddForm(request.POST)
    if form.is_valid():
        invited = call_service(
            form,
            lambda: services.member_invite(
                organization=organization,
                user=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if invited is not None:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invited.email})
            return redirect(reverse("accounts:organization", args=[organization.pk]) + "#members")
    for error in form.errors.values():
        messages.error(request, " ".join(str(message) for message in error))
    return redirect("accounts:organization", org_id=organization.pk)


def _members_partial(
    request: AuthenticatedHttpRequest, organization_id: int, *, errors: list[str], notice: str = ""
) -> HttpResponse:
    """The members section alone, for htmx requests (the page updates in place)."""
    membership = selectors.membership_for(user=request.user, organization_id=organization_id)
    return render(
        request,
        "accounts/_members.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "members": selectors.members_of(membership.organization),
            "invitations": selectors.open_invitations(membership.organization, clock.now()),
            "role_form": MemberRoleForm(),
            "add_form": MemberAddForm(),
            "member_errors": errors,
            "member_notice": notice,
        },
    )


def _member_outcome(
    request: AuthenticatedHttpRequest, organization_id: int, *, error: str = "", notice: str = ""
) -> HttpResponse:
    if request.htmx:
        return _members_partial(request, organization_id, errors=[error] if error else [], notice=notice)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(reverse("accounts:organization", args=[organization_id]) + "#members")


@member_required
@require_POST
def invitation_revoke(request: AuthenticatedHttpRequest, membership: Membership, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_of(organization=membership.organization, invitation_id=invitation_id)
    try:
        services.invitation_revoke(
            invitation=invitation, user=request.user, client_address=client_address(request), now=clock.now()
        )
    except RuleViolation as violation:
        return _member_outcome(request, membership.organization_id, error=violation.message)
    return _member_outcome(request, membership.organization_id, notice=_("Invitation withdrawn."))


def invitation(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """The invited person's page: who invites whom, to what, and the button to accept. Logged out,
    the link (its token is the secret) shows the same and the log-in and sign-up links, which come
    back here."""
    found = Invitation.objects.filter(token=token).select_related("organization", "invited_by").first()
    if found is None:
        raise Http404("No such invitation.")
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.path)
        return render(
            request,
            "accounts/invitation.html",
            {"invitation": found, "is_open": found.is_open(clock.now()), "logged_out": True, "next": request.path},
        )
    if request.method == "POST":
        try:
            joined = services.invitation_accept(
                token=token, user=request.user, client_address=client_address(request), now=clock.now()
            )
        except RuleViolation as violation:
            _refused(request, violation)
        else:
            messages.success(request, _("Welcome to %(name)s.") % {"name": joined.organization.name})
            return redirect("accounts:organization", org_id=joined.organization_id)
    context = {
        "invitation": found,
        "is_open": found.is_open(clock.now()),
        "for_me": found.email == request.user.email.lower(),
    }
    return render(request, "accounts/invitation.html", context)


@member_required
@require_POST
def member_role(request: AuthenticatedHttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    organization = membership.organization
    member = selectors.member_of(organization=organization, membership_id=member_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _member_outcome(request, organization.pk, error=_("Unknown role."))
    try:
        services.member_change_role(
            membership=member,
            user=request.user,
            role=form.cleaned_data["role"],
            client_address=client_address(request),
            now=clock.now(),
        )
    except RuleViolation as violation:
        return _member_outcome(request, organization.pk, error=violation.message)
    return _member_outcome(request, organization.pk, notice=_("Role changed."))


@member_required
@require_POST
def member_remove(request: AuthenticatedHttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    organization = membership.organization
    member = selectors.member_of(organization=organization, membership_id=member_id)
    try:
        services.member_remove(
            membership=member, user=request.user, client_address=client_address(request), now=clock.now()
        )
    except RuleViolation as violation:
        return _member_outcome(request, organization.pk, error=violation.message)
    if member.user_id == request.user.pk:
        messages.success(request, _("Member removed."))
        return redirect("accounts:dashboard")
    return _member_outcome(request, organization.pk, notice=_("Member removed."))


@member_required
def documents(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    pending = selectors.documents_to_accept(organization, clock.today(), settings.DOCUMENT_DEEMED_ACCEPTANCE_DAYS)
    return render(
        request,
        "accounts/documents.html",
        {
            "organization": organization,
            "membership": membership,
            "pending": pending,
            "acceptances": selectors.acceptances_of(organization),
        },
    )


@member_required
def document_version(request: AuthenticatedHttpRequest, membership: Membership, version_id: int) -> HttpResponse:
    version = get_object_or_404(
        DocumentVersion.objects.select_related("document"), pk=version_id, published_at__isnull=False
    )
    text = selectors.version_text(version, request.LANGUAGE_CODE)
    return render(
        request,
        "accounts/document_version.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "version": version,
            "text": text,
        },
    )


@member_required
@require_POST
def document_accept(request: AuthenticatedHttpRequest, membership: Membership, version_id: int) -> HttpResponse:
    organization = membership.organization
    version = get_object_or_404(DocumentVersion, pk=version_id)
    try:
        document_services.document_accept(
            organization=organization,
            version=version,
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
        messages.success(request, _("Accepted: %(version)s.") % {"version": str(version)})
    except RuleViolation as violation:
        _refused(request, violation)
    return redirect("accounts:documents", org_id=organization.pk)


@member_required
def inbox(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    page = Paginator(notification_selectors.inbox_of(organization.pk), 25).get_page(request.GET.get("page"))
    return render(
        request, "accounts/inbox.html", {"organization": organization, "membership": membership, "page": page}
    )


@member_required
def inbox_message(request: AuthenticatedHttpRequest, membership: Membership, message_id: int) -> HttpResponse:
    organization = membership.organization
    message = notification_selectors.inbox_message(organization_id=organization.pk, message_id=message_id)
    if request.method == "POST":
        reaction = request.POST.get("reaction")
        if reaction not in Notification.Reaction.values:
            raise Http404
        try:
            inbox_message_react(notification=message, reaction=reaction, actor=_actor(request), now=clock.now())
            messages.success(request, _("Thank you, your answer is recorded."))
        except RuleViolation as violation:
            _refused(request, violation)
        return redirect("accounts:inbox_message", org_id=organization.pk, message_id=message.pk)
    inbox_message_read(notification=message, now=clock.now())
    return render(
        request,
        "accounts/inbox_message.html",
        {"organization": organization, "membership": membership, "message": message},
    )


def _actor(request: AuthenticatedHttpRequest) -> Actor:
    return Actor.for_user(request.user, client_address=client_address(request))


@member_required
def organization_terminate(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    form = TerminateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = call_service(
            form,
            lambda: services.organization_terminate(
                organization=organization,
                user=request.user,
                password=form.cleaned_data["password"],
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if done is not None:
            messages.success(request, _("The contract of %(name)s is terminated.") % {"name": organization.name})
            return redirect("accounts:organization", org_id=organization.pk)
    return render(
        request,
        "accounts/organization_terminate.html",
        {"form": form, "organization": organization, "membership": membership},
    )


# --- language and staff second factor --------------------------------------------------------


@require_POST
def set_language(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The language switcher: also becomes the logged-in user's preferred language."""
    language = request.POST.get("language")
    if request.user.is_authenticated and language in Language.values and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    return django_set_language(request)


@login_required
def staff_otp(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Staff prove a second factor (TOTP) before reaching the admin site; first time: enrolment."""
    if not request.user.is_staff:
        raise Http404
    next_url = request.GET.get("next") or request.POST.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("admin:index")
    device = staff_device(request.user)
    if device is None:
        return render(request, "accounts/staff_otp.html", {"device": None})
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if staff_otp_verify(request, device, form.cleaned_data["token"], now=clock.now()):
            return HttpResponseRedirect(next_url)
        form.add_error("token", _("This code is not valid. Wait for the next one and try again."))
    context = {
        "form": form,
        "device": device,
        "next": next_url,
        "qr_svg": None if device.confirmed else staff_device_qr_svg(device),
    }
    return render(request, "accounts/staff_otp.html", context)
