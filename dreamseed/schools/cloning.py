"""A new school's schema, cloned from the template schema in constant time.

django-tenants' `clone_schema` SQL function rebuilds each table's DDL on every signup from
`information_schema` views, which scan every schema's catalogue rows: at 500 schools a clone
took 1-4 s of PostgreSQL CPU and grew with every school. Here the template's DDL is read once
per template version from `pg_catalog` (filtered by the template's namespace), kept in the
process and in the cache, and each signup replays it with the new schema's name: a fixed number
of statements whatever the number of schools. The rows the template holds (migration records,
content types, permissions) and its sequences' positions are copied live at each clone.

The template version is a digest of its migration records: a deploy that migrates the template
gives new DDL. `schema_signature()` describes a schema from `pg_catalog` (tables, columns,
indexes, constraints, sequences) so that tests can prove a clone identical to a migrated schema.
"""

import hashlib
from contextlib import contextmanager

from django.core.cache import cache
from django.db import connection, transaction

#: Stands for the new schema's (quoted) name in the cached DDL.
SCHEMA = "\x00schema\x00"
#: Part of the cache key: bump it when this module's DDL changes shape.
DDL_FORMAT = 5

_ddl_by_version: dict[tuple[str, str], "TemplateDdl"] = {}


class TemplateDdl:
    """What to run to make a copy of the template: `ddl` (statements with SCHEMA for the new
    schema), the tables holding rows to copy, and the sequences whose position to copy."""

    def __init__(self, *, ddl: list[str], tables_with_rows: list[tuple[str, bool]], sequences):
        self.ddl = ddl
        self.tables_with_rows = tables_with_rows  # (table, has an identity column)
        self.sequences = sequences


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@contextmanager
def _catalog_only_path(cursor):
    """Inside a transaction: only pg_catalog on the search_path, so that pg_get_*def qualify
    every object with its schema. The previous path is put back on the way out (after an
    error, the transaction's rollback does that)."""
    cursor.execute("SELECT current_setting('search_path')")
    previous = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('search_path', 'pg_catalog', true)")
    yield
    cursor.execute("SELECT set_config('search_path', %s, true)", [previous])


