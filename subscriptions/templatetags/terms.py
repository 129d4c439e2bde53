"""`{{ service|term_span }}`: the first and the last day of a Service's current term (TIME-3), so
a page can say what "Term 2" means in dates."""

import datetime as dt
from typing import Any

from django import template

from billing.periods import term_end, term_start

register = template.Library()


@register.filter
def term_span(service: Any) -> tuple[dt.date, dt.date] | None:
    """(first day, last day) of the term the Service is in; None before its first paid term."""
    if not service.term or service.anchor_date is None:
        return None
    period = service.plan.period
    start = term_start(service.anchor_date, period, service.term)
    return start, term_end(service.anchor_date, period, service.term) - dt.timedelta(days=1)
