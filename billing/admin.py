from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Exists, Model, OuterRef, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Organization, User
from audit.admin_mixins import AuditedChangesMixin, StaffAccessAuditMixin
from billing.models import (
    AddOn,
    AddOnPrice,
    CashOutRequest,
    CreditNote,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    MeansRestriction,
    Payment,
    PaymentMeans,
    Plan,
    PrepaidAccount,
    Price,
    ServiceType,
    VatRate,
)
from billing.services.invoices import credit_note_issue
from billing.services.manual_invoices import ManualLine, manual_invoice_issue
from billing.services.means import means_restrict, means_unrestrict
from billing.services.payments import bank_transfer_record
from billing.services.prepaid import (
    invoice_reimbursable,
    prepaid_cash_out_pay,
    prepaid_cash_out_refuse,
    prepaid_provider_debit,
    prepaid_reimburse_invoice,
    prepaid_staff_adjust,
)
from billing.services.topup import prepaid_top_up_transfer_received
from core import clock
from core.admin import ReadOnlyAdmin, reason_action, run_each
from core.errors import RuleViolation


@admin.register(ServiceType)
class ServiceTypeAdmin(AuditedChangesMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "money_back_eligible",
        "warranty_eligible",
        "warranty_surcharge_exempt",
        "always_swiss_vat",
        "trial_days",
        "grace_days",
        "special_conditions",
    ]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PriceInline(admin.TabularInline):
    """Prices are versioned (BIL-1): add a row with a later date; existing rows are never edited."""

    model = Price
    extra = 1

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(AuditedChangesMixin, admin.ModelAdmin):
    list_display = ["service_type", "name", "period", "is_active"]
    list_filter = ["service_type", "period", "is_active"]
    inlines = [PriceInline]


class AddOnPriceInline(PriceInline):
    model = AddOnPrice  # type: ignore[assignment]


@admin.register(AddOn)
class AddOnAdmin(AuditedChangesMixin, admin.ModelAdmin):
    list_display = ["name", "service_type"]
    inlines = [AddOnPriceInline]


@admin.register(VatRate)
class VatRateAdmin(AuditedChangesMixin, admin.ModelAdmin):
    """VAT rates are data (BIL-7): a change of rate is a new row from a date."""

    list_display = ["country", "rate", "valid_from"]
    list_filter = ["country"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "description",
        "period_start",
        "period_end",
        "quantity",
        "unit_price_excl_vat",
        "vat_rate",
        "amount_excl_vat",
        "vat_amount",
        "amount_incl_vat",
        "charge",
        "service",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class BankTransferForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount received"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reference = forms.CharField(label=_("Bank reference"), max_length=100)


class ReimburseForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to credit to the Prepaid Account"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = forms.CharField(label=_("Reason (kept in the ledger and told to the customer)"), widget=forms.Textarea)


class ManualInvoiceForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization (number)"), queryset=Organization.objects.all(), widget=forms.NumberInput
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Organization.Currency.choices)
    due_date = forms.DateField(label=_("Due date (empty: the usual 30 days)"), required=False)


class ManualLineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=200)
    charge = forms.ChoiceField(label=_("Kind"), choices=InvoiceLine.Charge.choices, initial=InvoiceLine.Charge.OTHER)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6, initial=1)
    unit_price_excl_vat = forms.DecimalField(label=_("Unit price excl. VAT"), max_digits=18, decimal_places=6)
    service = forms.ModelChoiceField(
        label=_("Service (number, optional)"),
        # The Service model through the line's foreign key: billing does not import subscriptions.
        queryset=cast(Any, InvoiceLine._meta.get_field("service").related_model).objects.all(),
        widget=forms.NumberInput,
        required=False,
    )


ManualLineFormSet = forms.formset_factory(ManualLineForm, extra=5)


