"""django-axes hooks: per-account and per-address log-in lockout (OWASP ASVS 6.3.1).

The browser log-in form and `POST /api/v1/auth/token/` both call `authenticate(username=...)`;
axes counts a failure against the account named here and against the client address of
`core.http.client_address` (AXES_CLIENT_IP_CALLABLE). A locked account or address answers exactly
as a wrong password does, so the answer tells an attacker nothing about the lock.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _

# One answer for a wrong e-mail, a wrong password and a paused account or address (AXES_COOLOFF_TIME).
LOGIN_REFUSED = _(
    "The e-mail address or the password is not correct, or log-in is paused after too many attempts: "
    "try again in 15 minutes."
)

# A wrong second-factor code after the right password (it counts as a failed log-in too).
CODE_REFUSED = _(
    "The code is not correct, or log-in is paused after too many attempts: try again in 15 minutes."
)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account an attempt is counted against, spelled one way (lower case).

    `credentials` are what `authenticate()` received (`username=`, both doors) or what axes builds
    after a log-in; without them, the posted form (`username`) or API body (`email`)."""
    value = (credentials or {}).get("username")
    if value is None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username") or data.get("email")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponseBase | None = None, credentials: dict | None = None
) -> HttpResponseBase:
    """AXES_LOCKOUT_CALLABLE: the door's own answer to a refused log-in (the form again with its
    error, or the API's 400), the same as for a wrong password."""
    if original_response is not None:
        return original_response
    return HttpResponse(str(LOGIN_REFUSED), status=400)


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' backend, which refuses a locked account or address before any password check;
    it first hashes the given password as a check would, so a refusal takes as long as a wrong
    password and its timing does not tell the lock either."""

    def authenticate(
        self, request: HttpRequest, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        try:
            super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            make_password(password)
            raise


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' database handler, except that a successful log-in forgets the failures of
    that account only. Axes' own reset also forgets every failure from the log-in's address, for
    any account: an attacker holding one account of their own would log into it between guesses
    and never see the guessed account locked."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def second_factor_failed(request: HttpRequest, email: str) -> None:
    """A wrong second-factor code (or recovery code) counts as a failed log-in of the account and
    of the address, like a wrong password: five of them, in any mix, pause log-in."""
    user_login_failed.send(sender=__name__, credentials={"username": email.lower()}, request=request)


def login_paused(request: HttpRequest, email: str) -> bool:
    """The account or the address is paused (checked again before a second-factor code is tried)."""
    return bool(AxesProxyHandler.is_locked(request, credentials={"username": email.lower()}))
