import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import batches, lifecycle


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = "Run every daily job, in order, as of each date from --date to --until (SPEC TIME-2)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="first business date, YYYY-MM-DD")
        parser.add_argument("--until", help="last business date (inclusive), YYYY-MM-DD")
        parser.add_argument(
            "--engine",
            choices=batches.ENGINES,
            default=batches.INLINE,
            help="inline: the batches in this process (default); celery: one task per batch, taken by the "
            "workers and by this process (core.batches)",
        )

    def handle(self, *args: object, **options: str) -> None:
        start = _date(options["date"])
        until = _date(options["until"]) if options.get("until") else start
        if until < start:
            raise CommandError("--until is before --date")
        settings.LIFECYCLE_ENGINE = options["engine"]
        for day in lifecycle.days(start, until):
            self.stdout.write(f"{day.isoformat()}")
            try:
                results = lifecycle.run_day(day)
            except lifecycle.FutureDateRefused as refused:
                raise CommandError(str(refused)) from refused
            for job, count in results:
                self.stdout.write(f"  {job.order:>4} {job.name:<40} {count:>7}  ({job.rule})")
