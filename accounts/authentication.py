"""DRF authentication by accounts.ApiToken: `Authorization: Token <key>`, as before.

A key that is unknown or revoked, a token past its expiry and a token of an inactive user answer
401 with the API's error body (core.api); an expired token says so. A scoped token (a machine
account's: accounts.tokens) is refused with 403 by every endpoint that does not accept its scope —
checked here, for every view, so a new endpoint refuses scoped tokens without doing anything;
an endpoint opens itself to a scope with accounts.permissions.HasTokenScope.
"""

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from accounts.models import ApiToken, User
from accounts.permissions import scopes_accepted_by
from accounts.tokens import key_digest
from accounts.two_factor import needs_enrolment
from core import clock
from core.errors import RuleViolation

# The last use of a token is written at most once per this interval: one UPDATE a minute per busy
# token rather than one per request (and none under any lock). The list shows it to the minute.
LAST_USE_PRECISION = dt.timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        self._request = request
        return super().authenticate(request)  # type: ignore[no-any-return]

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(key_digest=key_digest(key)).first()
        if token is None or token.revoked_at is not None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = clock.now()
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed(
                _("This token expired on %(day)s: ask for a new one.") % {"day": token.expires_at.date().isoformat()}
            )
        view = (getattr(self._request, "parser_context", None) or {}).get("view")
        if token.scope not in scopes_accepted_by(view):
            raise exceptions.PermissionDenied(
                _("This token is limited to %(scope)s and cannot be used here.") % {"scope": token.get_scope_display()}
            )
        if not self._cleared_by_middleware(token) and needs_enrolment(token.user):
            # ORG-5: an Organization of the user requires a second factor they have not turned on (they
            # joined it after the requirement; tokens held when it was set were revoked then).
            raise RuleViolation(
                str(_("An organization you belong to requires a second factor: turn it on in the portal first.")),
                rule="ORG-5",
                status=403,
            )
        _touch(token, now)
        return token.user, token

    def _cleared_by_middleware(self, token: ApiToken) -> bool:
        """TwoFactorRequiredMiddleware found, earlier in this request, that the token's user needs no
        enrolment (a call carrying both the portal's session of that user and the token)."""
        django_request = getattr(self._request, "_request", None)
        return getattr(django_request, "two_factor_cleared_user_id", None) == token.user_id


def _touch(token: ApiToken, now: dt.datetime) -> None:
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USE_PRECISION), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now


def token_of_request(request: Any) -> ApiToken | None:
    """The ApiToken a DRF request was authenticated with (None for a session)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None
