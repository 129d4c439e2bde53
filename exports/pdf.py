"""The statement as one PDF (SPEC EVD-4), in the Organization's language: the period, what each kind
of evidence counts, the invoices' and payments' totals per currency, the Prepaid Account's movements,
and the list of invoices. The CSV files of the same ZIP hold every row; the PDF is for reading.

Drawn by fpdf2 with the core font Helvetica, as invoices are (billing.pdf): it shows Windows-1252
only, so any other character is shown unaccented, or as "?" (`fit`).
"""

import datetime as dt
import unicodedata
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billing.models import Invoice
from core import clock, figures
from exports.statement import TABLES, Period, Row

FONT = "Helvetica"
PAGE_ENCODING = "cp1252"  # what fpdf2's core fonts can show
MARGIN = 15  # mm
LINE = 5  # mm, a line of 9-point text
# The invoices listed one by one; beyond, the CSV file holds them (the PDF stays readable).
INVOICES_LISTED = 200


def fit(value: str) -> str:
    """`value` with every character the core font lacks replaced by its unaccented form, else "?"."""
    shown = []
    for character in value:
        for candidate in (
            character,
            "".join(c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c)),
        ):
            try:
                candidate.encode(PAGE_ENCODING)
            except UnicodeEncodeError:
                continue
            shown.append(candidate)
            break
        else:
            shown.append("?")
    return "".join(shown)


def swiss_amount(value: Decimal) -> str:
    """Two decimals with the statement language's separators, as on invoices (core.figures): "1’234.50"."""
    return figures.amount(value)


def _column(table: str, name: str) -> int:
    return next(t.header for t in TABLES if t.name == table).index(name)


def _totals(rows: list[Row], table: str, amount: str, where: dict[str, str] | None = None) -> dict[str, Decimal]:
    """The sum of the `amount` column per currency, over the rows matching `where`."""
    currency_at, amount_at = _column(table, "currency"), _column(table, amount)
    conditions = [(_column(table, name), value) for name, value in (where or {}).items()]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if all(row[index] == value for index, value in conditions):
            totals[row[currency_at]] += Decimal(row[amount_at])
    return dict(sorted(totals.items()))


class _Statement(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = PAGE_ENCODING
        self.footer_text = footer_text
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 5)

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FONT, size=7)
        self.cell(0, 4, fit(f"{self.footer_text} · {self.page_no()}/{{nb}}"), align="C")

    def line_of(self, value: str, *, size: int = 9, bold: bool = False, height: float = LINE) -> None:
        self.set_font(FONT, style="B" if bold else "", size=size)
        self.multi_cell(0, height, fit(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, value: str) -> None:
        self.ln(3)
        self.line_of(value, size=11, bold=True, height=7)

    def rows_table(self, header: list[str], rows: list[list[str]], widths: list[float], aligns: str) -> None:
        self.set_font(FONT, style="B", size=8)
        for label, width, align in zip(header, widths, aligns, strict=True):
            self.cell(width, LINE, fit(label), border="B", align=align)
        self.ln(LINE)
        self.set_font(FONT, size=8)
        for row in rows:
            for value, width, align in zip(row, widths, aligns, strict=True):
                self.cell(width, LINE, fit(value)[:60], align=align)
            self.ln(LINE)


def statement_pdf(*, organization: Any, period: Period, rows: dict[str, list[Row]], now: dt.datetime) -> bytes:
    """The statement of `rows` (the CSV tables, by name) as a PDF in the Organization's language."""
    with override(organization.language):
        return _render(organization=organization, period=period, rows=rows, now=now)


def _render(*, organization: Any, period: Period, rows: dict[str, list[Row]], now: dt.datetime) -> bytes:
    pdf = _Statement(footer_text=f"{settings.PROVIDER_NAME} · {_('Statement')} · {organization.name}")
    pdf.add_page()
    pdf.line_of(settings.PROVIDER_NAME, size=8)
    pdf.ln(4)
    pdf.line_of(_("Statement"), size=16, bold=True, height=9)
    pdf.line_of(organization.name, size=11, bold=True)
    pdf.line_of(
        _("From %(start)s to %(end)s (both included)")
        % {"start": figures.short_day(period.start), "end": figures.short_day(period.end)}
    )
    pdf.line_of(_("Amounts in %(currency)s") % {"currency": organization.currency})
    pdf.line_of(_("Prepared on %(date)s") % {"date": figures.short_day(clock.business_date(now))})

    labels = {
        "orders": _("Orders"),
        "invoices": _("Invoices"),
        "payments": _("Payments"),
        "ledger": _("Prepaid account movements"),
        "usage": _("Consumption records"),
        "incidents": _("Incidents"),
        "tickets": _("Support tickets"),
    }
    pdf.heading(_("Contents of this statement"))
    pdf.rows_table(
        [_("Kind"), _("Records"), _("File in the archive")],
        [[labels[table.name], str(len(rows[table.name])), f"{table.name}.csv"] for table in TABLES],
        [70, 25, 60],
        "LRL",
    )

    pdf.heading(_("Totals"))
    totals = [
        (_("Invoiced, VAT included"), _totals(rows["invoices"], "invoices", "total_incl_vat")),
        (_("Still due on these invoices"), _totals(rows["invoices"], "invoices", "amount_due")),
        (_("Payments received"), _totals(rows["payments"], "payments", "amount", {"status": "succeeded"})),
        (_("Prepaid account: net movement"), _totals(rows["ledger"], "ledger", "amount")),
    ]
    lines = [
        [label, currency, swiss_amount(total)]
        for label, by_currency in totals
        for currency, total in by_currency.items()
    ]
    if lines:
        pdf.rows_table([_("What"), _("Currency"), _("Amount")], lines, [90, 25, 40], "LLR")
    else:
        pdf.line_of(_("No amount in this period."))

    pdf.heading(_("Invoices"))
    listed = rows["invoices"][:INVOICES_LISTED]
    if listed:
        at = {name: _column("invoices", name) for name in ("number", "issue_date", "status", "currency")}
        total_at, due_at = _column("invoices", "total_incl_vat"), _column("invoices", "amount_due")
        pdf.rows_table(
            [_("Number"), _("Issued"), _("Status"), _("Total"), _("Still due")],
            [
                [
                    row[at["number"]],
                    figures.short_day(dt.date.fromisoformat(row[at["issue_date"]])),
                    str(Invoice.Status(row[at["status"]]).label),
                    f"{row[at['currency']]} {swiss_amount(Decimal(row[total_at]))}",
                    swiss_amount(Decimal(row[due_at])),
                ]
                for row in listed
            ],
            [30, 28, 30, 45, 35],
            "LLLRR",
        )
        if len(rows["invoices"]) > INVOICES_LISTED:
            pdf.line_of(_("The other invoices are listed in invoices.csv."))
    else:
        pdf.line_of(_("No invoice in this period."))
    return bytes(pdf.output())
