"""Figures as customers read them (issue 17): amounts with their currency and the active language's
separators ("CHF 1’234.50", "CHF 1 234,50"), VAT numbers in their official format.

One place for the portal's pages, e-mails and PDFs; the API's JSON keeps plain decimal strings.
The separators come from the format modules (core/formats, FORMAT_MODULE_PATH).
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.utils import dateformat, formats
from django.utils.translation import get_language
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

CENT = Decimal("0.01")

_SEPARATORS: dict[str | None, tuple[str, str]] = {}

# The suffix of a Swiss VAT number in each language (MWST, TVA, IVA); the others keep the stored one.
SWISS_VAT_SUFFIX = {"de": "MWST", "fr": "TVA", "it": "IVA"}


def localized(value: Decimal, places: int) -> str:
    """`value` with `places` decimals, grouped by thousands, with the active language's separators.
    Django's `number_format` looks the separators up on every call; a month's usage page shows
    hundreds of figures (USE-7: the page of a full month well under 50 ms), so they are looked up
    once per language here."""
    language = get_language()
    if language not in _SEPARATORS:
        _SEPARATORS[language] = (
            str(formats.get_format("DECIMAL_SEPARATOR", use_l10n=True)),
            str(formats.get_format("THOUSAND_SEPARATOR", use_l10n=True)),
        )
    decimal, thousand = _SEPARATORS[language]
    return f"{value:,.{places}f}".replace(",", "\0").replace(".", decimal).replace("\0", thousand)


def exact(value: Decimal, min_places: int = 0) -> str:
    """`value` to its last significant decimal, at least `min_places`, with the language's
    separators: a quantity "1’500", "0.000125"; a rate to the cent at least (min_places=2)."""
    exponent = Decimal(value).normalize().as_tuple().exponent
    return localized(Decimal(value), max(min_places, -exponent) if isinstance(exponent, int) else min_places)


def amount(value: Decimal, currency: str = "") -> str:
    """An amount to the cent (half up, MONEY-1), with its currency when given: "CHF 1’234.50"."""
    text = localized(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), 2)
    return f"{currency} {text}" if currency else text


def date_text(value: dt.date | dt.datetime, format_name: str = "DATE_FORMAT") -> str:
    """A date (or an instant, already in local time) in the active language's format `format_name`
    (a format setting's name or a format string, as Django's `date` filter takes). French writes
    the first day of a month as an ordinal: "1er décembre 2026" (and "3 décembre 2026")."""
    pattern = str(formats.get_format(format_name))
    if value.day == 1 and "j F" in pattern and (get_language() or "")[:2] == "fr":
        pattern = pattern.replace("j F", "j\\e\\r F", 1)
    return str(dateformat.format(value, pattern))


def short_day(value: dt.date) -> str:
    """A date in a table, a list or a form's choice: "03.12.2026" in every language (core/formats)."""
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))


def day(value: dt.date) -> str:
    """A date that stands alone in a sentence, its month named: "3 December 2026", "3. Dezember 2026",
    "1er décembre 2026"."""
    return date_text(value)


def vat_number(value: str, language: str | None = None) -> str:
    """A stored VAT number in its official format: Swiss "CHE-116.281.710 MWST" (TVA in French, IVA
    in Italian), EU as the VIES register writes it ("DE136695976"). Anything else as stored."""
    if not value:
        return ""
    candidate = value.strip().upper()
    try:
        if candidate.startswith("CHE"):
            compact = ch_vat.validate(candidate)
            suffix = SWISS_VAT_SUFFIX.get((language or get_language() or "")[:2], compact[12:])
            return str(ch_vat.format(compact[:12] + suffix))
        return str(eu_vat.validate(candidate))
    except StdnumError:
        return value
