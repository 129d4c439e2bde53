from django import forms
from django.utils.translation import gettext_lazy as _


class OrderForm(forms.Form):
    plan = forms.IntegerField(widget=forms.HiddenInput)
    trial = forms.BooleanField(required=False, widget=forms.HiddenInput)
    accept_tcu = forms.IntegerField(required=False, widget=forms.HiddenInput)
    accept_special_conditions = forms.IntegerField(required=False, widget=forms.HiddenInput)
    accepted = forms.BooleanField(required=False, label=_("I accept the documents above"))
