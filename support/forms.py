"""Forms of the support doors: they collect input; the rules are the services' (support.services)."""

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Language, Organization
from billing.models import Invoice
from core import clock, figures
from subscriptions.models import Service
from subscriptions.services.moneyback import money_back_eligible
from support.attachments import ALLOWED_EXTENSIONS
from support.models import Ticket
from support.services import CUSTOMER_KINDS, STAFF_ONLY_KINDS

Kind = Ticket.Kind

# Which kinds name a Service, and whether they must (SUP-5): an SLA claim and a money-back request
# are about one Service; an invoice dispute takes the invoice's; a termination ends the contract.
SERVICE_REQUIRED = (Kind.SLA_CLAIM, Kind.MONEY_BACK)
SERVICE_OPTIONAL = (Kind.TECHNICAL, Kind.BILLING)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; their size and type are checked by the service (SUP-3)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def attachment_limits() -> str:
    """The limits the service checks (SUP-3), said before the upload: count, sizes and types."""
    megabytes = 1024 * 1024
    return gettext(
        "Up to %(count)s files, at most %(size)s MB each and %(total)s MB together; "
        "PDF, PNG, JPEG, GIF, plain text (.txt, .log, .csv) or ZIP."
    ) % {
        "count": settings.SUPPORT_ATTACHMENTS_MAX_COUNT,
        "size": f"{settings.SUPPORT_ATTACHMENT_MAX_BYTES / megabytes:g}",
        "total": f"{settings.SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES / megabytes:g}",
    }


# The extensions the file picker proposes (the service still checks the content, SUP-3).
ACCEPTED_EXTENSIONS = ",".join(sorted({ext for exts in ALLOWED_EXTENSIONS.values() for ext in exts}))


def attachments_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Attachments"),
        help_text=lazy(attachment_limits, str)(),
        widget=MultipleFileInput(attrs={"accept": ACCEPTED_EXTENSIONS}),
    )


def active_language() -> str:
    """The language the page is shown in, if support speaks it (SUP-1), else English."""
    language = (translation.get_language() or "en")[:2]
    return language if language in Language.values else Language.EN


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk} · {obj.plan}"


class StaffServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk} · {obj.organization} · {obj.plan}"


class InvoiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        # as the customer reads dates and amounts elsewhere: 03.12.2026 · CHF 1’234.50 (in German)
        issued, total = figures.short_day(obj.issue_date), figures.amount(obj.total_incl_vat, obj.currency)
        return f"{obj.display_number} · {issued} · {total}"


def customer_kinds() -> list[tuple[str, Any]]:
    """The kinds a customer may open (SUP-5: the staff-only kinds are not offered)."""
    return [(kind.value, kind.label) for kind in CUSTOMER_KINDS]


class TicketForm(forms.Form):
    """A new ticket of one kind, chosen before (?kind=): the fields follow the kind."""

    kind = forms.ChoiceField(choices=customer_kinds, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}))
    language = forms.ChoiceField(label=_("Language of the exchange"), choices=Language.choices, initial=active_language)
    invoice = InvoiceChoiceField(label=_("Invoice disputed"), queryset=Invoice.objects.none())
    service = ServiceChoiceField(label=_("Service"), queryset=Service.objects.none())
    claim_start = forms.DateTimeField(
        label=_("Unavailable from"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Time in Zurich."),
    )
    claim_end = forms.DateTimeField(
        label=_("Unavailable until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Time in Zurich."),
    )
    attachments = attachments_field()

    def __init__(
        self,
        *args: Any,
        kind: str,
        services: QuerySet[Service],
        invoices: QuerySet[Invoice],
        prefill: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["initial"] = {"kind": kind, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.ticket_kind = kind
        if kind == Kind.INVOICE_DISPUTE:
            cast(forms.ModelChoiceField, self.fields["invoice"]).queryset = invoices
        else:
            del self.fields["invoice"]
        if kind in SERVICE_REQUIRED or kind in SERVICE_OPTIONAL:
            service = cast(forms.ModelChoiceField, self.fields["service"])
            service.queryset = services
            service.required = kind in SERVICE_REQUIRED
            if kind == Kind.MONEY_BACK:  # MB-1, MB-2: only the Services a request would be accepted for
                today = clock.today()
                service.queryset = services.filter(pk__in=[s.pk for s in services if money_back_eligible(s, today)])
                if not service.queryset.exists():
                    service.help_text = _("None of your Services can be refunded under the money-back guarantee now.")
        else:
            del self.fields["service"]
        if kind != Kind.SLA_CLAIM:
            del self.fields["claim_start"], self.fields["claim_end"]
        if prefill is not None and not self.is_bound:
            self.initial.update(self._prefilled(prefill))

    def _prefilled(self, prefill: Mapping[str, str]) -> dict[str, Any]:
        """Initial values from a link (the SLA page's "Claim" button, SLA-5) or from the form typed before
        "Change the kind" (then also the message and the language): the subject, the Service
        — only one the member sees (ORG-6), else none is chosen — and the claimed start and end in
        Zurich time, in the inputs' format. A value that does not parse is left out; nothing here is
        trusted: the submitted form is validated as any other."""
        initial: dict[str, Any] = {}
        subject = (prefill.get("subject") or "").strip()
        if subject:
            initial["subject"] = subject[: cast(forms.CharField, self.fields["subject"]).max_length]
        body = prefill.get("body") or ""
        if body.strip():  # what was typed before "Change the kind"
            initial["body"] = body
        if prefill.get("language") in Language.values:
            initial["language"] = prefill["language"]
        raw_service = prefill.get("service") or ""
        if "service" in self.fields and raw_service.isdecimal() and len(raw_service) <= 18:  # a bigint
            visible = cast(forms.ModelChoiceField, self.fields["service"]).queryset
            if visible is not None and visible.filter(pk=int(raw_service)).exists():
                initial["service"] = int(raw_service)
        for name in ("claim_start", "claim_end"):
            if name in self.fields and prefill.get(name):
                try:
                    initial[name] = self.fields[name].to_python(prefill[name])
                except forms.ValidationError:
                    continue
        return initial


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}))
    attachments = attachments_field()


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=Ticket.Priority.choices)


# --- staff (admin) ---------------------------------------------------------------------------


class StaffMessageForm(forms.Form):
    """A staff reply (e-mailed to the contact persons, SUP-7) or an internal note (never shown to the
    customer), with attachments."""

    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5, "cols": 80}))
    attachments = attachments_field()


class StaffOpenForm(forms.Form):
    """Staff open a third-party complaint (TCU 18) or an acceptable-use case (SC 5.7)."""

    organization = forms.ModelChoiceField(label=_("Organization"), queryset=Organization.objects.order_by("name"))
    kind = forms.ChoiceField(label=_("Kind"), choices=[(kind.value, kind.label) for kind in STAFF_ONLY_KINDS])
    service = StaffServiceChoiceField(
        label=_("Service"),
        queryset=Service.objects.select_related("organization", "plan").order_by("organization__name", "pk"),
        required=False,
        help_text=_("Required for an acceptable-use case; it must belong to the organization."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message to the customer"), widget=forms.Textarea(attrs={"rows": 6, "cols": 80}))
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.EN)
    documents_due_on = forms.DateField(
        label=_("Supporting documents due on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Third-party complaint: the day by which the customer must send supporting documents."),
    )
    aup_category = forms.ChoiceField(
        label=_("Acceptable-use category"),
        choices=[("", "—"), *Ticket.AupCategory.choices],
        required=False,
    )
