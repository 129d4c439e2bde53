"""Invoices staff issue by hand with free lines: intervention costs (TCU 18.4), an activation fee
(BIL-8), other charges. They are invoices like the others: the one gapless sequence and the same
lines, VAT (BIL-7), PDF and QR-bill (billing.services.invoices, billing.pdf), due on a date, shown
in the portal and paid by the usual means; the customer is told at once.

Refused, with nothing written: no line, a total that is not positive (a reduction is a credit
note, BIL-6), a Service of another Organization, a terminated Organization (ORG-9), an amount in
another currency than the Organization's (MONEY-1), lines whose Services bear different VAT rules
(BIL-7: one invoice, one VAT treatment)."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.permissions import require_staff
from audit.services import Actor
from billing.models import Invoice, InvoiceLine, ServiceType
from billing.money import quantize
from billing.services.invoices import LineSpec, invoice_issue
from core import clock
from core.errors import RuleViolation
from notifications.services import notify

Charge = InvoiceLine.Charge

# The rule a manual invoice is issued under, for the evidence: the first of these its lines bill.
CHARGE_RULES = ((Charge.INTERVENTION, "TCU 18.4"), (Charge.ACTIVATION_FEE, "BIL-8"), (Charge.OTHER, "BIL-6"))


@dataclass(frozen=True)
class ManualLine:
    """One free line, as staff type it: the unit price excludes VAT (BIL-7 adds it)."""

    description: str
    quantity: Decimal
    unit_price_excl_vat: Decimal
    charge: str = Charge.OTHER
    service: Any = None  # one of the Organization's Services, or None


def _refuse(message: str, rule: str, field: str | None = None) -> RuleViolation:
    return RuleViolation(message, rule=rule, status=400, field=field)


def _checked_lines(organization: Organization, currency: str, lines: Sequence[ManualLine]) -> list[LineSpec]:
    if not lines:
        raise _refuse(_("An invoice needs at least one line."), "BIL-6")
    specs = []
    for line in lines:
        description = line.description.strip()
        if not description:
            raise _refuse(_("Every line needs a description."), "BIL-6")
        if line.charge not in Charge.values:
            raise _refuse(_("Unknown kind of charge."), "BIL-6")
        if line.quantity <= 0:
            raise _refuse(_("A quantity must be greater than zero."), "BIL-6")
        service = line.service
        if service is not None:
            if service.organization_id != organization.pk:
                raise _refuse(_("A line names a Service of another organization."), "BIL-6")
            if service.currency != currency:
                raise _refuse(
                    _("A line names a Service billed in %(other)s, not in %(currency)s.")
                    % {"other": service.currency, "currency": currency},
                    "MONEY-1",
                )
        specs.append(
            LineSpec(
                description=description,
                unit_price_excl_vat=line.unit_price_excl_vat,
                quantity=line.quantity,
                charge=line.charge,
                service=service,
            )
        )
    total = sum((quantize(spec.unit_price_excl_vat * spec.quantity) for spec in specs), Decimal("0.00"))
    if total <= 0:
        raise _refuse(
            _("The total must be greater than zero: to reduce what a customer owes, issue a credit note."), "BIL-6"
        )
    return specs


def _vat_type(lines: Sequence[LineSpec]) -> ServiceType:
    """BIL-7: the VAT rule of the lines' Services (Housing bears Swiss VAT wherever the customer
    is); lines without a Service follow the billing address. One rule per invoice."""
    rules = {line.service.plan.service_type.always_swiss_vat for line in lines if line.service is not None}
    if len(rules) > 1 or (rules == {True} and any(line.service is None for line in lines)):
        raise _refuse(
            _("These lines bear different VAT rules: issue one invoice for the Housing lines and one for the others."),
            "BIL-7",
        )
    return ServiceType(always_swiss_vat=rules == {True})  # unsaved: only its VAT rule is read


def manual_invoice_issue(
    *,
    organization: Organization,
    currency: str,
    lines: Sequence[ManualLine],
    staff_user: User,
    now: dt.datetime,
    due_date: dt.date | None = None,
) -> Invoice:
    """Staff issue an invoice of free lines to an Organization, in its currency, due on `due_date`
    (by default the usual payment term); the customer is notified (e-mail and inbox)."""
    require_staff(staff_user, rule="BIL-6", refusal=_("Only our staff can do this."))
    today = clock.business_date(now)
    if due_date is not None and due_date < today:
        raise _refuse(_("The due date cannot be in the past."), "BIL-6", field="due_date")
    with transaction.atomic():
        locked = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
        if locked.status == Organization.Status.TERMINATED:
            raise RuleViolation(_("This organization's contract is terminated."), rule="ORG-9")
        if currency != locked.currency:
            raise _refuse(
                _("This organization is billed in %(currency)s, not in %(other)s.")
                % {"currency": locked.currency, "other": currency},
                "MONEY-1",
                field="currency",
            )
        specs = _checked_lines(locked, currency, lines)
        charges = {spec.charge for spec in specs}
        rule = next(rule for charge, rule in CHARGE_RULES if charge in charges)
        invoice = invoice_issue(
            organization=locked,
            kind=Invoice.Kind.MANUAL,
            service_type=_vat_type(specs),
            lines=specs,
            actor=Actor.for_user(staff_user),
            rule=rule,
            now=now,
            due_date=due_date,
        )
        notify(organization=locked, template="invoice_issued", context={"invoice": invoice}, related=invoice, now=now)
    return invoice
