"""The checks of one reported usage value (SPEC USE-2, USE-3) as pure functions of plain values: no
query here. The ingest (usage.services.ingest) loads what they need once per batch — the Services
named, the resources — and gives each value its answer: accepted as a slot of a Zurich day, or refused
with a machine code and a plain message naming what is wrong.

A value is `{"service": <id>, "resource": "<slug>", "hour": "<ISO-8601 instant>", "quantity": <number>}`:
- the hour is the UTC start of the hour (any offset is read as the instant it names), on the hour,
  not after `now`, within the Service's life: from its activation hour (its creation's for a Service
  never activated, a trial) to before its termination;
- the quantity is a number (JSON numbers are read as exact decimals), finite, at least 0, at most the
  resource's `max_per_hour`, with at most 6 decimals (it is stored in millionths, `usage.models.MICRO`).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from usage import engine
from usage.models import MICRO

RULE = "USE-2"
BATCH_MAX = 10_000  # values per batch (the metering door refuses more)
MAX_ID = 2**63 - 1  # a Service id is a bigint: larger numbers name no Service and never reach the database


# Machine codes of the refusals (the API's `code`), each with its plain message.
SERVICE_INVALID = "service_invalid"
SERVICE_UNKNOWN = "service_unknown"
SERVICE_NOT_USAGE_BASED = "service_not_usage_based"
RESOURCE_UNKNOWN = "resource_unknown"
HOUR_INVALID = "hour_invalid"
HOUR_NOT_ON_THE_HOUR = "hour_not_on_the_hour"
HOUR_IN_FUTURE = "hour_in_future"
HOUR_BEFORE_SERVICE = "hour_before_service"
HOUR_AFTER_TERMINATION = "hour_after_termination"
QUANTITY_NOT_A_NUMBER = "quantity_not_a_number"
QUANTITY_NOT_FINITE = "quantity_not_finite"
QUANTITY_NEGATIVE = "quantity_negative"
QUANTITY_TOO_LARGE = "quantity_too_large"
QUANTITY_TOO_PRECISE = "quantity_too_precise"
VALUE_INVALID = "value_invalid"
DUPLICATE_CONFLICT = "duplicate_conflict"
MONTH_CLOSED = "month_closed"


def message(code: str, **params: Any) -> str:
    """The plain message of a refusal, in the active language."""
    messages = {
        VALUE_INVALID: _("A value is an object with the fields service, resource, hour and quantity."),
        SERVICE_INVALID: _("The service must be a Service id (a whole number)."),
        SERVICE_UNKNOWN: _("There is no Service with id %(service)s."),
        SERVICE_NOT_USAGE_BASED: _("Service %(service)s is not billed by usage."),
        RESOURCE_UNKNOWN: _("There is no metered resource called %(resource)s."),
        HOUR_INVALID: _("The hour must be an ISO-8601 instant with its time zone, e.g. 2026-03-20T09:00:00Z."),
        HOUR_NOT_ON_THE_HOUR: _("The hour must be the start of an hour (minutes and seconds zero in UTC)."),
        HOUR_IN_FUTURE: _("This hour has not started yet."),
        HOUR_BEFORE_SERVICE: _("This hour is before Service %(service)s started."),
        HOUR_AFTER_TERMINATION: _("This hour is after Service %(service)s was terminated."),
        QUANTITY_NOT_A_NUMBER: _("The quantity must be a number."),
        QUANTITY_NOT_FINITE: _("The quantity must be a finite number."),
        QUANTITY_NEGATIVE: _("The quantity cannot be negative."),
        QUANTITY_TOO_LARGE: _("The quantity is more than %(maximum)s in one hour for this resource."),
        QUANTITY_TOO_PRECISE: _("The quantity has more than 6 decimals."),
        DUPLICATE_CONFLICT: _(
            "This batch gives the same Service, resource and hour more than once with different quantities."
        ),
        MONTH_CLOSED: _("The month of this hour is already invoiced: its usage can no longer change."),
    }
    return messages[code] % params if params else messages[code]


@dataclass(frozen=True)
class ServiceLife:
    """What the checks need of a Service named by a value."""

    id: int
    organization_id: int
    plan_id: int
    usage_based: bool
    first_hour: dt.datetime  # the first hour accepted: that of its activation (or creation)
    ends_at: dt.datetime | None  # its termination: hours starting then or later are refused


@dataclass(frozen=True)
class ResourceLimit:
    id: int
    slug: str
    max_micro: int  # Resource.max_per_hour in millionths


@dataclass(frozen=True)
class Slot:
    """Where an hour goes: its Zurich day, the slot in that day (usage.engine.slot_of) and its month."""

    hour: dt.datetime
    day: dt.date
    slot: int
    month: dt.date


def first_hour(activated_at: dt.datetime | None, created_at: dt.datetime) -> dt.datetime:
    start = (activated_at or created_at).astimezone(dt.UTC)
    return start.replace(minute=0, second=0, microsecond=0)


def parse_hour(text: Any, now: dt.datetime) -> Slot | str:
    """The slot of an hour given as text, or the code of its refusal (the service's life aside)."""
    if not isinstance(text, str) or len(text) > 64:
        return HOUR_INVALID
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        return HOUR_INVALID
    if instant.tzinfo is None:
        return HOUR_INVALID
    try:
        hour = instant.astimezone(dt.UTC)
    except OverflowError:
        return HOUR_INVALID
    if hour.minute or hour.second or hour.microsecond:
        return HOUR_NOT_ON_THE_HOUR
    if hour > now:
        return HOUR_IN_FUTURE
    day, slot = engine.slot_of(hour)
    return Slot(hour=hour, day=day, slot=slot, month=engine.month_of(day))


_MICRO = Decimal(MICRO)


def parse_quantity(quantity: Any, max_micro: int) -> int | str:
    """A quantity in millionths of its unit, or the code of its refusal."""
    if type(quantity) is int:
        micro = quantity * MICRO
    else:
        if isinstance(quantity, float):  # from Python callers: the number it prints as
            quantity = Decimal(repr(quantity))
        if not isinstance(quantity, Decimal):
            return QUANTITY_NOT_A_NUMBER
        if not quantity.is_finite():
            return QUANTITY_NOT_FINITE
        try:
            scaled = quantity * _MICRO
            micro = int(scaled)
        except (InvalidOperation, OverflowError):
            return QUANTITY_TOO_LARGE
        if micro != scaled:
            return QUANTITY_TOO_PRECISE if quantity >= 0 else QUANTITY_NEGATIVE
    if micro < 0:
        return QUANTITY_NEGATIVE
    if micro > max_micro:
        return QUANTITY_TOO_LARGE
    return micro


class Checked(NamedTuple):
    """A value that passed the checks (a tuple: a batch makes 10,000 of them)."""

    position: int  # in the batch
    service_id: int
    resource_id: int
    slot: Slot
    micro: int


@dataclass(frozen=True)
class Refusal:
    index: int
    value: Any  # as sent
    code: str
    message: str
    rule: str = RULE


def service_id_of(value: Any) -> int | None:
    """The Service id a value names, when it can be one (for the batch's one query of Services)."""
    if isinstance(value, dict):
        service = value.get("service")
        if type(service) is int and 0 < service <= MAX_ID:
            return service
    return None


def check(
    values: list[Any],
    *,
    services: dict[int, ServiceLife],
    resources: dict[str, ResourceLimit],
    now: dt.datetime,
) -> tuple[list[Checked], list[Refusal]]:
    """Each value accepted for the database's part of the work (the month still open, the value new,
    the same or a correction), or refused. A key (Service, resource, hour) given twice with the same
    quantity is counted once (the later ones answer as unchanged, see `ingest`); given twice with
    different quantities, every occurrence is refused (the batch does not say which is true)."""
    checked: list[Checked] = []
    refused: list[Refusal] = []
    hours: dict[Any, Slot | str] = {}

    def refuse(index: int, value: Any, code: str, **params: Any) -> None:
        refused.append(Refusal(index=index, value=value, code=code, message=message(code, **params)))

    for index, value in enumerate(values):
        try:
            service_id, slug, text, quantity = value["service"], value["resource"], value["hour"], value["quantity"]
        except (KeyError, TypeError, IndexError):  # not an object, or a field missing
            refuse(index, value, VALUE_INVALID)
            continue
        if type(service_id) is not int:
            refuse(index, value, SERVICE_INVALID)
            continue
        service = services.get(service_id)
        if service is None:
            refuse(index, value, SERVICE_UNKNOWN, service=service_id)
            continue
        if not service.usage_based:
            refuse(index, value, SERVICE_NOT_USAGE_BASED, service=service_id)
            continue
        resource = resources.get(slug) if isinstance(slug, str) else None
        if resource is None:
            refuse(index, value, RESOURCE_UNKNOWN, resource=str(slug)[:64])
            continue
        try:
            slot = hours[text]
        except KeyError:
            slot = hours[text] = parse_hour(text, now)
        except TypeError:  # not hashable: a list or an object
            slot = HOUR_INVALID
        if type(slot) is str:
            refuse(index, value, slot)
            continue
        assert isinstance(slot, Slot)
        if slot.hour < service.first_hour:
            refuse(index, value, HOUR_BEFORE_SERVICE, service=service_id)
            continue
        if service.ends_at is not None and slot.hour >= service.ends_at:
            refuse(index, value, HOUR_AFTER_TERMINATION, service=service_id)
            continue
        micro = parse_quantity(quantity, resource.max_micro)
        if type(micro) is str:
            params = {"maximum": format(engine.from_micro(resource.max_micro).normalize(), "f")}
            refuse(index, value, micro, **(params if micro == QUANTITY_TOO_LARGE else {}))
            continue
        assert isinstance(micro, int)
        checked.append(Checked(position=index, service_id=service_id, resource_id=resource.id, slot=slot, micro=micro))
    return checked, refused


def dedupe(checked: list[Checked], values: list[Any]) -> tuple[list[Checked], list[int], list[Refusal]]:
    """The values of distinct keys; the indexes of the repeats of a key with the same quantity
    (counted once); the refusals of every occurrence of a key given with different quantities."""
    first: dict[tuple[int, int, dt.datetime], Checked] = {}
    repeats: dict[tuple[int, int, dt.datetime], list[Checked]] = {}
    for item in checked:
        key = (item.service_id, item.resource_id, item.slot.hour)
        if key in first:
            repeats.setdefault(key, []).append(item)
        else:
            first[key] = item
    if not repeats:
        return checked, [], []
    conflicting: list[Checked] = []
    same: list[int] = []
    for key, others in repeats.items():
        original = first[key]
        if any(other.micro != original.micro for other in others):
            del first[key]
            conflicting.extend([original, *others])
        else:
            same.extend(other.position for other in others)
    refused = [
        Refusal(
            index=item.position,
            value=values[item.position],
            code=DUPLICATE_CONFLICT,
            message=message(DUPLICATE_CONFLICT),
        )
        for item in sorted(conflicting)
    ]
    return list(first.values()), sorted(same), refused
