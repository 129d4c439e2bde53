"""Add-ons of a Service, switched on and off by its managers (SPEC BIL-8, ORG-6, BIL-1, BIL-6, BIL-7).

An add-on active on a Service is billed on each of its renewal invoices while it stays active (the
lines are written by `renewal_invoices`); some add-ons also cost a one-time activation fee, invoiced
when the add-on is switched on — an ordinary invoice of the one numbering (BIL-6), with VAT as
BIL-7 says, paid like every other invoice (the invoice page: card, Prepaid Account, bank transfer
with its QR-bill) and, before any of those, with the Service's credits (BIL-9).

Lock order (docs/decisions.md): the Service, then its add-on rows, then the invoice sequence
(issuing), then the audit chain head.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.permissions import require_orders_accepted
from audit.services import Actor, AuditSpec
from billing.models import AddOn, AddOnPrice, Invoice
from billing.services.invoices import LineSpec, invoice_issue
from billing.services.posting import Effects
from core import clock
from core.errors import RuleViolation
from subscriptions.batch import locked_services
from subscriptions.models import Service, ServiceAddOn
from subscriptions.services.credit_ledger import credits_apply
from subscriptions.services.lifecycle import require_service_manager

Status = Service.Status


@dataclass(frozen=True)
class Activated:
    """What switching an add-on on made: the add-on row and, when it has a fee, its invoice."""

    item: ServiceAddOn
    invoice: Invoice | None


def add_on_price(add_on: AddOn, currency: str, day: dt.date) -> AddOnPrice | None:
    """BIL-1: the add-on's price in force on `day` in the Service's currency."""
    return (
        AddOnPrice.objects.filter(add_on=add_on, currency=currency, valid_from__lte=day).order_by("-valid_from").first()
    )


def _require_changeable(service: Service) -> None:
    """Add-ons change only on a Service that runs and is paid for."""
    if service.status == Status.TERMINATED:
        raise RuleViolation(_("This Service is terminated: its add-ons cannot be changed."), rule="REN-4")
    if service.status == Status.SUSPENDED:
        raise RuleViolation(
            _("This Service is suspended: its add-ons can be changed again once it works again."), rule="REN-3"
        )
    if service.status != Status.ACTIVE:
        raise RuleViolation(_("Add-ons can be added once the Service is active and paid for."), rule="BIL-8")
    if service.usage_based:  # USE-1: no renewal invoice to bill them on (docs/decisions.md)
        raise RuleViolation(_("This Service is billed by its usage: it takes no add-ons."), rule="BIL-8")


def _lock(service: Service, user: User, add_on: AddOn) -> Service:
    """The Service locked, if `user` manages it (ORG-5 roles, ORG-6 scope: another Organization's
    Service, or one outside the member's scope, is 404), and the add-on one of its type's."""
    require_service_manager(service, user)
    locked = locked_services([service.pk])[0]
    _require_changeable(locked)
    if add_on.service_type_id != locked.plan.service_type_id:
        raise RuleViolation(
            _("This add-on is not available for this kind of Service."), rule="BIL-8", status=400, field="add_on"
        )
    return locked


def service_add_on_activate(
    *, service: Service, add_on: AddOn, user: User, client_address: str | None = None, now: dt.datetime
) -> Activated:
    """BIL-8: switch an add-on on. Billed from the next renewal invoice not issued yet (an issued
    invoice never changes, BIL-6); its activation fee, if any, is invoiced now at the price in force
    today (BIL-1), and the Service's credits pay it first (BIL-9)."""
    actor = Actor.for_user(user, client_address=client_address)
    today = clock.business_date(now)
    with transaction.atomic():
        locked = _lock(service, user, add_on)
        require_orders_accepted(locked.organization)  # ENF-4: switching an add-on on is a new order
        if ServiceAddOn.objects.filter(service=locked, add_on=add_on, deactivated_at__isnull=True).exists():
            raise RuleViolation(_("This add-on is already active on the Service."), rule="BIL-8")
        price = add_on_price(add_on, locked.currency, today)
        if price is None:
            raise RuleViolation(
                _("This add-on has no price in %(currency)s: please contact support.") % {"currency": locked.currency},
                rule="BIL-1",
            )
        # the partial unique constraint `addon_active_once` refuses a second active row
        item = ServiceAddOn.objects.create(service=locked, add_on=add_on, activated_at=now)
        invoice = None
        if price.activation_fee > 0:
            invoice = invoice_issue(
                organization=locked.organization,
                kind=Invoice.Kind.ADD_ON,
                service_type=locked.plan.service_type,
                lines=[
                    LineSpec(
                        description=_("%(add_on)s: activation fee") % {"add_on": add_on.name},
                        unit_price_excl_vat=price.activation_fee,
                    )
                ],
                actor=actor,
                rule="BIL-8",
                now=now,
                service=locked,
            )
        effects = Effects()
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="service_add_on.activated",
                rule="BIL-8",
                obj=item,
                organization=locked.organization,
                after={
                    "service": locked.pk,
                    "add_on": add_on.slug,
                    "currency": locked.currency,
                    "amount_per_cycle": str(price.amount_per_cycle),
                    "activation_fee": str(price.activation_fee),
                    "invoice": invoice.number if invoice is not None else None,
                },
            )
        )
        if invoice is not None:
            credits_apply({locked.pk: [invoice]}, services={locked.pk: locked}, actor=actor, now=now, effects=effects)
        effects.flush(now)
    if invoice is not None:
        invoice.refresh_from_db()
    return Activated(item=item, invoice=invoice)


def service_add_on_deactivate(
    *, service: Service, add_on: AddOn, user: User, client_address: str | None = None, now: dt.datetime
) -> ServiceAddOn:
    """BIL-8: switch an add-on off. The next renewal invoice not issued yet no longer bills it; what
    was invoiced stays due and nothing is refunded pro rata (BIL-13)."""
    actor = Actor.for_user(user, client_address=client_address)
    with transaction.atomic():
        locked = _lock(service, user, add_on)
        item = (
            ServiceAddOn.objects.select_for_update()
            .filter(service=locked, add_on=add_on, deactivated_at__isnull=True)
            .first()
        )
        if item is None:
            raise RuleViolation(_("This add-on is not active on the Service."), rule="BIL-8")
        item.deactivated_at = now
        item.save(update_fields=["deactivated_at"])
        effects = Effects()
        effects.audit.append(
            AuditSpec(
                actor=actor,
                action="service_add_on.deactivated",
                rule="BIL-8",
                obj=item,
                organization=locked.organization,
                before={"activated_at": item.activated_at.isoformat()},
                after={"service": locked.pk, "add_on": add_on.slug, "deactivated_at": now.isoformat()},
            )
        )
        effects.flush(now)
    return item
