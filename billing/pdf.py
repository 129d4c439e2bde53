"""The PDF of an invoice (BIL-6), in the invoice's language, with a Swiss QR-bill on CHF invoices (BIL-5).

Everything shown is what the invoice stored at issue (lines, totals, address snapshot, BIL-6) plus what
happened to it since (credit notes, payments); nothing is recomputed. Amounts are Decimal (MONEY-1).

The PDF is drawn by fpdf2 with the PDF core font Helvetica, so there is no font file to ship or find
on the machine. Core fonts show Windows-1252 only; fpdf2 draws the text of the QR-bill's SVG with
Latin-1 only. Any other character is shown without its accents, or as "?" (see `_fit`).
"""

import datetime as dt
import io
import unicodedata
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from django_countries import countries
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from qrbill import QRBill
from qrbill.bill import BILL_HEIGHT, QR_IID, StructuredAddress
from stdnum import iban
from stdnum.ch import esr
from stdnum.iso7064 import mod_97_10

from billing.models import Invoice
from billing.money import quantize
from core import figures

FONT = "Helvetica"
PAGE_ENCODING = "cp1252"  # what fpdf2's core fonts can show
SVG_TEXT_ENCODING = "latin-1"  # what fpdf2 can show of the QR-bill's SVG text
QRBILL_LANGUAGES = {"en", "de", "fr", "it"}  # qrbill's languages; the others get English (e.g. es)
MARGIN = 15  # mm, on every side
LINE = 4.5  # mm, height of a line of 9-point text
TOTALS_LABEL_WIDTH = 75  # mm; the totals are right-aligned against the right margin
TOTALS_AMOUNT_WIDTH = 30  # mm
TOTALS_LINE = 5  # mm


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF, in `invoice.language`; CHF invoices with an amount due end with a QR-bill page."""
    with override(invoice.language):
        return _render(invoice)


def payment_reference(invoice: Invoice, account: str) -> str:
    """The reference of the invoice's QR-bill, derived from its number so that a payment names its invoice.

    A QR-IBAN needs a QR reference (27 digits: the number on 26, then the modulo-10 recursive check digit);
    any other IBAN takes an ISO 11649 creditor reference (RF, two check digits, the display number).
    """
    return _structured_reference(f"{invoice.number:026d}", invoice.display_number, account)


# A top-up's QR reference starts with this digit, an invoice's with 0 (its number on 26 digits), so the
# two never meet while invoice numbers stay below 10^25.
TOP_UP_QR_LEAD = "9"


def top_up_reference(payment_id: int, account: str) -> str:
    """The reference of a top-up by bank transfer (BIL-5), derived from its payment's id so that the
    transfer names it: for a QR-IBAN a QR reference (TOP_UP_QR_LEAD, the id on 25 digits, the check
    digit), else an RF creditor reference of "TOPUP" and the id on 8 digits."""
    return _structured_reference(f"{TOP_UP_QR_LEAD}{payment_id:025d}", f"TOPUP{payment_id:08d}", account)


def _structured_reference(qr_digits: str, creditor_body: str, account: str) -> str:
    if _is_qr_iban(account):
        return qr_digits + esr.calc_check_digit(qr_digits)
    return "RF" + mod_97_10.calc_check_digits(creditor_body + "RF") + creditor_body


def qr_bill(invoice: Invoice) -> QRBill | None:
    """The Swiss QR-bill for the amount due on a CHF invoice (BIL-5); None for other currencies or when
    nothing is due (a paid or credited invoice must not invite a payment)."""
    amount_due = invoice.amount_due
    if invoice.currency != "CHF" or amount_due <= 0:
        return None
    with override(invoice.language):
        additional_information = _("Invoice %(number)s") % {"number": invoice.display_number}
    return chf_qr_bill(
        amount=amount_due,
        reference=payment_reference(invoice, settings.PROVIDER_IBAN),
        debtor=invoice.billing_address,
        language=invoice.language,
        additional_information=additional_information,
    )


def chf_qr_bill(
    *, amount: Decimal, reference: str, debtor: dict[str, Any], language: str, additional_information: str
) -> QRBill:
    """A Swiss QR-bill in CHF to the provider's account (PROVIDER_IBAN), for an invoice or a top-up
    (BIL-5). `debtor` is an address as invoices keep it (name, lines, country)."""
    creditor = _structured_address(settings.PROVIDER_NAME, settings.PROVIDER_ADDRESS_LINES, settings.PROVIDER_COUNTRY)
    if creditor is None:
        raise ImproperlyConfigured(
            "PROVIDER_NAME, PROVIDER_ADDRESS_LINES (last line 'postal code city') and PROVIDER_COUNTRY "
            "do not make a QR-bill creditor address"
        )
    return QRBill(
        account=settings.PROVIDER_IBAN,
        creditor=creditor,
        # Without a complete address, qrbill draws the empty box for the payer to fill in.
        debtor=_structured_address(debtor.get("name", ""), debtor.get("lines", []), debtor.get("country", "")),
        amount=quantize(amount),
        currency="CHF",
        reference_number=reference,
        additional_information=_fit(additional_information, SVG_TEXT_ENCODING),
        language=language if language in QRBILL_LANGUAGES else "en",
    )


def qr_bill_svg(bill: QRBill) -> str:
    """The QR-bill drawn as SVG: A4 wide, BILL_HEIGHT mm high, with the scissors line on top."""
    svg = io.StringIO()
    bill.as_svg(svg)
    return svg.getvalue()


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = PAGE_ENCODING
        self.footer_text = footer_text
        self.with_footer = True

    def normalize_text(self, text: str) -> str:
        if not self.is_ttf_font:
            text = _fit(text, PAGE_ENCODING)
        return super().normalize_text(text)

    def footer(self) -> None:
        if not self.with_footer:
            return
        self.set_y(-MARGIN + 3)
        self.set_font(FONT, size=7)
        self.cell(0, 4, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")  # {nb}: the page count


def _render(invoice: Invoice) -> bytes:
    title = _("Invoice %(number)s") % {"number": invoice.display_number}
    pdf = _Document(footer_text=f"{settings.PROVIDER_NAME} · {title}")
    pdf.set_title(title)
    pdf.set_author(settings.PROVIDER_NAME)
    pdf.set_lang(invoice.language)
    pdf.set_creation_date(invoice.issued_at)  # the same invoice gives the same bytes
    pdf.set_margins(left=MARGIN, top=MARGIN, right=MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN + 5)
    pdf.add_page()

    _draw_parties(pdf, invoice)
    pdf.set_xy(MARGIN, 90)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(text=title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FONT, size=9)
    for label, value in ((_("Issue date"), _date(invoice.issue_date)), (_("Due date"), _date(invoice.due_date))):
        pdf.cell(35, LINE, label)
        pdf.cell(0, LINE, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    _draw_lines(pdf, invoice)
    pdf.ln(4)
    _draw_totals(pdf, invoice)

    pdf.ln(4)
    pdf.set_font(FONT, size=9)
    if invoice.reverse_charge:  # BIL-7: an EU customer with a VAT number
        pdf.multi_cell(
            0, LINE, _("Reverse charge: VAT to be accounted for by the recipient"), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
    bill = qr_bill(invoice)
    if bill is not None:
        pdf.multi_cell(
            0,
            LINE,
            _("To pay by bank transfer, please use the QR-bill on the last page."),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        _draw_qr_bill_page(pdf, invoice, title, bill)
    return bytes(pdf.output())


def _draw_parties(pdf: FPDF, invoice: Invoice) -> None:
    """The provider at the top left, the billing address snapshot where a C5 envelope's window shows it."""
    provider_lines = [*settings.PROVIDER_ADDRESS_LINES, _country_name(settings.PROVIDER_COUNTRY)]
    if settings.PROVIDER_VAT_NUMBER:
        provider_lines.append(
            _("VAT number: %(number)s") % {"number": figures.vat_number(settings.PROVIDER_VAT_NUMBER)}
        )
    _draw_address(pdf, x=MARGIN, y=MARGIN, width=90, name=settings.PROVIDER_NAME, lines=provider_lines)

    address = invoice.billing_address
    customer_lines = [*address.get("lines", []), _country_name(address.get("country", ""))]
    if address.get("vat_number"):
        customer_lines.append(_("VAT number: %(number)s") % {"number": figures.vat_number(address["vat_number"])})
    _draw_address(pdf, x=115, y=50, width=80, name=address.get("name", ""), lines=customer_lines)


