"""The OpenAPI schema tells the truth about errors: one documented body (core.api) for every error
status an operation can answer, added to every operation here rather than by each view."""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error the API answers (core.api.exception_handler)."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    rule = serializers.CharField(
        allow_null=True, help_text="The id of the contract rule that refused the request; null when no rule did."
    )
    field = serializers.CharField(
        required=False, help_text="A rule refusal about one input field: that field's name."
    )
    # A declared field leaves the class attributes (DRF's metaclass takes it), so Serializer.errors stays.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid input (400) only: the messages by field (nested fields as `parent.child`, list "
        "items as `field.0`, the request as a whole under `non_field_errors`).",
    )


# status -> (when it is documented, what it means)
ERRORS = {
    "400": "Invalid input (`errors` names the fields), or a rule refused the request (`rule`).",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Not allowed: a role or a rule refuses it (`rule`), or a session without its CSRF token.",
    "404": "No such object among the caller's own (another Organization's ids answer 404 too), or an id "
    "that is not a number.",
    "415": "The request body is not JSON, a form or multipart.",
    "429": "Too many requests, or too many failed log-in attempts: wait, then try again.",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, documenting the error body on every operation for the errors it
    can answer: 401, 403 and 429 everywhere; 404 with an id in the path; 400 with a request body or
    query parameters; 415 with a request body. Statuses a view declares itself keep its schema; all
    errors get a description."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        locations = {parameter.get("in") for parameter in operation.get("parameters", [])}
        codes = ["401", "403", "429"]
        if "path" in locations:
            codes.append("404")
        if "requestBody" in operation or "query" in locations:
            codes.append("400")
        if "requestBody" in operation:
            codes.append("415")
        responses = operation["responses"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(OpenApiResponse(ErrorSerializer), code)
        for code, response in responses.items():
            if code in ERRORS and not response.get("description"):
                response["description"] = ERRORS[code]
        operation["responses"] = dict(sorted(responses.items()))
        return operation
