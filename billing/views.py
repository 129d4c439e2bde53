"""Browser pages of billing. Organizations resolve through the user's memberships, Services and
invoices through what the member may see (ORG-6): anything else answers 404."""

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.views import member_required
from billing import selectors
from billing.forms import (
    CardForm,
    InvoiceCardForm,
    OtherMeansForm,
    PayForm,
    TopUpForm,
)
from billing.gateway import is_sandbox
from billing.models import Invoice, Payment
from billing.pdf import invoice_pdf
from billing.services.means import means_add_card, means_add_other, means_remove, means_set_default
from billing.services.payments import (
    charge_in_doubt,
    invoice_pay,
    invoice_pay_with_new_card,
    require_no_charge_in_doubt,
)
from billing.services.prepaid import PAYABLE_INVOICE_KINDS, prepaid_account_for, prepaid_cash_out_request
from billing.services.topup import prepaid_top_up_by_card, prepaid_top_up_by_transfer
from billing.slips import top_up_slip
from core import clock, figures
from core.errors import RuleViolation
from core.forms import call_service
from core.http import client_address, safe_next
from core.paging import page_of


@member_required
def invoices(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """The invoices the member sees (ORG-6), newest first, a page at a time (core.paging)."""
    page = page_of(selectors.invoices_for_member(membership), request)
    return render(
        request,
        "billing/invoices.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "invoices",
            "invoices": page.object_list,
            "page": page,
        },
    )


@member_required
def invoice(request: AuthenticatedHttpRequest, membership: Membership, invoice_id: int) -> HttpResponse:
    """An invoice, and paying it from the Prepaid Account and/or by a card on file or entered here
    (PRE-3, PRE-5, BIL-4). While a charge of it is in doubt, the page says so and offers no payment
    (REN-8): the service refuses one too."""
    found = selectors.invoice_for_member(membership=membership, invoice_id=invoice_id)
    organization = membership.organization
    cards = [m for m in selectors.means_of(organization) if m.kind == "card"]
    from_balance = found.kind in PAYABLE_INVOICE_KINDS  # PRE-3
    balance = prepaid_account_for(organization).balance
    covered = max(min(balance, found.amount_due), Decimal("0.00")) if from_balance else Decimal("0.00")
    posted = request.POST if request.method == "POST" else None
    pay_form = PayForm(
        posted,
        cards=cards,
        from_balance=from_balance,
        new_card=True,
        initial={"prepaid_amount": covered, "means": str(cards[0].pk) if cards else PayForm.NEW_CARD},
    )
    paying_by_new_card = posted is not None and posted.get("means") == PayForm.NEW_CARD
    card_form = InvoiceCardForm(posted if paying_by_new_card else None, prefix="card")
    if posted is not None and found.status == Invoice.Status.OPEN:
        try:  # REN-8: the page offers no payment then; a form sent from an older page is refused here
            require_no_charge_in_doubt(found)
        except RuleViolation as violation:
            messages.error(request, violation.message)
            return redirect("billing:invoice", org_id=membership.organization_id, invoice_id=found.pk)
    if posted is not None and pay_form.is_valid():
        paid, payment = _pay(request, found, pay_form, card_form, cards)
        if paid:
            if payment is not None and payment.status == Payment.Status.UNKNOWN:
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
            "organization": organization,
            "membership": membership,
            "section": "invoices",
            "invoice": found,
            "lines": found.lines.all(),
            "credit_notes": found.credit_notes.order_by("number"),
            "pay_form": pay_form,
            "card_form": card_form,
            "from_balance": from_balance,
            "balance": balance,
            "in_doubt": found.status == Invoice.Status.OPEN and charge_in_doubt(found),
            "test_mode": is_sandbox(settings.PAYMENT_GATEWAY),
            "means_url": f"{reverse('billing:means', args=[organization.pk])}?{urlencode({'next': request.path})}",
        },
    )


def _pay(
    request: AuthenticatedHttpRequest, found: Invoice, pay_form: PayForm, card_form: InvoiceCardForm, cards: list[Any]
) -> tuple[bool, Payment | None]:
    """Pay with the card chosen, or the one entered (`card_form`), or the balance alone. Returns
    whether it went through and the card payment; a refusal lands on the form that caused it."""
    prepaid_amount, chosen = pay_form.cleaned_data["prepaid_amount"], pay_form.cleaned_data["means"]
    if chosen == PayForm.NEW_CARD and prepaid_amount < found.amount_due:
        if not card_form.is_valid():
            return False, None
        data = card_form.cleaned_data
        payment = call_service(
            card_form,
            lambda: invoice_pay_with_new_card(
                invoice=found,
                user=request.user,
                prepaid_amount=prepaid_amount,
                card={key: data[key] for key in ("number", "exp_month", "exp_year", "cvc")},
                save=data["save"],
                client_address=client_address(request),
                now=clock.now(),
            ),
        )
        return not card_form.errors, payment
    payment = call_service(
        pay_form,
        lambda: invoice_pay(
            invoice=found,
            user=request.user,
            prepaid_amount=prepaid_amount,
            means=next((card for card in cards if card.pk == chosen), None),
            client_address=client_address(request),
            now=clock.now(),
        ),
    )
    return not pay_form.errors, payment


@member_required
def means(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """Means of payment: list, add a card or another means (BIL-4); bank transfers take up to 10
    working days (BIL-5)."""
    organization = membership.organization
    card_form = CardForm(request.POST if request.POST.get("form") == "card" else None, prefix="card")
    other_form = OtherMeansForm(request.POST if request.POST.get("form") == "other" else None, prefix="other")
    back_to = safe_next(request, request.POST.get("next") or request.GET.get("next"))  # e.g. the invoice to pay
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
            return redirect(back_to or reverse("billing:means", args=[organization.pk]))
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
            "next": back_to,
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
                    % {
                        "currency": payment.currency,
                        "amount": figures.amount(payment.amount),
                        "reference": payment.reference,
                    },
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
                    % {"currency": payment.currency, "amount": figures.amount(payment.amount)},
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
            % {"currency": request_.account.currency, "amount": figures.amount(request_.amount)},
        )
    return redirect("billing:prepaid", org_id=membership.organization_id)
