"""The one way to write evidence (SPEC EVD-1, EVD-2)."""

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, models, transaction

from audit.models import AuditChainHead, AuditEvent
from core.bulk import bulk_insert, bulk_insert_rows

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a customer user, a staff user, or a named system job."""

    type: str
    label: str
    user: Any = None
    client_address: str | None = None

    @classmethod
    def for_user(cls, user: Any, *, client_address: str | None = None) -> "Actor":
        actor_type = AuditEvent.ActorType.STAFF if user.is_staff else AuditEvent.ActorType.USER
        return cls(type=actor_type, label=user.email, user=user, client_address=client_address)

    @classmethod
    def system(cls, job_name: str) -> "Actor":
        return cls(type=AuditEvent.ActorType.SYSTEM, label=f"job:{job_name}")


# The columns an event's hash covers (all but its id and its own hash), in the order they are written.
_HASHED = (
    "occurred_at",
    "actor_type",
    "actor_user_id",
    "actor_label",
    "organization_id",
    "object_type",
    "object_id",
    "action",
    "rule",
    "before",
    "after",
    "client_address",
    "prev_hash",
)
_COLUMNS = (*_HASHED, "hash")


def _canonical(values: dict[str, Any]) -> str:
    payload = dict(values)
    payload["occurred_at"] = values["occurred_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _hash_of(values: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON: what `audit_verify` recomputes from the stored row
    (events are written with `_Unchained`, which gives the same hash in two steps)."""
    return hashlib.sha256(_canonical(values).encode()).hexdigest()


_dumps = partial(json.dumps, sort_keys=True, separators=(",", ":"), default=str)
# The canonical JSON's keys in order: those before "after", "after", "before", those up to
# "prev_hash", then "prev_hash" and "rule" (checked here: `_Unchained` relies on it).
_ORDER = sorted(_HASHED)
_FIRST = tuple(name for name in _ORDER if name < "after")
_LAST = tuple(name for name in _ORDER if "before" < name < "prev_hash")
assert [*_FIRST, "after", "before", *_LAST, "prev_hash", "rule"] == _ORDER