@admin.register(Invoice)
class InvoiceAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Issued invoices never change (BIL-6): staff credit them or record a bank transfer."""

    list_display = [
        "display_number",
        "organization",
        "kind",
        "status",
        "currency",
        "total_incl_vat",
        "amount_paid",
        "issue_date",
        "due_date",
    ]
    list_filter = ["status", "kind", "currency"]
    search_fields = ["number", "organization__name"]
    list_select_related = ["organization"]
    inlines = [InvoiceLineInline]
    actions = ["credit_in_full", "settle_from_prepaid"]
    change_form_template = "admin/billing/invoice/change_form.html"
    change_list_template = "admin/billing/invoice/change_list.html"

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_invoice")

    def has_issue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.add_invoice")

    @admin.action(description=_("Credit what is still due, with a reason (credit note, BIL-6)"), permissions=["act"])
    def credit_in_full(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Credit invoices in full"),
            apply=lambda invoice, reason: credit_note_issue(
                invoice=invoice, amount=invoice.amount_due, reason=reason, staff_user=request.user, now=clock.now()
            ),
        )

    @admin.action(description=_("Settle from the Prepaid Account (defaulted invoice, PRE-3)"), permissions=["act"])
    def settle_from_prepaid(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Invoice]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda invoice: prepaid_provider_debit(invoice=invoice, staff_user=request.user, now=clock.now()),
        )

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/bank-transfer/",
                self.admin_site.admin_view(self.bank_transfer_view),
                name="billing_invoice_bank_transfer",
            ),
            path("manual/", self.admin_site.admin_view(self.manual_view), name="billing_invoice_manual"),
            path(
                "<int:pk>/reimburse/",
                self.admin_site.admin_view(self.reimburse_view),
                name="billing_invoice_reimburse",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        invoice = Invoice.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        extra = {"reimbursable": invoice_reimbursable(invoice) if invoice else None}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def reimburse_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """PRE-2 (TCU 5.10.1): credit what the customer paid on this invoice to the Prepaid Account."""
        if not request.user.has_perm("billing.change_prepaidaccount"):
            return HttpResponse(status=403)
        invoice = get_object_or_404(Invoice.objects.select_related("organization"), pk=pk)
        reimbursable = invoice_reimbursable(invoice)
        form = ReimburseForm(request.POST or None, initial={"amount": reimbursable})
        if request.method == "POST" and form.is_valid():
            try:
                prepaid_reimburse_invoice(
                    invoice=invoice,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,
                    now=clock.now(),
                )
            except RuleViolation as violation:
                form.add_error(None, str(violation))
            else:
                self.message_user(request, _("Reimbursed to the Prepaid Account."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        return TemplateResponse(
            request,
            "admin/billing/invoice/reimburse.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reimburse to the Prepaid Account (PRE-2)"),
                "invoice": invoice,
                "reimbursable": reimbursable,
                "form": form,
                "opts": self.model._meta,
            },
        )

    def manual_view(self, request: AuthenticatedHttpRequest) -> HttpResponse:
        """Issue an invoice of free lines (TCU 18.4 intervention costs, an activation fee, other
        charges): billing.services.manual_invoices. A refusal keeps what staff typed."""
        if not self.has_issue_permission(request):
            return HttpResponse(status=403)
        data = request.POST if request.method == "POST" else None
        form = ManualInvoiceForm(data, initial={"organization": request.GET.get("organization")})
        lines = ManualLineFormSet(data, prefix="lines")
        if data is not None and form.is_valid() and lines.is_valid():
            try:
                invoice = manual_invoice_issue(
                    organization=form.cleaned_data["organization"],
                    currency=form.cleaned_data["currency"],
                    due_date=form.cleaned_data["due_date"],
                    lines=[
                        ManualLine(
                            description=line["description"],
                            quantity=line["quantity"],
                            unit_price_excl_vat=line["unit_price_excl_vat"],
                            charge=line["charge"],
                            service=line["service"],
                        )
                        for line in lines.cleaned_data
                        if line
                    ],
                    staff_user=request.user,
                    now=clock.now(),
                )
            except RuleViolation as violation:
                form.add_error(None, str(violation))
            else:
                self.message_user(
                    request,
                    _("Invoice %(number)s issued; the customer is notified.") % {"number": invoice.display_number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        return TemplateResponse(
            request,
            "admin/billing/invoice/manual.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Issue an invoice"),
                "form": form,
                "lines": lines,
                "opts": self.model._meta,
            },
        )

    def bank_transfer_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """Record a bank transfer received for this invoice (BIL-5)."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        invoice = get_object_or_404(Invoice, pk=pk)
        form = BankTransferForm(request.POST or None, initial={"amount": invoice.amount_due})
        if request.method == "POST" and form.is_valid():
            try:
                bank_transfer_record(
                    invoice=invoice,
                    amount=form.cleaned_data["amount"],
                    reference=form.cleaned_data["reference"],
                    staff_user=request.user,
                    now=clock.now(),
                )
            except RuleViolation as violation:
                form.add_error(None, violation.message)
            else:
                self.message_user(request, _("Bank transfer recorded."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        return TemplateResponse(
            request,
            "admin/billing/invoice/bank_transfer.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Record a bank transfer"),
                "invoice": invoice,
                "form": form,
                "opts": self.model._meta,
            },
        )


