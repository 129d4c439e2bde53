from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

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


def show_refusal(form: forms.Form, violation: RuleViolation, *, with_rule: bool = False) -> None:
    """The refusal on the field it names when the form shows that field, else above the form; staff
    pages add the rule id."""
    field = violation.field if violation.field in form.fields else None
    if field is not None and form.fields[field].widget.is_hidden:
        field = None
    form.add_error(field, f"{violation.message} ({violation.rule})" if with_rule else violation.message)


def raise_unless_the_forms(violation: RuleViolation) -> None:
    """A refusal that is not the form's business becomes the page's answer: no such object for this
    member (404, ORG-6) or a role that may not act (403, ORG-5)."""
    if violation.status == 404:
        raise Http404(violation.message)
    if violation.status == 403:
        raise PermissionDenied(violation.message)
