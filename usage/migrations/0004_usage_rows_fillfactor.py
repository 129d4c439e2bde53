"""Room on each page for the hourly updates of a day row and a month total (docs/decisions.md "Usage
values"): the platform reports hour by hour, so a UsageDay row is rewritten 24 times a day and a
UsageTotal row about 720 times a month. With free space left on their page, PostgreSQL writes the
new version there without touching the indexes (a HOT update) and prunes the old ones as it goes,
instead of a new index entry and a dead tuple elsewhere each time. PostgreSQL only."""

from django.db import migrations

TABLES = ("usage_usageday", "usage_usagetotal")
FILLFACTOR = 50


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("usage", "0003_metering_permission")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
