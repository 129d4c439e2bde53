"""Django's `date` filter, with French's ordinal first day ("1er décembre 2026", core.figures.date_text).
A builtin library (settings.TEMPLATES), loaded after Django's own: every template's `|date` is this one."""

import datetime as dt
from typing import Any

from django import template
from django.template.defaultfilters import date as django_date

from core.figures import date_text

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value: Any, arg: str | None = None) -> str:
    """As Django's `date`; only a French date of the 1st with its month named reads differently."""
    if isinstance(value, dt.date) and value.day == 1:
        try:
            return date_text(value, arg or "DATE_FORMAT")
        except AttributeError:
            return ""
    return django_date(value, arg)
