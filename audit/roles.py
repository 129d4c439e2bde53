"""The two PostgreSQL roles (SPEC EVD-1): the owner of the tables, which migrates, and the
application role, which the web server, the worker and beat connect as.

The application role owns nothing, so it cannot ALTER a table, disable its triggers or TRUNCATE
it. It may read and write the tables as the code does, but on the audit trail only read and append:
no UPDATE, DELETE, TRUNCATE or TRIGGER on audit events; the chain head row it must update (each event
moves it), not delete. A head moved by hand shows in `audit_verify`, and so does a cut tail (the
seals). The grants are applied by the owner after every `migrate --database owner` (audit/apps.py),
so tables that later migrations add are granted too.
"""

import re
from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper

from audit.models import AuditChainHead, AuditEvent

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

# Privileges on the audit event table that would let the role change or remove evidence.
FORBIDDEN_ON_EVENTS = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")


class RoleError(RuntimeError):
    pass


def _identifier(name: str) -> str:
    if not _NAME.match(name):
        raise RoleError(f"not a plain PostgreSQL role name: {name!r}")
    return f'"{name}"'


def grant_statements(*, role: str, schema: str) -> list[str]:
    """Exactly what the application needs, whatever it held before (idempotent)."""
    r, s = _identifier(role), _identifier(schema)
    events, head = AuditEvent._meta.db_table, AuditChainHead._meta.db_table
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",  # ids (nextval), not setval
        # EVD-1: evidence is read and appended, never changed or removed.
        f"REVOKE UPDATE, DELETE ON {_identifier(events)} FROM {r}",
        f"REVOKE DELETE ON {_identifier(head)} FROM {r}",
        # Which migrations ran is the owner's to say.
        f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {r}",
    ]


def _fetch_one(connection: BaseDatabaseWrapper, sql: str, params: list[str]) -> tuple:  # type: ignore[type-arg]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def role_exists(connection: BaseDatabaseWrapper, role: str) -> bool:
    return bool(_fetch_one(connection, "SELECT count(*) FROM pg_roles WHERE rolname = %s", [role])[0])


def app_role_create(connection: BaseDatabaseWrapper, *, role: str, password: str | None) -> bool:
    """Create the application role if it is missing (a login, nothing more); set its password if
    one is given. True when created."""
    created = not role_exists(connection, role)
    with connection.cursor() as cursor:
        if created:
            cursor.execute(f"CREATE ROLE {_identifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        if password:
            cursor.execute(f"ALTER ROLE {_identifier(role)} PASSWORD %s", [password])
    return created


def app_role_grant(connection: BaseDatabaseWrapper, *, role: str) -> None:
    """Run by the owner of the tables: give the application role exactly what it needs."""
    if not role_exists(connection, role):
        raise RoleError(
            f"the application role {role!r} does not exist: create it (README, Production) "
            "or run `manage.py db_roles --create`"
        )
    (schema,) = _fetch_one(connection, "SELECT current_schema()", [])
    with connection.cursor() as cursor:
        for statement in grant_statements(role=role, schema=schema):
            cursor.execute(statement)


@dataclass(frozen=True)
class RoleReport:
    role: str
    problems: list[str]


def app_role_problems(connection: BaseDatabaseWrapper, *, role: str) -> RoleReport:
    """What would let this role rewrite the evidence: being a superuser, owning tables, or holding a
    forbidden privilege on the audit events."""
    problems = []
    (superuser,) = _fetch_one(connection, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    if superuser:
        problems.append(f"{role} is a superuser")
    (owned,) = _fetch_one(
        connection,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE pg_get_userbyid(c.relowner) = %s AND n.nspname = current_schema()",
        [role],
    )
    if owned:
        problems.append(f"{role} owns {owned} tables, sequences or indexes (it must own none)")
    table = AuditEvent._meta.db_table
    for privilege in FORBIDDEN_ON_EVENTS:
        (held,) = _fetch_one(connection, "SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
        if held:
            problems.append(f"{role} holds {privilege} on {table}")
    for privilege in ("SELECT", "INSERT"):
        (held,) = _fetch_one(connection, "SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
        if not held:
            problems.append(f"{role} lacks {privilege} on {table} (the application could not record evidence)")
    return RoleReport(role=role, problems=problems)
