"""`manage.py usage_simulate --service ID --days N [--end DATE] [--seed S]`: feed plausible hourly
usage (usage.simulation) for the N days up to now — or up to the end of DATE (a Zurich day), never
after now — through the metering door's own service (`usage.services.ingest.values_record`), so the
values are checked, stored, totalled and checked for crossings exactly as the platform's are
(USE-2, USE-5, USE-6, USE-7). Hours before the Service started are skipped; hours of a month
already invoiced are refused by the ingest (and counted). Deterministic with --seed: running it
again changes nothing."""

import datetime as dt
from itertools import islice
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import Actor
from core import clock
from subscriptions.models import Service
from usage import engine, simulation
from usage.services.ingest import values_record
from usage.values import BATCH_MAX


def simulate(service: Service, *, days: int, end: dt.date | None, seed: int, now: dt.datetime) -> dict[str, int]:
    """Feed the values; the counts of the ingest's answers."""
    stop = simulation.floor_hour(now) + simulation.HOUR  # the current hour has started: it may be reported
    if end is not None:
        stop = min(stop, engine.local_midnight(end + dt.timedelta(days=1)))
    first = stop - dt.timedelta(days=days)
    started = simulation.floor_hour(service.activated_at or service.created_at)
    if started < (service.activated_at or service.created_at):
        started += simulation.HOUR
    first = max(first, started)
    if service.terminated_at is not None:
        stop = min(stop, simulation.floor_hour(service.terminated_at))
    counts = {"new": 0, "unchanged": 0, "corrected": 0, "refused": 0}
    feed = simulation.values(service.pk, simulation.hours_between(first, stop), seed=seed)
    actor = Actor.system("usage_simulate")
    while batch := list(islice(feed, BATCH_MAX)):
        result = values_record(values=batch, actor=actor, now=now)
        counts["new"] += result.new
        counts["unchanged"] += result.unchanged
        counts["corrected"] += result.corrected
        counts["refused"] += len(result.refused)
    return counts


class Command(BaseCommand):
    help = "Feed plausible hourly usage of a usage Service for N days, through the metering door's service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--service", type=int, required=True, help="the usage Service's id")
        parser.add_argument("--days", type=int, required=True, help="how many days, up to now (or --end)")
        parser.add_argument("--end", type=dt.date.fromisoformat, help="the last day (YYYY-MM-DD, Zurich)")
        parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same values")

    def handle(self, *args: Any, **options: Any) -> None:
        service = Service.objects.filter(pk=options["service"]).first()
        if service is None:
            raise CommandError(f"No Service {options['service']}.")
        if not service.usage_based:
            raise CommandError(f"Service {service.pk} is not billed by usage.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        counts = simulate(service, days=options["days"], end=options["end"], seed=options["seed"], now=clock.now())
        self.stdout.write(
            f"Service {service.pk}: {counts['new']} new, {counts['unchanged']} unchanged, "
            f"{counts['corrected']} corrected, {counts['refused']} refused."
        )
