"""REN-8: the daily run charges cards outside any transaction. The attempts are committed (CHARGING,
with their keys) before the gateway is called, no row lock is held while it answers, and a second
transaction books the answers; a run that stops between the charge and its booking is resumed by the
next run with the same keys, so nobody is charged twice. On PostgreSQL, with a real second
connection probing the locks."""

import datetime as dt
import time
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from billing.gateway import ChargeRequest, ChargeResult
from billing.gateways.sandbox import SandboxGateway
from billing.models import Invoice, PrepaidAccount
from sandbox.models import GatewayCharge
from subscriptions import jobs
from subscriptions.models import RenewalAttempt, Service
from tests.subscriptions.lifecycle.helpers import at, customer, service

postgres = pytest.mark.postgres
DAY = dt.date(2026, 2, 20)  # E - 8 of Services expiring on 28 February: inside the attempts' window
SLOW = "tests.subscriptions.lifecycle.test_charges_outside_locks.SlowProbingGateway"
DYING = "tests.subscriptions.lifecycle.test_charges_outside_locks.DyingGateway"


class RunStopped(BaseException):
    """A worker killed between two statements (not an Exception: nothing may catch it)."""


def _probe(table: str, ids: list[int]) -> str:
    """From a connection of its own, update the rows with a 300 ms lock timeout: "free" when no
    transaction holds them, else the error's name."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        try:
            other.execute("SET lock_timeout = '300ms'")
            # Updating a row needs its lock, even when the value does not change.
            other.execute(f"UPDATE {table} SET id = id WHERE id = ANY(%s)", [ids])  # noqa: S608 (fixed names)
        except psycopg.errors.LockNotAvailable:
            return "locked"
    return "free"


class SlowProbingGateway(SandboxGateway):
    """The sandbox, 200 ms per charge as a real gateway is, probing the rows the batch works on
    while each charge is under way."""

    probes: list[dict[str, str]] = []
    rows: dict[str, list[int]] = {}

    def charge_many(self, requests: list[ChargeRequest], *, now: dt.datetime) -> list[ChargeResult]:
        for _request in requests:
            time.sleep(0.2)
            self.probes.append({table: _probe(table, ids) for table, ids in self.rows.items()})
        return super().charge_many(requests, now=now)


class DyingGateway(SandboxGateway):
    """Charges, then the worker dies before the answers are booked (`after=True`), or dies before
    the charge reaches the gateway (`after=False`)."""

    after = True

    def charge_many(self, requests: list[ChargeRequest], *, now: dt.datetime) -> list[ChargeResult]:
        if self.after:
            super().charge_many(requests, now=now)
        raise RunStopped


def _due_services(count: int) -> list[Service]:
    return [service(customer(balance="10")) for _ in range(count)]


def _debit(day: dt.date) -> int:
    return jobs.debit_attempts(day=day, now=at(day))


@postgres
@pytest.mark.django_db(transaction=True)
def test_ren8_the_probe_sees_a_lock_when_one_is_held() -> None:
    """The probe of the test below can fail: a row locked by a transaction is reported locked."""
    [svc] = _due_services(1)
    with transaction.atomic():
        Service.objects.select_for_update().get(pk=svc.pk)
        assert _probe("billing_service", [svc.pk]) == "locked"
    assert _probe("billing_service", [svc.pk]) == "free"


@postgres
@pytest.mark.django_db(transaction=True)
def test_ren8_no_row_lock_is_held_while_the_gateway_charges(settings) -> None:  # noqa: ANN001
    settings.PAYMENT_GATEWAY = SLOW
    services = _due_services(3)
    # The renewal invoices are issued in the attempts' run; probe them by Service in the meantime.
    SlowProbingGateway.probes = []
    SlowProbingGateway.rows = {
        "billing_service": [s.pk for s in services],
        "billing_prepaidaccount": list(PrepaidAccount.objects.values_list("pk", flat=True)),
    }

    assert _debit(DAY) == 3

    # Three charges, each 200 ms, and during each the Services and the Prepaid Accounts were free.
    assert SlowProbingGateway.probes == [{"billing_service": "free", "billing_prepaidaccount": "free"}] * 3
    invoices = Invoice.objects.filter(service__in=services, kind=Invoice.Kind.RENEWAL)
    assert sorted(invoices.values_list("status", "amount_paid")) == [("paid", Decimal("108.10"))] * 3
    assert sorted(RenewalAttempt.objects.values_list("outcome", "prepaid_amount", "card_amount")) == [
        ("succeeded", Decimal("10.00"), Decimal("98.10"))
    ] * 3
    assert sorted(Service.objects.filter(pk__in=[s.pk for s in services]).values_list("term", flat=True)) == [2] * 3
    assert sorted(PrepaidAccount.objects.values_list("balance", flat=True)) == [Decimal("0.00")] * 3


@postgres
@pytest.mark.django_db(transaction=True)
def test_ren8_a_run_stopped_between_the_charge_and_its_booking_is_resumed_without_a_second_charge(
    settings,  # noqa: ANN001
) -> None:
    settings.PAYMENT_GATEWAY = DYING
    DyingGateway.after = True
    services = _due_services(2)

    with pytest.raises(RunStopped):
        _debit(DAY)

    # The attempts were committed before the charge; the charges reached the bank; nothing is booked.
    assert sorted(RenewalAttempt.objects.values_list("outcome", flat=True)) == ["charging", "charging"]
    assert GatewayCharge.objects.filter(outcome="succeeded").count() == 2
    assert set(Invoice.objects.filter(service__in=services).values_list("status", flat=True)) == {"open"}
    assert sorted(PrepaidAccount.objects.values_list("balance", flat=True)) == [Decimal("10.00")] * 2

    settings.PAYMENT_GATEWAY = "billing.gateways.sandbox.SandboxGateway"
    _debit(DAY)  # the same day's run again: the charges are sent again with their keys, and booked
    _debit(DAY)  # and once more: nothing left to do

    assert GatewayCharge.objects.count() == 2  # each key charged once
    assert sorted(RenewalAttempt.objects.values_list("outcome", "prepaid_amount", "card_amount")) == [
        ("succeeded", Decimal("10.00"), Decimal("98.10"))
    ] * 2
    invoices = Invoice.objects.filter(service__in=services, kind=Invoice.Kind.RENEWAL)
    assert sorted(invoices.values_list("status", "amount_paid")) == [("paid", Decimal("108.10"))] * 2
    assert sorted(PrepaidAccount.objects.values_list("balance", flat=True)) == [Decimal("0.00")] * 2


@postgres
@pytest.mark.django_db(transaction=True)
def test_ren8_an_attempt_stopped_before_its_charge_is_closed_the_next_day_and_that_day_charges_once(
    settings,  # noqa: ANN001
) -> None:
    settings.PAYMENT_GATEWAY = DYING
    DyingGateway.after = False  # the worker dies before the request leaves
    [svc] = _due_services(1)

    with pytest.raises(RunStopped):
        _debit(DAY)
    assert GatewayCharge.objects.count() == 0

    settings.PAYMENT_GATEWAY = "billing.gateways.sandbox.SandboxGateway"
    next_day = DAY + dt.timedelta(days=1)
    _debit(next_day)

    # The gateway never received the first key: that attempt is closed, the next day's charges.
    assert list(RenewalAttempt.objects.order_by("day").values_list("day", "outcome")) == [
        (DAY, "interrupted"),
        (next_day, "succeeded"),
    ]
    assert list(GatewayCharge.objects.values_list("idempotency_key", flat=True)) == [
        f"renewal:{svc.pk}:term:2:day:{next_day.isoformat()}"
    ]
    svc.refresh_from_db()
    assert (svc.term, svc.expires_on) == (2, dt.date(2026, 3, 31))
