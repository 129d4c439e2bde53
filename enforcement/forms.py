"""The staff forms of enforcement (admin doors, ENF-1, ENF-2, ENF-3). Customers only read."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from enforcement.models import Breach, CauseTermination
from subscriptions.models import Service
from support.models import Ticket


class StaffServicesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk} · {obj.organization} · {obj.plan} · {obj.get_status_display()}"


class StaffServiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk} · {obj.organization} · {obj.plan} · {obj.get_status_display()}"


def _services() -> Any:
    return Service.objects.select_related("organization", "plan").order_by("organization__name", "pk")


class TicketNumbersField(forms.CharField):
    """Ticket numbers separated by commas or spaces; each must exist (its Organization is the
    service's business: another Organization's ticket is refused under ENF-1)."""

    def clean(self, value: Any) -> list[Ticket]:
        text = super().clean(value) or ""
        numbers = [part for part in text.replace(",", " ").split() if part]
        if not all(part.lstrip("#").isdigit() for part in numbers):
            raise forms.ValidationError(_("Give ticket numbers, separated by commas."))
        ids = [int(part.lstrip("#")) for part in numbers]
        tickets = {ticket.pk: ticket for ticket in Ticket.objects.filter(pk__in=ids)}
        missing = [str(pk) for pk in ids if pk not in tickets]
        if missing:
            raise forms.ValidationError(_("No such ticket: %(ids)s.") % {"ids": ", ".join(missing)})
        return [tickets[pk] for pk in dict.fromkeys(ids)]


class BreachOpenForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=Organization.objects.order_by("name"))
    whole_organization = forms.BooleanField(
        label=_("The whole organization"),
        required=False,
        help_text=_("Every running Service is suspended and the organization blocked (read only)."),
    )
    services = StaffServicesField(
        label=_("Services concerned"),
        queryset=_services(),
        required=False,
        help_text=_("When not the whole organization; they must belong to it."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=[("", "—"), *Breach.Category.choices])
    reason = forms.CharField(label=_("Reason (shown to the customer)"), widget=forms.Textarea(attrs={"rows": 4}))
    remedy_deadline = forms.DateField(
        label=_("Remedy deadline"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notice_withheld = forms.BooleanField(
        label=_("An authority request forbids telling the customer"),
        required=False,
        help_text=_("Only with the category of a court or authority request; recorded."),
    )
    tickets = TicketNumbersField(label=_("Evidence: ticket numbers"), required=False)
    tickets_visible = forms.BooleanField(label=_("The customer may see these tickets"), required=False)
    file = forms.FileField(label=_("Evidence: a file"), required=False)
    file_visible = forms.BooleanField(label=_("The customer may see this file"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = _services()  # type: ignore[attr-defined]


class EvidenceForm(forms.Form):
    tickets = TicketNumbersField(label=_("Ticket numbers"), required=False)
    tickets_visible = forms.BooleanField(label=_("The customer may see these tickets"), required=False)
    file = forms.FileField(label=_("A file"), required=False)
    file_visible = forms.BooleanField(label=_("The customer may see this file"), required=False)


class CauseTerminationForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=Organization.objects.order_by("name"))
    service = StaffServiceField(
        label=_("Service"),
        queryset=_services(),
        required=False,
        help_text=_("Empty: the whole contract (every Service, then the organization)."),
    )
    cause = forms.ChoiceField(
        label=_("Cause"),
        choices=[("", "—"), *[(c.value, c.label) for c in CauseTermination.Cause if c in CauseTermination.FOR_CAUSE]],
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}))
    confirm = forms.BooleanField(
        label=_("I understand: the data is deleted for good, open invoices stay due, nothing is refunded."),
        required=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = _services()  # type: ignore[attr-defined]
