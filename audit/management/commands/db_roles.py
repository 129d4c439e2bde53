from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from audit.roles import RoleError, app_role_create, app_role_grant, app_role_problems


class Command(BaseCommand):
    help = (
        "PostgreSQL: grant the application role (the user of DATABASE_URL) exactly what it needs, as the "
        "owner of the tables (DATABASE_OWNER_URL); --create creates the role first; --check only "
        "reports whether the application role could rewrite the evidence (SPEC EVD-1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="create the application role if missing")
        parser.add_argument("--check", action="store_true", help="check the application role, change nothing")

    def handle(self, *args: object, **options: object) -> None:
        default = settings.DATABASES["default"]
        if connections["default"].vendor != "postgresql":
            raise CommandError("database roles apply to PostgreSQL only (DATABASE_URL is not PostgreSQL)")
        role = default.get("USER") or ""
        if options["check"]:
            report = app_role_problems(connections["default"], role=role)
            if report.problems:
                raise CommandError("the application role could rewrite the evidence: " + "; ".join(report.problems))
            self.stdout.write(self.style.SUCCESS(f"{role}: owns nothing, may only read and append evidence"))
            return
        if "owner" not in settings.DATABASES:
            raise CommandError("set DATABASE_OWNER_URL: the grants are given by the owner of the tables")
        if role == settings.DATABASES["owner"].get("USER"):
            raise CommandError("DATABASE_URL and DATABASE_OWNER_URL name the same role: the application must not own")
        owner = connections["owner"]
        try:
            if options["create"] and app_role_create(owner, role=role, password=default.get("PASSWORD") or None):
                self.stdout.write(f"created the role {role}")
            app_role_grant(owner, role=role)
        except RoleError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"{role}: granted what the application needs, evidence read and append"))
