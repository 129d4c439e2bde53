from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.two_factor import memberships_check
from core.api import error_body


class UserLanguageMiddleware:
    """A logged-in user sees the portal in their preferred language unless they picked another one
    with the language switcher (which sets the language cookie)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


# The pages a member who must turn on a second factor may still reach (besides static files).
ENROLMENT_ALLOWED = frozenset(
    {
        "accounts:two_factor_enrol",
        "accounts:logout",
        "accounts:set_language",
        "accounts:login",
        "accounts:login_code",
        "set_language",
        "healthz",
    }
)


class TwoFactorRequiredMiddleware:
    """ORG-5: a member of an Organization that requires a second factor, without one, is sent to
    enrolment before anything else in the portal (a session call of the API is refused: 403).
    Staff are not: theirs is issued by an administrator and asked for by the staff site. One query
    per request of a logged-in user (accounts.two_factor.memberships_check), which also counts the
    user's Organizations for the navigation (request.portal_organization_count, read by
    accounts.context_processors.portal instead of a query of its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is None or match.view_name in ENROLMENT_ALLOWED or request.path.startswith(settings.STATIC_URL):
            return None
        check = memberships_check(user)
        request.portal_organization_count = check.organizations  # type: ignore[attr-defined]
        if not check.needs_enrolment:
            # The API's token authentication asks the same of the token's user: when it is this user,
            # the answer is this one (accounts.authentication).
            request.two_factor_cleared_user_id = user.pk  # type: ignore[attr-defined]
            return None
        if request.path.startswith("/api/"):
            message = _("An organization you belong to requires a second factor: turn it on in the portal first.")
            return JsonResponse(error_body(message, rule="ORG-5"), status=403)
        return redirect("accounts:two_factor_enrol")