@admin.register(CreditNote)
class CreditNoteAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = ["number", "invoice", "amount", "reason", "issued_at", "issued_by"]
    list_select_related = ["invoice", "issued_by"]


@admin.register(Payment)
class PaymentAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = ["created_at", "organization", "invoice", "kind", "amount", "currency", "status", "reference"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["reference", "organization__name"]
    list_select_related = ["organization", "invoice"]
    actions = ["record_top_up_transfer"]
    index_queue_label = _("Card payments of unknown outcome (REN-8)")

    def index_queue(self, request: HttpRequest) -> tuple[int, str]:
        """Card payments whose outcome the gateway did not give: the staff site's index counts them."""
        return Payment.objects.filter(status=Payment.Status.UNKNOWN).count(), "status__exact=unknown"

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_payment")

    @admin.action(description=_("Record a received top-up transfer (BIL-5, PRE-2)"), permissions=["act"])
    def record_top_up_transfer(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Payment]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda payment: prepaid_top_up_transfer_received(payment=payment, staff_user=request.user, now=clock.now()),
        )


@admin.register(PaymentMeans)
class PaymentMeansAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    list_display = [
        "organization",
        "kind",
        "card_brand",
        "card_last4",
        "card_exp_month",
        "card_exp_year",
        "is_default",
        "revoked_at",
    ]
    list_filter = ["kind", "is_default"]
    exclude = ["gateway_token"]
    list_select_related = ["organization"]


# --- Prepaid Account (PRE-1 … PRE-4) ---------------------------------------------------------


class PrepaidAdjustForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (negative to take from the balance)"), max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("Reason (kept in the ledger)"), widget=forms.Textarea)


