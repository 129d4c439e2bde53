"""Token scopes on API endpoints (accounts.tokens: "full", "monitoring", "metering").

Every endpoint accepts "full" tokens only, unless it declares otherwise; a scoped token (a machine
account's) is refused (403) everywhere else. That default needs nothing from a view: the token
authentication (accounts.authentication) reads the scopes the view's permission classes declare.

How an endpoint declares the scopes it accepts — put `HasTokenScope(...)` among its permissions:

    class UsageReportView(APIView):
        # the metering account's tokens only (a "full" token is refused here too):
        permission_classes = [IsAuthenticated, HasTokenScope("metering")]

    class StaffIncidentListView(APIView):
        # the monitoring account's tokens, and full tokens (its other permissions decide who):
        permission_classes = [IsAuthenticated, HasTokenScope("monitoring", "full"), IsStaffOrMonitoring]

The scopes are a token's, not a user's: a request authenticated by a session (the portal, staff
with their second factor) is not restricted by them; the view's other permissions decide.
"""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import ApiToken

DEFAULT_SCOPES = frozenset({ApiToken.Scope.FULL.value})


def HasTokenScope(*scopes: str) -> type[BasePermission]:  # noqa: N802 (a class factory, used like a class)
    """A permission class accepting tokens of these scopes only (sessions pass: see above)."""
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if not scopes or unknown:
        raise ValueError(f"unknown token scopes: {sorted(unknown) or 'none given'}")

    class TokenScope(BasePermission):
        token_scopes = frozenset(scopes)

        def has_permission(self, request: Request, view: Any) -> bool:
            token = request.auth
            if not isinstance(token, ApiToken) or token.scope in self.token_scopes:
                return True
            raise exceptions.PermissionDenied(_("This token cannot be used here."))

    TokenScope.__name__ = TokenScope.__qualname__ = f"HasTokenScope({', '.join(scopes)})"
    return TokenScope


def scopes_accepted_by(view: Any) -> frozenset[str]:
    """The token scopes a view accepts: those its permission classes declare, else "full" alone."""
    declared: set[str] = set()
    for permission in getattr(view, "permission_classes", ()):
        declared |= getattr(permission, "token_scopes", frozenset())
    return frozenset(declared) or DEFAULT_SCOPES
