"""The terms of a Service and the renewal invoices that pay them (SPEC TIME-3, REN-5, REN-6, BIL-1,
BIL-8, RW-2): the next term's dates, and its invoice issued for a batch of Services at the price in
force on the day, with the Renewal Warranty surcharge and the active add-ons' lines. Used by the
debit attempts (`renewals`), the Renewal Warranty and manual renewal (`lifecycle`) and the timeline.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import get_language

from audit.services import Actor
from billing.models import AddOnPrice, Invoice, Price
from billing.money import percent_of, quantize
from billing.periods import term_end
from billing.services.invoices import InvoiceRequest, LineSpec, VatCache, invoices_issue
from core.bulk import IdIn
from subscriptions.models import Service, ServiceAddOn

logger = logging.getLogger(__name__)

# --- terms -----------------------------------------------------------------------------------


def next_term(service: Service) -> tuple[int, dt.date, dt.date]:
    """(number, first day, first day not covered) of the term after the current one (TIME-3): a
    trial's first paid term starts on its end date T (REN-6)."""
    period = service.plan.period
    if service.anchor_date is None:
        if service.trial_ends_on is None:
            raise ValueError(f"service {service.pk} has neither a term nor a trial")
        return 1, service.trial_ends_on, term_end(service.trial_ends_on, period, 1)
    start = term_end(service.anchor_date, period, service.term)
    return service.term + 1, start, term_end(service.anchor_date, period, service.term + 1)


def due_date(service: Service) -> dt.date | None:
    """The date the next term must be paid by: E, or T for a trial."""
    if service.anchor_date is not None:
        return service.expires_on
    return service.trial_ends_on


# --- renewal invoices ------------------------------------------------------------------------


class _Prices:
    """BIL-1: prices in force on one day for the plans and add-ons of a batch (two queries)."""

    def __init__(self, services: Sequence[Service], day: dt.date) -> None:
        plan_ids = {s.plan_id for s in services}
        self.plans: dict[tuple[int, str], Price] = {}
        for price in Price.objects.filter(IdIn("plan_id", plan_ids), valid_from__lte=day).order_by("-valid_from"):
            self.plans.setdefault((price.plan_id, price.currency), price)
        self.add_ons: dict[int, list[ServiceAddOn]] = defaultdict(list)
        for item in ServiceAddOn.objects.filter(
            IdIn("service", [s.pk for s in services]), deactivated_at__isnull=True
        ).select_related("add_on"):
            self.add_ons[item.service_id].append(item)
        add_on_ids = {item.add_on_id for items in self.add_ons.values() for item in items}
        self.add_on_prices: dict[tuple[int, str], AddOnPrice] = {}
        if add_on_ids:
            for add_on_price in AddOnPrice.objects.filter(IdIn("add_on_id", add_on_ids), valid_from__lte=day).order_by(
                "-valid_from"
            ):
                self.add_on_prices.setdefault((add_on_price.add_on_id, add_on_price.currency), add_on_price)
        self._descriptions: dict[tuple[int, str | None], str] = {}

    def description(self, plan: Any) -> str:
        """The plan's invoice line text, made once per plan and language for the batch."""
        key = (plan.pk, get_language())
        if key not in self._descriptions:
            self._descriptions[key] = f"{plan.service_type.name} · {plan.name} ({plan.get_period_display()})"
        return self._descriptions[key]


def warranty_surcharge_applies(service: Service, price: Price) -> bool:
    """RW-2: 5% on the price while the option is active; none on Domain names (eligible, exempt) and
    none on special promotional prices."""
    service_type = service.plan.service_type
    return (
        service.renewal_warranty
        and service_type.warranty_eligible
        and not service_type.warranty_surcharge_exempt
        and not price.promotional
    )


