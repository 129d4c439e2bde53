"""The batch loader of billing's daily run: Services read and locked a batch at a time, with one
Plan instance per plan and the instances an earlier transaction of the same batch read reused
(`__dict__` updated from plain values), so a batch costs a fixed number of queries whatever its
size (docs/performance.md). Decisions live in the services; this module only reads."""

from collections.abc import Iterable, Sequence

from billing.models import Plan
from core.bulk import IdIn
from subscriptions.models import Service

_SERVICE_COLUMNS = [field.attname for field in Service._meta.concrete_fields]


def locked_services(service_ids: Iterable[int], known: Sequence[Service] = ()) -> list[Service]:
    """The Services locked for update, in id order, with their Organization and with one Plan (and
    service type) instance per plan: what is computed from a plan (its name in each language) is
    computed once for the batch, not once per Service.

    `known` are instances of them read by an earlier transaction of the same batch: their rows are
    read again under the lock as plain values and written onto them, keeping the plan and the
    Organization they hold while the row still points at the same ones (a Service changed in
    between is simply up to date again); the others are read in full."""
    query = Service.objects.select_for_update(of=("self",)).filter(IdIn("pk", service_ids)).order_by("pk")
    full = query.select_related("organization")
    if not known:
        return with_plans(list(full))
    by_pk = {service.pk: service for service in known}
    services, unknown = [], []
    for row in query.values_list(*_SERVICE_COLUMNS):
        values = dict(zip(_SERVICE_COLUMNS, row, strict=True))
        service = by_pk.get(values["id"])
        if service is None or (service.plan_id, service.organization_id) != (
            values["plan_id"],
            values["organization_id"],
        ):
            unknown.append(values["id"])
            continue
        service.__dict__.update(values)
        services.append(service)
    if unknown:  # locked already, by the query above
        known_plans = {service.plan_id: service.plan for service in services}
        services.extend(with_plans(list(full.filter(IdIn("pk", unknown))), known_plans))
    return sorted(services, key=lambda service: service.pk)


def with_plans(services: list[Service], known: dict[int, Plan] | None = None) -> list[Service]:
    """Each Service given its Plan and service type: those of `known`, the others read once per
    plan (one query), not joined into every row: a batch has a few plans and hundreds of Services."""
    plans = dict(known or {})
    if missing := {service.plan_id for service in services} - plans.keys():
        plans.update(Plan.objects.select_related("service_type").in_bulk(missing))
    for service in services:
        service.plan = plans[service.plan_id]
    return services
