"""The metering door's work (SPEC USE-2, USE-3, USE-7): a batch of usage values recorded value by value.

`values_record` checks every value (usage.values), then, under the lock of each (Service, month) it
touches (usage.bulk, docs/decisions.md "Lock order"), answers each one:
- for a month already billed: refused (USE-2: a correction then goes through a credit note);
- the value already stored for its key: accepted, nothing changes (an idempotent replay);
- another value stored for its key: replaced, the correction recorded with its before and after
  (EVD-1, USE-2);
- nothing stored yet: stored.
The month-to-date totals (UsageTotal) move by the difference in the same transaction (USE-7: a value
accepted is counted at once), then the thresholds and budgets they cross are checked (USE-5, USE-6).
The whole batch is one transaction: it is written entirely or not at all, and the values refused
never stop the others. New values are not evidence events one by one (12 million a day): the values
are their own record; corrections and crossings are.

A fixed number of queries per batch whatever its size (asserted by the tests): the Services, the
resources, the months (2), the stored slots, the slots' write, the totals' write, and the crossings'
look-ups; corrections add the evidence's 3.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.models import Organization
from audit.services import Actor, AuditSpec
from core.errors import RuleViolation
from subscriptions.models import Service
from usage import bulk, engine
from usage import values as checks
from usage.services.crossings import Effects, crossings_check
from usage.values import BATCH_MAX, MONTH_CLOSED, RULE, Refusal


@dataclass
class IngestResult:
    """The answer to a batch: how many values were accepted (`new` + `unchanged` + `corrected`) and,
    for each refused one, its index in the batch, the value as sent, a code and a plain message."""

    new: int = 0
    unchanged: int = 0
    corrected: int = 0
    refused: list[Refusal] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.new + self.unchanged + self.corrected


class BatchTooLarge(RuleViolation):
    def __init__(self, size: int) -> None:
        from django.utils.translation import gettext as _

        super().__init__(
            _("A batch holds at most %(maximum)s values; this one has %(size)s. Send it in smaller batches.")
            % {"maximum": f"{BATCH_MAX:,}".replace(",", "'"), "size": f"{size:,}".replace(",", "'")},
            rule=RULE,
            status=413,
        )


def values_record(*, values: list[Any], actor: Actor, now: dt.datetime) -> IngestResult:
    """Record a batch of usage values `{service, resource, hour, quantity}` (USE-2), see the module."""
    if len(values) > BATCH_MAX:
        raise BatchTooLarge(len(values))
    result = IngestResult()
    with transaction.atomic():
        services = bulk.services_lock(
            service_id for value in values if (service_id := checks.service_id_of(value)) is not None
        )
        checked, refused = checks.check(values, services=services, resources=bulk.resources(), now=now)
        unique, repeats, conflicts = checks.dedupe(checked, values)
        result.refused = refused + conflicts
        result.unchanged = len(repeats)  # the same value twice in the batch: counted once
        if unique:
            _record(unique, values, services, result, actor=actor, now=now)
    result.refused.sort(key=lambda refusal: refusal.index)
    return result


def _record(
    unique: list[checks.Checked],
    values: list[Any],
    services: dict[int, checks.ServiceLife],
    result: IngestResult,
    *,
    actor: Actor,
    now: dt.datetime,
) -> None:
    closed = bulk.months_lock((item.service_id, item.slot.month) for item in unique)
    if closed:
        result.refused.extend(
            Refusal(
                index=item.position,
                value=values[item.position],
                code=MONTH_CLOSED,
                message=checks.message(MONTH_CLOSED),
            )
            for item in unique
            if (item.service_id, item.slot.month) in closed
        )
        unique = [item for item in unique if (item.service_id, item.slot.month) not in closed]
    stored = bulk.slots_read([(item.service_id, item.slot.day, item.resource_id, item.slot.slot) for item in unique])
    writes: list[tuple[int, dt.date, int, int, int]] = []
    deltas: dict[bulk.TotalKey, int] = {}
    corrections: list[tuple[checks.Checked, int]] = []
    for item, before in zip(unique, stored, strict=True):
        if before == item.micro:
            result.unchanged += 1
            continue
        if before is None:
            result.new += 1
        else:
            result.corrected += 1
            corrections.append((item, before))
        slot = item.slot
        writes.append((item.service_id, slot.day, item.resource_id, slot.slot, item.micro))
        key = (item.service_id, slot.month, item.resource_id)
        deltas[key] = deltas.get(key, 0) + item.micro - (before or 0)
    if not writes:
        return
    bulk.slots_write(writes)
    moved = bulk.totals_move(deltas)
    effects = Effects()
    effects.audits.extend(_correction_evidence(corrections, values, services, actor))
    plans = {service_id: services[service_id].plan_id for service_id, _month, _resource in moved}
    crossings_check(totals=moved, plans=plans, now=now, effects=effects)
    effects.flush(now)


def _correction_evidence(
    corrections: list[tuple[checks.Checked, int]],
    values: list[Any],
    services: dict[int, checks.ServiceLife],
    actor: Actor,
) -> list[AuditSpec]:
    """EVD-1, USE-2: one event per value replaced, on its Service, with the quantity before and after."""
    specs = []
    for item, before in corrections:
        service = services[item.service_id]
        where = {"resource": values[item.position]["resource"], "hour": item.slot.hour.isoformat()}
        specs.append(
            AuditSpec(
                actor=actor,
                action="usage.value_corrected",
                rule=RULE,
                obj=Service(pk=service.id, organization_id=service.organization_id),
                organization=Organization(pk=service.organization_id),
                before={**where, "quantity": str(engine.from_micro(before))},
                after={**where, "quantity": str(engine.from_micro(item.micro))},
            )
        )
    return specs
