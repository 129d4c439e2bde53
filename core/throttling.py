"""API throttles that know the client by the project's one client-address rule.

DRF's own throttles identify an anonymous caller by `X-Forwarded-For` as the caller sent it (the
project sets no NUM_PROXIES), so a client could pick a new identity on every request. These take
`core.http.client_address` — REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the
outermost trusted proxy saw — the same address the audit trail records and django-axes locks out.
Their counts live in the cache, which answers as empty while Redis is down (core.cache).
"""

from rest_framework import throttling
from rest_framework.request import Request

from core.http import client_address


def client_ident(request: Request) -> str:
    return client_address(request) or ""


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request: Request) -> str:
        return client_ident(request)


class UserRateThrottle(throttling.UserRateThrottle):
    """Per user when authenticated; per client address otherwise."""

    def get_ident(self, request: Request) -> str:
        return client_ident(request)