def _draw_address(pdf: FPDF, *, x: float, y: float, width: float, name: str, lines: list[str]) -> None:
    pdf.set_xy(x, y)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(width, 5, name, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    pdf.multi_cell(width, 5, "\n".join(line for line in lines if line), new_x=XPos.LEFT, new_y=YPos.NEXT)


def _draw_lines(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font(FONT, size=8.5)
    headings = (
        _("Description"),
        _("Period"),
        _("Quantity"),
        _("Unit price"),
        _("VAT rate"),
        _("Amount excl. VAT"),
    )
    with pdf.table(
        col_widths=(50, 50, 15, 20, 19, 26),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        borders_layout="HORIZONTAL_LINES",
        line_height=LINE,
        padding=1,
    ) as table:
        table.row(headings)
        for line in invoice.lines.all():
            table.row(
                (
                    line.description,
                    _period(line.period_start, line.period_end),
                    _number(line.quantity),
                    _money(line.unit_price_excl_vat),
                    f"{_number(line.vat_rate)}%",
                    _money(line.amount_excl_vat),
                )
            )


def _draw_totals(pdf: FPDF, invoice: Invoice) -> None:
    currency = invoice.currency
    rows: list[tuple[str, Decimal, bool]] = [
        (_("Total excl. VAT"), invoice.total_excl_vat, False),
        (_("VAT"), invoice.total_vat, False),
        (_("Total incl. VAT"), invoice.total_incl_vat, True),
    ]
    for credit_note in sorted(invoice.credit_notes.all(), key=lambda note: note.number):
        label = _("Credit note %(number)s of %(date)s") % {
            "number": f"{credit_note.number:08d}",
            "date": _date(timezone.localdate(credit_note.issued_at)),
        }
        rows.append((label, -credit_note.amount, False))
    if invoice.amount_paid:
        rows.append((_("Already paid"), -invoice.amount_paid, False))
    rows.append((_("Amount due"), invoice.amount_due, True))

    if pdf.will_page_break(len(rows) * TOTALS_LINE):
        pdf.add_page()  # the totals stay together
    x = pdf.w - MARGIN - TOTALS_LABEL_WIDTH - TOTALS_AMOUNT_WIDTH
    for label, amount, bold in rows:
        pdf.set_x(x)
        pdf.set_font(FONT, "B" if bold else "", 9)
        pdf.cell(TOTALS_LABEL_WIDTH, TOTALS_LINE, label)
        pdf.cell(TOTALS_AMOUNT_WIDTH, TOTALS_LINE, _amount(amount, currency), align="R")
        pdf.ln()


def _draw_qr_bill_page(pdf: _Document, invoice: Invoice, title: str, bill: QRBill) -> None:
    """A page of its own, the QR-bill (receipt and payment part) at its bottom, as the Swiss standard asks."""
    pdf.add_page()
    pdf.with_footer = False  # the bill fills the bottom of the page
    pdf.set_auto_page_break(False)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(text=settings.PROVIDER_NAME, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FONT, "B", 14)
    pdf.cell(text=title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FONT, size=9)
    for label, value in (
        (_("Amount due"), _amount(invoice.amount_due, invoice.currency)),
        (_("Due date"), _date(invoice.due_date)),
    ):
        pdf.cell(35, LINE, label)
        pdf.cell(0, LINE, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.image(io.BytesIO(qr_bill_svg(bill).encode()), x=0, y=pdf.h - BILL_HEIGHT, w=pdf.w)


def _structured_address(name: str, lines: list[str], country: str) -> dict[str, str] | None:
    """A QR-bill structured address (banks accept no other kind since November 2025) from an address
    kept as lines, the last one "postal code city"; None when the address is incomplete or does not
    fit the QR-bill's field lengths."""
    name = _fit(name or "", SVG_TEXT_ENCODING).strip()
    kept = [_fit(line, SVG_TEXT_ENCODING).strip() for line in lines or [] if line and line.strip()]
    if not name or not kept or not country:
        return None
    postal_code, _space, city = kept[-1].partition(" ")
    address = {
        "name": name,
        "street": ", ".join(kept[:-1]),
        "pcode": postal_code,
        "city": city.strip(),
        "country": country,
    }
    try:
        StructuredAddress(**address)  # qrbill's own checks: lengths, mandatory fields, ISO country
    except ValueError:
        return None
    return address


def _is_qr_iban(account: str) -> bool:
    """A QR-IBAN has an institution id (IID, characters 5 to 9) between 30000 and 31999."""
    compact = iban.compact(account)
    return compact[4:9].isdigit() and QR_IID["start"] <= int(compact[4:9]) <= QR_IID["end"]


def _fit(text: str, encoding: str) -> str:
    """`text` with every character `encoding` lacks replaced by its unaccented form, else by "?"."""
    shown = []
    for character in text:
        for candidate in (
            character,
            "".join(c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c)),
        ):
            try:
                candidate.encode(encoding)
            except UnicodeEncodeError:
                continue
            shown.append(candidate)
            break
        else:
            shown.append("?")
    return "".join(shown)


def _money(amount: Decimal) -> str:
    """Two decimals, half up (MONEY-1), with the invoice language's separators (core.figures): "1’234.50"
    in German, "1 234,50" in French."""
    return figures.amount(quantize(amount))


def _amount(amount: Decimal, currency: str) -> str:
    return f"{currency} {_money(amount)}"


def _number(value: Decimal) -> str:
    """A quantity or a rate without trailing zeros, with the language's separators: 1, 2.5, 8.1, 1’500."""
    return figures.exact(value)


def _date(day: dt.date) -> str:
    return figures.day(day)


def _period(start: dt.date | None, end: dt.date | None) -> str:
    """The days covered: `end` is the first day not covered (TIME-3), so the last day shown is the day before."""
    if start is None or end is None:
        return _date(start) if start else ""
    return f"{_date(start)} – {_date(end - dt.timedelta(days=1))}"


def _country_name(code: str) -> str:
    return str(countries.name(code)) if code else ""
