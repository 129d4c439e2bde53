"""Forms of the Service pages: ordering and the lifecycle actions."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from subscriptions.services.credits import MAX_PURCHASE


class OrderForm(forms.Form):
    plan = forms.IntegerField(widget=forms.HiddenInput)
    trial = forms.BooleanField(required=False, widget=forms.HiddenInput)
    accept_tcu = forms.IntegerField(required=False, widget=forms.HiddenInput)
    accept_special_conditions = forms.IntegerField(required=False, widget=forms.HiddenInput)
    accepted = forms.BooleanField(required=False, label=_("I accept the documents above"))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)  # sent by the review step


class SwitchForm(forms.Form):
    """An on/off button: `enabled` is "true" or "false"."""

    enabled = forms.BooleanField(required=False, widget=forms.HiddenInput)


class TerminateForm(forms.Form):
    """Left unticked, the service refuses with its reason (SC 8.3, BIL-13)."""

    confirm = forms.BooleanField(
        required=False,
        label=_(
            "I understand that the Service's data will be deleted at once and for good, and that nothing is "
            "refunded for the rest of the term."
        ),
    )


class MoneyBackForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I cancel this Service: its data will be deleted at once and for good."),
        error_messages={"required": _("Please confirm that the Service is cancelled and its data deleted.")},
    )


class CreditsBuyForm(forms.Form):
    """BIL-9: buy credits for one Service (an invoice is issued; the balance grows once it is paid)."""

    amount = forms.DecimalField(
        label=_("Amount of credits"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_PURCHASE
    )
