from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.services.topup import MAX_TOP_UP


class CardForm(forms.Form):
    """A card for the sandbox gateway (in production the browser would hand over a token instead)."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    exp_month = forms.IntegerField(label=_("Expiry month"), min_value=1, max_value=12)
    exp_year = forms.IntegerField(label=_("Expiry year"), min_value=2000, max_value=2100)
    cvc = forms.CharField(
        label=_("Security code"),
        max_length=4,
        widget=forms.PasswordInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )
    make_default = forms.BooleanField(label=_("Use it for automatic renewals"), required=False, initial=True)


class OtherMeansForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Means"),
        choices=[("paypal", _("PayPal")), ("postcard", _("PostCard")), ("bank_transfer", _("bank transfer"))],
    )
    paypal_email = forms.EmailField(label=_("PayPal e-mail"), required=False)


class InvoiceCardForm(CardForm):
    """A card entered on the invoice page to pay with (the fields of the payment-methods page); kept
    as a means of payment only when the customer asks."""

    make_default = None  # type: ignore[assignment]
    save = forms.BooleanField(label=_("Save this card as a payment method"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The fields are needed only when a new card pays: no browser-side "required" on them.
        self.use_required_attribute = False


class PayForm(forms.Form):
    NEW_CARD = "new"

    prepaid_amount = forms.DecimalField(
        label=_("From the Prepaid Account"), max_digits=12, decimal_places=2, min_value=0, initial=0
    )
    means = forms.ChoiceField(label=_("The rest by card"), required=False)

    def __init__(
        self, *args: Any, cards: list[Any], from_balance: bool = True, new_card: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("", "—"), *[(str(c.pk), str(c)) for c in cards]]
        if new_card:
            choices.append((self.NEW_CARD, _("A new card (enter it below)")))
        cast(forms.ChoiceField, self.fields["means"]).choices = choices
        if not from_balance:  # PRE-3: the balance does not pay this kind of invoice
            self.fields["prepaid_amount"].widget = forms.HiddenInput()
            self.fields["means"].label = _("By card")

    def clean_means(self) -> int | str | None:
        """The chosen card's id, NEW_CARD, or None."""
        value = self.cleaned_data["means"]
        if not value:
            return None
        return value if value == self.NEW_CARD else int(value)


class TopUpForm(forms.Form):
    """Top up the Prepaid Account with one of the Organization's cards or by bank transfer."""

    BANK_TRANSFER = "bank_transfer"

    amount = forms.DecimalField(
        label=_("Amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_TOP_UP
    )
    pay_with = forms.ChoiceField(label=_("Pay with"))

    def __init__(self, *args: Any, cards: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["pay_with"]).choices = [
            *[(f"card:{card.pk}", str(card)) for card in cards],
            (self.BANK_TRANSFER, _("Bank transfer (credited when received, up to 10 working days)")),
        ]


# --- the renewal lifecycle of a Service (REN-*, RW-*, MB-*, BIL-13) ---------------------------
