"""`manage.py usage_simulate` (USE-2, USE-7): plausible hourly values through the metering door's
own service — every value counted in the month's totals, deterministic with --seed, a second run
changing nothing, hours before the Service started skipped, refusals of the command itself."""

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.billing.factories import ServiceFactory
from tests.factories import member
from tests.usage.portal_helpers import at, totals, usage_service
from usage import engine, simulation
from usage.models import UsageDay, UsageMonth

pytestmark = pytest.mark.django_db

NOW = at(2026, 4, 10, 8, 30)  # 10:30 in Zurich: the hour from 10:00 has started


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("usage_simulate", *args, stdout=out)
    return out.getvalue().strip()


def expected(service_id: int, first: dt.datetime, end: dt.datetime, seed: int) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for hour in simulation.hours_between(first, end):
        for slug, quantity in simulation.hour_values(service_id, hour, seed=seed).items():
            found[slug] += engine.to_micro(quantity)
    return dict(found)


def test_use2_use7_two_days_up_to_now_every_value_counted_and_a_rerun_changes_nothing() -> None:
    # given a Service started long before
    service = usage_service(member(), activated_at=at(2026, 1, 1, 0, 0), created_at=at(2026, 1, 1, 0, 0))
    # when
    first_run = run("--service", str(service.pk), "--days", "2", "--seed", "7")
    # then 48 hours up to and including the one that started at 08:00 UTC, 5 values each
    assert first_run == f"Service {service.pk}: 240 new, 0 unchanged, 0 corrected, 0 refused."
    first, end = at(2026, 4, 8, 9, 0), at(2026, 4, 10, 9, 0)
    assert totals(service, dt.date(2026, 4, 1)) == expected(service.pk, first, end, seed=7)
    assert UsageDay.objects.filter(service=service).count() == 3 * 5  # 8, 9 and 10 April
    # and the same run again answers every value as unchanged
    assert run("--service", str(service.pk), "--days", "2", "--seed", "7") == (
        f"Service {service.pk}: 0 new, 240 unchanged, 0 corrected, 0 refused."
    )


def test_usage_simulate_is_deterministic_by_seed() -> None:
    legal = member()
    one = usage_service(legal, activated_at=at(2026, 1, 1, 0, 0))
    assert simulation.hour_values(one.pk, at(2026, 4, 9, 12, 0), seed=1) == simulation.hour_values(
        one.pk, at(2026, 4, 9, 12, 0), seed=1
    )
    run("--service", str(one.pk), "--days", "1", "--seed", "1")
    before = totals(one, dt.date(2026, 4, 1))
    # another seed: other values, answered as corrections of the hours already reported
    out = run("--service", str(one.pk), "--days", "1", "--seed", "2")
    assert "0 new" in out and " corrected" in out and "0 refused" in out
    assert totals(one, dt.date(2026, 4, 1)) != before


def test_usage_simulate_ends_with_the_end_day_and_skips_hours_before_the_service() -> None:
    # given a Service activated on 9 April at 10:20 (Zurich): its first hour is the one from 11:00
    service = usage_service(member(), activated_at=at(2026, 4, 9, 8, 20), created_at=at(2026, 4, 9, 8, 0))
    # when asked for the 3 days up to the end of 9 April
    out = run("--service", str(service.pk), "--days", "3", "--end", "2026-04-09")
    # then from 11:00 to midnight: 13 hours
    assert out == f"Service {service.pk}: 65 new, 0 unchanged, 0 corrected, 0 refused."
    assert list(UsageDay.objects.filter(service=service).values_list("day", flat=True).distinct()) == [
        dt.date(2026, 4, 9)
    ]


def test_use2_values_of_an_invoiced_month_are_refused_and_counted() -> None:
    service = usage_service(member(), activated_at=at(2026, 1, 1, 0, 0))
    UsageMonth.objects.create(service=service, month=dt.date(2026, 3, 1), closed_at=NOW)
    out = run("--service", str(service.pk), "--days", "1", "--end", "2026-03-31")
    assert out == f"Service {service.pk}: 0 new, 0 unchanged, 0 corrected, 120 refused."
    assert not UsageDay.objects.filter(service=service).exists()


def test_usage_simulate_refuses_what_it_cannot_do() -> None:
    fixed = ServiceFactory()
    service = usage_service(member())
    for args, message in [
        (["--service", "999999", "--days", "1"], "No Service 999999."),
        (["--service", str(fixed.pk), "--days", "1"], f"Service {fixed.pk} is not billed by usage."),
        (["--service", str(service.pk), "--days", "0"], "--days must be at least 1."),
    ]:
        with pytest.raises(CommandError, match=message):
            run(*args)
    assert not UsageDay.objects.exists()
