"""Usage arithmetic (SPEC USE-1, USE-3, USE-5, USE-6, USE-7) as pure functions of plain values: no
query here. The ingest, the month-to-date pages and the month-end invoices all price through
`price_lines`, so the figure shown is the figure invoiced (USE-7).

- Hours are given by their UTC start; an hour belongs to the Zurich day (and so the month) of its
  local start (USE-3). Its slot is the number of real hours since that day's local midnight: the day
  the clocks go forward has slots 0…22, the day they go back 0…24 (TIME-1).
- Quantities are integers in millionths of the unit (`usage.models.MICRO`); amounts are rounded per
  line, half up, to the cent (MONEY-1).
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.money import quantize
from core.clock import ZURICH

MICRO = 1_000_000
HOUR = dt.timedelta(hours=1)
ALERT_LEVELS_THRESHOLD = (80, 100)  # USE-5
ALERT_LEVELS_BUDGET = (50, 80, 100)  # USE-6
FORECAST_DAYS = 7  # USE-7: the forecast follows the last 7 days


def local_midnight(day: dt.date) -> dt.datetime:
    """The instant (UTC) the Zurich day starts."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZURICH).astimezone(dt.UTC)


def hours_in_day(day: dt.date) -> int:
    """23, 24 or 25: the real hours of a Zurich day."""
    return int((local_midnight(day + dt.timedelta(days=1)) - local_midnight(day)) / HOUR)


def slot_of(hour: dt.datetime) -> tuple[dt.date, int]:
    """The Zurich day an hour (its UTC start, on the hour) belongs to, and its slot in that day."""
    day = hour.astimezone(ZURICH).date()
    return day, int((hour - local_midnight(day)) / HOUR)


def hour_of(day: dt.date, slot: int) -> dt.datetime:
    """The UTC start of a day's slot (the inverse of `slot_of`)."""
    return local_midnight(day) + slot * HOUR


def month_of(day: dt.date) -> dt.date:
    """The first day of the month a Zurich day is in (the billing period, USE-3)."""
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def to_micro(quantity: Decimal) -> int:
    """A quantity in millionths of its unit; the caller refuses values with more decimals."""
    return int(quantity * MICRO)


def from_micro(micro: int) -> Decimal:
    return (Decimal(micro) / MICRO).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class Line:
    """One resource of a month: its quantity, rate and amount excluding VAT (an invoice line)."""

    resource_id: int
    quantity: Decimal  # units, 6 decimals
    rate: Decimal  # per unit, excluding VAT, 6 decimals
    amount: Decimal  # quantity × rate, rounded to the cent (MONEY-1)


def price_lines(totals: Mapping[int, int], rates: Mapping[int, Decimal], order: Sequence[int]) -> list[Line]:
    """The priced lines of a month (USE-1, USE-3): one per resource of `order` that has a rate, in
    that order, with quantities from `totals` (micro-units by resource id)."""
    lines = []
    for resource_id in order:
        if resource_id not in rates:
            continue
        quantity = from_micro(totals.get(resource_id, 0))
        rate = rates[resource_id]
        lines.append(Line(resource_id=resource_id, quantity=quantity, rate=rate, amount=quantize(quantity * rate)))
    return lines


def total_amount(lines: Iterable[Line]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))


def forecast(month_to_date: Decimal, daily: Mapping[dt.date, Decimal], today: dt.date) -> Decimal:
    """USE-7: the month-to-date amount plus, for each day left in the month after `today`, the
    average of the last `FORECAST_DAYS` complete days before `today` (fewer at the month's start: the
    days there are; today's own running amount is not a day's worth yet). Rounded to the cent."""
    month = month_of(today)
    last_day = next_month(month) - dt.timedelta(days=1)
    days_left = (last_day - today).days
    window = [today - dt.timedelta(days=n) for n in range(1, FORECAST_DAYS + 1)]
    window = [d for d in window if d >= month]
    if not window:  # the month's first day: today's pace so far, counted for a whole day
        per_day = daily.get(today, Decimal("0"))
        return quantize(month_to_date + per_day * days_left)
    per_day = sum((daily.get(d, Decimal("0")) for d in window), Decimal("0")) / len(window)
    return quantize(month_to_date + per_day * days_left)


def levels_crossed(before: Decimal, after: Decimal, limit: Decimal, levels: Sequence[int]) -> list[int]:
    """The levels (percent of `limit`) that `after` reaches and `before` did not (USE-5, USE-6):
    a level is reached at exactly its share of the limit."""
    return [level for level in levels if before * 100 < limit * level <= after * 100]
