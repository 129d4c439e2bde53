"""Template filters for figures as customers read them (core.figures): `{{ x|money:currency }}`
gives "CHF 1’234.50" in German, "CHF 1 234,50" in French; `{{ number|vat_number }}`."""

from decimal import Decimal

from django import template

from core import figures

register = template.Library()


@register.filter
def money(value: Decimal | None, currency: str = "") -> str:
    """An amount to the cent with the active language's separators, preceded by `currency` if given."""
    if value is None or value == "":
        return ""
    return figures.amount(Decimal(value), currency or "")


@register.filter
def vat_number(value: str | None) -> str:
    """A VAT number in its official format for the active language."""
    return figures.vat_number(value or "")


@register.filter
def rate(value: Decimal | None, currency: str = "") -> str:
    """A price per unit, exact to its last significant decimal and at least to the cent: "CHF 0.000125"."""
    if value is None or value == "":
        return ""
    text = figures.exact(Decimal(value), min_places=2)
    return f"{currency} {text}" if currency else text
