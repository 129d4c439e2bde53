from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.core.exceptions import ValidationError

from core.errors import RuleViolation

T = TypeVar("T")


def call_service(form: forms.Form, service: Callable[[], T]) -> T | None:
    """Run a service for a bound, valid form; put its refusals on the form and return None.

    A service refuses before it changes anything, so the form can be shown again as it was.
    """
    try:
        return service()
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            form.add_error(None, error.messages)
    except RuleViolation as violation:
        form.add_error(violation.field if violation.field in form.fields else None, violation.message)
    return None
