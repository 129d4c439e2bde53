"""USE-3, BIL-6, REN-8: a month-end run killed in the middle (SIGKILL, real processes on PostgreSQL)
and started again ends as an uninterrupted run: every Service invoiced once, no gap in the invoice
numbers; two runs at once do the same."""

import signal
import time
from decimal import Decimal

import pytest
from django.db.models import Count

from audit.services import audit_verify
from billing.models import Invoice
from core import clock
from tests.billing.factories import service_type
from tests.subscriptions.lifecycle.test_exactly_once import _other_sessions_after, _run_lifecycle
from tests.usage.invoicing_helpers import resources_seeded
from usage import engine
from usage.benchmark_month_end import build_month_end_population
from usage.models import UsageMonth
from usage.services.invoicing import previous_month

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _the_1st() -> tuple:  # noqa: ANN202
    day = engine.next_month(engine.month_of(clock.today()))  # a future 1st: the run's instant is its start
    return day, previous_month(day)


def _state(ids: list[int]) -> dict[str, object]:
    invoices = Invoice.objects.filter(service__in=ids, kind=Invoice.Kind.USAGE)
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    checked, broken = audit_verify()
    return {
        "months closed": UsageMonth.objects.filter(service__in=ids, closed_at__isnull=False).count(),
        "months invoiced": UsageMonth.objects.filter(service__in=ids, invoice__isnull=False).count(),
        "invoices per service": set(invoices.values("service").annotate(n=Count("id")).values_list("n", flat=True)),
        "invoiced": sum(invoices.values_list("total_incl_vat", flat=True), Decimal("0.00")),
        "invoice numbers gapless": numbers == list(range(1, len(numbers) + 1)),
        "audit chain intact": broken is None and checked > 0,
    }


def _expected(count: int) -> dict[str, object]:
    return {
        "months closed": count,
        "months invoiced": count,
        "invoices per service": {1},
        "invoiced": Decimal("26.77") * count,  # the benchmark's month: 24.77 + VAT per line
        "invoice numbers gapless": True,
        "audit chain intact": True,
    }


def test_use3_a_month_end_killed_in_the_middle_and_started_again_invoices_every_service_once() -> None:
    service_type()
    resources_seeded()
    day, month = _the_1st()
    ids = build_month_end_population(services=600, month=month, prefix="kill")

    killed = _run_lifecycle(day, batch_size=10)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and killed.poll() is None:
        if UsageMonth.objects.filter(closed_at__isnull=False).count() >= 20:
            killed.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    killed.wait(timeout=30)
    partial = UsageMonth.objects.filter(closed_at__isnull=False).count()

    assert killed.returncode == -signal.SIGKILL
    assert 20 <= partial < 600
    assert _other_sessions_after(seconds=3) == 0

    rerun = _run_lifecycle(day, batch_size=10)
    output = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert _state(ids) == _expected(600)


def test_use3_two_month_end_runs_at_once_invoice_every_service_once() -> None:
    service_type()
    resources_seeded()
    day, month = _the_1st()
    ids = build_month_end_population(services=60, month=month, prefix="race")

    runs = [_run_lifecycle(day, batch_size=10) for _ in range(2)]
    outputs = [run.communicate(timeout=180) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert _state(ids) == _expected(60)
