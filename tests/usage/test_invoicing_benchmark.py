"""USE-3: the month-end phase of the usage benchmark prints its figures and the same day again does
nothing (the benchmark itself is run by hand: docs/performance.md)."""

import datetime as dt

import pytest

from tests.billing.factories import service_type
from tests.usage.invoicing_helpers import resources_seeded
from usage.benchmark_month_end import month_end_phase

pytestmark = pytest.mark.django_db


def test_use3_the_month_end_phase_invoices_every_service_then_does_nothing_the_same_day() -> None:
    service_type()
    resources_seeded()
    lines: list[str] = []

    figures = month_end_phase(services=12, day=dt.date(2026, 12, 1), write=lines.append)

    assert lines[0].startswith("month-end: ") and lines[0].endswith(" services/s")
    assert (figures["first"].changed, figures["invoices"], figures["second"].changed) == (12, 12, 0)
    assert lines[2].startswith("month-end again: 0 changed")
