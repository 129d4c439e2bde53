"""Schema operations Django's own do not do safely (used by the apps' migrations).

`DropForeignKeyIndex`: a foreign key's own index dropped by its name, nothing else. Django's
`AlterField(db_index=False)` finds the index to drop by introspection, by column: on PostgreSQL it
also matches a partial unique index over that column alone (a `UniqueConstraint` with a
condition, such as credits deleted once per Service), and drops the constraint with it. Migrations
pair this operation, for the database, with `AlterField` for the state
(`SeparateDatabaseAndState`).
"""

from typing import Any

from django.db import migrations


class DropForeignKeyIndex(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__name__, [], {"model_name": self.model_name, "name": self.name}

    def state_forwards(self, app_label: str, state: Any) -> None:
        """The state changes in the AlterField paired with it."""

    def _index(self, app_label: str, schema_editor: Any, state: Any) -> tuple[Any, Any, str]:
        model = state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        # the name Django gave the index when it created the foreign key (`_create_index_sql`)
        return model, field, schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="")

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        _model, _field, index = self._index(app_label, schema_editor, from_state)
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model, field, _index = self._index(app_label, schema_editor, to_state)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self) -> str:
        return f"Drop the index of the foreign key {self.model_name}.{self.name}"
