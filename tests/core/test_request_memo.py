"""core.request_memo: a read answered once per GET request, never kept outside one or across two."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.request_memo import RequestMemoMiddleware, memoized


def counting() -> tuple[list[int], "object"]:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def test_outside_a_request_every_call_computes() -> None:
    # given
    calls, compute = counting()
    # when
    answers = [memoized("key", compute), memoized("key", compute)]
    # then
    assert answers == [1, 2]
    assert len(calls) == 2


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_get_or_head_request_computes_each_key_once(method: str) -> None:
    # given
    calls, compute = counting()
    seen: list[int] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.extend([memoized("a", compute), memoized("a", compute), memoized("b", compute)])
        return HttpResponse()

    # when
    RequestMemoMiddleware(view)(getattr(RequestFactory(), method)("/"))
    # then
    assert seen == [1, 1, 2]
    assert len(calls) == 2


def test_each_request_starts_empty_and_nothing_outlives_it() -> None:
    # given
    calls, compute = counting()
    seen: list[int] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(memoized("a", compute))
        return HttpResponse()

    middleware = RequestMemoMiddleware(view)
    # when
    middleware(RequestFactory().get("/"))
    middleware(RequestFactory().get("/"))
    after = memoized("a", compute)
    # then
    assert seen == [1, 2]
    assert after == 3


def test_a_post_request_keeps_nothing() -> None:
    # given: a request that may change what it reads
    calls, compute = counting()
    seen: list[int] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.extend([memoized("a", compute), memoized("a", compute)])
        return HttpResponse()

    # when
    RequestMemoMiddleware(view)(RequestFactory().post("/"))
    # then
    assert seen == [1, 2]


def test_the_memo_is_dropped_when_the_view_raises() -> None:
    # given
    calls, compute = counting()

    def view(request: HttpRequest) -> HttpResponse:
        memoized("a", compute)
        raise RuntimeError("boom")

    # when
    with pytest.raises(RuntimeError):
        RequestMemoMiddleware(view)(RequestFactory().get("/"))
    # then
    assert memoized("a", compute) == 2
