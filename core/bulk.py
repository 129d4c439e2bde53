"""`bulk_update`: one UPDATE … FROM unnest(arrays) for many rows; `bulk_insert`: COPY.

Django's `QuerySet.bulk_update` builds a CASE WHEN expression per field and row, which costs
milliseconds of Python per row; the daily run updates hundreds of rows per batch, so it writes
them with one statement whose cost is the database's. Values go through each field's own
`get_db_prep_save`, so they are stored exactly as `save()` would store them.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router


def bulk_update(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write `fields` of `objs` (rows of one model, already saved) in one statement.

    The values travel as one array per column (`UPDATE … FROM unnest(%s::type[], …)`): the
    statement's text, and so its parameters, are the same whatever the number of rows, so the
    driver does not parse a statement of thousands of placeholders for every batch."""
    if not objs:
        return 0
    model = type(objs[0])
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(objs, fields)
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    columns: list[Any] = [meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    quote = connection.ops.quote_name
    names = [quote(pk.column)] + [quote(field.column) for field in columns]
    types = [pk.db_type(connection)] + [field.db_type(connection) for field in columns]
    arrays: list[list[Any]] = [[pk.get_db_prep_save(obj.pk, connection) for obj in objs]]
    for field in columns:
        arrays.append([field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs])
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    unnest = ", ".join(f"%s::{db_type}[]" for db_type in types)
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({unnest}) "
        f"AS v({', '.join(names)}) WHERE {table}.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def bulk_insert(objs: Sequence[models.Model]) -> None:
    """Insert new rows of one model with PostgreSQL's COPY, their ids taken first from the table's
    sequence in one query (so callers can point other rows at them). Much cheaper per row than
    `bulk_create`, which the daily run's batches would spend most of their time in. Elsewhere than
    on PostgreSQL, `bulk_create`."""
    if not objs:
        return
    model = type(objs[0])
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    fields: list[Any] = [field for field in meta.concrete_fields if field is not pk]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        for obj, new_id in zip(objs, ids, strict=True):
            obj.pk = new_id
            obj._state.adding = False
            obj._state.db = using
        columns = ", ".join(quote(column) for column in [pk.column, *[field.column for field in fields]])
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper (errors still become Django's)
        # Plain values (text, numbers, dates, aware datetimes, foreign key ids) go to psycopg as they
        # are; the fields that adapt their value (JSON, addresses, auto-now dates...) adapt it.
        attnames = [field.attname for field in fields]
        adapted = [i for i, field in enumerate(fields) if not _plain(field)]
        with connection.wrap_database_errors, raw.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                values = [getattr(obj, attname) for attname in attnames]
                for i in adapted:
                    values[i] = fields[i].get_db_prep_save(fields[i].pre_save(obj, True), connection)
                copy.write_row([obj.pk, *values])


_PLAIN_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "BooleanField",
        "DecimalField",
        "DateField",
        "DateTimeField",
        "ForeignKey",
        "OneToOneField",
    }
)


def _plain(field: Any) -> bool:
    """A field whose Python value psycopg stores as `save()` would (no auto_now, no adaptation)."""
    if field.get_internal_type() not in _PLAIN_TYPES:
        return False
    return not getattr(field, "auto_now", False) and not getattr(field, "auto_now_add", False)
