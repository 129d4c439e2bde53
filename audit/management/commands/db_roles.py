from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from audit.roles import RoleError, app_role_create, app_role_grant, app_role_problems


class Command(BaseCommand):
    help = (
        "PostgreSQL: as the owner of the tables (DATABASE_OWNER_URL), grant the application role (the "
        "user of DATABASE_URL) exactly what it needs; --create creates the role first. --check only "
        "reports whether the application role could rewrite the evidence (SPEC EVD-1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="create the application role if missing")
        parser.add_argument("--check", action="store_true", help="check the application role, change nothing")

    def handle(self, *args: object, **options: object) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("database roles apply to PostgreSQL only (DATABASE_URL is not PostgreSQL)")
        role = settings.DATABASE_APP_ROLE
        if options["check"]:
            report = app_role_problems(connection, role=role)
            if report.problems:
                raise CommandError("the application role could rewrite the evidence: " + "; ".join(report.problems))
            self.stdout.write(self.style.SUCCESS(f"{role}: owns nothing, may only read and append evidence"))
            return
        if not settings.DATABASE_OWNER_URL:
            raise CommandError("set DATABASE_OWNER_URL: the grants are given by the owner of the tables")
        if role == connection.settings_dict.get("USER"):
            raise CommandError("DATABASE_URL and DATABASE_OWNER_URL name the same role: the application must not own")
        try:
            if options["create"] and app_role_create(connection, role=role, password=settings.DATABASE_APP_PASSWORD):
                self.stdout.write(f"created the role {role}")
            app_role_grant(connection, role=role)
        except RoleError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{role}: granted what the application needs, evidence read and append"))
