"""SPEC EVD-1: append-only, hash-chained evidence; audit_verify names the first broken link."""

import datetime as dt
import importlib

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import GENESIS_HASH, Actor, audit_record, audit_verify, compute_hash
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _three_events() -> list[AuditEvent]:
    organization = OrganizationFactory()
    user = UserFactory()
    return [
        audit_record(
            actor=Actor.for_user(user, client_address="192.0.2.7"),
            action="organization.created",
            rule="ORG-1",
            obj=organization,
            organization=organization,
            after={"name": "A"},
            at=AT,
        ),
        audit_record(
            actor=Actor.system("accounts.deemed_acceptance"),
            action="document.deemed_accepted",
            rule="ORG-8",
            obj=organization,
            organization=organization,
            at=AT + dt.timedelta(seconds=1),
        ),
        audit_record(
            actor=Actor.for_user(user),
            action="organization.contact_changed",
            rule="ORG-1",
            obj=organization,
            organization=organization,
            before={"city": "Bern"},
            after={"city": "Genève"},
            at=AT + dt.timedelta(seconds=2),
        ),
    ]


def _tamper(sql: str, params: list[object]) -> None:
    """What a person with database access could do: bypass the append-only trigger and edit a row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # superuser: triggers off
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_evd1_events_are_chained_by_hash() -> None:
    first, second, third = _three_events()

    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    stored = AuditEvent.objects.get(pk=first.pk)
    assert (stored.actor_type, stored.actor_label, stored.client_address) == (
        "user",
        stored.actor_user.email,
        "192.0.2.7",
    )
    assert second.actor_label == "job:accounts.deemed_acceptance"
    assert audit_verify() == (3, None)


def test_evd1_audit_verify_names_the_first_changed_event() -> None:
    first, second, third = _three_events()

    _tamper("UPDATE audit_auditevent SET after = %s WHERE id = %s", ['{"city": "Zürich"}', third.pk])
    _tamper("UPDATE audit_auditevent SET rule = %s WHERE id = %s", ["ORG-2", second.pk])

    checked, broken = audit_verify()
    assert broken is not None
    assert broken.event_id == second.pk
    assert "changed" in broken.reason
    with pytest.raises(CommandError, match=f"audit chain broken at event #{second.pk}"):
        call_command("audit_verify")


def test_evd1_audit_verify_sees_a_removed_event() -> None:
    first, second, third = _three_events()

    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [second.pk])

    _, broken = audit_verify()
    assert broken is not None
    assert broken.event_id == third.pk
    assert "removed" in broken.reason


def test_evd1_audit_verify_sees_the_last_event_removed() -> None:
    *_, third = _three_events()

    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])

    _, broken = audit_verify()
    assert broken is not None
    assert broken.event_id == 0


def test_evd1_intact_chain_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    _three_events()

    call_command("audit_verify")

    assert "audit chain intact: 3 events verified" in capsys.readouterr().out


def test_evd1_no_update_or_delete_path_in_the_orm() -> None:
    _three_events()

    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.all().update(rule="X")
    with pytest.raises(PermissionError, match="append-only"):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(rule="X").count() == 0
    assert AuditEvent.objects.count() == 3


@pytest.mark.postgres
def test_evd1_postgresql_refuses_update_and_delete() -> None:
    first, *_ = _three_events()

    for sql in ("UPDATE audit_auditevent SET rule = 'X' WHERE id = %s", "DELETE FROM audit_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [first.pk])

    assert AuditEvent.objects.get(pk=first.pk).rule == "ORG-1"
    assert audit_verify() == (3, None)


def test_evd1_hashes_survive_the_database_round_trip() -> None:
    """What the database gives back hashes like what was written: IPv4-mapped IPv6 addresses,
    floats, decimals, dates, nested structures and non-ASCII text."""
    import decimal

    organization = OrganizationFactory()
    audit_record(
        actor=Actor(type="user", label="ünïcode@example.com", client_address="::ffff:1.2.3.4"),
        action="test.round_trip",
        rule="EVD-1",
        obj=organization,
        organization=organization,
        before={"amount": decimal.Decimal("12.30"), "ratio": 1e16, "when": dt.date(2026, 2, 28)},
        after={"nested": {"list": [1, 2.5, "drei"], "flag": True, "none": None}, "city": "Zürich"},
        at=AT,
    )

    stored = AuditEvent.objects.get()
    assert stored.client_address == "1.2.3.4"
    assert stored.before == {"amount": "12.30", "ratio": "1e+16", "when": "2026-02-28"}
    assert stored.after == {"nested": {"list": [1, "2.5", "drei"], "flag": True, "none": None}, "city": "Zürich"}
    assert compute_hash(stored) == stored.hash
    assert audit_verify() == (1, None)


def test_evd1_a_missing_chain_head_with_events_is_a_break() -> None:
    _three_events()

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditchainhead")

    _, broken = audit_verify()
    assert broken is not None
    assert broken.reason == "the chain head is missing"


@pytest.mark.postgres
def test_evd1_postgresql_refuses_truncate() -> None:
    _three_events()

    migration = importlib.import_module("audit.migrations.0003_refuse_truncate")
    with connection.cursor() as cursor:
        cursor.execute(migration.CREATE)  # off in the test database, which the runner truncates
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # let the test's own inserts settle first
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent CASCADE")

    assert AuditEvent.objects.count() == 3


def test_evd1_many_events_are_chained_with_the_same_hashes_as_one_by_one() -> None:
    """audit_record_many serializes its events before it locks the chain head and only hashes them
    under the lock: each stored hash is still the SHA-256 of the event's canonical JSON."""
    from audit.services import AuditSpec, audit_record_many

    organization = OrganizationFactory()
    odd = {"quote": 'he said "no"\\', "rule": "not the column", "prev_hash": "x", "z": "ü\u2028"}
    audit_record_many(
        [
            AuditSpec(actor=Actor.system("test"), action="test.many", rule=rule, obj=organization, after=odd)
            for rule in ("EVD-1", 'R"2', "Ω-3")
        ],
        at=AT,
    )

    events = list(AuditEvent.objects.order_by("id"))
    assert [event.rule for event in events] == ["EVD-1", 'R"2', "Ω-3"]
    assert [event.prev_hash for event in events] == [GENESIS_HASH, events[0].hash, events[1].hash]
    assert all(compute_hash(event) == event.hash for event in events)
    assert audit_verify() == (3, None)