def _renewal_lines(service: Service, prices: _Prices) -> list[LineSpec] | None:
    price = prices.plans.get((service.plan_id, service.currency))
    if price is None:
        return None
    _number, start, end = next_term(service)
    plan = service.plan
    lines = [
        LineSpec(
            description=prices.description(plan),
            unit_price_excl_vat=price.amount,
            period_start=start,
            period_end=end,
        )
    ]
    if warranty_surcharge_applies(service, price):
        surcharge = settings.RENEWAL_WARRANTY_SURCHARGE_PERCENT
        lines.append(
            LineSpec(
                description=f"Renewal Warranty ({surcharge}%)",
                unit_price_excl_vat=percent_of(price.amount, surcharge),
                period_start=start,
                period_end=end,
            )
        )
    for item in prices.add_ons.get(service.pk, []):  # BIL-8: every cycle while active
        add_on_price = prices.add_on_prices.get((item.add_on_id, service.currency))
        if add_on_price is not None and add_on_price.amount_per_cycle > 0:
            lines.append(
                LineSpec(
                    description=f"{item.add_on.name}",
                    unit_price_excl_vat=add_on_price.amount_per_cycle,
                    period_start=start,
                    period_end=end,
                )
            )
    return lines


def open_renewal_invoices(service_ids: Iterable[int], *, lock: bool = False) -> dict[tuple[int, int], Invoice]:
    """The open renewal invoices of these Services by (service, term), in one query."""
    invoices = Invoice.objects.filter(
        IdIn("service_id", service_ids), kind=Invoice.Kind.RENEWAL, status=Invoice.Status.OPEN
    )
    if lock:
        invoices = invoices.select_for_update().order_by("pk")
    return {(invoice.service_id, invoice.term): invoice for invoice in invoices}  # type: ignore[misc]


def next_term_invoices(services: Sequence[Service], found: dict[tuple[int, int], Invoice]) -> dict[int, Invoice]:
    return {s.pk: found[(s.pk, s.term + 1)] for s in services if (s.pk, s.term + 1) in found}


def renewal_invoices_issue(
    services: Sequence[Service], *, day: dt.date, actor: Actor, rule: str, now: dt.datetime
) -> dict[int, Invoice]:
    """Issue the next term's renewal invoice of each Service (price in force on `day`, BIL-1; the
    Renewal Warranty surcharge, RW-2; active add-ons, BIL-8), due on E. The caller has checked that
    none is open; the database refuses a second one per term (REN-8). Services without a price in
    their currency are left out (and logged: the catalog needs one)."""
    if not services:
        return {}
    prices = _Prices(services, day)
    vat = VatCache(day)
    requests, issued_for = [], []
    for service in services:
        lines = _renewal_lines(service, prices)
        if lines is None:
            logger.error("no price in force for %s in %s on %s", service.plan, service.currency, day)
            continue
        number, start, _end = next_term(service)
        requests.append(
            InvoiceRequest(
                organization=service.organization,
                kind=Invoice.Kind.RENEWAL,
                service_type=service.plan.service_type,
                lines=lines,
                rule=rule,
                service=service,
                term=number,
                due_date=max(start, day),
            )
        )
        issued_for.append(service)
    invoices = invoices_issue(requests, actor=actor, now=now, vat=vat)
    return {service.pk: invoice for service, invoice in zip(issued_for, invoices, strict=True)}


def renewal_quotes(services: Sequence[Service], *, organization: Any, day: dt.date) -> dict[int, Decimal]:
    """What each Service's next term would cost if its renewal invoice were issued on `day`: the lines
    `renewal_invoices_issue` would write (price in force, Renewal Warranty surcharge, add-ons), each
    rounded and with its VAT as the invoice adds them (MONEY-1, BIL-7), in the Service's currency.
    Services without a price in their currency are left out. A fixed number of queries for the batch."""
    if not services:
        return {}
    prices = _Prices(services, day)
    vat = VatCache(day)
    quotes: dict[int, Decimal] = {}
    for service in services:
        lines = _renewal_lines(service, prices)
        if lines is None:
            continue
        try:
            rate = vat.treatment(organization, service.plan.service_type).rate
        except LookupError:  # no VAT rate in force for the country: the catalog needs one (logged)
            logger.error("no VAT rate to quote the renewal of service %s on %s", service.pk, day)
            continue
        total = Decimal("0.00")
        for line in lines:
            amount = quantize(line.unit_price_excl_vat * line.quantity)
            total += amount + percent_of(amount, rate)
        quotes[service.pk] = total
    return quotes
