"""SPEC EVD-1: the application's PostgreSQL role owns no table and may only read and append evidence,
so it can neither switch the append-only triggers off nor cut the chain; what it may touch (the chain
head row it moves with each event) shows in audit_verify when moved by hand.

The role is created inside the test's transaction (rolled back with it) with the grants that
`migrate --database owner` and `manage.py db_roles` give, and the test's connection acts as it
(SET ROLE: privileges are checked exactly as for a login of that role)."""

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditChainHead, AuditEvent
from audit.roles import app_role_create, app_role_grant, app_role_problems
from audit.services import Actor, AuditSpec, audit_record, audit_record_many, audit_verify
from tests.audit.test_audit import _three_events
from tests.factories import OrganizationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

AT = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@contextlib.contextmanager
def _as_role(role: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def _app_role() -> str:
    role = f"portal_app_test_{secrets.token_hex(4)}"
    app_role_create(connection, role=role, password=None)
    app_role_grant(connection, role=role)
    return role


def test_evd1_the_application_role_appends_evidence_but_cannot_rewrite_it() -> None:
    # given
    first, second, third = _three_events()
    role = _app_role()
    organization = OrganizationFactory()

    with _as_role(role):
        # when: the application records evidence, one event and a batch
        fourth = audit_record(actor=Actor.system("test"), action="test.appended", rule="EVD-1", obj=organization, at=AT)
        audit_record_many(
            [AuditSpec(actor=Actor.system("test"), action="test.many", rule="EVD-1", obj=organization)], at=AT
        )
        assert audit_verify() == (5, None)

        # then: every way of removing or changing evidence is refused to it
        refusals = {
            "DELETE FROM audit_auditevent WHERE id = %s": "permission denied for table audit_auditevent",
            "UPDATE audit_auditevent SET rule = 'X' WHERE id = %s": "permission denied for table audit_auditevent",
            "TRUNCATE audit_auditevent CASCADE": "permission denied for table audit_auditevent",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL": "must be owner of table audit_auditevent",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only": "must be owner",
            "DROP TRIGGER audit_event_append_only ON audit_auditevent": "must be owner of (relation|table)",
            "SET session_replication_role = replica": "permission denied to set parameter",
            "DELETE FROM audit_auditchainhead": "permission denied for table audit_auditchainhead",
            "DELETE FROM django_migrations": "permission denied for table django_migrations",
        }
        for sql, error in refusals.items():
            with pytest.raises(DatabaseError, match=error), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [third.pk] if "%s" in sql else None)

        # when: it moves the head row it may update back to the third event, faking a cut
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s", [third.hash])

        # then: that shows
        checked, broken = audit_verify()

    assert (checked, broken.reason if broken else None) == (5, "the last events of the chain are missing")
    assert AuditEvent.objects.count() == 5
    assert list(
        AuditEvent.objects.filter(pk__in=[first.pk, second.pk, third.pk, fourth.pk]).values_list("rule", flat=True)
    ) == [
        "ORG-1",
        "ORG-8",
        "ORG-1",
        "EVD-1",
    ]
    assert AuditChainHead.objects.get().last_hash == third.hash


def test_evd1_the_application_role_owns_nothing_and_holds_no_forbidden_privilege() -> None:
    role = _app_role()

    assert app_role_problems(connection, role=role).problems == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_name = 'audit_auditevent' ORDER BY privilege_type",
            [role],
        )
        assert [row[0] for row in cursor.fetchall()] == ["INSERT", "SELECT"]
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_name = 'audit_auditchainhead' ORDER BY privilege_type",
            [role],
        )
        assert [row[0] for row in cursor.fetchall()] == ["INSERT", "SELECT", "UPDATE"]
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_name = 'billing_invoice' ORDER BY privilege_type",
            [role],
        )
        assert [row[0] for row in cursor.fetchall()] == ["DELETE", "INSERT", "SELECT", "UPDATE"]


def test_evd1_the_superuser_of_today_is_reported_as_able_to_rewrite_the_evidence() -> None:
    """`db_roles --check`: the connection of the test suite (a superuser owning the tables) is what
    the application must not be."""
    user = connection.settings_dict["USER"]

    problems = app_role_problems(connection, role=user).problems

    assert f"{user} is a superuser" in problems
    assert any(problem.startswith(f"{user} owns ") for problem in problems)
