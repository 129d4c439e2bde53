"""`bulk_update`: one UPDATE … FROM unnest(arrays) for many rows; `bulk_insert`: COPY.

Django's `QuerySet.bulk_update` builds a CASE WHEN expression per field and row, which costs
milliseconds of Python per row; the daily run updates hundreds of rows per batch, so it writes
them with one statement whose cost is the database's. Values go through each field's own
`get_db_prep_save`, so they are stored exactly as `save()` would store them.
"""

import datetime as dt
import re
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connections, models, router
from django.db.models import BooleanField, Expression, F


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
    # Cast to the base type (varchar, numeric), not varchar(20): a cast would cut a too-long text
    # silently, where the assignment to the column refuses it as save() does.
    types = [re.sub(r"\(.*?\)", "", field.db_type(connection)) for field in [pk, *columns]]
    arrays: list[list[Any]] = [[pk.get_db_prep_save(obj.pk, connection) for obj in objs]]
    for field in columns:
        arrays.append([field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs])
    arrays = [_array_literal_or_list(array) for array in arrays]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    unnest = ", ".join(f"%s::{db_type}[]" for db_type in types)
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({unnest}) "
        f"AS v({', '.join(names)}) WHERE {table}.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return int.__repr__(value)  # the digits, also of an IntegerChoices member
    if isinstance(value, str):
        return _quoted(str.__str__(value))  # the text itself, as psycopg sends a str subclass
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is dt.date or kind is dt.datetime:
        return _quoted(value.isoformat())
    raise TypeError(kind)


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (`{1,"a b",NULL}`) passed as ONE text parameter and cast in the
    statement (`%s::bigint[]`): Django's cursor binds on the client side, where a Python list is
    quoted element by element (most of the cost of a batch's arrays), a string at once. TypeError
    for a value of another type than None, bool, int, str, Decimal, date or datetime."""
    return "{" + ",".join([_element(value) for value in values]) + "}"


def _array_literal_or_list(values: list[Any]) -> Any:
    """The array as one literal, or as the list it is for other types (JSON, addresses)."""
    try:
        return array_literal(values)
    except TypeError:
        return values


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
    fields: list[Any] = [field for field in meta.concrete_fields if field is not pk]
    ids = _take_ids(connection, meta, len(objs))
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = using
    attnames = [field.attname for field in fields]
    # The fields that adapt their value (JSON, addresses, auto-now dates...) adapt it, with pre_save.
    adapted = [i for i, field in enumerate(fields) if not _plain(field)]
    rows = []
    for obj in objs:
        values = [getattr(obj, attname) for attname in attnames]
        for i in adapted:
            values[i] = fields[i].get_db_prep_save(fields[i].pre_save(obj, True), connection)
        rows.append([obj.pk, *values])
    _copy(connection, meta, [pk, *fields], rows)


def bulk_insert_rows(
    model: type[models.Model],
    attnames: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    json_text: Collection[str] = (),
) -> list[int]:
    """Insert new rows given as plain values, in the order of `attnames` (a foreign key by its
    `*_id`), with COPY and no model instance at all; return their ids, taken from the sequence in
    the order of `rows`. For the hottest rows of the daily run (the evidence); PostgreSQL only.
    `json_text`: JSON columns whose values are given as JSON text already (copied as they are)."""
    if not rows:
        return []
    using = router.db_for_write(model)
    connection = connections[using]
    assert connection.vendor == "postgresql", "bulk_insert_rows writes with COPY (PostgreSQL)"
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    by_attname = {field.attname: field for field in meta.concrete_fields}
    fields = [by_attname[name] for name in attnames]
    adapted = [i for i, field in enumerate(fields) if not _plain(field) and attnames[i] not in json_text]
    ids = _take_ids(connection, meta, len(rows))
    prepared = []
    for new_id, row in zip(ids, rows, strict=True):
        values = list(row)
        for i in adapted:
            values[i] = fields[i].get_db_prep_save(values[i], connection)
        prepared.append([new_id, *values])
    _copy(connection, meta, [pk, *fields], prepared)
    return ids


def _take_ids(connection: Any, meta: Any, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(connection: Any, meta: Any, fields: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    """COPY prepared rows (plain values go to psycopg as they are) into the model's table."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper (errors still become Django's)
        with connection.wrap_database_errors, raw.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


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


class IdIn(Expression):
    """`column = ANY('{1,2,…}'::bigint[])`: a filter on many ids (a batch's 500) as ONE parameter.

    Django's `pk__in=ids` writes one placeholder per id, and its client-side binding quotes each
    one into the statement's text: for the daily run's batches that was most of the cost of
    sending their queries. The same index scans as `IN` (PostgreSQL plans `= ANY(array)` so);
    elsewhere than on PostgreSQL, `IN (…)`. Use: `Model.objects.filter(IdIn("pk", ids))`."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str, ids: Iterable[int | None]) -> None:
        super().__init__()
        self.column: Any = F(field)
        self.ids = [int(pk) for pk in ids if pk is not None]  # as `__in` does: None matches nothing

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return f"{sql} = ANY(%s::bigint[])", [*params, array_literal(self.ids)]
        if not self.ids:
            return "1 = 0", []
        return f"{sql} IN ({', '.join(['%s'] * len(self.ids))})", [*params, *self.ids]
