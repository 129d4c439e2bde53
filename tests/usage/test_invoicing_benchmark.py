"""USE-3: the month-end phase of the usage benchmark prints its figures and the same day again does
nothing (the benchmark itself is run by hand: docs/performance.md)."""

import datetime as dt
import io

import pytest
from django.core.management.base import OutputWrapper

from tests.billing.factories import service_type
from tests.usage.invoicing_helpers import resources_seeded
from usage.benchmark_month_end import build_month_end_population, month_end_phase, run

pytestmark = pytest.mark.django_db


def test_use3_the_month_end_phase_invoices_every_service_then_does_nothing_the_same_day() -> None:
    service_type()
    resources_seeded()
    lines: list[str] = []

    figures = month_end_phase(services=12, day=dt.date(2026, 12, 1), write=lines.append)

    assert lines[0].startswith("month-end: ") and lines[0].endswith(" services/s")
    assert (figures["first"].changed, figures["invoices"], figures["second"].changed) == (12, 12, 0)
    assert lines[2].startswith("month-end again: 0 changed")


def test_use3_bench_usage_calls_the_phase_with_its_population_and_day() -> None:
    service_type()
    resources_seeded()
    ids = build_month_end_population(services=5, month=dt.date(2026, 11, 1), prefix="bench-run")
    out = io.StringIO()

    figures = run(stdout=OutputWrapper(out), service_ids=ids, day=dt.date(2026, 11, 20), pgbench_tps=1000.0)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("month-end: ") and lines[0].endswith(" services/s")
    assert lines[1].startswith("ratio month-end/pgbench: ")
    assert (figures["first"].changed, figures["second"].changed) == (5, 0)
