"""Browser pages of billing. Organizations resolve through the user's memberships, Services and
invoices through what the member may see (ORG-6): anything else answers 404."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedHttpRequest
from accounts.models import DocumentVersion, Membership
from accounts.permissions import SERVICE_MANAGER_ROLES, TERMINATING_ROLES
from accounts.views import member_required
from billing import selectors
from billing.forms import (
    CardForm,
    MoneyBackForm,
    OrderForm,
    OtherMeansForm,
    PayForm,
    SwitchForm,
    TerminateForm,
    TopUpForm,
)
from billing.models import Invoice, MeansKind, Payment, PaymentMeans, Plan
from billing.pdf import invoice_pdf
from billing.services.means import means_add_card, means_add_other, means_remove, means_set_default
from billing.services.payments import invoice_pay
from billing.services.prepaid import prepaid_account_for, prepaid_cash_out_request
from billing.services.topup import prepaid_top_up_by_card, prepaid_top_up_by_transfer
from billing.slips import top_up_slip
from core import clock
from core.errors import RuleViolation
from core.forms import call_service, raise_unless_the_forms
from core.http import client_address
from subscriptions.models import MoneyBackRefund, Service
from subscriptions.services import moneyback
from subscriptions.services.lifecycle import (
    service_decline_renewal,
    service_renew_now,
    service_resume_renewal,
    service_set_auto_renew,
    service_set_warranty,
    service_terminate_now,
)
from subscriptions.services.orders import plan_order, trial_convert, trial_start
from subscriptions.timeline import service_timeline


@member_required
def services(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    return render(
        request,
        "billing/services.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "services": selectors.services_for_member(membership),
        },
    )


def _documents_to_accept(organization, plan: Plan, day):  # noqa: ANN001, ANN202
    """The versions in force this order needs and the Organization has not accepted (ORG-7)."""
    needed = []
    tcu = account_selectors.current_tcu(day)
    if tcu and not organization.acceptances.filter(version=tcu).exists():
        needed.append(("tcu", tcu))
    document = plan.service_type.special_conditions
    current = account_selectors.current_version(document, day) if document else None
    if current and not organization.acceptances.filter(version=current).exists():
        needed.append(("special_conditions", current))
    return needed


@member_required
def order(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """The catalog: the price each plan costs this customer, with order and trial buttons."""
    organization = membership.organization
    today = clock.today()
    if request.method == "POST":
        form = OrderForm(request.POST)
        if form.is_valid():
            return _place_order(request, membership, form)
    entries = [
        {
            "plan": plan,
            "price": price,
            "shown": selectors.shown_price(price, organization, plan.service_type, today),
            "documents": _documents_to_accept(organization, plan, today),
        }
        for plan, price in selectors.catalog(today, organization.currency)
    ]
    usage_entries = [  # USE-1: rates instead of a price
        {"plan": plan, "rates": rates, "documents": _documents_to_accept(organization, plan, today)}
        for plan, rates in selectors.usage_catalog(today, organization)
    ]
    return render(
        request,
        "billing/order.html",
        {
            "organization": organization,
            "membership": membership,
            "section": "services",
            "entries": entries,
            "usage_entries": usage_entries,
            "vat_included": str(organization.billing_country) in selectors.SWISS_VAT_AREA | selectors.EU_COUNTRIES,
        },
    )


def _place_order(request: AuthenticatedHttpRequest, membership: Membership, form: OrderForm) -> HttpResponse:
    data = form.cleaned_data
    plan = get_object_or_404(Plan.objects.select_related("service_type"), pk=data["plan"], is_active=True)
    accepted = data["accepted"]
    versions = {
        name: DocumentVersion.objects.filter(pk=data[f"accept_{name}"]).first()
        if accepted and data[f"accept_{name}"]
        else None
        for name in ("tcu", "special_conditions")
    }
    try:
        if data["trial"]:
            service = trial_start(
                organization=membership.organization,
                user=request.user,
                plan=plan,
                accept_tcu=versions["tcu"],
                accept_special_conditions=versions["special_conditions"],
                client_address=client_address(request),
                now=clock.now(),
            )
            messages.success(request, _("Your trial has started."))
        else:
            service, invoice = plan_order(
                organization=membership.organization,
                user=request.user,
                plan=plan,
                accept_tcu=versions["tcu"],
                accept_special_conditions=versions["special_conditions"],
                client_address=client_address(request),
                now=clock.now(),
            )
            if invoice is None:  # USE-1: a usage plan starts at once, nothing to pay in advance
                messages.success(request, _("Ordered. The Service is ready; its usage is invoiced each month."))
            else:
                messages.success(
                    request,
                    _("Ordered. The Service starts when invoice %(number)s is paid.")
                    % {"number": invoice.display_number},
                )
    except RuleViolation as violation:
        messages.error(request, violation.message)
        return redirect("billing:order", org_id=membership.organization_id)
    return redirect("billing:service", org_id=membership.organization_id, service_id=service.pk)


def _cards(membership: Membership) -> list[PaymentMeans]:
    return [m for m in selectors.means_of(membership.organization) if m.kind == MeansKind.CARD]


@member_required
def service(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """A Service: its term, timeline (past and coming), debit attempts, open invoices (RW-4: two can
    be open), and what the customer may do about its renewal; POST renews it now (PRE-5)."""
    found = selectors.service_for_member(membership=membership, service_id=service_id)
    cards = _cards(membership)
    renew_form = PayForm(request.POST if request.method == "POST" else None, cards=cards)
    if request.method == "POST" and renew_form.is_valid():
        chosen = next((card for card in cards if card.pk == renew_form.cleaned_data["means"]), None)
        try:
            invoice = service_renew_now(
                service=found,
                user=request.user,
                prepaid_amount=renew_form.cleaned_data["prepaid_amount"],
                means=chosen,
                client_address=client_address(request),
                now=clock.now(),
            )
        except RuleViolation as violation:
            raise_unless_the_forms(violation)
            renew_form.add_error(violation.field if violation.field in renew_form.fields else None, violation.message)
        else:
            if invoice.status == Invoice.Status.OPEN:
                messages.warning(
                    request,
                    _("The card payment's outcome is not known yet: we are checking it. Please do not pay again."),
                )
            else:
                messages.success(
                    request, _("Thank you: invoice %(number)s is paid.") % {"number": invoice.display_number}
                )
            return redirect("billing:service", org_id=membership.organization_id, service_id=found.pk)
    today = clock.today()
    events = service_timeline(found, today=today)
    service_type = found.plan.service_type
    return render(
        request,
        "billing/service.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "service": found,
            "invoices": found.invoices.order_by("-number"),
            "open_invoices": found.invoices.filter(status=Invoice.Status.OPEN).order_by("number"),
            "attempts": found.renewal_attempts.order_by("-day", "-pk"),
            "past": [event for event in reversed(events) if event.past],
            "coming": [event for event in events if not event.past],
            "renew_form": renew_form,
            "balance": prepaid_account_for(membership.organization).balance,
            "can_manage": membership.role in SERVICE_MANAGER_ROLES,
            "can_terminate": membership.role in TERMINATING_ROLES,
            "running": found.status in (Service.Status.ACTIVE, Service.Status.TRIAL, Service.Status.SUSPENDED),
            "warranty_refusal": ""
            if service_type.warranty_eligible
            else _("%(type)s is not eligible for the Renewal Warranty.") % {"type": service_type.name},
            "money_back_until": moneyback.money_back_last_day(found) if service_type.money_back_eligible else None,
            "today": today,
        },
    )


def _service_action(
    request: AuthenticatedHttpRequest, membership: Membership, service_id: int, act: Callable[[Service], str]
) -> HttpResponse:
    """Run one customer action on the Service and come back to its page with the outcome: the
    refusal's reason (nothing changed) or what was done."""
    found = selectors.service_for_member(membership=membership, service_id=service_id)
    try:
        done = act(found)
    except RuleViolation as violation:
        raise_unless_the_forms(violation)
        messages.error(request, violation.message)
    else:
        messages.success(request, done)
    return redirect("billing:service", org_id=membership.organization_id, service_id=found.pk)


