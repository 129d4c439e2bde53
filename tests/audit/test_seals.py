"""SPEC EVD-1: the daily run seals the chain's end with a key the database never holds, so a cut tail
or a rehashed chain shows in audit_verify even when the head row was fixed to match."""

import datetime as dt
import hashlib
import hmac
import json
import logging
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit import seals
from audit.jobs import seal_the_chain
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, audit_verify, compute_hash
from core import lifecycle
from tests.audit.test_audit import _tamper, _three_events

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 1, 1, 0, 3, tzinfo=dt.UTC)


def _seal_files(settings) -> list[Path]:  # noqa: ANN001
    return sorted(Path(settings.EVIDENCE_SEAL_DIR).glob("seal-*.json"))


def test_evd1_the_daily_run_seals_the_chain_end_once_a_day(settings, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    # given
    settings.EVIDENCE_SEAL_KEY = "k" * 64
    *_, third = _three_events()

    # when
    with caplog.at_level(logging.INFO, logger="audit.seals"):
        results = {job.name: count for job, count in lifecycle.run_day(DAY, now=NOW)}
    again = {job.name: count for job, count in lifecycle.run_day(DAY, now=NOW + dt.timedelta(hours=1))}

    # then
    assert [job.name for job in lifecycle.jobs()][-1] == "audit.seal"
    assert (results["audit.seal"], again["audit.seal"]) == (1, 0)
    expected_mac = hmac.new(b"k" * 64, f"2026-03-01|{third.pk}|{third.hash}".encode(), hashlib.sha256).hexdigest()
    record = {
        "day": "2026-03-01",
        "event_id": third.pk,
        "event_hash": third.hash,
        "sealed_at": "2026-03-01T01:00:03+00:00",
        "hmac": expected_mac,
    }
    assert [path.name for path in _seal_files(settings)] == ["seal-2026-03-01.json"]
    assert json.loads(_seal_files(settings)[0].read_text()) == record  # the first run's, not rewritten
    assert [r.getMessage() for r in caplog.records if r.name == "audit.seals"] == [
        f"evidence seal {json.dumps(record, sort_keys=True)}"
    ]
    assert audit_verify() == (3, None)


def test_evd1_audit_verify_sees_a_cut_tail_whose_head_was_fixed(settings) -> None:  # noqa: ANN001
    """What the owner of the tables could do: triggers off, the last event deleted, the head row
    pointed at the event before. The chain alone still reads intact; the seal does not."""
    # given
    _, second, third = _three_events()
    seal_the_chain(day=DAY, now=NOW)

    # when
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s", [second.hash])

    # then
    checked, broken = audit_verify()
    assert checked == 2
    assert broken is not None
    assert broken.event_id == third.pk
    assert broken.reason == f"the seal of 2026-03-01 names event #{third.pk}, which is missing (the chain was cut)"
    with pytest.raises(CommandError, match=f"audit chain broken at event #{third.pk}: the seal of 2026-03-01"):
        call_command("audit_verify")


def test_evd1_audit_verify_sees_a_chain_rehashed_after_a_change(settings) -> None:  # noqa: ANN001
    # given
    first, second, third = _three_events()
    seal_the_chain(day=DAY, now=NOW)
    seal_the_chain(day=DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))

    # when: the second event changed, it and the next rehashed, the head fixed: a consistent chain
    second.rule = "ORG-2"
    second.hash = compute_hash(second)
    third.prev_hash = second.hash
    third.hash = compute_hash(third)
    _tamper("UPDATE audit_auditevent SET rule = %s, hash = %s WHERE id = %s", ["ORG-2", second.hash, second.pk])
    _tamper(
        "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [third.prev_hash, third.hash, third.pk]
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s", [third.hash])

    # then: the first day's seal names the event rewritten
    _, broken = audit_verify()
    assert broken is not None
    assert broken.event_id == third.pk
    assert broken.reason == (
        f"the seal of 2026-03-01 names event #{third.pk}, whose hash has changed (the chain was rewritten)"
    )


def test_evd1_a_seal_forged_without_the_key_is_a_break(settings) -> None:  # noqa: ANN001
    # given: the tail cut, and the seal rewritten to name the new last event, without the key
    _, second, third = _three_events()
    seal_the_chain(day=DAY, now=NOW)
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s", [second.hash])
    path = _seal_files(settings)[0]
    record = json.loads(path.read_text())
    record.update(event_id=second.pk, event_hash=second.hash)
    path.write_text(json.dumps(record))

    # when
    _, broken = audit_verify()

    # then
    assert broken is not None
    assert (broken.event_id, broken.reason) == (0, "the seal of 2026-03-01 is not genuine (its HMAC does not match)")


def test_evd1_a_seal_made_with_another_key_is_a_break(settings) -> None:  # noqa: ANN001
    _three_events()
    settings.EVIDENCE_SEAL_KEY = "the key of someone else"
    seal_the_chain(day=DAY, now=NOW)
    settings.EVIDENCE_SEAL_KEY = "the provider's key"

    _, broken = audit_verify()

    assert broken is not None
    assert broken.reason == "the seal of 2026-03-01 is not genuine (its HMAC does not match)"


def test_evd1_an_empty_chain_is_sealed_and_verifies(settings) -> None:  # noqa: ANN001
    assert seal_the_chain(day=DAY, now=NOW) == 1

    assert json.loads(_seal_files(settings)[0].read_text())["event_id"] == 0
    assert json.loads(_seal_files(settings)[0].read_text())["event_hash"] == GENESIS_HASH
    assert audit_verify() == (0, None)


def test_evd1_an_unreadable_seal_is_a_break(settings) -> None:  # noqa: ANN001
    _three_events()
    seal_the_chain(day=DAY, now=NOW)
    _seal_files(settings)[0].write_text("{not json")

    _, broken = audit_verify()

    assert broken is not None
    assert broken.reason.startswith("the seal file seal-2026-03-01.json cannot be read")


def test_evd1_audit_verify_counts_the_seals(settings, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    _three_events()
    seal_the_chain(day=DAY, now=NOW)
    seal_the_chain(day=DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1))

    call_command("audit_verify")

    assert "audit chain intact: 3 events verified, 2 seals checked" in capsys.readouterr().out
    assert AuditEvent.objects.count() == 3  # sealing writes no event: the seal is outside the chain
    assert seals.seal_path(DAY).exists()
