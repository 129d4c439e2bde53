"""API plumbing shared by the apps' api.py modules."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import RuleViolation


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Refusals by a rule answer with the rule's status and `{"detail", "rule"}`; Django
    validation errors raised in services answer 400 with the field messages."""
    if isinstance(exc, RuleViolation):
        body: dict[str, Any] = {"detail": exc.message, "rule": exc.rule}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