def _switch(request: AuthenticatedHttpRequest) -> bool:
    form = SwitchForm(request.POST)
    return bool(form.is_valid() and form.cleaned_data["enabled"])


@member_required
@require_POST
def service_auto_renew(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """BIL-12: automatic renewal on (needs a card that can be debited) or off."""
    enabled = _switch(request)

    def act(found: Service) -> str:
        service_set_auto_renew(
            service=found, user=request.user, enabled=enabled, client_address=client_address(request), now=clock.now()
        )
        return _("Automatic renewal is on.") if enabled else _("Automatic renewal is off.")

    return _service_action(request, membership, service_id, act)


@member_required
@require_POST
def service_warranty(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """RW-1, RW-6: the Renewal Warranty on (eligible types only) or off."""
    enabled = _switch(request)

    def act(found: Service) -> str:
        service_set_warranty(
            service=found, user=request.user, enabled=enabled, client_address=client_address(request), now=clock.now()
        )
        return _("The Renewal Warranty is on.") if enabled else _("The Renewal Warranty is off.")

    return _service_action(request, membership, service_id, act)


@member_required
@require_POST
def service_decline(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """REN-5: "do not renew": the Service ends at its expiry date, its data deleted then (SC 8.3)."""

    def act(found: Service) -> str:
        declined = service_decline_renewal(
            service=found, user=request.user, client_address=client_address(request), now=clock.now()
        )
        ends_on = declined.expires_on
        assert ends_on is not None  # an active paid Service (REN-5)
        return _("This Service will not be renewed: it ends on %(date)s and its data is deleted then.") % {
            "date": formats.date_format(ends_on, "DATE_FORMAT")
        }

    return _service_action(request, membership, service_id, act)


@member_required
@require_POST
def service_resume(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    def act(found: Service) -> str:
        service_resume_renewal(
            service=found, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return _("This Service will be renewed again. Automatic renewal stays off until you switch it on.")

    return _service_action(request, membership, service_id, act)


@member_required
def service_terminate(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """Terminate now, after a confirmation page: the data is deleted for good (SC 8.3) and nothing is
    refunded pro rata (BIL-13)."""
    found = selectors.service_for_member(membership=membership, service_id=service_id)
    form = TerminateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        try:
            service_terminate_now(
                service=found,
                user=request.user,
                confirmed=form.is_valid() and form.cleaned_data["confirm"],
                client_address=client_address(request),
                now=clock.now(),
            )
        except RuleViolation as violation:
            raise_unless_the_forms(violation)
            form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        else:
            messages.success(request, _("The Service is terminated and its data deleted."))
            return redirect("billing:service", org_id=membership.organization_id, service_id=found.pk)
    return render(
        request,
        "billing/service_terminate.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "service": found,
            "form": form,
        },
    )


@member_required
def service_money_back(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """MB-1…MB-3: cancel the Service and get its purchase back, after a confirmation page: the
    Service is cancelled and its data deleted."""
    found = selectors.service_for_member(membership=membership, service_id=service_id)
    form = MoneyBackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            refund = moneyback.service_money_back(
                service=found, user=request.user, client_address=client_address(request), now=clock.now()
            )
        except RuleViolation as violation:
            raise_unless_the_forms(violation)
            form.add_error(None, violation.message)
        else:
            if refund.destination == MoneyBackRefund.Destination.CARD:
                done = _(
                    "The Service is cancelled and its data deleted. %(currency)s %(amount)s is refunded: "
                    "%(card)s to your card, %(prepaid)s to your Prepaid Account."
                ) % {
                    "currency": refund.currency,
                    "amount": refund.amount,
                    "card": refund.card_amount,
                    "prepaid": refund.prepaid_amount,
                }
            else:
                done = _(
                    "The Service is cancelled and its data deleted. %(currency)s %(amount)s is credited to your "
                    "Prepaid Account."
                ) % {"currency": refund.currency, "amount": refund.amount}
            messages.success(request, done)
            return redirect("billing:service", org_id=membership.organization_id, service_id=found.pk)
    return render(
        request,
        "billing/service_money_back.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "service": found,
            "form": form,
            "last_day": moneyback.money_back_last_day(found),
        },
    )


@member_required
@require_POST
def service_convert(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    found = selectors.service_for_member(membership=membership, service_id=service_id)
    try:
        invoice = trial_convert(
            service=found, user=request.user, client_address=client_address(request), now=clock.now()
        )
    except RuleViolation as violation:
        messages.error(request, violation.message)
        return redirect("billing:service", org_id=membership.organization_id, service_id=found.pk)
    messages.success(
        request,
        _("Invoice %(number)s is issued: the paid Service starts when it is paid.")
        % {"number": invoice.display_number},
    )
    return redirect("billing:invoice", org_id=membership.organization_id, invoice_id=invoice.pk)


@member_required
def invoices(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    return render(
        request,
        "billing/invoices.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "invoices",
            "invoices": selectors.invoices_for_member(membership),
        },
    )


@member_required
def invoice(request: AuthenticatedHttpRequest, membership: Membership, invoice_id: int) -> HttpResponse:
    """An invoice, and paying it from the Prepaid Account and/or by card (PRE-3, PRE-5, BIL-4)."""
    found = selectors.invoice_for_member(membership=membership, invoice_id=invoice_id)
    cards = [m for m in selectors.means_of(membership.organization) if m.kind == "card"]
    pay_form = PayForm(request.POST or None, cards=cards)
    if request.method == "POST" and pay_form.is_valid():
        chosen = next((card for card in cards if card.pk == pay_form.cleaned_data["means"]), None)
        payment = call_service(
            pay_form,
            lambda: invoice_pay(
                invoice=found,
                user=request.user,
                prepaid_amount=pay_form.cleaned_data["prepaid_amount"],
                means=chosen,
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        if not pay_form.errors:
            if payment is not None and payment.status == "unknown":
                messages.warning(
                    request,
                    _("The card payment's outcome is not known yet: we are checking it. Please do not pay again."),
                )
            else:
                messages.success(request, _("Thank you, the payment is received."))
            return redirect("billing:invoice", org_id=membership.organization_id, invoice_id=found.pk)
    return render(
        request,
        "billing/invoice.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "invoices",
            "invoice": found,
            "lines": found.lines.all(),
            "credit_notes": found.credit_notes.order_by("number"),
            "pay_form": pay_form,
            "balance": prepaid_account_for(membership.organization).balance,
        },
    )


@member_required
def means(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """Means of payment: list, add a card or another means (BIL-4); bank transfers take up to 10
    working days (BIL-5)."""
    organization = membership.organization
    card_form = CardForm(request.POST if request.POST.get("form") == "card" else None, prefix="card")
    other_form = OtherMeansForm(request.POST if request.POST.get("form") == "other" else None, prefix="other")
    if request.method == "POST":
        added = None
        if request.POST.get("form") == "card" and card_form.is_valid():
            data = card_form.cleaned_data
            added = call_service(
                card_form,
                lambda: means_add_card(
                    organization=organization,
                    user=request.user,
                    number=data["number"],
                    exp_month=data["exp_month"],
                    exp_year=data["exp_year"],
                    cvc=data["cvc"],
                    make_default=data["make_default"],
                    client_address=client_address(request),
                    now=clock.now(),
                ),
            )
        elif request.POST.get("form") == "other" and other_form.is_valid():
            data = other_form.cleaned_data
            added = call_service(
                other_form,
                lambda: means_add_other(
                    organization=organization,
                    user=request.user,
                    kind=data["kind"],
                    paypal_email=data["paypal_email"],
                    client_address=client_address(request),
                    now=clock.now(),
                ),
            )
        if added is not None:
            messages.success(request, _("Means of payment added: %(means)s.") % {"means": added})
            return redirect("billing:means", org_id=organization.pk)
    return render(
        request,
        "billing/means.html",
        {
            "organization": organization,
            "membership": membership,
            "section": "means",
            "means_list": selectors.means_of(organization),
            "card_form": card_form,
            "other_form": other_form,
        },
    )


@member_required
@require_POST
def means_action(request: AuthenticatedHttpRequest, membership: Membership, means_id: int, action: str) -> HttpResponse:
    found = selectors.means_for(organization=membership.organization, means_id=means_id)
    service = means_set_default if action == "default" else means_remove
    try:
        service(means=found, user=request.user, client_address=client_address(request), now=clock.now())
    except RuleViolation as violation:
        messages.error(request, violation.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("billing:means", org_id=membership.organization_id)


@member_required
def invoice_pdf_download(request: AuthenticatedHttpRequest, membership: Membership, invoice_id: int) -> HttpResponse:
    found = selectors.invoice_for_member(membership=membership, invoice_id=invoice_id)
    return pdf_response(found)


def pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-{invoice.display_number}.pdf"'
    return response


# --- Prepaid Account (PRE-1 … PRE-4) ---------------------------------------------------------


def _before_cursor(request: AuthenticatedHttpRequest) -> int | None:
    """The keyset cursor of the ledger (?before=<entry id>); anything else shows the newest page."""
    value = request.GET.get("before", "")
    return int(value) if value.isascii() and value.isdigit() else None


@member_required
def prepaid(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """The Prepaid Account: balance, ledger (newest first, keyset pages), top-up by card (credited
    at once) or bank transfer (credited when received, BIL-5), cash-out request (PRE-4)."""
    organization = membership.organization
    cards = [m for m in selectors.means_of(organization) if m.kind == "card"]
    form = TopUpForm(request.POST or None, cards=cards)
    if request.method == "POST" and form.is_valid():
        amount, pay_with = form.cleaned_data["amount"], form.cleaned_data["pay_with"]
        if pay_with == TopUpForm.BANK_TRANSFER:
            payment = call_service(
                form,
                lambda: prepaid_top_up_by_transfer(
                    organization=organization,
                    user=request.user,
                    amount=amount,
                    client_address=client_address(request),
                    now=clock.now(),
                ),
            )
            if payment is not None:
                messages.success(
                    request,
                    _(
                        "Please transfer %(currency)s %(amount)s quoting the reference %(reference)s. A bank "
                        "transfer can take up to 10 working days to reach us: the balance is credited when it does."
                    )
                    % {"currency": payment.currency, "amount": payment.amount, "reference": payment.reference},
                )
                return redirect("billing:prepaid_transfer", org_id=organization.pk, payment_id=payment.pk)
        else:
            card = {f"card:{c.pk}": c for c in cards}[pay_with]  # one of the choices: the form checked it
            payment = call_service(
                form,
                lambda: prepaid_top_up_by_card(
                    organization=organization,
                    user=request.user,
                    amount=amount,
                    means=card,
                    client_address=client_address(request),
                    now=clock.now(),
                ),
            )
            if payment is not None and payment.status == Payment.Status.UNKNOWN:
                messages.warning(
                    request,
                    _("The card payment's outcome is not known yet: we are checking it. Please do not pay again."),
                )
            elif payment is not None:
                messages.success(
                    request,
                    _("%(currency)s %(amount)s is credited to your Prepaid Account.")
                    % {"currency": payment.currency, "amount": payment.amount},
                )
        if payment is not None:
            return redirect("billing:prepaid", org_id=organization.pk)
    account = prepaid_account_for(organization)
    page = selectors.ledger_page(account, before_id=_before_cursor(request))
    return render(
        request,
        "billing/prepaid.html",
        {
            "organization": organization,
            "membership": membership,
            "section": "prepaid",
            "account": account,
            "entries": page.entries,
            "next_before": page.next_before,
            "paged": _before_cursor(request) is not None,
            "form": form,
            "pending_top_ups": selectors.pending_top_ups(organization),
            "cash_out": selectors.open_cash_out_request(account),
            "open_invoices": selectors.open_invoices(organization).exists(),
        },
    )


@member_required
def prepaid_transfer(request: AuthenticatedHttpRequest, membership: Membership, payment_id: int) -> HttpResponse:
    """The payment slip of a top-up by bank transfer (BIL-5): the provider's account, the reference to
    quote and, in CHF, the Swiss QR-bill, as on a CHF invoice."""
    payment = selectors.top_up_transfer_for(organization=membership.organization, payment_id=payment_id)
    return render(
        request,
        "billing/prepaid_transfer.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "prepaid",
            "payment": payment,
            "slip": top_up_slip(payment, language=request.LANGUAGE_CODE),
        },
    )


@member_required
@require_POST
def prepaid_cash_out(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """PRE-4: ask for the whole balance back; refused while an invoice is open."""
    try:
        request_ = prepaid_cash_out_request(
            organization=membership.organization,
            user=request.user,
            client_address=client_address(request),
            now=clock.now(),
        )
    except RuleViolation as violation:
        messages.error(request, violation.message)
    else:
        messages.success(
            request,
            _("Your request to pay out %(currency)s %(amount)s is sent to our staff.")
            % {"currency": request_.account.currency, "amount": request_.amount},
        )
    return redirect("billing:prepaid", org_id=membership.organization_id)
