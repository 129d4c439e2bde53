"""Browser pages of Services: the list, ordering, trials, a Service's page and its lifecycle actions.
Organizations resolve through the user's memberships, Services through what the member may see
(ORG-6): anything else answers 404."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.http import AuthenticatedHttpRequest
from accounts.models import DocumentVersion, Membership
from accounts.permissions import SERVICE_MANAGER_ROLES, TERMINATING_ROLES
from accounts.views import member_required
from billing import selectors
from billing.forms import PayForm
from billing.models import AddOn, Invoice, MeansKind, PaymentMeans, Plan
from billing.money import percent_of
from billing.services.payments import invoices_with_charge_in_doubt
from billing.services.prepaid import prepaid_account_for
from core import clock, figures
from core.errors import RuleViolation
from core.forms import raise_unless_the_forms
from core.http import client_address
from core.paging import page_of
from subscriptions import hooks as subscription_hooks
from subscriptions import selectors as subscription_selectors
from subscriptions.forms import CreditsBuyForm, MoneyBackForm, OrderForm, SwitchForm, TerminateForm
from subscriptions.models import MoneyBackRefund, Service
from subscriptions.services import addons, credits, moneyback
from subscriptions.services.lifecycle import (
    service_decline_renewal,
    service_renew_now,
    service_resume_renewal,
    service_set_auto_renew,
    service_set_warranty,
    service_terminate_now,
)
from subscriptions.services.orders import plan_order, trial_convert, trial_start
from subscriptions.timeline import service_attempts, service_timeline


@member_required
def services(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """The Services the member sees (ORG-6), newest first, a page at a time (core.paging)."""
    page = page_of(subscription_selectors.services_for_member(membership), request)
    return render(
        request,
        "billing/services.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "services": page.object_list,
            "page": page,
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
        if form.is_valid() and (form.cleaned_data["confirm"] or form.cleaned_data["trial"]):
            return _place_order(request, membership, form)
        if form.is_valid():  # an order ends on a review step; a free trial starts at once
            return _review_order(request, membership, form)
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
        for plan, rates in subscription_hooks.usage_catalog(today, organization)  # usage.selectors
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


def _review_order(request: AuthenticatedHttpRequest, membership: Membership, form: OrderForm) -> HttpResponse:
    """What is ordered, its term, price, VAT and total as the order invoice will bill them, and the
    documents accepted, before "Confirm order" places it. Nothing is written here."""
    organization = membership.organization
    today = clock.today()
    data = form.cleaned_data
    plan = get_object_or_404(Plan.objects.select_related("service_type"), pk=data["plan"], is_active=True)
    documents = _documents_to_accept(organization, plan, today)
    if documents and not data["accepted"]:
        messages.error(request, _("Please accept the documents to order."))
        return redirect("subscriptions:order", org_id=organization.pk)
    quote = None
    if not plan.usage_based:
        price = selectors.price_in_force(plan, organization.currency, today)
        if price is None:
            messages.error(
                request, _("This plan is not available in %(currency)s.") % {"currency": organization.currency}
            )
            return redirect("subscriptions:order", org_id=organization.pk)
        treatment = selectors.vat_treatment(organization, plan.service_type, today)
        vat = percent_of(price.amount, treatment.rate)
        quote = {
            "currency": organization.currency,
            "excl_vat": price.amount,
            "vat_rate": treatment.rate,
            "vat": vat,
            "total": price.amount + vat,
            "reverse_charge": treatment.reverse_charge,
        }
    return render(
        request,
        "billing/order_review.html",
        {
            "organization": organization,
            "membership": membership,
            "section": "services",
            "plan": plan,
            "quote": quote,
            "documents": documents,
            "data": data,
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
                    _("Ordered. The Service starts when invoice %(number)s is paid: pay it below.")
                    % {"number": invoice.display_number},
                )
                return redirect("billing:invoice", org_id=membership.organization_id, invoice_id=invoice.pk)
    except RuleViolation as violation:
        messages.error(request, violation.message)
        return redirect("subscriptions:order", org_id=membership.organization_id)
    return redirect("subscriptions:service", org_id=membership.organization_id, service_id=service.pk)


def _cards(membership: Membership) -> list[PaymentMeans]:
    return [m for m in selectors.means_of(membership.organization) if m.kind == MeansKind.CARD]


@member_required
def service(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """A Service: its term, timeline (past and coming), debit attempts, open invoices (RW-4: two can
    be open), and what the customer may do about its renewal; POST renews it now (PRE-5)."""
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
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
            if violation.rule == "REN-8":  # a charge in doubt: the page shows no form to put it on
                messages.error(request, violation.message)
                return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)
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
            return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)
    today = clock.today()
    attempts = service_attempts(found)  # oldest first: the timeline's order
    events = service_timeline(found, today=today, attempts=attempts)
    open_invoices = list(found.invoices.filter(status=Invoice.Status.OPEN).order_by("number"))
    service_type = found.plan.service_type
    vat_rate = selectors.vat_treatment(membership.organization, service_type, today).rate
    add_ons = [  # BIL-8, BIL-7: prices shown as the customer pays them
        {
            "offer": offer,
            "per_cycle": offer.price.amount_per_cycle + percent_of(offer.price.amount_per_cycle, vat_rate),
            "fee": offer.price.activation_fee + percent_of(offer.price.activation_fee, vat_rate),
        }
        for offer in subscription_selectors.service_add_ons(found, today)
        if offer.price is not None  # none in force in the Service's currency: not offered
    ]
    return render(
        request,
        "billing/service.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "service": found,
            "invoices": found.invoices.order_by("-number"),
            "open_invoices": open_invoices,
            "attempts": attempts[::-1],  # the newest first
            "past": [event for event in reversed(events) if event.past],
            "coming": [event for event in events if not event.past],
            "renew_form": renew_form,
            # REN-8: while a charge of an open invoice of the Service is in doubt, no second payment
            "renewal_in_doubt": bool(invoices_with_charge_in_doubt(invoice.pk for invoice in open_invoices)),
            "balance": prepaid_account_for(membership.organization).balance,
            "can_manage": membership.role in SERVICE_MANAGER_ROLES,
            "can_terminate": membership.role in TERMINATING_ROLES,
            "running": found.status in (Service.Status.ACTIVE, Service.Status.TRIAL, Service.Status.SUSPENDED),
            "warranty_refusal": ""
            if service_type.warranty_eligible
            else _("%(type)s is not eligible for the Renewal Warranty.") % {"type": service_type.name},
            "money_back_until": moneyback.money_back_last_day(found) if service_type.money_back_eligible else None,
            "today": today,
            "add_ons": add_ons,
            "vat_rate": vat_rate,
            "credits_usable": found.credit_balance > 0,
        },
    )


def _service_action(
    request: AuthenticatedHttpRequest, membership: Membership, service_id: int, act: Callable[[Service], str]
) -> HttpResponse:
    """Run one customer action on the Service and come back to its page with the outcome: the
    refusal's reason (nothing changed) or what was done."""
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    try:
        done = act(found)
    except RuleViolation as violation:
        raise_unless_the_forms(violation)
        messages.error(request, violation.message)
    else:
        messages.success(request, done)
    return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)


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
            "date": figures.day(ends_on)
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
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
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
            return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)
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
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
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
                    "amount": figures.amount(refund.amount),
                    "card": figures.amount(refund.card_amount),
                    "prepaid": figures.amount(refund.prepaid_amount),
                }
            else:
                done = _(
                    "The Service is cancelled and its data deleted. %(currency)s %(amount)s is credited to your "
                    "Prepaid Account."
                ) % {"currency": refund.currency, "amount": figures.amount(refund.amount)}
            messages.success(request, done)
            return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)
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
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    try:
        invoice = trial_convert(
            service=found, user=request.user, client_address=client_address(request), now=clock.now()
        )
    except RuleViolation as violation:
        messages.error(request, violation.message)
        return redirect("subscriptions:service", org_id=membership.organization_id, service_id=found.pk)
    messages.success(
        request,
        _("Invoice %(number)s is issued: the paid Service starts when it is paid.")
        % {"number": invoice.display_number},
    )
    return redirect("billing:invoice", org_id=membership.organization_id, invoice_id=invoice.pk)