@dataclass(frozen=True)
class _Unchained:
    """An event's canonical JSON cut where its `prev_hash` goes. The keys are sorted, and only
    "rule" sorts after "prev_hash", so `head + prev_hash + tail` is exactly the JSON `_hash_of`
    hashes: the costly serialization is done before the chain head is locked, and only the
    SHA-256 of each event under the lock. `before` and `after` are the JSON texts of those
    columns, serialized once: spliced into the canonical JSON (a sorted dict's JSON holds each
    value's own sorted JSON) and copied into the table as they are."""

    head: str
    tail: str
    before: str
    after: str

    @classmethod
    def of(cls, values: dict[str, Any]) -> "_Unchained":
        before, after = _dumps(values["before"]), _dumps(values["after"])
        last = {name: values[name] for name in _LAST}
        last["occurred_at"] = values["occurred_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
        head = (
            _dumps({name: values[name] for name in _FIRST})[:-1]
            + f',"after":{after},"before":{before},'
            + _dumps(last)[1:-1]
            + ',"prev_hash":"'
        )
        return cls(head=head, tail='","rule":' + _dumps(values["rule"]) + "}", before=before, after=after)

    def hash(self, prev_hash: str) -> str:
        return hashlib.sha256(f"{self.head}{prev_hash}{self.tail}".encode()).hexdigest()


def compute_hash(event: AuditEvent) -> str:
    return _hash_of({name: getattr(event, name) for name in _HASHED})


_NATIVE = (str, int, bool, type(None))  # bool is an int; floats are not here on purpose


def _stable(value: Any) -> Any:
    """Values that come back from PostgreSQL's jsonb exactly as written: floats (which jsonb may
    rewrite, e.g. 1e16 -> 10000000000000000) and everything not JSON-native become strings."""
    if isinstance(value, dict):
        # Most evidence is a flat dict of strings and numbers: no call per item for those.
        return {
            str(key): item if type(item) in _NATIVE else _stable(item)  # exact types: subclasses go the long way
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_stable(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any]:
    return _stable(values or {})


def _normalized_address(address: str | None) -> str | None:
    """The address as PostgreSQL's inet gives it back: IPv4-mapped IPv6 addresses as plain IPv4."""
    if not address:
        return None
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def audit_record(
    *,
    actor: Actor,
    action: str,
    rule: str,
    obj: models.Model | type[models.Model],
    organization: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: dt.datetime,
) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction that makes the change, so the
    evidence commits (or rolls back) with it."""
    spec = AuditSpec(
        actor=actor, action=action, rule=rule, obj=obj, organization=organization, before=before, after=after
    )
    with transaction.atomic():
        # The chain head is the last lock of a transaction (docs/decisions.md, "Lock order").
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1, defaults={"last_hash": GENESIS_HASH})
        event = _event(spec, at=at, prev_hash=head.last_hash)
        event.save(force_insert=True)
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event


@dataclass(frozen=True)
class AuditSpec:
    """One event for `audit_record_many` (the same fields as `audit_record`)."""

    actor: Actor
    action: str
    rule: str
    obj: models.Model | type[models.Model]
    organization: Any = None  # an Organization, or its id
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def _organization_id(organization: Any) -> int | None:
    """An Organization or its id (the batches name it by id, to read no row for it)."""
    if organization is None or isinstance(organization, int):
        return organization
    return int(organization.pk)


def _event_values(spec: AuditSpec, *, at: dt.datetime, prev_hash: str) -> dict[str, Any]:
    """The columns of one event, its hash included."""
    values = _unhashed_values(spec, at=at)
    values["prev_hash"] = prev_hash
    values["hash"] = _Unchained.of(values).hash(prev_hash)
    return values


def _unhashed_values(spec: AuditSpec, *, at: dt.datetime) -> dict[str, Any]:
    """The columns of one event but its place in the chain (`prev_hash`, `hash`)."""
    obj = spec.obj
    user = spec.actor.user
    return {
        "occurred_at": at,
        "actor_type": spec.actor.type,
        "actor_user_id": user.pk if user is not None else None,
        "actor_label": spec.actor.label,
        "organization_id": _organization_id(spec.organization),
        "object_type": obj._meta.label_lower,
        "object_id": "*" if isinstance(obj, type) else str(obj.pk),  # a model class: a list of its rows
        "action": spec.action,
        "rule": spec.rule,
        "before": _jsonable(spec.before),
        "after": _jsonable(spec.after),
        "client_address": _normalized_address(spec.actor.client_address),
    }


def _event(spec: AuditSpec, *, at: dt.datetime, prev_hash: str) -> AuditEvent:
    return AuditEvent(**_event_values(spec, at=at, prev_hash=prev_hash))


def audit_record_many(specs: list[AuditSpec], *, at: dt.datetime) -> int:
    """Append many events to the chain in one go (the daily run's batches): one lock of the chain
    head, one insert, one update, whatever their number. Same evidence as `audit_record` each."""
    if not specs:
        return 0
    events = [_unhashed_values(spec, at=at) for spec in specs]
    unchained = [_Unchained.of(values) for values in events]
    with transaction.atomic():
        # Locked last, for as short as can be: parallel batches of the daily run queue here.
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1, defaults={"last_hash": GENESIS_HASH})
        prev_hash = head.last_hash
        rows = []
        postgres = connection.vendor == "postgresql"
        for values, cut in zip(events, unchained, strict=True):
            values["prev_hash"] = prev_hash
            values["hash"] = prev_hash = cut.hash(prev_hash)
            if postgres:  # the JSON texts the hash was computed over, not serialized a second time
                values["before"], values["after"] = cut.before, cut.after
            rows.append([values[name] for name in _COLUMNS])
        if postgres:
            # ids taken in the order given: the chain's order
            bulk_insert_rows(AuditEvent, _COLUMNS, rows, json_text=("before", "after"))
        else:
            bulk_insert([AuditEvent(**dict(zip(_COLUMNS, row, strict=True))) for row in rows])
        head.last_hash = prev_hash
        head.save(update_fields=["last_hash"])
    return len(rows)


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


# Events are read in chunks so verifying a long trail needs constant memory.
VERIFY_CHUNK_SIZE = 2000


def _events_in_order() -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        chunk = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:VERIFY_CHUNK_SIZE])
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1].id


def audit_verify() -> tuple[int, ChainBreak | None]:
    """Recompute the chain and check it against its seals (audit.seals); return how many events
    were checked and the first broken link.

    Reads one snapshot (REPEATABLE READ on PostgreSQL): the head first, then the events up to it,
    so events appended while it runs are neither counted nor reported missing. The seals are read
    before it: every event a seal names was committed before its seal was written.
    """
    from audit import seals  # it builds on this module

    try:
        sealed = seals.seals_read()
    except seals.UnreadableSeal as error:
        return 0, ChainBreak(0, str(error))
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        head = AuditChainHead.objects.filter(id=1).first()
        expected_prev = GENESIS_HASH
        checked = 0
        for event in _events_in_order():
            checked += 1
            if event.prev_hash != expected_prev:
                return checked, ChainBreak(event.id, "does not follow the event before it (one was removed or changed)")
            if compute_hash(event) != event.hash:
                return checked, ChainBreak(event.id, "its content does not match its hash (it was changed)")
            expected_prev = event.hash
        if head is None and checked:
            return checked, ChainBreak(0, "the chain head is missing")
        if head is not None and head.last_hash != expected_prev:
            return checked, ChainBreak(0, "the last events of the chain are missing")
        # A cut tail with the head row fixed, or a chain rehashed from some point on, still reads
        # as a chain: the seals, whose key the database never holds, are what shows it (EVD-1).
        broken = seals.seals_check(sealed)
        if broken:
            return checked, broken
    return checked, None
