from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """For type checkers: a request behind login_required (or the staff site), seen by django-htmx."""

    user: "User"
    htmx: "HtmxDetails"


class AuthenticatedRequest(Request):
    """For type checkers: a DRF request that passed IsAuthenticated."""

    user: "User"  # type: ignore[assignment]


def client_address(request: HttpRequest | Request) -> str | None:
    """The client's address as seen by the web server (the proxy sets REMOTE_ADDR in production)."""
    return request.META.get("REMOTE_ADDR") or None
