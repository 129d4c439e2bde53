"""The availability chart (SLA-1, sla/charts.py): a pure function of the monthly reports, so these
tests build the reports by hand and need no database. The SVG is parsed, and every bar, label and
line is checked exactly."""

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import translation

from sla import charts
from sla.selectors import MonthlyReport

SVG = "{http://www.w3.org/2000/svg}"
D = Decimal


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def report(year: int, month: int, availability: str, *, commitment: str = "99.900") -> MonthlyReport:
    """A month of 30 days whose availability is given (the chart reads no other figure)."""
    return MonthlyReport(
        year=year,
        month=month,
        total_seconds=30 * 86400,
        unavailable_seconds=0,
        availability=D(availability),
        commitment=D(commitment),
        limit_minutes=5,
    )


def twelve(**special: str) -> list[MonthlyReport]:
    """April 2025 to March 2026, 100 % except the months named m<year>_<month> ("m2026_03")."""
    months = [(2025, m) for m in range(4, 13)] + [(2026, m) for m in range(1, 4)]
    return [report(y, m, special.get(f"m{y}_{m:02d}", "100.000")) for y, m in months]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # our own output, not untrusted XML


def bars(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "bar" in (g.get("class") or "").split()]


def text_of(bar: ET.Element, cls: str) -> str | None:
    found = [t.text for t in bar.iter(f"{SVG}text") if t.get("class") == cls]
    return found[0] if found else None


def rect(bar: ET.Element) -> ET.Element:
    found = bar.find(f"{SVG}rect")
    assert found is not None
    return found


def test_one_bar_per_month_with_its_percentage_month_and_year_labels() -> None:
    # given twelve months, March 2026 with a 12-minute class-A incident
    reports = twelve(m2026_03="99.973")

    # when
    root = parse(charts.availability_svg(reports))

    # then
    found = bars(root)
    assert [b.get("data-month") for b in found] == [
        "2025-04",
        "2025-05",
        "2025-06",
        "2025-07",
        "2025-08",
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert [text_of(b, "value") for b in found] == ["100.000 %"] * 11 + ["99.973 %"]
    assert [text_of(b, "month") for b in found] == [
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
        "Jan",
        "Feb",
        "Mar",
    ]
    # the year under the first bar and under each January only
    assert [text_of(b, "year") for b in found] == ["2025"] + [None] * 8 + ["2026", None, None]
    assert found[-1].findtext(f"{SVG}title") == "March 2026: 99.973 % available, commitment met."


def test_the_axis_runs_from_99_to_100_percent_so_a_tenth_of_a_point_shows() -> None:
    # given
    reports = twelve(m2026_02="99.900", m2026_03="99.500")

    # when
    found = bars(parse(charts.availability_svg(reports)))

    # then 100 % fills the plot, 99.9 % is a tenth lower, 99.5 % half as high
    full, tenth, half = rect(found[0]), rect(found[10]), rect(found[11])
    assert (float(full.get("y", "")), float(full.get("height", ""))) == (charts.TOP, charts.PLOT_HEIGHT)
    assert float(tenth.get("height", "")) == pytest.approx(charts.PLOT_HEIGHT * 0.9)
    assert float(half.get("height", "")) == pytest.approx(charts.PLOT_HEIGHT * 0.5)
    assert float(tenth.get("y", "")) + float(tenth.get("height", "")) == charts.BASE


def test_bars_show_whether_the_commitment_was_met_by_colour_and_in_words() -> None:
    # given 99.900 % meets the commitment of 99.9 %, 99.899 % does not
    reports = twelve(m2026_02="99.900", m2026_03="99.899")

    # when
    found = bars(parse(charts.availability_svg(reports)))

    # then
    assert rect(found[10]).get("fill") == charts.MET
    assert rect(found[11]).get("fill") == charts.MISSED
    assert found[10].findtext(f"{SVG}title") == "February 2026: 99.900 % available, commitment met."
    assert found[11].findtext(f"{SVG}title") == "March 2026: 99.899 % available, commitment missed."


def test_a_month_below_the_floor_is_drawn_at_the_floor_and_labelled_with_its_true_figure() -> None:
    # given
    reports = twelve(m2026_03="97.250")

    # when
    found = bars(parse(charts.availability_svg(reports)))

    # then
    march = found[-1]
    assert march.get("class") == "bar below-floor"
    assert float(rect(march).get("height", "")) == charts.FLOOR_BAR
    assert float(rect(march).get("y", "")) == charts.BASE - charts.FLOOR_BAR
    assert rect(march).get("fill") == charts.MISSED
    assert text_of(march, "value") == "▼ 97.250 %"
    assert march.findtext(f"{SVG}title") == (
        "March 2026: 97.250 % available, commitment missed. Below the chart's floor of 99.0 %."
    )


def test_the_commitment_line_the_grid_and_the_legend() -> None:
    # given
    root = parse(charts.availability_svg(twelve()))

    # when
    lines = {line.get("class"): line for line in root.iter(f"{SVG}line") if line.get("class")}
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for t in g.iter(f"{SVG}text")]

    # then the dashed commitment line lies a tenth of the plot below 100 %
    commitment = lines["commitment"]
    assert commitment.get("y1") == commitment.get("y2") == str(charts.TOP + charts.PLOT_HEIGHT * 0.1)
    assert commitment.get("stroke-dasharray") == "6 4"
    assert ticks == ["99.0 %", "99.2 %", "99.4 %", "99.6 %", "99.8 %", "100.0 %"]
    assert legend == ["commitment met", "commitment missed", "commitment: 99.9 %"]


def test_the_chart_is_an_image_named_by_its_title_and_described_in_words() -> None:
    # given
    reports = twelve(m2026_03="99.973")

    # when
    root = parse(charts.availability_svg(reports, id_prefix="chart-7"))

    # then
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-7-title chart-7-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert (title.get("id"), title.text) == ("chart-7-title", "Monthly availability")
    assert desc.get("id") == "chart-7-desc"
    assert desc.text is not None
    assert desc.text.startswith(
        "Availability of the Service per month, from April 2025 to March 2026; commitment 99.9 %. "
        "April 2025: 100.000 % available, commitment met. "
    )
    assert desc.text.endswith("March 2026: 99.973 % available, commitment met.")


def test_figures_follow_the_language_but_coordinates_never_do() -> None:
    # given
    reports = twelve(m2026_03="99.973")

    # when: French, whose decimal separator is a comma (German in Switzerland writes 99.973)
    with translation.override("fr"):
        svg = charts.availability_svg(reports)

    # then
    found = bars(parse(svg))
    assert text_of(found[-1], "value") == "99,973\xa0%"  # the French catalog's no-break space
    assert text_of(found[-1], "month") == "Mar"
    for element in parse(svg).iter():
        for name in ("x", "y", "width", "height", "x1", "y1", "x2", "y2"):
            assert "," not in (element.get(name) or "")


def test_a_schedule_committing_to_99_percent_lowers_the_floor_to_98() -> None:
    # given
    reports = [report(2026, 3, "98.500", commitment="99.000")]

    # when
    root = parse(charts.availability_svg(reports))

    # then
    assert charts.axis_floor(reports) == D(98)
    march = bars(root)[0]
    assert march.get("class") == "bar"
    assert float(rect(march).get("height", "")) == pytest.approx(charts.PLOT_HEIGHT * 0.25)
    assert float(rect(march).get("width", "")) == pytest.approx(charts.PLOT_WIDTH * 0.7)


def test_no_month_yet() -> None:
    root = parse(charts.availability_svg([]))

    assert bars(root) == []
    assert root.findtext(f"{SVG}desc") == "No month to show yet."
