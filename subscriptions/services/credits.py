"""Credits bought for one Service (SPEC BIL-9, BIL-6, ORG-6): what the customer does with them.

- Buying: a manager of the Service asks for an amount; an invoice of kind `credits` is issued for it
  (the one numbering, BIL-6) and paid like any invoice. Once it is paid in full, the Service's
  balance grows by what was paid (`credit_purchases_paid`, a paid hook: exactly once, a unique
  constraint backs it). Credits are money set aside for the Service's own invoices, which bear their
  VAT when they are issued: the purchase itself bears none (docs/decisions.md, "Add-ons and credits").
- Paying an open invoice of the Service from them (`service_credits_pay`).

Spending and deleting them: `subscriptions.services.credit_ledger`.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import require_orders_accepted
from audit.services import Actor
from billing.models import Invoice, ServiceType
from billing.money import quantize
from billing.selectors import VatTreatment
from billing.services.invoices import InvoiceRequest, LineSpec, VatCache, invoices_issue
from billing.services.posting import Effects, of_kind, on_invoices_paid
from core import clock
from core.bulk import bulk_insert, bulk_update
from core.errors import RuleViolation
from subscriptions.batch import locked_services
from subscriptions.models import Service, ServiceCreditEntry
from subscriptions.services.credit_ledger import SPENT_ON, credit_evidence, credits_apply, invoices_in_doubt
from subscriptions.services.lifecycle import require_service_manager

Status = Service.Status
Kind = ServiceCreditEntry.Kind
# The most one purchase may bring in (as a top-up, PRE-2): a guard against an extra zero typed.
MAX_PURCHASE = Decimal("10000.00")


# --- buying ----------------------------------------------------------------------------------


class _NoVat(VatCache):
    """A purchase of credits bears no VAT: the invoices the credits pay bear it (BIL-7)."""

    def treatment(self, organization: Any, service_type: ServiceType) -> VatTreatment:
        return VatTreatment(rate=Decimal("0.00"), reverse_charge=False, country="")


def _check_amount(amount: Any, currency: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise RuleViolation(_("Enter an amount."), rule="MONEY-1", status=400, field="amount")
    value = quantize(amount)
    if value <= 0:
        raise RuleViolation(_("The amount must be greater than zero."), rule="BIL-9", status=400, field="amount")
    if value > MAX_PURCHASE:
        raise RuleViolation(
            _("One purchase of credits can be at most %(currency)s %(max)s.")
            % {"currency": currency, "max": MAX_PURCHASE},
            rule="BIL-9",
            status=400,
            field="amount",
        )
    return value


def service_credits_buy(
    *, service: Service, amount: Decimal, user: User, client_address: str | None = None, now: dt.datetime
) -> Invoice:
    """BIL-9: invoice `amount` of credits for the Service (in its currency); the balance grows once
    the invoice is paid. Managers of the Service only (ORG-5 roles, ORG-6 scope); a terminated
    Service, or one not started yet, takes none."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        require_service_manager(service, user)
        locked = locked_services([service.pk])[0]
        if locked.status == Status.TERMINATED:
            raise RuleViolation(_("This Service is terminated: it takes no credits."), rule="BIL-9")
        if locked.status == Status.AWAITING_PAYMENT:
            raise RuleViolation(_("Credits can be bought once the Service has started."), rule="BIL-9")
        require_orders_accepted(locked.organization)  # ENF-4: a purchase is a new order
        value = _check_amount(amount, locked.currency)
        request = InvoiceRequest(
            organization=locked.organization,
            kind=Invoice.Kind.CREDITS,
            service_type=locked.plan.service_type,
            lines=[
                LineSpec(
                    description=_("Credits for %(service)s (Service %(number)s)")
                    % {"service": locked.plan.name, "number": locked.pk},
                    unit_price_excl_vat=value,
                )
            ],
            rule="BIL-9",
            service=locked,
        )
        invoice = invoices_issue([request], actor=actor, now=now, vat=_NoVat(clock.business_date(now)))[0]
    return invoice


@on_invoices_paid
def credit_purchases_paid(
    *, invoices: list[Invoice], actor: Actor, now: dt.datetime, effects: Effects, services: dict[int, Service]
) -> None:
    """BIL-9: a purchase of credits paid in full, by any means, grows its Service's balance by what
    it cost. The invoices are locked by the caller; their Services are locked here (invoices before
    Services), unless the caller holds them already."""
    paid = of_kind(invoices, Invoice.Kind.CREDITS)
    if not paid:
        return
    known = dict(services)
    if missing := sorted({i.service_id for i in paid if i.service_id is not None} - known.keys()):
        known.update({s.pk: s for s in locked_services(missing)})
    entries = []
    changed: dict[int, Service] = {}
    for invoice in paid:
        assert invoice.service_id is not None  # of_kind: invoices naming a Service
        service = known[invoice.service_id]
        amount = invoice.total_incl_vat - invoice.amount_credited
        before = service.credit_balance
        service.credit_balance = before + amount
        changed[service.pk] = service
        entry = ServiceCreditEntry(
            service=service,
            kind=Kind.PURCHASE,
            amount=amount,
            balance_after=service.credit_balance,
            invoice=invoice,
            created_at=now,
        )
        entries.append(entry)
        effects.audit.append(credit_evidence(actor, service, entry, before))
    bulk_insert(entries)  # `credit_purchase_credited_once` refuses a second entry for an invoice
    bulk_update(list(changed.values()), ["credit_balance"])


def service_credits_pay(
    *, service: Service, invoice: Invoice, user: User, client_address: str | None = None, now: dt.datetime
) -> Decimal:
    """BIL-9: the customer pays an open invoice of the Service (renewal, usage, add-on) from its
    credits, as far as they go. Returns the amount paid with them."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        require_service_manager(service, user)
        locked_invoice = Invoice.objects.select_for_update().filter(pk=invoice.pk, service_id=service.pk).first()
        if locked_invoice is None:
            raise RuleViolation(_("No such invoice."), rule="ORG-6", status=404)
        locked = locked_services([service.pk])[0]
        if locked_invoice.status != Invoice.Status.OPEN or locked_invoice.kind not in SPENT_ON:
            raise RuleViolation(_("This invoice cannot be paid with the Service's credits."), rule="BIL-9")
        if invoices_in_doubt([locked_invoice.pk]):
            raise RuleViolation(
                _("A card payment of this invoice is being checked: please wait for its outcome."), rule="REN-8"
            )
        if locked.credit_balance <= 0:
            raise RuleViolation(_("This Service has no credits left."), rule="BIL-9")
        effects = Effects()
        spent = credits_apply(
            {locked.pk: [locked_invoice]}, services={locked.pk: locked}, actor=actor, now=now, effects=effects
        )
        effects.flush(now)
    return spent[locked.pk]
