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
    """After `migrate --database owner` on PostgreSQL: grant the application role (the user of
    DATABASE_URL) exactly what it needs, tables added by this migration included (EVD-1)."""
    from django.conf import settings
    from django.db import connections

    from audit.roles import app_role_grant

    if using != "owner" or connections[using].vendor != "postgresql":
        return
    role = settings.DATABASES["default"].get("USER")
    if role and role != settings.DATABASES["owner"].get("USER"):
        app_role_grant(connections[using], role=role)
