from django import forms
from django.utils.translation import gettext_lazy as _


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class StatementForm(forms.Form):
    """EVD-4: the range of the statement; the service checks it (start ≤ end, not after today, at
    most EXPORT_MAX_YEARS) and its refusals come back on the fields."""

    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("Until (included)"), widget=DateInput())
