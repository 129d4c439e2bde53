"""The demo data of `make run`: idempotent, and never outside the embedded demo (DEBUG on)."""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import Invitation, Membership, Organization, User
from audit.services import audit_verify
from billing.models import Invoice, LedgerEntry
from billing.money import percent_of
from billing.services.prepaid import prepaid_account_for
from core import clock
from notifications.models import Notification
from sla import selectors as sla_selectors
from sla.models import Incident, Maintenance
from sla.services import claim_accept
from subscriptions.models import Service
from support.models import Ticket
from support.services import ticket_open

BASE_DIR = Path(__file__).resolve().parents[2]
PRINT_PORTAL_URL = "import django; django.setup(); from django.conf import settings; print(settings.PORTAL_URL)"

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
    # the Jelastic Service billed by usage, and a web hosting order waiting for its invoice
    assert sorted(Service.objects.values_list("plan__service_type__slug", "status", "usage_based")) == [
        ("jelastic-cloud", "active", True),
        ("web-hosting", "awaiting_payment", False),
    ]
    assert Invoice.objects.filter(kind="order", status="open").count() == 1
    assert Invoice.objects.filter(kind="usage").count() == 3  # the three months after the trial
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
    # SLA-3: the whole history lies inside the Service's life; the claimable failure lies in last
    # month, covered by that month's usage invoice (USE-3)
    for incident in Incident.objects.filter(links__service=service):
        assert clock.business_date(incident.started_at) > service.created_at.date()
    last_month = Invoice.objects.get(service=service, kind="usage", issue_date=clock.business_date(now).replace(day=1))
    assert sla_selectors.invoice_covering(service, failure.started_at) == last_month
    window = Maintenance.objects.get(links__service=service)
    assert clock.business_date(window.starts_at) > service.created_at.date()
    assert audit_verify()[1] is None


def test_seed_demo_refuses_without_debug(settings) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("seed_demo")

    assert User.objects.count() == 0


@pytest.mark.parametrize("day", [None, dt.datetime(2027, 1, 2, 8, 0, tzinfo=dt.UTC)], ids=["today", "new-year"])
def test_sla3_an_accepted_demo_claim_credits_a_share_of_the_usage_invoice_of_its_month(
    settings, django_capture_on_commit_callbacks, day: dt.datetime | None
) -> None:
    """SLA-3, SLA-4, PRE-2: the demo's claimable failure lies in a month invoiced by usage (USE-3), so
    accepting the claim credits a share of that invoice — not "no invoice covers the period"."""
    # given the demo, and the customer's claim for the claimable failure, filed as the SLA page does
    settings.DEBUG = True
    with time_machine.travel(day or clock.now(), tick=False):
        call_command("seed_demo")
        now = clock.now()
        service = Service.objects.get(status="active")
        customer = User.objects.get(email="demo@example.com")
        staff = User.objects.get(email="staff@example.com")
        (claimable,) = sla_selectors.claimable_incidents(service, now=now)
        failure = claimable.incident
        ticket = ticket_open(
            organization=service.organization,
            user=customer,
            kind=Ticket.Kind.SLA_CLAIM,
            subject="Cluster unreachable",
            body="Our cluster was unreachable.",
            language="en",
            service=service,
            claim_start=failure.started_at,
            claim_end=failure.resolved_at,
            now=now,
        )
        month_invoice = sla_selectors.invoice_covering(service, failure.started_at)
        balance = prepaid_account_for(service.organization).balance

        # when staff accept it, naming the failure
        with django_capture_on_commit_callbacks(execute=True):
            penalty = claim_accept(claim=ticket.sla_claim, incident=failure, staff_user=staff, now=now)

    # then 17 % (1st class-A occurrence of the year: 10 %, and 1 % for each of the 7 minutes beyond the
    # 5 allowed) of last month's usage invoice, VAT included, is credited, once
    assert month_invoice is not None and month_invoice.kind == "usage"
    expected = percent_of(month_invoice.total_incl_vat, Decimal(17))  # half up, to the cent
    assert (penalty.invoice, penalty.occurrence, penalty.percent, penalty.amount, penalty.currency) == (
        month_invoice,
        1,
        Decimal("17"),
        expected,
        "CHF",
    )
    assert expected > 0
    assert list(LedgerEntry.objects.filter(kind="sla_penalty").values_list("amount", flat=True)) == [expected]
    assert prepaid_account_for(service.organization).balance == balance + expected
    assert audit_verify()[1] is None


def test_org5_the_demo_invitation_links_to_the_portal_url(settings) -> None:
    """The seeded invitation's e-mail links to PORTAL_URL (whose default follows PORT, see below)."""
    settings.DEBUG = True
    settings.PORTAL_URL = "http://127.0.0.1:8123"

    call_command("seed_demo")

    invitation = Invitation.objects.get()
    (body,) = Notification.objects.filter(template="member_invited").values_list("body", flat=True)
    assert f"http://127.0.0.1:8123/invitations/{invitation.token}/" in body


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"PORT": "8123", "PORTAL_URL": "https://portal.example"}, "https://portal.example"),
    ],
    ids=["default", "port", "explicit"],
)
def test_portal_url_defaults_to_the_port_make_run_serves(environment: dict[str, str], url: str) -> None:
    """`make run` seeds the demo before bin/run-dev starts the server on PORT: the links the seed
    writes name that port because PORTAL_URL's default follows PORT."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "PORTAL_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings.local", **environment}

    result = subprocess.run(
        [sys.executable, "-c", PRINT_PORTAL_URL],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == url
