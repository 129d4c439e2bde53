"""Reads of the billing app: prices and VAT in force, the invoices and means a member may see, what
blocks a termination."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from billing import hooks
from billing.models import (
    CashOutRequest,
    Invoice,
    LedgerEntry,
    MeansKind,
    MeansRestriction,
    Payment,
    PaymentMeans,
    Plan,
    PrepaidAccount,
    Price,
    ServiceType,
    VatRate,
)
from billing.models.payments import AUTO_DEBIT_KINDS
from billing.money import percent_of
from core.countries import EU_COUNTRIES, SWISS_VAT_AREA
from core.request_memo import memoized


def price_in_force(plan: Plan, currency: str, day: dt.date) -> Price | None:
    """BIL-1: the price with the latest `valid_from` on or before `day`."""
    return plan.prices.filter(currency=currency, valid_from__lte=day).order_by("-valid_from").first()


def vat_rate(country: str, day: dt.date) -> Decimal | None:
    """The rate in force in `country` on `day`; asked once per request (core.request_memo): a page
    quoting renewals and usage asks it for each."""
    return memoized(("vat_rate", country, day), lambda: _vat_rate(country, day))


def _vat_rate(country: str, day: dt.date) -> Decimal | None:
    rate = VatRate.objects.filter(country=country, valid_from__lte=day).order_by("-valid_from").first()
    return rate.rate if rate else None


@dataclass(frozen=True)
class VatTreatment:
    rate: Decimal  # percent
    reverse_charge: bool
    country: str  # whose rate applies ("" when none)


def vat_treatment(organization: Any, service_type: ServiceType, day: dt.date) -> VatTreatment:
    """SPEC BIL-7: which VAT an invoice line bears.

    - a service that needs no outsourcing (Housing) always bears Swiss VAT;
    - billing address in Switzerland or Liechtenstein: that country's VAT;
    - in the EU with a VAT number: none, reverse charge stated on the invoice;
    - in the EU without: the VAT of the customer's country;
    - anywhere else: none.
    """
    country = str(organization.billing_country)
    if service_type.always_swiss_vat:
        return VatTreatment(rate=_required_rate("CH", day), reverse_charge=False, country="CH")
    if country in SWISS_VAT_AREA:
        return VatTreatment(rate=_required_rate(country, day), reverse_charge=False, country=country)
    if country in EU_COUNTRIES:
        if organization.vat_number:
            return VatTreatment(rate=Decimal("0.00"), reverse_charge=True, country="")
        return VatTreatment(rate=_required_rate(country, day), reverse_charge=False, country=country)
    return VatTreatment(rate=Decimal("0.00"), reverse_charge=False, country="")


def _required_rate(country: str, day: dt.date) -> Decimal:
    rate = vat_rate(country, day)
    if rate is None:
        raise LookupError(f"no VAT rate for {country} on {day.isoformat()}: add one in the admin")
    return rate


def shown_price(price: Price, organization: Any, service_type: ServiceType, day: dt.date) -> Decimal:
    """The price a customer sees: VAT included for CH/EU customers (BIL-7), excluding it otherwise."""
    treatment = vat_treatment(organization, service_type, day)
    return price.amount + percent_of(price.amount, treatment.rate)


def open_invoices(organization: Any) -> QuerySet[Invoice]:
    return Invoice.objects.filter(organization=organization, status=Invoice.Status.OPEN)


def organization_termination_blockers(organization: Any) -> list[str]:
    """ORG-9: an Organization can be terminated only once no invoice is open (and every Service is
    terminated: subscriptions' own blocker)."""
    numbers = list(open_invoices(organization).order_by("number").values_list("number", flat=True)[:5])
    if numbers:
        return [_("open invoice(s): %(numbers)s") % {"numbers": ", ".join(f"{n:08d}" for n in numbers)}]
    return []


def overdue_invoice_numbers(organization: Any, day: dt.date) -> list[str]:
    """ENF-4: the Organization's open invoices whose due date is past on `day` (the first ten)."""
    numbers = open_invoices(organization).filter(due_date__lt=day).order_by("number").values_list("number", flat=True)
    return [f"{number:08d}" for number in numbers[:10]]


def default_auto_debit_means(organization: Any) -> PaymentMeans | None:
    """BIL-12: the means debited automatically: the Organization's default, if it is not revoked, is
    of a kind that allows automatic debit, and that kind is not restricted by staff (BIL-4). Whether a
    card is still valid on a given day is `billing.services.means.card_is_valid_on`."""
    means = (
        PaymentMeans.objects.filter(
            organization=organization, is_default=True, revoked_at__isnull=True, kind__in=AUTO_DEBIT_KINDS
        )
        .order_by("pk")
        .first()
    )
    if means is None or MeansRestriction.objects.filter(organization=organization, kind=means.kind).exists():
        return None
    return means


def invoices_for_member(membership: Any) -> QuerySet[Invoice]:
    """ORG-6: a member limited to some Services sees only their invoices."""
    invoices = Invoice.objects.filter(organization_id=membership.organization_id)
    return hooks.invoices_in_scope(membership, invoices).order_by("-number")


def invoice_for_member(*, membership: Any, invoice_id: int) -> Invoice:
    invoice = invoices_for_member(membership).filter(pk=invoice_id).first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def catalog(day: dt.date, currency: str) -> list[tuple[Plan, Price]]:
    """Active plans with their price in force in `currency` (BIL-1), one query per table."""
    plans = list(
        Plan.objects.filter(is_active=True)
        .select_related("service_type")
        .order_by("service_type__name", "name", "period")
    )
    prices: dict[int, Price] = {}
    for price in Price.objects.filter(plan__in=plans, currency=currency, valid_from__lte=day).order_by(
        "plan_id", "-valid_from"
    ):
        prices.setdefault(price.plan_id, price)
    return [(plan, prices[plan.pk]) for plan in plans if plan.pk in prices]


def means_of(organization: Any) -> QuerySet[PaymentMeans]:
    """The means on file (removed ones are kept as evidence, not listed)."""
    return PaymentMeans.objects.filter(organization=organization, revoked_at__isnull=True).order_by("-is_default", "pk")


def means_for(*, organization: Any, means_id: int) -> PaymentMeans:
    means = means_of(organization).filter(pk=means_id).first()
    if means is None:
        raise Http404("No such means of payment.")
    return means


# --- Prepaid Account (PRE-1) -----------------------------------------------------------------

# Entries on one page of the ledger: the portal's table and the API's list (bounded, whatever
# the caller asks for).
LEDGER_PAGE_SIZE = 25
LEDGER_PAGE_MAX = 100


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    next_before: int | None  # the cursor of the next (older) page; None on the last page


def ledger_page(account: PrepaidAccount, *, before_id: int | None, size: int = LEDGER_PAGE_SIZE) -> LedgerPage:
    """Keyset pagination of an append-only ledger, newest first: the entries with an id below
    `before_id` (all when None). A new entry never shifts a page the customer is reading, and
    every page costs one indexed query (account, -id), however deep."""
    size = max(1, min(size, LEDGER_PAGE_MAX))
    entries = LedgerEntry.objects.filter(account=account).select_related("invoice").order_by("-id")
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    fetched = list(entries[: size + 1])  # one more than shown tells whether an older page exists
    page = fetched[:size]
    return LedgerPage(entries=page, next_before=page[-1].pk if len(fetched) > size else None)


def open_cash_out_request(account: PrepaidAccount) -> CashOutRequest | None:
    """PRE-4: the request waiting for staff, if any (at most one, a database constraint)."""
    return CashOutRequest.objects.filter(account=account, status=CashOutRequest.Status.REQUESTED).first()


def pending_top_ups(organization: Any) -> QuerySet[Payment]:
    """Bank transfers announced to top up the account, not yet received (BIL-5), with the
    reference the customer quotes."""
    return Payment.objects.filter(
        organization=organization, invoice__isnull=True, kind=MeansKind.BANK_TRANSFER, status=Payment.Status.PENDING
    ).order_by("-created_at", "-id")


def top_up_transfer_for(*, organization: Any, payment_id: int) -> Payment:
    """A top-up by bank transfer of this Organization, whatever its status; 404 for another's (ORG-6)."""
    payment = (
        Payment.objects.select_related("organization")
        .filter(pk=payment_id, organization=organization, invoice__isnull=True, kind=MeansKind.BANK_TRANSFER)
        .first()
    )
    if payment is None:
        raise Http404("No such top-up.")
    return payment
