from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and name the first broken link (SPEC EVD-1)."

    def handle(self, *args: object, **options: object) -> None:
        checked, broken = audit_verify()
        if broken:
            where = f"event #{broken.event_id}" if broken.event_id else "the end of the chain"
            raise CommandError(f"audit chain broken at {where}: {broken.reason} ({checked} events read)")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} events verified"))
