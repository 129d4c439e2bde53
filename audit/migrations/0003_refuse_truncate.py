"""SPEC EVD-1: PostgreSQL also refuses TRUNCATE of the audit trail.

The test settings turn it off (AUDIT_TRUNCATE_ALLOWED): the test runner empties tables with TRUNCATE
between transactional tests. tests/audit creates the same trigger inside a test to check it.
"""

from django.conf import settings
from django.db import migrations

CREATE = """
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""
DROP = "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and not getattr(settings, "AUDIT_TRUNCATE_ALLOWED", False):
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]
    operations = [migrations.RunPython(create, drop)]
