"""The one lock order (docs/decisions.md, "Lock order"; SLA-4, EVD-1): the audit chain head is taken
last, and the events written under it name their Organization by a foreign key, for which PostgreSQL
takes a key-share lock on the Organization row. A service that locks an Organization to change it
must therefore lock it FOR NO KEY UPDATE: a FOR UPDATE lock would wait on that key-share lock of an
event written meanwhile, and that event's transaction on the chain head — a deadlock."""

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from accounts import services as accounts_services
from audit.models import AuditEvent
from audit.services import Actor, audit_record
from billing.services import means as means_services
from tests.factories import member

NOW = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)


def _run(action: Callable[[], None], errors: list[BaseException]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '20s'")  # never hang the suite: a timeout fails too
        action()
    except BaseException as error:  # noqa: BLE001  (reported by the assertion of the test)
        errors.append(error)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "lock",
    [
        lambda organization: accounts_services.lock_organization(organization),
        lambda organization: means_services._lock_organization(organization.pk),
    ],
    ids=["accounts", "billing.means"],
)
def test_sla4_evd1_a_locked_organization_does_not_deadlock_evidence_naming_it(lock: Callable[[Any], Any]) -> None:
    # given an Organization
    organization = member().organization
    locked, other_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def change_organization() -> None:
        with transaction.atomic():
            lock(organization)
            locked.set()
            other_done.wait(timeout=3)  # on FOR UPDATE the other is blocked: go on regardless
            audit_record(actor=Actor.system("test"), action="t.first", rule="EVD-1", obj=organization, at=NOW)

    def record_evidence() -> None:
        locked.wait(timeout=10)
        try:
            with transaction.atomic():
                audit_record(
                    actor=Actor.system("test"),
                    action="t.second",
                    rule="EVD-1",
                    obj=organization,
                    organization=organization,
                    at=NOW,
                )
        finally:
            other_done.set()

    # when one service holds the Organization's lock while another records evidence naming it
    threads = [
        threading.Thread(target=_run, args=(change_organization, errors)),
        threading.Thread(target=_run, args=(record_evidence, errors)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then both commit, the evidence first (it did not wait for the Organization's lock)
    assert errors == []
    assert list(AuditEvent.objects.filter(action__startswith="t.").values_list("action", flat=True)) == [
        "t.second",
        "t.first",
    ]
