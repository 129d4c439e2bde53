"""Errors under /api/ are JSON even when no DRF view answered them."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
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
