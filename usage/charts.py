"""The month-to-date charts of a usage Service (USE-7), drawn on the server as inline SVG like the SLA
chart (sla/charts.py): readable without JavaScript, with a <title>, a <desc> that says every figure
in words, every bar's figure in its own <title>, and the same figures in a table on the page.

Pure functions of the figures (`usage.selectors.MonthToDate`): no query, no clock. Every piece of
text is escaped (`format_html`, or `conditional_escape` in the bars' f-strings), so nothing in a
label can break out of the markup.

Decisions:
- The y-axis runs from 0 to a round number at or above the largest bar (1, 2 or 5 × a power of
  ten), with five grid lines: amounts are compared with zero, not with each other.
- The daily chart has a bar for every day of the month; the days after today have none (a thin
  mark on the axis says "not yet"); the month's days are labelled every few days, the bars'
  <title>s give each one. The twelve-month chart labels every bar with its amount.
- Coordinates are plain numbers (never localized); the figures people read are localized
  (`number_format`), the month names are the active language's.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils import formats
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from core import figures
from core.figures import localized

WIDTH, HEIGHT = 760, 290
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 24, 46
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BASE = TOP + PLOT_HEIGHT
TICKS = 5
BAR, TODAY, INK, MUTED, GRID = "#1565c0", "#ef6c00", "#222", "#555", "#ddd"


@dataclass(frozen=True)
class Bar:
    key: str  # data-key: "2026-04-03", "2026-03"
    label: str  # under the bar ("" for none)
    value: Decimal | None  # None: no figure (a day still to come)
    sentence: str  # the bar's <title> and its part of the <desc>
    text: str = ""  # written above the bar ("" for none)
    highlight: bool = False  # today


def money(amount: Decimal, currency: str) -> str:
    """An amount as people read it in the active language, with its currency: "CHF 1’234.50"."""
    return figures.amount(amount, currency)


def axis_top(values: Iterable[Decimal]) -> Decimal:
    """The smallest 1, 2 or 5 × 10^n at or above the largest value (1 when all are zero)."""
    largest = max(values, default=Decimal(0))
    if largest <= 0:
        return Decimal(1)
    power = Decimal(10) ** (largest.adjusted())
    for step in (1, 2, 5, 10):
        if power * step >= largest:
            return power * step
    return power * 10  # pragma: no cover - the loop always returns


def _y(value: Decimal, top: Decimal) -> float:
    return round(BASE - PLOT_HEIGHT * float(min(value, top) / top), 2)


def _concat(pieces: Iterable[SafeString]) -> SafeString:
    return mark_safe("".join(pieces))  # noqa: S308 (every piece is safe: built below with its text escaped)


# The bars and grid lines are built with f-strings, not format_html (a daily chart has ~40 bars of up to
# ten values each: format_html escaped every coordinate, a sixth of the usage page's CPU). Coordinates
# and colours are numbers and constants; every piece of text goes through `conditional_escape`.


def _grid(top: Decimal, currency: str) -> SafeString:
    lines = []
    for step in range(TICKS + 1):
        y = _y(top * step / TICKS, top)
        lines.append(
            f'<line class="grid" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="{GRID}" stroke-width="1"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{round(y + 4, 2)}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{conditional_escape(money(top * step / TICKS, currency))}</text>"
        )
    return mark_safe("".join(lines))  # noqa: S308 (numbers, constants and escaped text)


def _bar(index: int, count: int, bar: Bar, top: Decimal) -> SafeString:
    slot = PLOT_WIDTH / count
    centre = round(LEFT + slot * index + slot / 2, 2)
    if bar.value is None:
        shape = (
            f'<line class="none" x1="{round(LEFT + slot * index + slot * 0.2, 2)}" y1="{BASE - 1}" '
            f'x2="{round(LEFT + slot * (index + 1) - slot * 0.2, 2)}" y2="{BASE - 1}" '
            f'stroke="{MUTED}" stroke-width="1"/>'
        )
        y_top = float(BASE)
    else:
        y_top = _y(bar.value, top)
        shape = (
            f'<rect x="{round(LEFT + slot * index + slot * 0.15, 2)}" y="{y_top}" width="{round(slot * 0.7, 2)}" '
            f'height="{round(BASE - y_top, 2)}" fill="{TODAY if bar.highlight else BAR}"/>'
        )
    text = (
        f'<text class="value" x="{centre}" y="{round(y_top - 5, 2)}" text-anchor="middle" font-size="10" '
        f'fill="{INK}">{conditional_escape(bar.text)}</text>'
        if bar.text
        else ""
    )
    label = (
        f'<text class="label" x="{centre}" y="{BASE + 18}" text-anchor="middle" font-size="11" '
        f'fill="{INK}">{conditional_escape(bar.label)}</text>'
        if bar.label
        else ""
    )
    return mark_safe(  # noqa: S308 (numbers, constants and escaped text)
        f'<g class="bar{" today" if bar.highlight else ""}" data-key="{conditional_escape(bar.key)}">'
        f"<title>{conditional_escape(bar.sentence)}</title>{shape}{text}{label}</g>"
    )


def bar_chart(
    bars: Sequence[Bar], *, currency: str, title: str, summary: str, css_class: str, id_prefix: str
) -> SafeString:
    """Bars of amounts from 0, with a grid in `currency`, a <title> and a <desc> (the summary and
    every bar's sentence)."""
    top = axis_top(bar.value for bar in bars if bar.value is not None)
    description = " ".join([summary, *(bar.sentence for bar in bars if bar.value is not None)])
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="{}" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-labelledby="{}-title {}-desc" font-family="sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/></svg>',
        css_class,
        WIDTH,
        HEIGHT,
        id_prefix,
        id_prefix,
        id_prefix,
        title,
        id_prefix,
        description,
        _grid(top, currency),
        _concat(_bar(index, len(bars), bar, top) for index, bar in enumerate(bars)),
        LEFT,
        BASE,
        WIDTH - RIGHT,
        BASE,
        MUTED,
    )


