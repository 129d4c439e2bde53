"""The user's own security pages (Account → Security): password, second factor and recovery codes,
API tokens, and — for a Legal Responsible — the second factor required of every member. The log-in
pages live here too: after the password, a user with a second factor gives a code."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import passwords, tokens, two_factor
from accounts.forms import LoginCodeForm, LoginForm, PasswordConfirmForm, TwoFactorCodeForm
from accounts.http import AuthenticatedHttpRequest
from accounts.lockout import CODE_REFUSED, login_paused, second_factor_failed
from accounts.models import Membership, Organization, User
from accounts.otp import staff_device_qr_svg
from accounts.views import member_required
from audit.services import Actor
from core import clock
from core.errors import RuleViolation
from core.forms import call_service
from core.http import client_address

PENDING = "accounts.pending_second_factor"  # session key: the user who gave the right password
PENDING_SECONDS = 300  # the code is asked for within 5 minutes of the password


# --- log-in ----------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """The password first (django-axes counts failures); with a second factor on, the code next."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,  # type: ignore[attr-defined]  # set by authenticate()
            "at": clock.now().timestamp(),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login_code")


def login_code(request: AuthenticatedHttpRequest) -> HttpResponse:
    pending: dict[str, Any] = request.session.get(PENDING) or {}
    user = None
    if pending and clock.now().timestamp() - pending["at"] <= PENDING_SECONDS:
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        messages.error(request, _("Please log in again."))
        return redirect("accounts:login")
    form = LoginCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if login_paused(request, user.email):
            form.add_error("code", str(CODE_REFUSED))
        elif two_factor.second_factor_verify(
            user=user, code=form.cleaned_data["code"], client_address=client_address(request), now=clock.now()
        ):
            request.session.pop(PENDING, None)
            login(request, user, backend=pending["backend"])
            return HttpResponseRedirect(pending["next"])
        else:
            second_factor_failed(request, user.email)
            form.add_error("code", str(CODE_REFUSED))
    return render(request, "accounts/login_code.html", {"form": form})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset-link page, the password set by accounts.passwords (the tokens revoked)."""

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        user: User = form.user  # type: ignore[assignment]
        passwords.password_set(
            user=user,
            password=form.cleaned_data["new_password1"],
            actor=Actor.for_user(user, client_address=client_address(self.request)),
            now=clock.now(),
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


# --- the security page -----------------------------------------------------------------------


def _actor(request: AuthenticatedHttpRequest) -> Actor:
    return Actor.for_user(request.user, client_address=client_address(request))


@login_required
def security(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    now = clock.now()
    token_rows = [{"token": token, "expired": token.is_expired(now)} for token in tokens.tokens_of(user)]
    legal = Membership.objects.filter(user=user, role=Membership.Role.LEGAL_RESPONSIBLE).select_related("organization")
    context: dict[str, Any] = {
        "tokens": token_rows,
        "two_factor_on": two_factor.has_two_factor(user),
        "recovery_codes_left": two_factor.recovery_codes_left(user),
        "required_by": Organization.objects.filter(memberships__user=user, requires_two_factor=True).order_by("name"),
        "legal_memberships": legal.order_by("organization__name"),
        "password_form": PasswordConfirmForm(),
        "api_token_days": settings.API_TOKEN_DAYS,
    }
    return render(request, "accounts/security.html", context)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = tokens.token_of(user=request.user, token_id=token_id)
    if token is None:
        raise Http404("No such token.")
    tokens.token_revoke(token=token, user=request.user, client_address=client_address(request), now=clock.now())
    messages.success(request, _("The token is revoked."))
    return redirect("accounts:security")


@login_required
@require_POST
def tokens_revoke_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = tokens.tokens_revoke_all(
        user=request.user,
        because="user",
        actor=_actor(request),
        client_address=client_address(request),
        now=clock.now(),
    )
    messages.success(request, _("Tokens revoked: %(count)d.") % {"count": count})
    return redirect("accounts:security")


class PortalPasswordChangeForm(PasswordChangeForm):
    def save(self, commit: bool = True) -> Any:  # pragma: no cover - the view calls the service instead
        raise NotImplementedError("accounts.passwords.password_set sets the password")


@login_required
def password_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PortalPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        revoked = passwords.password_set(
            user=request.user, password=form.cleaned_data["new_password1"], actor=_actor(request), now=clock.now()
        )
        update_session_auth_hash(request, request.user)  # this session stays; the others end
        message = _("Your password is changed.")
        if revoked:
            message += " " + _("Your API tokens are revoked: ask for new ones.")
        messages.success(request, message)
        return redirect("accounts:security")
    return render(request, "accounts/password_change.html", {"form": form})


# --- second factor ---------------------------------------------------------------------------


def _codes_page(request: AuthenticatedHttpRequest, codes: list[str]) -> HttpResponse:
    """The recovery codes, shown this once (the answer to the POST that made them)."""
    response = render(request, "accounts/recovery_codes.html", {"codes": codes})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def two_factor_enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    if two_factor.has_two_factor(request.user):
        return redirect("accounts:security")
    try:
        device = two_factor.enrolment_device(request.user)
    except RuleViolation as violation:
        raise Http404(violation.message) from violation
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = call_service(
            form,
            lambda: two_factor.two_factor_enable(
                user=request.user,
                device=device,
                code=form.cleaned_data["code"],
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if codes is not None:
            messages.success(request, _("Your second factor is on."))
            return _codes_page(request, codes)
    context = {
        "form": form,
        "qr_svg": staff_device_qr_svg(device),
        "config_url": device.config_url,
        "required": two_factor.required_of(request.user),
    }
    return render(request, "accounts/two_factor_enrol.html", context)


def _with_password(request: AuthenticatedHttpRequest, action: Any) -> Any:
    form = PasswordConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter your password."))
        return None
    try:
        return action(form.cleaned_data["password"])
    except RuleViolation as violation:
        messages.error(request, violation.message)
        return None


@login_required
@require_POST
def two_factor_disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    def disable(password: str) -> bool:
        two_factor.two_factor_disable(
            user=request.user, password=password, client_address=client_address(request), now=clock.now()
        )
        return True

    if _with_password(request, disable):
        messages.success(request, _("Your second factor is off."))
    return redirect("accounts:security")


@login_required
@require_POST
def recovery_codes_renew(request: AuthenticatedHttpRequest) -> HttpResponse:
    codes = _with_password(
        request,
        lambda password: two_factor.recovery_codes_renew(
            user=request.user, password=password, client_address=client_address(request), now=clock.now()
        ),
    )
    if codes is None:
        return redirect("accounts:security")
    return _codes_page(request, codes)


@member_required
@require_POST
def organization_two_factor(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    required = request.POST.get("required") == "1"
    try:
        two_factor.organization_require_two_factor(
            organization=membership.organization,
            user=request.user,
            required=required,
            client_address=client_address(request),
            now=clock.now(),
        )
    except RuleViolation as violation:
        messages.error(request, violation.message)
    else:
        if required:
            messages.success(
                request,
                _("Every member of %(name)s now needs a second factor.") % {"name": membership.organization.name},
            )
        else:
            messages.success(
                request,
                _("Members of %(name)s no longer need a second factor.") % {"name": membership.organization.name},
            )
    return redirect(reverse("accounts:security") + "#organizations")
