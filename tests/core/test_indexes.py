"""PERF (docs/decisions.md, "Indexes"): no foreign key carries an index of its own when a composite
index or unique constraint of its table, over all its rows, already starts with it. Every row the
daily run writes pays for every index of its table; such an index only costs."""

import pytest
from django.apps import apps
from django.db import connection, models


def _leading_fields(model: type[models.Model]) -> set[str]:
    """The first field of each index and unique constraint of `model` that covers every row."""
    meta = model._meta
    first = {index.fields[0].lstrip("-") for index in meta.indexes if index.fields and index.condition is None}
    first |= {
        constraint.fields[0]
        for constraint in meta.constraints
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None
    }
    first |= {fields[0] for fields in meta.unique_together}
    return first


def test_no_foreign_key_index_that_a_composite_index_already_covers() -> None:
    redundant = sorted(
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if not model.__module__.startswith(("django.", "axes.", "django_otp.", "django_celery", "rest_framework."))
        for field in model._meta.fields
        if isinstance(field, models.ForeignKey) and field.db_index and field.name in _leading_fields(model)
    )
    assert redundant == []


@pytest.mark.django_db
def test_every_index_and_constraint_a_model_declares_is_in_the_database() -> None:
    """The migrations left every declared one in place: dropping a foreign key's index by column
    once took a partial unique index over the same column with it (core.migration_operations)."""
    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.proxy or not model._meta.managed:
                continue
            present = set(connection.introspection.get_constraints(cursor, model._meta.db_table))
            declared = [*model._meta.indexes, *model._meta.constraints]
            missing += [f"{model._meta.label}: {item.name}" for item in declared if item.name not in present]
    assert missing == []


@pytest.mark.django_db
def test_no_foreign_key_without_db_index_keeps_an_index_of_its_own_in_the_database() -> None:
    """What the migrations dropped is gone, whatever name it had (core.migration_operations drops
    an index by the name Django gives it; a table renamed since would keep the old one)."""
    kept = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.proxy or not model._meta.managed:
                continue
            declared = {item.name for item in [*model._meta.indexes, *model._meta.constraints]}
            found = connection.introspection.get_constraints(cursor, model._meta.db_table)
            for field in model._meta.fields:
                if not isinstance(field, models.ForeignKey) or field.db_index:
                    continue
                kept += [
                    f"{model._meta.label}.{field.name}: {name}"
                    for name, info in found.items()
                    if info["index"]
                    and not info["unique"]
                    and info["columns"] == [field.column]
                    and name not in declared
                ]
    assert kept == []
