from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Evidence trail"

    def ready(self) -> None:
        from audit import jobs  # noqa: F401  (registers the daily job)

        post_migrate.connect(_grant_app_role, sender=self)


def _grant_app_role(*, using: str, **kwargs: Any) -> None:
    """After `migrate` as the owner (DATABASE_OWNER_URL) on PostgreSQL: grant the application role
    (DATABASE_URL's) exactly what it needs, tables this migration added included (EVD-1)."""
    from django.conf import settings
    from django.db import connections

    from audit.roles import app_role_grant

    connection = connections[using]
    if not settings.DATABASE_OWNER_URL or connection.vendor != "postgresql":
        return
    role = settings.DATABASE_APP_ROLE
    if role and role != connection.settings_dict.get("USER"):
        app_role_grant(connection, role=role)