def template_version(template: str) -> str:
    """A digest of the migrations recorded in the template schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT md5(string_agg(app || '.' || name, ',' ORDER BY app, name)) "
            f"FROM {_quote(template)}.django_migrations"
        )
        return cursor.fetchone()[0] or ""


def _catalog_qualifier(cursor, schema_name: str) -> str:
    """How pg_get_*def write `schema_name` as a qualifier (quoted only where needed)."""
    cursor.execute("SELECT quote_ident(%s)", [schema_name])
    return f"{cursor.fetchone()[0]}."


def _read_template(template: str) -> TemplateDdl:
    """Generate the template's DDL from pg_catalog, every name qualified with its schema."""
    # With only pg_catalog on the path, pg_get_*def qualify every object of the template (and
    # of public): the template's qualifier is then swapped for the new schema's.
    with transaction.atomic(), connection.cursor() as cursor, _catalog_only_path(cursor):
        qualified = _catalog_qualifier(cursor, template)
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
        namespace = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.oid, c.relname, array_to_string(c.reloptions, ', ') FROM pg_class c "
            "WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            [namespace],
        )
        rows = cursor.fetchall()
        tables = [(oid, name) for oid, name, _options in rows]
        options = {oid: table_options for oid, _name, table_options in rows}
        cursor.execute(
            "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, "
            "CASE WHEN a.attcollation <> t.typcollation THEN co.collname END, "
            "s.oid IS NOT NULL, s.relname, q.seqstart, q.seqincrement, q.seqmin, q.seqmax, "
            "q.seqcache, q.seqcycle, format_type(q.seqtypid, NULL), "
            "(SELECT nn.conname FROM pg_constraint nn WHERE nn.conrelid = a.attrelid "
            "AND nn.contype = 'n' AND nn.conkey = ARRAY[a.attnum]) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
            "LEFT JOIN pg_depend dep ON dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum "
            "AND dep.classid = 'pg_class'::regclass AND dep.deptype = 'i' "
            "LEFT JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S' "
            "LEFT JOIN pg_sequence q ON q.seqrelid = s.oid "
            "WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum",
            [namespace],
        )
        columns = cursor.fetchall()
        # Sequences of their own (serial columns, or created by hand), with their owner column.
        cursor.execute(
            "SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, "
            "q.seqmin, q.seqmax, q.seqcache, q.seqcycle, oc.relname, oa.attname "
            "FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid "
            "LEFT JOIN pg_depend dep ON dep.objid = s.oid AND dep.classid = 'pg_class'::regclass "
            "AND dep.deptype = 'a' AND dep.refobjsubid > 0 "
            "LEFT JOIN pg_class oc ON oc.oid = dep.refobjid "
            "LEFT JOIN pg_attribute oa ON oa.attrelid = dep.refobjid "
            "AND oa.attnum = dep.refobjsubid "
            "WHERE s.relnamespace = %s AND s.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM "
            "pg_depend i WHERE i.objid = s.oid AND i.deptype = 'i') ORDER BY s.relname",
            [namespace],
        )
        own_sequences = cursor.fetchall()
        cursor.execute(
            "SELECT con.conrelid, con.conname, pg_get_constraintdef(con.oid), con.contype "
            "FROM pg_constraint con WHERE con.connamespace = %s AND con.contype IN "
            "('p', 'u', 'x', 'f') AND con.conrelid <> 0 "
            "ORDER BY con.contype = 'f', con.conrelid, con.conname",
            [namespace],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.relnamespace = %s "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid "
            "AND con.contype IN ('p', 'u', 'x')) ORDER BY ic.relname",
            [namespace],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        # Which tables hold rows (the template is small: a few hundred rows in a few tables).
        names = {oid: name for oid, name in tables}
        with_rows = []
        if tables:
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT {index} WHERE EXISTS (SELECT 1 FROM {qualified}{_quote(name)})"
                    for index, (_oid, name) in enumerate(tables)
                )
            )
            with_rows = [tables[row[0]][1] for row in cursor.fetchall()]

    def local(text: str) -> str:
        return text.replace(qualified, SCHEMA)

    ddl = [f"CREATE SCHEMA {SCHEMA}"]
    all_sequences = []
    for name, type_name, start, increment, low, high, cache_size, cycle, *_owner in own_sequences:
        ddl.append(
            f"CREATE SEQUENCE {SCHEMA}{_quote(name)} AS {type_name} INCREMENT BY {increment} "
            f"MINVALUE {low} MAXVALUE {high} START WITH {start} CACHE {cache_size}"
            f"{' CYCLE' if cycle else ''}"
        )
        all_sequences.append(name)
    # LIKE copies each column with its type, collation, default, identity, generated
    # expression, storage, NOT NULL and CHECK constraints (names included) from the template's
    # own expression trees: the text of an expression, parsed again, is not always the same tree.
    like = (
        "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED "
        "INCLUDING STORAGE INCLUDING COMPRESSION"
    )
    for oid, name in tables:
        with_options = f" WITH ({options[oid]})" if options[oid] else ""
        ddl.append(
            f"CREATE TABLE {SCHEMA}{_quote(name)} (LIKE {qualified}{_quote(name)} {like})"
            f"{with_options}"
        )
    identity_tables = set()
    for row in columns:
        relid, column, _type_name, _not_null, default, identity = row[:6]
        sequence, sequence_type = row[9], row[16]
        table = names[relid]
        if identity:
            identity_tables.add(table)
            all_sequences.append(sequence)
            if sequence != f"{table}_{column}_seq":  # LIKE names the new one after the table
                ddl.append(
                    f"ALTER SEQUENCE {SCHEMA}{_quote(f'{table}_{column}_seq')} "
                    f"RENAME TO {_quote(sequence)}"
                )
            if sequence_type != "bigint":  # LIKE makes every identity sequence a bigint one
                ddl.append(f"ALTER SEQUENCE {SCHEMA}{_quote(sequence)} AS {sequence_type}")
        elif default is not None and f"nextval('{qualified}" in default:
            # A serial column's default names the template's sequence: point it at the copy's.
            ddl.append(
                f"ALTER TABLE ONLY {SCHEMA}{_quote(table)} ALTER COLUMN {_quote(column)} "
                f"SET DEFAULT {local(default)}"
            )
    for name, *_params, owner_table, owner_column in own_sequences:
        if owner_table:
            ddl.append(
                f"ALTER SEQUENCE {SCHEMA}{_quote(name)} OWNED BY "
                f"{SCHEMA}{_quote(owner_table)}.{_quote(owner_column)}"
            )
    for relid, name, definition, _kind in constraints:
        ddl.append(
            f"ALTER TABLE ONLY {SCHEMA}{_quote(names[relid])} ADD CONSTRAINT {_quote(name)} "
            f"{local(definition)}"
        )
    ddl.extend(local(definition) for definition in indexes)
    return TemplateDdl(
        ddl=ddl,
        tables_with_rows=[(name, name in identity_tables) for name in with_rows],
        sequences=all_sequences,
    )


