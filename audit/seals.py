"""Seals of the audit chain kept outside the database (SPEC EVD-1).

Each day the daily run seals the chain's last event: HMAC-SHA256(EVIDENCE_SEAL_KEY,
"day|event id|event hash"), written to a file of its own under EVIDENCE_SEAL_DIR and to the log.
The key is a setting, never in the database: whoever can rewrite the tables (the owner, a
superuser) can rehash the chain from any point on, or cut its last events and fix the head row,
but cannot forge a seal. `audit_verify` checks every seal: an event sealed that is gone, or whose
hash changed, is a break naming the seal's day.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from audit.models import AuditChainHead, AuditEvent
from audit.services import GENESIS_HASH, ChainBreak

logger = logging.getLogger(__name__)

SEAL_PREFIX = "seal-"


@dataclass(frozen=True)
class Seal:
    day: dt.date
    event_id: int  # 0: the chain was empty
    event_hash: str
    sealed_at: str
    mac: str

    def genuine(self) -> bool:
        return hmac.compare_digest(self.mac, seal_mac(self.day, self.event_id, self.event_hash))


def seal_mac(day: dt.date, event_id: int, event_hash: str) -> str:
    message = f"{day.isoformat()}|{event_id}|{event_hash}".encode()
    return hmac.new(settings.EVIDENCE_SEAL_KEY.encode(), message, hashlib.sha256).hexdigest()


def _directory() -> Path:
    return Path(settings.EVIDENCE_SEAL_DIR)


def seal_path(day: dt.date) -> Path:
    return _directory() / f"{SEAL_PREFIX}{day.isoformat()}.json"


def _chain_end() -> tuple[int, str]:
    """The last event's id and hash, read under the chain head's lock: no event is being appended."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(id=1).first()
        last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    if last is None:
        return 0, GENESIS_HASH
    if head is not None and head.last_hash != last[1]:
        logger.warning("evidence seal: the chain head does not match event #%s (audit_verify will say where)", last[0])
    return last


def seal_write(*, day: dt.date, now: dt.datetime) -> Seal | None:
    """Seal the chain's end as of `day`; None when the day is sealed already (a rerun writes nothing).

    The file appears whole or not at all: written aside, then linked to its name, which fails if
    a seal of the day is there (two runs of one day racing leave one seal)."""
    path = seal_path(day)
    if path.exists():
        return None
    event_id, event_hash = _chain_end()
    seal = Seal(
        day=day,
        event_id=event_id,
        event_hash=event_hash,
        sealed_at=now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        mac=seal_mac(day, event_id, event_hash),
    )
    record = {
        "day": day.isoformat(),
        "event_id": event_id,
        "event_hash": event_hash,
        "sealed_at": seal.sealed_at,
        "hmac": seal.mac,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".draft-")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(record, sort_keys=True) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return None
    finally:
        os.unlink(draft)
    # The log is the seal's second copy, outside the database as well (EVD-1).
    logger.info("evidence seal %s", json.dumps(record, sort_keys=True))
    return seal


class UnreadableSeal(ValueError):
    pass


def seals_read() -> list[Seal]:
    """Every seal under EVIDENCE_SEAL_DIR, oldest day first."""
    directory = _directory()
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob(f"{SEAL_PREFIX}*.json")):
        try:
            record = json.loads(path.read_text())
            found.append(
                Seal(
                    day=dt.date.fromisoformat(record["day"]),
                    event_id=int(record["event_id"]),
                    event_hash=str(record["event_hash"]),
                    sealed_at=str(record["sealed_at"]),
                    mac=str(record["hmac"]),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise UnreadableSeal(f"the seal file {path.name} cannot be read: {error}") from error
    return found


# Sealed events looked up per query: a year of daily seals in one.
_LOOKUP_CHUNK = 500


def seals_check(seals: list[Seal]) -> ChainBreak | None:
    """The first seal the chain no longer matches: forged, or naming an event gone or changed."""
    for seal in seals:
        if not seal.genuine():
            return ChainBreak(0, f"the seal of {seal.day.isoformat()} is not genuine (its HMAC does not match)")
    named = [seal for seal in seals if seal.event_id]
    for start in range(0, len(named), _LOOKUP_CHUNK):
        chunk = named[start : start + _LOOKUP_CHUNK]
        hashes = dict(AuditEvent.objects.filter(id__in=[seal.event_id for seal in chunk]).values_list("id", "hash"))
        for seal in chunk:
            day = seal.day.isoformat()
            if seal.event_id not in hashes:
                return ChainBreak(
                    seal.event_id,
                    f"the seal of {day} names event #{seal.event_id}, which is missing (the chain was cut)",
                )
            if hashes[seal.event_id] != seal.event_hash:
                return ChainBreak(
                    seal.event_id,
                    f"the seal of {day} names event #{seal.event_id}, whose hash has changed (the chain was rewritten)",
                )
    return None
