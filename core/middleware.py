"""Middleware of the whole portal: errors under /api/ are JSON even when no DRF view answered them;
request bodies too large to read are refused unread; file downloads are never cached."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from rest_framework import exceptions

from core.api import error_body

API_PREFIX = "/api/"
# Headers of the replaced answer that still hold for the JSON one.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")
DETAILS = {
    400: exceptions.ParseError.default_detail,
    403: exceptions.PermissionDenied.default_detail,
    404: exceptions.NotFound.default_detail,
    429: exceptions.Throttled.default_detail,
    500: exceptions.APIException.default_detail,
}


class ApiJsonErrorsMiddleware:
    """An error answered under /api/ in anything but JSON — Django's 404 for a path no pattern matches
    (an id that is not a number), django-axes' lock-out page (429), Django's 400 or 500 page — is
    answered with the API's error body (core.api) and the same status instead. DRF's own errors are
    JSON already and pass as they are."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or _is_json(response.get("Content-Type", ""))
        ):
            return response
        if getattr(request, "axes_locked_out", False):
            detail = _("Too many failed log-in attempts")
        else:
            detail = str(DETAILS.get(response.status_code) or response.reason_phrase)
        answer = JsonResponse(error_body(detail), status=response.status_code)
        for header in KEPT_HEADERS:
            if header in response:
                answer[header] = response[header]
        return answer


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class RequestBodyLimitMiddleware:
    """Refuses (413) a request whose declared body is larger than REQUEST_BODY_MAX_BYTES before a
    byte of it is read: Django would otherwise stream the whole body (to memory or temporary files)
    before a form or serializer could refuse an oversized attachment.

    It must come before anything that reads the body (CsrfViewMiddleware reads request.POST).
    A body without Content-Length (chunked) is never read by Django's WSGI handler: it reads at
    most Content-Length bytes, and none when the header is missing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        limit: int = settings.REQUEST_BODY_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads no body for an unreadable length either
        if declared > limit:
            return self.refuse(request, limit)
        return self.get_response(request)

    @staticmethod
    def refuse(request: HttpRequest, limit: int) -> HttpResponse:
        message = _("This request is too large: at most %(size)s can be sent at once.") % {
            "size": filesizeformat(limit)
        }
        if request.path_info.startswith(API_PREFIX):
            response: HttpResponse = JsonResponse(error_body(message), status=413)
        else:
            response = HttpResponse(message, content_type="text/plain; charset=utf-8", status=413)
        return response


class PrivateDownloadsMiddleware:
    """Every file download (a response with Content-Disposition: invoice PDFs, support attachments,
    any later one) is `Cache-Control: private, no-store`: a shared cache or the browser's disk
    never keeps a customer's invoice or attachment. Pages set nothing here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.has_header("Content-Disposition"):
            response["Cache-Control"] = "private, no-store"
        return response
