"""Forms of the SLA pages: they collect input; the rules are the services' (sla.services)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class ForceMajeureTerminateForm(forms.Form):
    """SLA-9. The browser asks for the tick (`required` on the input); left unticked all the same,
    the service refuses with its reason (SC 8.3, BIL-13) and nothing changes."""

    confirm = forms.BooleanField(
        required=False,
        widget=forms.CheckboxInput(attrs={"required": True}),
        label=_(
            "I understand that the Service's data will be deleted at once and for good, and that no "
            "compensation is paid for the force majeure or for the rest of the term."
        ),
    )
