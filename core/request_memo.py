"""Reads answered once per request (docs/performance.md, "The pages under load"): a page asks the same
small question of several apps' selectors — the member's ORG-6 Service scope for its Services,
invoices and tickets, the VAT rate for renewal quotes and usage — and each asked the database anew.

`memoized(key, compute)` answers `compute()` the first time a key is asked during a request and the
same value after that, until the request ends. Outside a request (tasks, commands, tests calling a
selector directly) nothing is kept: every call computes. Only GET and HEAD requests keep answers,
the methods that change nothing: a request that changes state (say a member's scope) and reads it
back always reads what it wrote. Nothing outlives its request, so no Organization's answer can reach
another's request.
"""

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.http import HttpRequest
from django.http.response import HttpResponseBase

T = TypeVar("T")

_MEMO: ContextVar[dict[Hashable, Any] | None] = ContextVar("request_memo", default=None)
SAFE_METHODS = frozenset({"GET", "HEAD"})


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, asked once per key in a GET or HEAD request; computed on every call elsewhere."""
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]


class RequestMemoMiddleware:
    """Opens the memo of a GET or HEAD request and drops it when the response is made."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in SAFE_METHODS:
            return self.get_response(request)
        token = _MEMO.set({})
        try:
            return self.get_response(request)
        finally:
            _MEMO.reset(token)
