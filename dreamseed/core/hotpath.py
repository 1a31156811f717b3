"""Precompiled SQL for the few statements on the answer request, the product's hottest path.

Django's ORM compiles a statement on every call; for a row update or insert that costs more CPU
than PostgreSQL spends running it. These helpers build each statement once from the model's
metadata and then only adapt values (with the fields' own `pre_save`/`get_db_prep_save` and
database converters, so JSON, datetimes and `auto_now_add` behave exactly as with `save()`).

They bypass model signals: use them only for models without save/delete receivers (the answer
path's ExamSession and Attempt).
"""

import functools

from django.db import connection


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _insert_sql(model) -> tuple[str, tuple]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(_quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = _quote(model._meta.pk.column)
    return (
        f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) VALUES ({marks}) RETURNING {pk}",
        fields,
    )


def _values(instance, fields, *, adding: bool) -> list:
    """The fields' values as `save()` would send them (pre_save, then adapted for the database)."""
    return [f.get_db_prep_save(f.pre_save(instance, adding), connection) for f in fields]


def _run_returning_pk(sql: str, values: list, instance) -> bool:
    """Run an INSERT ... RETURNING pk and mark `instance` as saved with that primary key.
    Returns False if the statement inserted nothing."""
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


def insert(instance) -> None:
    """INSERT `instance` (a new row with a database-generated primary key)."""
    sql, fields = _insert_sql(type(instance))
    _run_returning_pk(sql, _values(instance, fields, adding=True), instance)


@functools.cache
def _update_sql(model, names: tuple[str, ...]) -> tuple[str, tuple]:
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{_quote(f.column)} = %s" for f in fields)
    pk = _quote(model._meta.pk.column)
    return f"UPDATE {_quote(model._meta.db_table)} SET {assignments} WHERE {pk} = %s", fields


def update(instance, names: tuple[str, ...]) -> None:
    """UPDATE the named fields of a saved `instance` (like `save(update_fields=names)`)."""
    sql, fields = _update_sql(type(instance), names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_values(instance, fields, adding=False), instance.pk])


@functools.cache
def _update_insert_sql(updated_model, names: tuple[str, ...], inserted_model) -> str:
    update, _ = _update_sql(updated_model, names)
    _, fields = _insert_sql(inserted_model)
    columns = ", ".join(_quote(f.column) for f in fields)
    # Typed placeholders: a SELECT list gives no column context to infer a parameter's type from.
    values = ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields)
    pk = _quote(inserted_model._meta.pk.column)
    return (
        f"WITH updated AS ({update} AND xmin = %s::text::xid RETURNING 1) "
        f"INSERT INTO {_quote(inserted_model._meta.db_table)} ({columns}) "
        f"SELECT {values} FROM updated RETURNING {pk}"
    )


def update_and_insert(instance, names: tuple[str, ...], new, *, row_version: str) -> bool:
    """`update(instance, names)` then `insert(new)` in one statement (one round trip), only if
    the row is still the version read (`row_version`: its `xmin`, which every UPDATE of the row
    changes). Returns False, having written nothing, when the row changed since it was read.

    One statement is atomic on its own: an INSERT that fails (a unique constraint) undoes the
    UPDATE with it, and no transaction (BEGIN/COMMIT round trips) is needed.
    """
    sql = _update_insert_sql(type(instance), names, type(new))
    _, update_fields = _update_sql(type(instance), names)
    _, insert_fields = _insert_sql(type(new))
    values = [
        *_values(instance, update_fields, adding=False),
        instance.pk,
        row_version,
        *_values(new, insert_fields, adding=True),
    ]
    return _run_returning_pk(sql, values, new)


@functools.cache
def _converters(model, fields: tuple) -> tuple[tuple, list[str]]:
    """Per field, the (column, converters) a queryset would apply to its raw value; and the
    fields' attribute names."""
    out = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        out.append((column, tuple(converters)))
    return tuple(out), [f.attname for f in fields]


def from_row(model, fields, values):
    """A model instance from raw column values of `fields`, converted as a queryset would."""
    columns, attnames = _converters(model, tuple(fields))
    converted = []
    for (column, converters), value in zip(columns, values, strict=True):
        if value is not None:
            for converter in converters:
                value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, attnames, converted)


@functools.cache
def _get_sql(model) -> tuple[str, tuple]:
    fields = tuple(model._meta.concrete_fields)
    columns = ", ".join(_quote(f.column) for f in fields)
    pk = _quote(model._meta.pk.column)
    return f"SELECT {columns} FROM {_quote(model._meta.db_table)} WHERE {pk} = %s", fields


def get(model, pk):
    """The row with primary key `pk` as a model instance (like `objects.get(pk=pk)`), or None."""
    sql, fields = _get_sql(model)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    return None if row is None else from_row(model, fields, row)
