"""The payment slip of a top-up by bank transfer (SPEC BIL-5, PRE-2): what the customer needs to pay it.

- CHF: the provider's account (PROVIDER_IBAN) and the Swiss QR-bill, drawn as the invoices' one is
  (`billing.pdf.chf_qr_bill`), with the top-up's reference (`billing.pdf.top_up_reference`).
- EUR: the provider's EUR account (PROVIDER_EUR_IBAN) with an RF creditor reference; no QR-bill,
  as EUR invoices have none.

The reference is written on the payment when the transfer is announced (`prepaid_top_up_by_transfer`);
staff find the payment by it. A pending top-up whose stored reference is not the one its account
would give (announced before references were structured, or the account changed since) keeps it, with
the bank details but no QR-bill: a QR-bill must carry a reference that fits its account.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override
from django_countries import countries
from stdnum import iban, iso11649
from stdnum.ch import esr

from billing.models import Payment
from billing.pdf import chf_qr_bill, qr_bill_svg, top_up_reference
from billing.services.invoices import billing_address


def provider_account(currency: str) -> str:
    """The provider's IBAN for payments in `currency` (CHF or EUR, MONEY-1)."""
    return settings.PROVIDER_IBAN if currency == "CHF" else settings.PROVIDER_EUR_IBAN


def top_up_transfer_reference(payment_id: int, currency: str) -> str:
    """The reference a top-up by bank transfer carries: a QR reference on a QR-IBAN, else RF."""
    return top_up_reference(payment_id, provider_account(currency))


@dataclass(frozen=True)
class TransferSlip:
    amount: Decimal
    currency: str
    iban: str  # in groups of four, as printed
    creditor_name: str
    creditor_lines: list[str]  # the address lines, then the country
    reference: str  # compact, as the bank wants it typed (and as the QR-bill encodes it)
    reference_shown: str  # in the groups a QR-bill prints
    qr_bill_svg: str  # "" without QR-bill


def _inline(svg: str) -> str:
    """The QR-bill's SVG made fit for a page under the Content-Security-Policy: no XML declaration, and
    its `style` attributes (refused inline) turned into the SVG presentation attributes they name."""

    def attributes(match: re.Match[str]) -> str:
        pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
        return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)

    return _STYLE.sub(attributes, svg[svg.index("<svg") :])


_STYLE = re.compile(r'style="([^"]*)"')


def _shown(reference: str) -> str:
    """The reference in the groups a QR-bill prints it in (qrbill formats with these functions)."""
    if esr.is_valid(reference):
        return esr.format(reference)
    if iso11649.is_valid(reference):
        return iso11649.format(reference)
    return reference


def top_up_slip(payment: Payment, *, language: str) -> TransferSlip | None:
    """The slip of a top-up by bank transfer still to be paid; None once it is no longer pending."""
    if payment.status != Payment.Status.PENDING:
        return None
    account = provider_account(payment.currency)
    svg = ""
    if payment.currency == "CHF" and payment.reference == top_up_reference(payment.pk, account):
        with override(language):
            purpose = _("Top-up of the Prepaid Account")
        bill = chf_qr_bill(
            amount=payment.amount,
            reference=payment.reference,
            debtor=billing_address(payment.organization),
            language=language,
            additional_information=purpose,
        )
        svg = _inline(qr_bill_svg(bill))
    return TransferSlip(
        amount=payment.amount,
        currency=payment.currency,
        iban=iban.format(account),
        creditor_name=settings.PROVIDER_NAME,
        creditor_lines=[*settings.PROVIDER_ADDRESS_LINES, str(countries.name(settings.PROVIDER_COUNTRY))],
        reference=payment.reference,
        reference_shown=_shown(payment.reference),
        qr_bill_svg=svg,
    )
