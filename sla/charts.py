"""The portal's availability chart (SLA-1), drawn on the server as inline SVG: readable without
JavaScript, with a <title>, a <desc> that says every figure in words, and the figures on the bars.

A pure function of the monthly reports (`sla.selectors.MonthlyReport`): no query, no clock. Every
piece of text goes through `format_html`, so nothing in a label can break out of the markup.

Decisions:
- The y-axis runs from a floor to 100 %, not from 0 %: on a 0–100 % axis 99.9 % and 100 % would look
  the same. The floor is 99 % (one point below 100 %, the commitment of 99.9 % a tenth of the way
  down); a schedule committing to 99 % or less lowers it to one point below its commitment.
- A month below the floor is drawn as a short bar at the floor, in the "missed" colour, marked ▼,
  with its true percentage as its label.
- Colour is never the only sign: every bar carries its percentage, and its <title> says whether the
  commitment was met.
- Coordinates are plain numbers (never localized: "99,5" is no SVG coordinate); the figures people
  read are localized (`number_format`) and the month names are the active language's.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _


class Report(Protocol):
    """What the chart reads of a `sla.selectors.MonthlyReport`."""

    @property
    def first_day(self) -> dt.date: ...

    @property
    def availability(self) -> Decimal: ...

    @property
    def commitment(self) -> Decimal: ...

    @property
    def meets_commitment(self) -> bool: ...


HUNDRED = Decimal(100)
DEFAULT_FLOOR = Decimal(99)
TICKS = 5  # steps of the grid between the floor and 100 %

# Geometry of the drawing, in SVG user units (the SVG scales to the width of its container).
WIDTH, HEIGHT = 760, 310
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 44, 46
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BASE = TOP + PLOT_HEIGHT  # the y of the floor
FLOOR_BAR = 3  # the height of a bar below the floor
MET, MISSED, COMMITMENT, INK, MUTED = "#2e7d32", "#c62828", "#1a237e", "#222", "#555"


def axis_floor(reports: Sequence[Report]) -> Decimal:
    """99 %, or one point below the lowest commitment when that is 99 % or less."""
    lowest = min((r.commitment for r in reports), default=HUNDRED)
    if lowest > DEFAULT_FLOOR:
        return DEFAULT_FLOOR
    return max(Decimal(0), lowest.to_integral_value(rounding=ROUND_FLOOR) - 1)


def percent(value: Decimal, decimals: int = 3) -> str:
    """A percentage as people read it in the active language: "99.973 %", "99,973 %"."""
    return _("%(value)s %%") % {"value": formats.number_format(value, decimal_pos=decimals)}


def y_of(value: Decimal, floor: Decimal) -> float:
    """The SVG y of a percentage, clamped to the axis [floor, 100 %]."""
    clamped = min(max(value, floor), HUNDRED)
    share = (clamped - floor) / (HUNDRED - floor)
    return round(TOP + PLOT_HEIGHT * (1 - float(share)), 2)


def _concat(pieces: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((piece,) for piece in pieces))


def _month(report: Report) -> str:
    return formats.date_format(report.first_day, "F Y")


def _sentence(report: Report, floor: Decimal) -> str:
    if report.meets_commitment:
        text = _("%(month)s: %(percent)s available, commitment met.")
    else:
        text = _("%(month)s: %(percent)s available, commitment missed.")
    text = text % {"month": _month(report), "percent": percent(report.availability)}
    if report.availability < floor:
        text += " " + _("Below the chart's floor of %(floor)s.") % {"floor": percent(floor, 1)}
    return text


def _grid(floor: Decimal) -> SafeString:
    pieces = []
    for step in range(TICKS + 1):
        value = floor + (HUNDRED - floor) * step / TICKS
        y = y_of(value, floor)
        pieces.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ddd" stroke-width="1"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end" font-size="11" fill="{}">{}</text>',
                LEFT,
                y,
                WIDTH - RIGHT,
                y,
                LEFT - 6,
                round(y + 4, 2),
                MUTED,
                percent(value, 1),
            )
        )
    return _concat(pieces)


def _legend(commitment: Decimal | None) -> SafeString:
    pieces = [
        format_html(
            '<rect x="{}" y="10" width="10" height="10" fill="{}"/>'
            '<text x="{}" y="19" font-size="11" fill="{}">{}</text>',
            x,
            colour,
            x + 14,
            INK,
            label,
        )
        for x, colour, label in (
            (LEFT, MET, _("commitment met")),
            (LEFT + 140, MISSED, _("commitment missed")),
        )
    ]
    if commitment is not None:
        x = LEFT + 290
        pieces.append(
            format_html(
                '<line x1="{}" y1="15" x2="{}" y2="15" stroke="{}" stroke-width="2" stroke-dasharray="6 4"/>'
                '<text x="{}" y="19" font-size="11" fill="{}">{}</text>',
                x,
                x + 24,
                COMMITMENT,
                x + 30,
                INK,
                _("commitment: %(percent)s") % {"percent": percent(commitment, 1)},
            )
        )
    return format_html('<g class="legend">{}</g>', _concat(pieces))


def _bar(index: int, count: int, report: Report, floor: Decimal, *, show_year: bool) -> SafeString:
    slot = PLOT_WIDTH / count
    centre = round(LEFT + slot * index + slot / 2, 2)
    below = report.availability < floor
    top = BASE - FLOOR_BAR if below else y_of(report.availability, floor)
    year = (
        format_html(
            '<text class="year" x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>',
            centre,
            BASE + 34,
            MUTED,
            report.first_day.year,
        )
        if show_year
        else ""
    )
    return format_html(
        '<g class="bar{}" data-month="{}">'
        "<title>{}</title>"
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
        '<text class="value" x="{}" y="{}" text-anchor="middle" font-size="10" fill="{}">{}</text>'
        '<text class="month" x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>'
        "{}</g>",
        " below-floor" if below else "",
        report.first_day.strftime("%Y-%m"),
        _sentence(report, floor),
        round(LEFT + slot * index + slot * 0.15, 2),
        top,
        round(slot * 0.7, 2),
        round(max(BASE - top, 0), 2),
        MET if report.meets_commitment else MISSED,
        centre,
        round(top - 5, 2),
        INK,
        ("▼ " if below else "") + percent(report.availability),
        centre,
        BASE + 18,
        INK,
        formats.date_format(report.first_day, "M"),
        year,
    )


def _commitment_lines(reports: Sequence[Report], floor: Decimal) -> SafeString:
    return format_html_join(
        "",
        '<line class="commitment" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" '
        'stroke-dasharray="6 4"/>',
        ((LEFT, y_of(value, floor), WIDTH - RIGHT, y_of(value, floor), COMMITMENT) for value in _commitments(reports)),
    )


def _commitments(reports: Sequence[Report]) -> list[Decimal]:
    return sorted({report.commitment for report in reports})


def availability_svg(reports: Sequence[Report], *, id_prefix: str = "sla-availability") -> SafeString:
    """The monthly availability as an accessible bar chart: one bar per report (oldest first) with
    its percentage, the commitment as a dashed line, month labels, a legend, a <title> and a <desc>
    that gives every figure in words."""
    floor = axis_floor(reports)
    if reports:
        description = " ".join(
            [
                _("Availability of the Service per month, from %(first)s to %(last)s; commitment %(commitment)s.")
                % {
                    "first": _month(reports[0]),
                    "last": _month(reports[-1]),
                    "commitment": percent(reports[-1].commitment, 1),
                },
                *(_sentence(report, floor) for report in reports),
            ]
        )
    else:
        description = _("No month to show yet.")
    bars = _concat(
        _bar(
            index,
            len(reports),
            report,
            floor,
            show_year=index == 0 or report.first_day.year != reports[index - 1].first_day.year,
        )
        for index, report in enumerate(reports)
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="availability-chart" viewBox="0 0 {} {}" '
        'width="100%" role="img" aria-labelledby="{}-title {}-desc" font-family="sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        "{}{}{}{}"
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>'
        "</svg>",
        WIDTH,
        HEIGHT,
        id_prefix,
        id_prefix,
        id_prefix,
        _("Monthly availability"),
        id_prefix,
        description,
        _legend(reports[-1].commitment if reports else None),
        _grid(floor),
        bars,
        _commitment_lines(reports, floor),
        LEFT,
        BASE,
        WIDTH - RIGHT,
        BASE,
        MUTED,
    )