@admin.register(PrepaidAccount)
class PrepaidAccountAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """Balances change only through the ledger's services: staff adjust with a reason (PRE-1)."""

    list_display = ["organization", "currency", "balance"]
    list_filter = ["currency"]
    search_fields = ["organization__name"]
    list_select_related = ["organization"]
    actions = ["adjust"]
    change_form_template = "admin/billing/prepaidaccount/change_form.html"

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_prepaidaccount")

    @admin.action(description=_("Adjust the balance, with a reason (PRE-1)"), permissions=["act"])
    def adjust(self, request: AuthenticatedHttpRequest, queryset: QuerySet[PrepaidAccount]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, _("Select one account to adjust."), messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:billing_prepaidaccount_adjust", args=[queryset.get().pk]))

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="billing_prepaidaccount_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """A staff adjustment of the balance, up or down, never below zero, with a reason (PRE-1)."""
        if not self.has_act_permission(request):
            return HttpResponse(status=403)
        account = get_object_or_404(PrepaidAccount.objects.select_related("organization"), pk=pk)
        form = PrepaidAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                prepaid_staff_adjust(
                    organization=account.organization,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,
                    now=clock.now(),
                )
            except RuleViolation as violation:
                form.add_error(None, violation.message)
            else:
                self.message_user(request, _("Balance adjusted."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_prepaidaccount_change", args=[account.pk]))
        return TemplateResponse(
            request,
            "admin/billing/prepaidaccount/adjust.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Adjust the balance"),
                "account": account,
                "form": form,
                "opts": self.model._meta,
            },
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """The append-only ledger (PRE-1): read only."""

    list_display = ["created_at", "account", "kind", "amount", "balance_after", "invoice", "staff_user", "reason"]
    list_filter = ["kind"]
    search_fields = ["account__organization__name", "reason", "claim_reference"]
    list_select_related = ["account__organization", "invoice", "staff_user"]

    def organization_of(self, obj: Model) -> Any:
        return obj.account.organization  # type: ignore[attr-defined]


class CashOutQueueFilter(admin.SimpleListFilter):
    """PRE-4: the queue: the waiting requests, counted in the link."""

    title = _("decision")
    parameter_name = "decision"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        waiting = CashOutRequest.objects.filter(status=CashOutRequest.Status.REQUESTED).count()
        return [
            ("waiting", _("waiting (%(count)d)") % {"count": waiting}),
            (CashOutRequest.Status.PAID, str(_("paid out"))),
            (CashOutRequest.Status.REFUSED, str(_("refused"))),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CashOutRequest]) -> QuerySet[CashOutRequest]:
        if self.value() == "waiting":
            return queryset.filter(status=CashOutRequest.Status.REQUESTED)
        if self.value() in (CashOutRequest.Status.PAID, CashOutRequest.Status.REFUSED):
            return queryset.filter(status=self.value())
        return queryset


@admin.register(CashOutRequest)
class CashOutRequestAdmin(StaffAccessAuditMixin, ReadOnlyAdmin):
    """PRE-4: the staff queue — waiting requests first, oldest first, with the balance and whether an
    invoice is open (a pay-out is refused then); staff pay out (the ledger is debited) or refuse
    with a reason; the customer is told either way."""

    list_display = [
        "requested_at",
        "account",
        "amount",
        "status",
        "balance",
        "has_open_invoice",
        "requested_by",
        "decided_at",
    ]
    list_filter = [CashOutQueueFilter]
    search_fields = ["account__organization__name"]
    list_select_related = ["account__organization", "requested_by"]
    actions = ["pay", "refuse"]

    def organization_of(self, obj: Model) -> Any:
        return obj.account.organization  # type: ignore[attr-defined]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CashOutRequest]:
        open_invoice = Invoice.objects.filter(
            organization=OuterRef("account__organization"), status=Invoice.Status.OPEN
        )
        waiting_first = Case(When(status=CashOutRequest.Status.REQUESTED, then=Value(0)), default=Value(1))
        return (
            super()
            .get_queryset(request)
            .annotate(open_invoice=Exists(open_invoice), waiting_first=waiting_first)
            .order_by("waiting_first", "requested_at", "pk")
        )

    index_queue_label = _("Cash-out requests waiting (PRE-4)")

    def index_queue(self, request: HttpRequest) -> tuple[int, str]:
        """The waiting requests, counted on the staff site's index (config.admin)."""
        return CashOutRequest.objects.filter(status=CashOutRequest.Status.REQUESTED).count(), "decision=waiting"

    @admin.display(description=_("balance now"))
    def balance(self, obj: CashOutRequest) -> str:
        return f"{obj.account.currency} {obj.account.balance}"

    @admin.display(boolean=True, description=_("an invoice is open"))
    def has_open_invoice(self, obj: CashOutRequest) -> bool:
        return bool(getattr(obj, "open_invoice", False))

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_cashoutrequest")

    @admin.action(description=_("Pay out (debits the balance, PRE-4)"), permissions=["act"])
    def pay(self, request: AuthenticatedHttpRequest, queryset: QuerySet[CashOutRequest]) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda cash_out: prepaid_cash_out_pay(request=cash_out, staff_user=request.user, now=clock.now()),
        )

    @admin.action(description=_("Refuse, with a reason (PRE-4)"), permissions=["act"])
    def refuse(self, request: AuthenticatedHttpRequest, queryset: QuerySet[CashOutRequest]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Refuse cash-out requests"),
            apply=lambda cash_out, reason: prepaid_cash_out_refuse(
                request=cash_out, staff_user=request.user, reason=reason, now=clock.now()
            ),
        )


class MeansRestrictionForm(forms.ModelForm):
    class Meta:
        model = MeansRestriction
        fields = ["organization", "kind", "reason"]

    def clean(self) -> dict:
        data = super().clean() or {}
        if MeansRestriction.objects.filter(organization=data.get("organization"), kind=data.get("kind")).exists():
            raise ValidationError(_("This means of payment is already restricted."))
        return data


@admin.register(MeansRestriction)
class MeansRestrictionAdmin(StaffAccessAuditMixin, admin.ModelAdmin):
    """Staff forbid a kind of means to one Organization (BIL-4); added and lifted through the services."""

    form = MeansRestrictionForm
    list_display = ["organization", "kind", "reason", "created_by", "created_at"]
    list_select_related = ["organization", "created_by"]
    actions = ["lift"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.delete_meansrestriction")

    def save_model(self, request: HttpRequest, obj: MeansRestriction, form: Any, change: bool) -> None:
        staff = cast(User, request.user)
        created = means_restrict(
            organization=obj.organization, kind=obj.kind, reason=obj.reason, staff_user=staff, now=clock.now()
        )
        obj.pk = created.pk

    @admin.action(description=_("Lift, with a reason (BIL-4)"), permissions=["act"])
    def lift(self, request: AuthenticatedHttpRequest, queryset: QuerySet[MeansRestriction]) -> HttpResponse | None:
        return reason_action(
            self,
            request,
            queryset,
            title=_("Lift restrictions"),
            apply=lambda item, reason: means_unrestrict(
                organization=item.organization, kind=item.kind, reason=reason, staff_user=request.user, now=clock.now()
            ),
        )
