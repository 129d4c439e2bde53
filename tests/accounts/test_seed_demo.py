"""The demo data of `make run`: idempotent, and never outside the embedded demo (DEBUG on)."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization, User
from audit.services import audit_verify
from billing.models import Invoice, Service
from core import clock
from sla import selectors as sla_selectors
from sla.models import Incident, Maintenance

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_creates_the_demo_once(settings) -> None:
    settings.DEBUG = True

    call_command("seed_demo")
    call_command("seed_demo")

    assert sorted(User.objects.values_list("email", flat=True)) == [
        "demo@example.com",
        "staff@example.com",
        "tech@example.com",
    ]
    assert Organization.objects.get().name == "Demo Cloud Sàrl"
    assert sorted(Membership.objects.values_list("role", flat=True)) == ["legal_responsible", "technical"]
    assert sorted(Service.objects.values_list("status", flat=True)) == ["active", "awaiting_payment"]
    assert sorted(Invoice.objects.values_list("status", flat=True)) == ["open", "paid"]
    assert audit_verify()[1] is None


@pytest.mark.parametrize(
    "day",
    [None, dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), dt.datetime(2027, 1, 2, 8, 0, tzinfo=dt.UTC)],
    ids=["today", "first-of-month", "new-year"],
)
def test_seed_demo_gives_the_active_service_an_sla_history_once(settings, day: dt.datetime | None) -> None:
    settings.DEBUG = True

    with time_machine.travel(day or clock.now(), tick=False):
        call_command("seed_demo")
        call_command("seed_demo")
        check_sla_history()


def check_sla_history() -> None:
    """SLA-1, SLA-5: a real chart (the month of the 12-minute failure under 100 %), one claimable incident."""
    service = Service.objects.get(status="active")
    assert sorted(Incident.objects.filter(links__service=service).values_list("external_id", flat=True)) == [
        "demo-sla-a-12min",
        "demo-sla-a-3min",
        "demo-sla-b-slow",
        "demo-sla-planned",
    ]
    assert Maintenance.objects.filter(links__service=service).count() == 1
    now = clock.now()
    failure = Incident.objects.get(external_id="demo-sla-a-12min")
    started = clock.business_date(failure.started_at)
    month = next(r for r in sla_selectors.monthly_reports(service, now=now) if r.first_day == started.replace(day=1))
    assert month.availability < 100
    assert month.unavailable_seconds == 12 * 60 and month.limit_exceeded
    # the one claimable incident is the 12-minute failure (SLA-5)
    assert [c.incident for c in sla_selectors.claimable_incidents(service, now=now)] == [failure]
    assert audit_verify()[1] is None


def test_seed_demo_refuses_without_debug(settings) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("seed_demo")

    assert User.objects.count() == 0