class DayLike(Protocol):
    """What the daily chart reads of a `usage.selectors.DayFigure`."""

    @property
    def day(self) -> dt.date: ...

    @property
    def amount(self) -> Decimal: ...


def daily_svg(days: Sequence[DayLike], *, today: dt.date, currency: str) -> SafeString:
    """The month's amount per day (VAT as shown): a bar per day up to today (today's so far, in its
    own colour), none after it."""
    bars = []
    for index, day in enumerate(days):
        date_text = figures.day(day.day)
        label = str(day.day.day) if index == 0 or day.day.day % 5 == 0 else ""
        if day.day > today:
            bars.append(Bar(key=day.day.isoformat(), label=label, value=None, sentence=""))
            continue
        sentence = (_("%(date)s (today, so far): %(amount)s.") if day.day == today else _("%(date)s: %(amount)s.")) % {
            "date": date_text,
            "amount": money(day.amount, currency),
        }
        bars.append(
            Bar(key=day.day.isoformat(), label=label, value=day.amount, sentence=sentence, highlight=day.day == today)
        )
    month = formats.date_format(days[0].day, "F Y") if days else ""
    return bar_chart(
        bars,
        currency=currency,
        title=_("Amount per day, %(month)s") % {"month": month},
        summary=_("The amount of each day of %(month)s so far.") % {"month": month},
        css_class="usage-daily-chart",
        id_prefix="usage-daily",
    )


class MonthLike(Protocol):
    """What the twelve-month chart reads of a `usage.selectors.InvoicedMonth`."""

    @property
    def month(self) -> dt.date: ...

    @property
    def amount(self) -> Decimal: ...


def invoiced_svg(months: Sequence[MonthLike], *, currency: str) -> SafeString:
    """The usage invoice of each of the last twelve months, with its amount on the bar."""
    bars = []
    for row in months:
        month_text = formats.date_format(row.month, "F Y")
        bars.append(
            Bar(
                key=row.month.strftime("%Y-%m"),
                label=formats.date_format(row.month, "M"),
                value=row.amount,
                sentence=_("%(month)s: %(amount)s invoiced.")
                % {"month": month_text, "amount": money(row.amount, currency)},
                text=localized(row.amount, 2),
            )
        )
    if months:
        summary = _("The usage invoiced for each month from %(first)s to %(last)s.") % {
            "first": formats.date_format(months[0].month, "F Y"),
            "last": formats.date_format(months[-1].month, "F Y"),
        }
    else:
        summary = _("No month to show yet.")
    return bar_chart(
        bars,
        currency=currency,
        title=_("Usage invoiced per month"),
        summary=summary,
        css_class="usage-invoiced-chart",
        id_prefix="usage-invoiced",
    )
