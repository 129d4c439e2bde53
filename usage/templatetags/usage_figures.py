"""Figures of the usage pages as people read them: quantities without trailing zeros (12.5, not
12.500000), amounts to the cent (`money`, the portal-wide filter of core), both with the active
language's separators ("1’234.50").

Formatted by `core.figures.localized`, which looks the separators up once per language."""

from decimal import Decimal

from django import template

from core.figures import exact
from core.templatetags import figures as figures_tags

register = template.Library()


@register.filter
def quantity(value: Decimal | None) -> str:
    """A quantity of up to six decimals, exact, without trailing zeros: "1'234.5", "0.000125"."""
    if value is None:
        return ""
    return exact(value)


# The portal's one amount filter (core.templatetags.figures), under the name the usage pages use.
register.filter("money", figures_tags.money)
