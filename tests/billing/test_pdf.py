"""Invoice PDFs: what the customer reads, in the invoice's language, and the Swiss QR-bill of CHF invoices
(BIL-5, BIL-6, BIL-7, MONEY-1). The PDF's text is read back with pypdf, one extracted line at a time."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.models import CreditNote, Invoice
from billing.pdf import invoice_pdf, payment_reference, qr_bill
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory
from tests.factories import FIXED_TIME, OrganizationFactory

pytestmark = pytest.mark.django_db

QR_IBAN = "CH44 3199 9123 0008 8901 2"  # a QR-IBAN of SIX's examples (institution id 31999)
IBAN = "CH93 0076 2011 6238 5295 7"  # an ordinary Swiss IBAN
QR_REFERENCE_OF_123 = "000000000000000000000001236"  # invoice 123 on 26 digits, then its check digit


@pytest.fixture(autouse=True)
def provider(settings) -> None:
    settings.PROVIDER_NAME = "Nuage Suisse SA"
    settings.PROVIDER_ADDRESS_LINES = ["Avenue du Test 10", "1003 Lausanne"]
    settings.PROVIDER_COUNTRY = "CH"
    settings.PROVIDER_VAT_NUMBER = "CHE-123.456.788 TVA"
    settings.PROVIDER_IBAN = QR_IBAN


def _invoice(**fields: object) -> Invoice:
    organization = OrganizationFactory(
        name="Alpine Apps AG", street="Bahnhofstrasse 1", postal_code="8001", city="Zürich"
    )
    return InvoiceFactory(number=123, organization=organization, **fields)


def _pages(pdf: bytes) -> list[list[str]]:
    """The text lines of each page."""
    return [page.extract_text().splitlines() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_an_invoice_shows_provider_customer_number_dates_lines_and_totals() -> None:
    # given
    invoice = _invoice()

    # when
    pdf = invoice_pdf(invoice)

    # then
    assert pdf.startswith(b"%PDF")
    first_page = _pages(pdf)[0]
    assert first_page[:5] == [
        "Nuage Suisse SA",
        "Avenue du Test 10",
        "1003 Lausanne",
        "Switzerland",
        "VAT number: CHE-123.456.788 TVA",
    ]
    assert first_page[5:9] == ["Alpine Apps AG", "Bahnhofstrasse 1", "8001 Zürich", "Switzerland"]
    assert "Invoice 00000123" in first_page
    assert "Issue date 1 March 2026" in first_page
    assert "Due date 31 March 2026" in first_page
    # the period ends on the last day covered, the day before period_end (TIME-3)
    assert "Jelastic Cloud · Plan (monthly) 1 March 2026 – 31 March 2026 1 100.00 8.1% 100.00" in first_page
    assert "Total excl. VAT CHF 100.00" in first_page
    assert "VAT CHF 8.10" in first_page
    assert "Total incl. VAT CHF 108.10" in first_page
    assert "Amount due CHF 108.10" in first_page
    assert "Nuage Suisse SA · Invoice 00000123 · 1/2" in first_page


def test_the_amounts_shown_are_the_stored_ones_grouped_as_the_language_does() -> None:
    # given stored totals that the lines alone would not give: the PDF recomputes nothing (BIL-6)
    invoice = _invoice(total_excl_vat=Decimal("1234.50"), total_vat=Decimal("99.99"), total_incl_vat=Decimal("1334.49"))
    InvoiceLineFactory(
        invoice=invoice,
        position=2,
        description="Storage",
        period_start=None,
        period_end=None,
        quantity=Decimal("1500.250"),
        unit_price_excl_vat=Decimal("0.75"),
        amount_excl_vat=Decimal("1125.19"),
    )

    # when
    first_page = _pages(invoice_pdf(invoice))[0]

    # then
    assert "Storage 1,500.25 0.75 8.1% 1,125.19" in first_page
    assert "Total excl. VAT CHF 1,234.50" in first_page
    assert "VAT CHF 99.99" in first_page
    assert "Total incl. VAT CHF 1,334.49" in first_page
    assert "Amount due CHF 1,334.49" in first_page


def test_a_french_invoice_is_in_french_and_so_is_its_qr_bill() -> None:
    # given
    invoice = _invoice(language="fr")

    # when
    first_page, bill_page = _pages(invoice_pdf(invoice))

    # then
    assert "Suisse" in first_page
    assert "Numéro de TVA : CHE-123.456.788 TVA" in first_page  # the no-break space reads back as a space
    assert "Facture 00000123" in first_page
    assert "Date d'émission 1er mars 2026" in first_page
    assert "Date d'échéance 31 mars 2026" in first_page
    assert "Jelastic Cloud · Plan (monthly) 1er mars 2026 – 31 mars 2026 1 100,00 8,1% 100,00" in first_page
    assert "Total HT CHF 100,00" in first_page
    assert "TVA CHF 8,10" in first_page
    assert "Total TTC CHF 108,10" in first_page
    assert "Montant dû CHF 108,10" in first_page
    assert not any("Invoice" in line or "Total incl. VAT" in line for line in first_page)
    assert "Récépissé" in bill_page
    assert "Section paiement" in bill_page
    assert "Informations supplémentaires" in bill_page
    assert "Facture 00000123" in bill_page


def test_a_spanish_invoice_gets_a_qr_bill_in_english_the_languages_qrbill_lacks() -> None:
    # given
    invoice = _invoice(language="es")

    # when
    first_page, bill_page = _pages(invoice_pdf(invoice))

    # then
    assert "Factura 00000123" in first_page
    assert "Importe adeudado CHF 108,10" in first_page
    assert "Receipt" in bill_page
    assert "Payment part" in bill_page
    assert "Factura 00000123" in bill_page


def test_reverse_charge_is_stated_for_an_eu_customer_with_a_vat_number() -> None:
    # given (BIL-7)
    organization = OrganizationFactory(
        name="Berlin Bits GmbH",
        street="Unter den Linden 1",
        postal_code="10117",
        city="Berlin",
        billing_country="DE",
        vat_number="DE123456789",
    )
    invoice = InvoiceFactory(
        organization=organization,
        currency="EUR",
        reverse_charge=True,
        total_vat=Decimal("0.00"),
        total_incl_vat=Decimal("100.00"),
        line__vat_rate=Decimal("0.00"),
    )

    # when
    lines = [line for page in _pages(invoice_pdf(invoice)) for line in page]

    # then
    assert "Reverse charge: VAT to be accounted for by the recipient" in lines
    assert lines[5:10] == [
        "Berlin Bits GmbH",
        "Unter den Linden 1",
        "10117 Berlin",
        "Germany",
        "VAT number: DE123456789",
    ]
    assert "Amount due EUR 100.00" in lines


def test_the_reverse_charge_sentence_is_translated() -> None:
    # given
    invoice = _invoice(language="fr", currency="EUR", reverse_charge=True)

    # when
    lines = [line for page in _pages(invoice_pdf(invoice)) for line in page]

    # then
    assert "Autoliquidation : TVA due par le destinataire" in lines  # no-break space before the colon


def test_no_reverse_charge_sentence_otherwise() -> None:
    # given
    invoice = _invoice()

    # when
    lines = [line for page in _pages(invoice_pdf(invoice)) for line in page]

    # then
    assert not any("Reverse charge" in line for line in lines)


def test_a_chf_invoice_ends_with_a_qr_bill_page_for_the_amount_due() -> None:
    # given (BIL-5)
    invoice = _invoice()

    # when
    first_page, bill_page = _pages(invoice_pdf(invoice))

    # then
    assert "To pay by bank transfer, please use the QR-bill on the last page." in first_page
    assert bill_page[:4] == ["Nuage Suisse SA", "Invoice 00000123", "Amount due CHF 108.10", "Due date 31 March 2026"]
    assert bill_page[4:16] == [
        "Receipt",
        "Account / Payable to",
        "CH44 3199 9123 0008 8901 2",
        "Nuage Suisse SA",
        "Avenue du Test 10",
        "CH-1003 Lausanne",
        "Reference",
        "00 00000 00000 00000 00000 01236",
        "Payable by",
        "Alpine Apps AG",
        "Bahnhofstrasse 1",
        "CH-8001 Zürich",
    ]
    assert "Payment part" in bill_page
    assert "Additional information" in bill_page
    assert "Invoice 00000123" in bill_page
    assert bill_page.count("CHF 108.10") == 2  # receipt and payment part


def test_the_qr_code_carries_account_amount_reference_and_both_parties() -> None:
    # given
    invoice = _invoice()

    # when
    bill = qr_bill(invoice)

    # then
    assert bill is not None
    data = bill.qr_data().split("\r\n")
    assert data[3] == "CH4431999123000889012"
    assert data[4:11] == ["S", "Nuage Suisse SA", "Avenue du Test 10", "", "1003", "Lausanne", "CH"]
    assert data[18:20] == ["108.10", "CHF"]
    assert data[20:27] == ["S", "Alpine Apps AG", "Bahnhofstrasse 1", "", "8001", "Zürich", "CH"]
    assert data[27:29] == ["QRR", QR_REFERENCE_OF_123]
    assert data[29] == "Invoice 00000123"


def test_the_qr_reference_encodes_the_invoice_number() -> None:
    # given
    invoice = _invoice()

    # when
    reference = payment_reference(invoice, QR_IBAN)

    # then
    assert reference == QR_REFERENCE_OF_123
    assert int(reference[:-1]) == invoice.number


def test_an_ordinary_iban_gets_a_creditor_reference_with_the_invoice_number(settings) -> None:
    # given
    settings.PROVIDER_IBAN = IBAN
    invoice = _invoice()

    # when
    bill = qr_bill(invoice)

    # then
    assert payment_reference(invoice, IBAN) == "RF7800000123"
    assert bill is not None
    assert (bill.ref_type, bill.reference_number) == ("SCOR", "RF7800000123")


def test_a_eur_invoice_has_no_qr_bill() -> None:
    # given
    invoice = _invoice(currency="EUR")

    # when
    pages = _pages(invoice_pdf(invoice))

    # then
    assert qr_bill(invoice) is None
    assert len(pages) == 1
    assert "Amount due EUR 108.10" in pages[0]
    assert not any(label in line for line in pages[0] for label in ("Receipt", "Payment part", "QR-bill"))


def test_credit_notes_and_payments_are_listed_and_the_qr_bill_asks_for_the_rest() -> None:
    # given
    invoice = _invoice(amount_credited=Decimal("20.00"), amount_paid=Decimal("30.00"))
    CreditNote.objects.create(
        number=124, invoice=invoice, amount=Decimal("20.00"), reason="goodwill", issued_at=FIXED_TIME
    )

    # when
    first_page, bill_page = _pages(invoice_pdf(invoice))

    # then
    assert "Total incl. VAT CHF 108.10" in first_page
    assert "Credit note 00000124 of 5 January 2026 CHF -20.00" in first_page
    assert "Already paid CHF -30.00" in first_page
    assert "Amount due CHF 58.10" in first_page
    assert bill_page.count("CHF 58.10") == 2


def test_a_settled_chf_invoice_has_no_qr_bill() -> None:
    # given: nothing is due, so nothing invites a payment
    invoice = _invoice(status=Invoice.Status.PAID, amount_paid=Decimal("108.10"))

    # when
    pages = _pages(invoice_pdf(invoice))

    # then
    assert qr_bill(invoice) is None
    assert len(pages) == 1
    assert "Amount due CHF 0.00" in pages[0]


def test_an_incomplete_billing_address_leaves_the_payer_box_blank() -> None:
    # given
    invoice = _invoice(billing_address={"name": "Alpine Apps AG", "lines": [], "country": "CH", "vat_number": ""})

    # when
    bill = qr_bill(invoice)
    bill_page = _pages(invoice_pdf(invoice))[1]

    # then
    assert bill is not None
    assert bill.debtor is None
    assert "Payable by (name/address)" in bill_page


def test_characters_the_pdf_font_lacks_lose_their_accents_or_become_a_question_mark() -> None:
    # given
    invoice = _invoice(billing_address={"name": "Łódź Cloud", "lines": ["ulica 1", "90-001 Łódź"], "country": "PL"})

    # when
    first_page, bill_page = _pages(invoice_pdf(invoice))

    # then
    assert first_page[5:9] == ["?ódz Cloud", "ulica 1", "90-001 ?ódz", "Poland"]
    assert "PL-90-001 ?ódz" in bill_page


def test_a_long_invoice_continues_on_further_pages() -> None:
    # given
    invoice = _invoice()
    for position in range(2, 62):
        InvoiceLineFactory(invoice=invoice, position=position, description=f"Usage hour {position}")

    # when
    pages = _pages(invoice_pdf(invoice))

    # then: the headings repeat, the totals come after the last line, the QR-bill on a page of its own
    count = len(pages)
    assert count > 2
    headings = "Description Period Quantity Unit price VAT rate Amount excl. VAT"
    assert headings in pages[0]
    assert headings in pages[1]
    assert f"Nuage Suisse SA · Invoice 00000123 · 2/{count}" in pages[1]
    body = [line for page in pages[:-1] for line in page]
    last_line = body.index("Usage hour 61 1 March 2026 – 31 March 2026 1 100.00 8.1% 100.00")
    assert body.index("Amount due CHF 108.10") > last_line
    assert "Amount due CHF 108.10" in pages[-2]
    assert "Receipt" in pages[-1]


def test_the_same_invoice_gives_the_same_bytes() -> None:
    # given
    invoice = _invoice(issued_at=dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC))

    # when / then
    assert invoice_pdf(invoice) == invoice_pdf(invoice)
