from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.otp import staff_otp_enrol
from core import clock


class Command(BaseCommand):
    help = "Issue a staff user's second-factor enrolment; they scan it and confirm it at their next log-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: object, **options: str) -> None:
        user = User.objects.filter(email__iexact=options["email"], is_staff=True).first()
        if user is None:
            raise CommandError(f"no staff user with the e-mail {options['email']}")
        staff_otp_enrol(user=user, issued_by="command:staff_otp_enrol", now=clock.now())
        self.stdout.write(f"Enrolment issued: {user.email} scans the code at /staff/second-factor/ after logging in.")
