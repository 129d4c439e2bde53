"""Issuing invoices and credit notes (SPEC BIL-6, BIL-7, MONEY-1), and applying payments to them."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import Actor, AuditSpec, audit_record, audit_record_many
from billing.models import CreditNote, Invoice, InvoiceLine, InvoiceSequence, ServiceType
from billing.money import percent_of, quantize
from billing.selectors import VatTreatment, vat_treatment
from billing.services.posting import Application, Effects, invoices_apply_payments
from core import clock
from core.bulk import bulk_insert
from core.countries import country_code
from core.errors import RuleViolation

# Days an invoice gives to pay (the due date). Renewal invoices are due on E (issue 4).
PAYMENT_TERM_DAYS = 30


@dataclass(frozen=True)
class LineSpec:
    description: str
    unit_price_excl_vat: Decimal  # in the invoice currency
    quantity: Decimal = Decimal("1")
    period_start: dt.date | None = None
    period_end: dt.date | None = None  # exclusive
    charge: str = ""  # free lines of a staff-issued invoice: InvoiceLine.Charge
    service: Any = None  # the Service a free line concerns


def next_invoice_numbers(count: int) -> range:
    """The next `count` numbers of the one gapless sequence (BIL-6). Call inside the issuing
    transaction: the row stays locked until commit, and a rollback gives the numbers back."""
    InvoiceSequence.objects.get_or_create(id=1)
    sequence = InvoiceSequence.objects.select_for_update().get(id=1)
    first = sequence.last_number + 1
    sequence.last_number += count
    sequence.save(update_fields=["last_number"])
    return range(first, sequence.last_number + 1)


def _next_number() -> int:
    return next_invoice_numbers(1)[0]


def billing_address(organization: Any) -> dict[str, Any]:
    """The snapshot printed on an invoice; later edits of the Organization do not change it."""
    return {
        "name": organization.name,
        "contact": f"{organization.contact_first_name} {organization.contact_last_name}",
        "lines": [organization.street, f"{organization.postal_code} {organization.city}"],
        "country": country_code(organization, "billing_country"),
        "vat_number": organization.vat_number,
    }


@dataclass(frozen=True)
class InvoiceRequest:
    """One invoice to issue with `invoices_issue`."""

    organization: Any
    kind: str
    service_type: ServiceType
    lines: Sequence[LineSpec]
    rule: str
    service: Any = None
    term: int | None = None  # renewals: the Service's term the invoice pays
    due_date: dt.date | None = None


class VatCache:
    """BIL-7 treatments of one batch, read once per (country, VAT number or not, type's VAT rule)."""

    def __init__(self, day: dt.date) -> None:
        self.day = day
        self._seen: dict[tuple[str, bool, bool], VatTreatment] = {}

    def treatment(self, organization: Any, service_type: ServiceType) -> VatTreatment:
        key = (
            country_code(organization, "billing_country"),
            bool(organization.vat_number),
            service_type.always_swiss_vat,
        )
        if key not in self._seen:
            self._seen[key] = vat_treatment(organization, service_type, self.day)
        return self._seen[key]


def invoices_issue(
    requests: Sequence[InvoiceRequest], *, actor: Actor, now: dt.datetime, vat: VatCache | None = None
) -> list[Invoice]:
    """Issue invoices: lines rounded half-up each (MONEY-1), VAT as BIL-7 says, the next numbers of
    the gapless sequence, the billing address as it is today. Never changed afterwards (BIL-6).
    Many at once cost the same queries as one (the daily run issues renewals in batches)."""
    if not requests:
        return []
    issue_date = clock.business_date(now)
    vat = vat or VatCache(issue_date)
    with transaction.atomic():
        invoices: list[Invoice] = []
        lines: list[list[InvoiceLine]] = []
        rates: list[Decimal] = []  # for the evidence
        for request in requests:
            if not request.lines:
                raise ValueError("an invoice needs at least one line")
            treatment = vat.treatment(request.organization, request.service_type)
            built = [
                _line(spec, position=position, rate=treatment.rate)
                for position, spec in enumerate(request.lines, start=1)
            ]
            total_excl = sum((line.amount_excl_vat for line in built), Decimal("0.00"))
            total_vat = sum((line.vat_amount for line in built), Decimal("0.00"))
            organization, service = request.organization, request.service
            invoice = Invoice(
                organization=organization,
                service=service,
                kind=request.kind,
                term=request.term,
                currency=organization.currency if service is None else service.currency,
                issue_date=issue_date,
                due_date=request.due_date or issue_date + dt.timedelta(days=PAYMENT_TERM_DAYS),
                total_excl_vat=total_excl,
                total_vat=total_vat,
                total_incl_vat=total_excl + total_vat,
                reverse_charge=treatment.reverse_charge,
                billing_address=billing_address(organization),
                language=organization.language,
                issued_at=now,
            )
            rates.append(treatment.rate)
            invoices.append(invoice)
            lines.append(built)
        for invoice, number in zip(invoices, next_invoice_numbers(len(invoices)), strict=True):
            invoice.number = number
        bulk_insert(invoices)
        for invoice, built in zip(invoices, lines, strict=True):
            for line in built:
                line.invoice = invoice
        bulk_insert([line for built in lines for line in built])
        audit_record_many(
            [
                AuditSpec(
                    actor=actor,
                    action="invoice.issued",
                    rule=request.rule,
                    obj=invoice,
                    organization=request.organization,
                    after={
                        "number": invoice.number,
                        "kind": invoice.kind,
                        "currency": invoice.currency,
                        "total_incl_vat": str(invoice.total_incl_vat),
                        "vat_rate": str(rate),
                        "reverse_charge": invoice.reverse_charge,
                        **({"term": invoice.term} if invoice.term is not None else {}),
                    },
                )
                for request, invoice, rate in zip(requests, invoices, rates, strict=True)
            ],
            at=now,
        )
    return invoices


def _line(spec: LineSpec, *, position: int, rate: Decimal) -> InvoiceLine:
    amount = quantize(spec.unit_price_excl_vat * spec.quantity)
    vat = percent_of(amount, rate)
    return InvoiceLine(
        position=position,
        description=spec.description[:200],
        period_start=spec.period_start,
        period_end=spec.period_end,
        quantity=spec.quantity,
        unit_price_excl_vat=spec.unit_price_excl_vat,
        vat_rate=rate,
        amount_excl_vat=amount,
        vat_amount=vat,
        amount_incl_vat=amount + vat,
        charge=spec.charge,
        service=spec.service,
    )


def invoice_issue(
    *,
    organization: Any,
    kind: str,
    service_type: ServiceType,
    lines: Sequence[LineSpec],
    actor: Actor,
    rule: str,
    now: dt.datetime,
    service: Any = None,
    due_date: dt.date | None = None,
) -> Invoice:
    """Issue one invoice (see `invoices_issue`)."""
    request = InvoiceRequest(
        organization=organization,
        kind=kind,
        service_type=service_type,
        lines=lines,
        rule=rule,
        service=service,
        due_date=due_date,
    )
    return invoices_issue([request], actor=actor, now=now)[0]


def credit_note_issue(
    *, invoice: Invoice, amount: Decimal, reason: str, staff_user: Any, now: dt.datetime
) -> CreditNote:
    """Cancel all or part of what is still due on an invoice (BIL-6); the invoice itself never changes
    its lines or totals. Crediting everything that is due cancels it."""
    if not reason.strip():
        raise RuleViolation(_("A reason is required for a credit note."), rule="BIL-6", status=400, field="reason")
    amount = quantize(amount)
    if amount <= 0:
        raise RuleViolation(_("The amount must be positive."), rule="BIL-6", status=400, field="amount")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != Invoice.Status.OPEN:
            raise RuleViolation(_("Only an open invoice can be credited."), rule="BIL-6")
        if amount > locked.amount_due:
            raise RuleViolation(
                _("At most %(due)s %(currency)s is still due on this invoice.")
                % {"due": locked.amount_due, "currency": locked.currency},
                rule="BIL-6",
                status=400,
                field="amount",
            )
        note = CreditNote.objects.create(
            number=_next_number(), invoice=locked, amount=amount, reason=reason, issued_at=now, issued_by=staff_user
        )
        locked.amount_credited += amount
        fields = ["amount_credited"]
        if locked.amount_due == 0:
            locked.status = Invoice.Status.CANCELLED
            fields.append("status")
        locked.save(update_fields=fields)
        audit_record(
            actor=Actor.for_user(staff_user),
            action="credit_note.issued",
            rule="BIL-6",
            obj=note,
            organization=locked.organization,
            after={
                "invoice": locked.number,
                "number": note.number,
                "amount": str(amount),
                "reason": reason,
                "invoice_status": locked.status,
            },
            at=now,
        )
    return note


def invoice_apply_payment(*, invoice: Invoice, amount: Decimal, actor: Actor, rule: str, now: dt.datetime) -> Invoice:
    """Book money received against an invoice already locked by the caller; paid in full -> PAID and
    the paid hooks run (BIL-3). A batch of one of `posting.invoices_apply_payments`."""
    effects = Effects()
    application = Application(invoice=invoice, amount=amount, rule=rule)
    invoices_apply_payments([application], actor=actor, now=now, effects=effects)
    effects.flush(now)
    return invoice
