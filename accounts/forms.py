"""Browser forms. They collect input; the rules live in accounts.services, whose ValidationError
and RuleViolation are turned back into form errors by the views."""

from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.lockout import LOGIN_REFUSED
from accounts.models import Language, Membership, Organization


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label=_("E-mail address"), widget=forms.EmailInput(attrs={"autofocus": True}))
    # A paused account (django-axes) gets the same answer as a wrong password (accounts.lockout).
    error_messages = {**AuthenticationForm.error_messages, "invalid_login": LOGIN_REFUSED}

    def clean_username(self) -> str:
        # One spelling per account, so that failed attempts are counted per account (django-axes).
        return self.cleaned_data["username"].strip().lower()


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Needed to hold a contract (adults only)."),
    )
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    password_again = forms.CharField(label=_("Password again"), widget=forms.PasswordInput)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class ContactForm(forms.Form):
    """Contact Information (ORG-1, ORG-10)."""

    name = forms.CharField(label=_("Organization name"), max_length=200)
    contact_first_name = forms.CharField(label=_("First name"), max_length=150)
    contact_last_name = forms.CharField(label=_("Last name"), max_length=150)
    contact_email = forms.EmailField(label=_("Contact e-mail"))
    secondary_email = forms.EmailField(label=_("Secondary e-mail"), required=False)
    mobile = forms.CharField(
        label=_("Mobile phone"), max_length=30, help_text=_("International format, e.g. +41 79 123 45 67.")
    )
    landline = forms.CharField(label=_("Landline phone"), max_length=30, required=False)
    street = forms.CharField(label=_("Street and number"), max_length=200)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20)
    city = forms.CharField(label=_("City"), max_length=100)
    country = forms.ChoiceField(label=_("Country"), choices=[])
    billing_country = forms.ChoiceField(label=_("Billing country"), choices=[])
    vat_number = forms.CharField(
        label=_("VAT number"), max_length=32, required=False, help_text=_("Optional: Swiss (CHE-…) or EU VAT number.")
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Organization.Currency.choices)
    language = forms.ChoiceField(label=_("Language of correspondence"), choices=Language.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *list(countries)]
        for name in ("country", "billing_country"):
            cast(forms.ChoiceField, self.fields[name]).choices = choices


class OrganizationCreateForm(ContactForm):
    date_of_birth = forms.DateField(
        label=_("Your date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The Legal Responsible must be an adult (or authorized by a legal representative)."),
    )
    accept_tcu = forms.BooleanField(label=_("I accept the Terms and Conditions of Use"), required=True)
    tcu_version = forms.IntegerField(widget=forms.HiddenInput)


class MemberAddForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    # The least powerful role first: making someone a joint holder of the contract is a deliberate choice.
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.TECHNICAL)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class TerminateForm(forms.Form):
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)
    confirm = forms.BooleanField(label=_("I understand that the contract ends now."), required=True)


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class LoginCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )
