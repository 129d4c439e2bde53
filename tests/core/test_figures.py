"""Figures as Swiss customers read them (issue 17): one date format per language, Swiss amounts with
their currency, VAT numbers in their official format, and a VAT example that is itself valid."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import formats, translation
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat

from accounts.validators import normalize_vat_number
from core import figures

DAY = dt.date(2026, 12, 3)
NBSP = "\xa0"


@pytest.mark.parametrize(
    ("language", "short", "long", "amount"),
    [
        ("de", "03.12.2026", "3. Dezember 2026", "CHF 1’234.50"),
        ("fr", "03.12.2026", "3 décembre 2026", f"CHF 1{NBSP}234,50"),
        ("it", "03.12.2026", "3 dicembre 2026", "CHF 1’234.50"),
        ("en", "03.12.2026", "3 December 2026", "CHF 1,234.50"),
        ("es", "03.12.2026", "3 de diciembre de 2026", f"CHF 1{NBSP}234,50"),
    ],
)
def test_each_language_writes_dates_and_amounts_its_swiss_way(
    language: str, short: str, long: str, amount: str
) -> None:
    with translation.override(language):
        assert formats.date_format(DAY, "SHORT_DATE_FORMAT") == short
        assert formats.date_format(DAY, "DATE_FORMAT") == long
        assert figures.amount(Decimal("1234.5"), "CHF") == amount
        rendered = Template('{% load figures %}{{ x|money:"EUR" }}|{{ x|money }}|{{ r|rate:"CHF" }}').render(
            Context({"x": Decimal("1234567.005"), "r": Decimal("0.000125")})
        )
    group, decimal = ("’", ".") if language in {"de", "it"} else (",", ".") if language == "en" else (NBSP, ",")
    # half up to the cent (MONEY-1); a rate keeps its decimals
    assert rendered == (f"EUR 1{group}234{group}567{decimal}01|1{group}234{group}567{decimal}01|CHF 0{decimal}000125")


def test_an_amount_without_a_value_is_empty_and_a_negative_one_keeps_its_sign() -> None:
    with translation.override("de"):
        assert Template("{% load figures %}[{{ x|money:'CHF' }}]").render(Context({"x": None})) == "[]"
        assert figures.amount(Decimal("-1234.5"), "CHF") == "CHF -1’234.50"


@pytest.mark.parametrize(
    ("language", "stored", "shown"),
    [
        ("de", "CHE116281710MWST", "CHE-116.281.710 MWST"),
        ("fr", "CHE116281710MWST", "CHE-116.281.710 TVA"),
        ("it", "CHE116281710TVA", "CHE-116.281.710 IVA"),
        ("en", "CHE116281710TVA", "CHE-116.281.710 TVA"),  # the others keep the suffix given
        ("de", "de 136 695 976", "DE136695976"),
        ("fr", "FR40303265045", "FR40303265045"),
        ("de", "not a number", "not a number"),  # what is not valid is shown as stored
        ("de", "", ""),
    ],
)
def test_a_vat_number_is_shown_in_its_official_format(language: str, stored: str, shown: str) -> None:
    with translation.override(language):
        assert figures.vat_number(stored) == shown
        assert Template("{% load figures %}{{ n|vat_number }}").render(Context({"n": stored})) == shown


@pytest.mark.parametrize("language", ["en", "de", "fr", "it", "es"])
def test_the_vat_examples_of_the_error_message_are_valid_numbers(language: str) -> None:
    # given: the message a customer reads after typing a wrong VAT number
    with translation.override(language), pytest.raises(ValidationError) as refused:
        normalize_vat_number("CHE-123.456.789 MWST")
    message = " ".join(refused.value.messages)

    # then: each example in it is itself valid
    swiss = re.findall(r"CHE-\d{3}\.\d{3}\.\d{3} (?:MWST|TVA|IVA)", message)
    european = re.findall(r"\b(?!CHE)[A-Z]{2}\d{8,12}\b", message)
    assert len(swiss) == 1 and len(european) == 1, message
    assert ch_vat.is_valid(swiss[0])
    assert eu_vat.is_valid(european[0])


@pytest.mark.parametrize(
    ("language", "first", "instant", "month"),
    [
        ("fr", "1er décembre 2026", "1er décembre 2026, 09:05", "décembre 2026"),
        ("de", "1. Dezember 2026", "1. Dezember 2026, 09:05", "Dezember 2026"),
        ("it", "1 dicembre 2026", "1 dicembre 2026, 09:05", "dicembre 2026"),
        ("en", "1 December 2026", "1 December 2026, 09:05", "December 2026"),
        ("es", "1 de diciembre de 2026", "1 de diciembre de 2026, 09:05", "diciembre de 2026"),
    ],
)
def test_french_writes_the_first_day_of_a_month_as_an_ordinal(
    language: str, first: str, instant: str, month: str
) -> None:
    """Pages, e-mails and PDFs alike: the templates' `|date` (a builtin over Django's) and figures.day."""
    template = Template(
        '{{ d|date:"DATE_FORMAT" }}|{{ i|date:"DATETIME_FORMAT" }}|{{ d|date:"YEAR_MONTH_FORMAT" }}|'
        '{{ d|date:"SHORT_DATE_FORMAT" }}|{{ later|date:"DATE_FORMAT" }}|{{ nothing|date:"DATE_FORMAT" }}'
    )
    context = Context(
        {
            "d": dt.date(2026, 12, 1),
            "i": dt.datetime(2026, 12, 1, 8, 5, tzinfo=dt.UTC),  # 09:05 in Zurich
            "later": dt.date(2026, 12, 11),  # not the 1st: as before, whatever the language
            "nothing": None,
        }
    )
    with translation.override(language):
        later = formats.date_format(dt.date(2026, 12, 11), "DATE_FORMAT")
        assert template.render(context) == f"{first}|{instant}|{month}|01.12.2026|{later}|"
        assert figures.day(dt.date(2026, 12, 1)) == first
