"""API plumbing shared by the apps' api.py modules: every error of the API has one body.

    {"detail": "<message for a person>", "rule": "<SPEC rule id>" | null}

plus, for invalid input (400), `"errors": {"<field>": ["<message>", ...]}` (nested fields as
`parent.child`, list items as `field.0`, the body as a whole under `non_field_errors`), and, for a
rule refusal about one input field, `"field": "<field>"`. core.schema documents it on every
operation; core.middleware gives the errors raised before a view runs (an unknown path, a lockout)
the same body.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import RuleViolation


def error_body(detail: str, *, rule: str | None = None) -> dict[str, Any]:
    return {"detail": str(detail), "rule": rule}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Refusals by a rule answer with the rule's status and id; invalid input (a serializer's or a
    service's Django ValidationError) answers 400 with the messages by field; every other error DRF
    knows (401, 403, 404, 405, 406, 415, 429, ...) answers its status with its message and no rule."""
    if isinstance(exc, RuleViolation):
        body = error_body(exc.message, rule=exc.rule)
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a server error (500)
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        whole = errors.get(api_settings.NON_FIELD_ERRORS_KEY)
        detail = " ".join(whole) if whole and len(errors) == 1 else str(exceptions.ValidationError.default_detail)
        response.data = {**error_body(detail), "errors": errors}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(detail or getattr(exc, "default_detail", "") or response.status_text)
    return response


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """A DRF error detail, however nested, as one flat map of field path to messages."""
    errors: dict[str, list[str]] = {}

    def add(key: str, messages: list[str]) -> None:
        errors.setdefault(key or api_settings.NON_FIELD_ERRORS_KEY, []).extend(messages)

    if isinstance(detail, dict):
        for name, value in detail.items():
            for key, messages in field_errors(value, f"{prefix}.{name}" if prefix else str(name)).items():
                add(key, messages)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                for key, messages in field_errors(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    add(key, messages)
            else:
                add(prefix, [str(item)])
    else:
        add(prefix, [str(detail)])
    return errors


class IdField(serializers.IntegerField):
    """An object's id in a request: a positive 64-bit integer (BigAutoField), so that a number no
    id can be is refused as invalid input (400) before any database sees it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)
