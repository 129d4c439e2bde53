"""Request types for type checkers: a request whose user is logged in, as the views and APIs behind
login_required / IsAuthenticated (and the staff site) receive it."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """For type checkers: a request behind login_required (or the staff site), seen by django-htmx."""

    user: User
    htmx: HtmxDetails


class AuthenticatedRequest(Request):
    """For type checkers: a DRF request that passed IsAuthenticated."""

    user: User  # type: ignore[assignment]
