"""Plain HTTP helpers every app uses. The request types of a logged-in user (which name the User
model) are accounts.http's: core sits below accounts and imports none of it."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.request import Request


def client_address(request: HttpRequest | Request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the address
    the outermost trusted proxy saw (X-Forwarded-For, counted from the right, so a client cannot
    spoof it). Used by the audit trail and by django-axes' per-address log-in throttling."""
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                return remote
    return remote


def safe_next(request: HttpRequest, value: str | None) -> str | None:
    """A `next` address to come back to, if it is a path of this site (no other host, no scheme
    change, no `//evil.example`); None otherwise, and the caller goes to its usual page."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return value