def template_ddl(template: str) -> TemplateDdl:
    """The template's DDL for its current version: from this process, the cache, or pg_catalog."""
    version = template_version(template)
    key = (template, version)
    if key not in _ddl_by_version:
        cache_key = f"schools:template-ddl:{DDL_FORMAT}:{template}:{version}"
        found = cache.get(cache_key)
        if found is None:
            found = _read_template(template)
            cache.set(cache_key, found, timeout=30 * 24 * 3600)
        _ddl_by_version.clear()  # an older version is never used again
        _ddl_by_version[key] = found
    return _ddl_by_version[key]


def schema_clone(*, template: str, schema_name: str) -> None:
    """Create `schema_name` as a copy of `template`: its tables, columns, constraints, indexes
    and sequences, the rows it holds and its sequences' positions. Run it inside a transaction
    (PostgreSQL DDL is transactional: a failure leaves nothing behind)."""
    plan = template_ddl(template)
    target = f"{_quote(schema_name)}."
    source = f"{_quote(template)}."
    statements = [statement.replace(SCHEMA, target) for statement in plan.ddl]
    statements[0] = f"CREATE SCHEMA {_quote(schema_name)}"
    for table, has_identity in plan.tables_with_rows:
        overriding = " OVERRIDING SYSTEM VALUE" if has_identity else ""
        statements.append(
            f"INSERT INTO {target}{_quote(table)}{overriding} SELECT * FROM {source}{_quote(table)}"
        )
    if plan.sequences:
        statements.append(
            "SELECT "
            + ", ".join(
                f"(SELECT setval('{target}{_quote(seq)}', last_value, is_called) "
                f"FROM {source}{_quote(seq)})"
                for seq in plan.sequences
            )
        )
    with connection.cursor() as cursor:
        # One round trip: the statements carry no parameters (names are quoted identifiers).
        cursor.execute(";\n".join(statements))


def schema_signature(schema_name: str) -> dict[str, list]:
    """A schema's shape from pg_catalog, with its own name left out: tables, columns, indexes,
    constraints and sequences, each sorted. Two schemas with equal signatures are the same."""
    with transaction.atomic(), connection.cursor() as cursor, _catalog_only_path(cursor):
        qualified = _catalog_qualifier(cursor, schema_name)
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema_name])
        namespace = cursor.fetchone()[0]

        def rows(sql):
            cursor.execute(sql, [namespace])
            return sorted(
                tuple(
                    value.replace(qualified, "") if isinstance(value, str) else value
                    for value in row
                )
                for row in cursor.fetchall()
            )

        signature = {
            "tables": rows(
                "SELECT relname, relkind, relpersistence, relhasindex, relrowsecurity, "
                "reloptions::text FROM pg_class WHERE relnamespace = %s AND relkind <> 'i' "
            ),
            "columns": rows(
                # The position among live columns: a migrated schema keeps its dropped columns'
                # numbers, a clone has none.
                "SELECT c.relname, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), "
                "a.attname, format_type(a.atttypid, a.atttypmod), "
                "a.attnotnull, a.atthasdef, pg_get_expr(d.adbin, d.adrelid), a.attidentity, "
                "a.attgenerated, a.attcollation, a.attstorage, a.attisdropped "
                "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
                "AND NOT a.attisdropped"
            ),
            "indexes": rows(
                "SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary "
                "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
                "WHERE ic.relnamespace = %s"
            ),
            "constraints": rows(
                "SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid), "
                "con.condeferrable, con.condeferred, con.convalidated "
                "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
                "WHERE con.connamespace = %s"
            ),
            "sequences": rows(
                "SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, "
                "q.seqmin, q.seqmax, q.seqcache, q.seqcycle, oc.relname, oa.attname, dep.deptype "
                "FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid "
                "LEFT JOIN pg_depend dep ON dep.objid = s.oid AND dep.classid = "
                "'pg_class'::regclass AND dep.refobjsubid > 0 "
                "LEFT JOIN pg_class oc ON oc.oid = dep.refobjid "
                "LEFT JOIN pg_attribute oa ON oa.attrelid = dep.refobjid "
                "AND oa.attnum = dep.refobjsubid WHERE s.relnamespace = %s"
            ),
        }
    return signature


def signature_digest(signature: dict[str, list]) -> str:
    return hashlib.sha256(repr(sorted(signature.items())).encode()).hexdigest()
