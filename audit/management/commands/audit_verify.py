from django.core.management.base import BaseCommand, CommandError

from audit.seals import UnreadableSeal, seals_read
from audit.services import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain, check it against the daily seals kept outside the "
        "database, and name the first broken link (SPEC EVD-1)."
    )

    def handle(self, *args: object, **options: object) -> None:
        checked, broken = audit_verify()
        if broken:
            where = f"event #{broken.event_id}" if broken.event_id else "the end of the chain"
            raise CommandError(f"audit chain broken at {where}: {broken.reason} ({checked} events read)")
        try:
            sealed = len(seals_read())
        except UnreadableSeal as error:  # a seal file broken since audit_verify read them
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} events verified, {sealed} seals checked"))