# --- add-ons (BIL-8) and credits (BIL-9) -----------------------------------------------------


@member_required
@require_POST
def service_add_on_activate(
    request: AuthenticatedHttpRequest, membership: Membership, service_id: int, add_on_id: int
) -> HttpResponse:
    """BIL-8: switch an add-on on; its activation fee, if any, is invoiced now."""
    add_on = get_object_or_404(AddOn, pk=add_on_id)

    def act(found: Service) -> str:
        done = addons.service_add_on_activate(
            service=found, add_on=add_on, user=request.user, client_address=client_address(request), now=clock.now()
        )
        if done.invoice is None:
            return _("%(add_on)s is active: it is billed with each renewal.") % {"add_on": add_on.name}
        if done.invoice.status == Invoice.Status.PAID:
            return _(
                "%(add_on)s is active: it is billed with each renewal. Its activation fee (invoice %(number)s) "
                "was paid with the Service's credits."
            ) % {"add_on": add_on.name, "number": done.invoice.display_number}
        return _(
            "%(add_on)s is active: it is billed with each renewal. Its activation fee is on invoice %(number)s."
        ) % {"add_on": add_on.name, "number": done.invoice.display_number}

    return _service_action(request, membership, service_id, act)


@member_required
@require_POST
def service_add_on_deactivate(
    request: AuthenticatedHttpRequest, membership: Membership, service_id: int, add_on_id: int
) -> HttpResponse:
    """BIL-8: switch an add-on off: the next renewal invoice no longer bills it."""
    add_on = get_object_or_404(AddOn, pk=add_on_id)

    def act(found: Service) -> str:
        addons.service_add_on_deactivate(
            service=found, add_on=add_on, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return _("%(add_on)s is switched off: the next renewal no longer bills it.") % {"add_on": add_on.name}

    return _service_action(request, membership, service_id, act)


@member_required
def service_credits(request: AuthenticatedHttpRequest, membership: Membership, service_id: int) -> HttpResponse:
    """BIL-9: the Service's credits, their history, and buying more (an invoice to pay)."""
    found = subscription_selectors.service_for_member(membership=membership, service_id=service_id)
    form = CreditsBuyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invoice = credits.service_credits_buy(
                service=found,
                amount=form.cleaned_data["amount"],
                user=request.user,
                client_address=client_address(request),
                now=clock.now(),
            )
        except RuleViolation as violation:
            raise_unless_the_forms(violation)
            form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        else:
            messages.success(
                request,
                _("Invoice %(number)s is issued: the credits are added to this Service once it is paid.")
                % {"number": invoice.display_number},
            )
            return redirect("billing:invoice", org_id=membership.organization_id, invoice_id=invoice.pk)
    return render(
        request,
        "billing/service_credits.html",
        {
            "organization": membership.organization,
            "membership": membership,
            "section": "services",
            "service": found,
            "form": form,
            "entries": subscription_selectors.credit_entries(found),
            "can_manage": membership.role in SERVICE_MANAGER_ROLES,
            "running": found.status in (Service.Status.ACTIVE, Service.Status.TRIAL, Service.Status.SUSPENDED),
        },
    )


@member_required
@require_POST
def service_credits_pay(
    request: AuthenticatedHttpRequest, membership: Membership, service_id: int, invoice_id: int
) -> HttpResponse:
    """BIL-9: pay an open invoice of the Service with its credits, as far as they go."""

    def act(found: Service) -> str:
        invoice = get_object_or_404(found.invoices, pk=invoice_id)
        paid = credits.service_credits_pay(
            service=found, invoice=invoice, user=request.user, client_address=client_address(request), now=clock.now()
        )
        return _("%(currency)s %(amount)s of invoice %(number)s is paid with the Service's credits.") % {
            "currency": found.currency,
            "amount": figures.amount(paid),
            "number": invoice.display_number,
        }

    return _service_action(request, membership, service_id, act)
