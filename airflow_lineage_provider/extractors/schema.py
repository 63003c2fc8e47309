"""Table schemas read from the real database, for ``SELECT *`` expansion, column resolution and schema facets.

One metadata query covers every table a task references (``pg_catalog`` for PostgreSQL,
``information_schema.columns`` for MySQL/MariaDB, Redshift, MSSQL, Snowflake, Trino ...; ``pragma_table_info``
for SQLite), under a timeout
(``[lineage_provider] schema_query_timeout``, also enforced server-side where the database supports it).
Results are cached per connection for ``schema_cache_ttl`` seconds, so a table already known is not looked
up again; tables a task writes are refreshed on its terminal event (their columns may have changed).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from airflow_lineage_provider.extractors.budget import call_with_timeout
from airflow_lineage_provider.naming import source_kind

if TYPE_CHECKING:
    from airflow_lineage_provider.sql import TableRef

log = logging.getLogger(__name__)

#: sources whose ``information_schema.columns`` the lookup can query
_INFORMATION_SCHEMA = {
    "postgres",
    "redshift",
    "mysql",
    "mssql",
    "snowflake",
    "trino",
    "presto",
    "vertica",
    "databricks",
}
#: sources where identifiers are matched case-insensitively (the server stores another case or folds)
_CASE_INSENSITIVE = {"mysql", "mssql", "snowflake", "sqlite", "databricks"}

#: counters for tests and benchmarks: metadata queries sent to a database, cache hits
STATS = {"round_trips": 0, "cached_tables": 0}


@attrs.frozen
class Column:
    name: str
    type: str | None = None


Columns = tuple[Column, ...]


@attrs.frozen
class SchemaResult:
    """Columns per table key (``TableRef.qualified``); ``error`` says why some could not be looked up.

    ``moved``: tables named with the default schema that the database resolves elsewhere (a later schema of
    PostgreSQL's ``search_path``): requested key -> the table it really is.
    """

    columns: dict[str, Columns]
    round_trips: int = 0
    error: str | None = None
    moved: dict[str, TableRef] = attrs.field(factory=dict)


class _Cache:
    """Per-connection TTL cache of table columns (and of where a table named with the default schema is)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, Columns, TableRef | None]] = {}
        self._lock = threading.Lock()

    def entry(self, connection_key: str, table_key: str) -> tuple[Columns, TableRef | None] | None:
        with self._lock:
            entry = self._entries.get((connection_key, table_key))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1], entry[2]

    def get(self, connection_key: str, table_key: str) -> Columns | None:
        entry = self.entry(connection_key, table_key)
        return None if entry is None else entry[0]

    def put(
        self, connection_key: str, table_key: str, columns: Columns, ttl: float, moved: TableRef | None = None
    ) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries[(connection_key, table_key)] = (time.monotonic() + ttl, columns, moved)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = _Cache()


def supports_lookup(conn_type: str | None) -> bool:
    kind = source_kind(conn_type)
    return kind == "sqlite" or kind in _INFORMATION_SCHEMA


def cached_schemas(connection_key: str, tables: Iterable[TableRef]) -> dict[str, Columns]:
    """Columns of the tables already in the cache (no database access)."""
    return cached_lookup(connection_key, tables).columns


def cached_lookup(connection_key: str, tables: Iterable[TableRef]) -> SchemaResult:
    """What the cache knows of ``tables`` (columns, moved tables), without database access."""
    found: dict[str, Columns] = {}
    moved: dict[str, TableRef] = {}
    for table in tables:
        entry = CACHE.entry(connection_key, table.qualified)
        if entry is not None:
            found[table.qualified] = entry[0]
            if entry[1] is not None:
                moved[table.qualified] = entry[1]
    return SchemaResult(found, moved=moved)


def lookup_schemas(
    hook: Any,
    conn_type: str | None,
    connection_key: str,
    tables: Sequence[TableRef],
    *,
    refresh: Collection[str] = (),
    timeout: float,
    ttl: float,
    default_schema: str | None = None,
) -> SchemaResult:
    """Columns of ``tables``: from the cache, the rest (and every key in ``refresh``) in ONE query.

    Never raises: a failure or timeout is reported in ``SchemaResult.error`` with what the cache had.
    Tables the database does not know (dropped, temporary, in another database) are simply absent.

    PostgreSQL: a table named with ``default_schema`` (where the SQL's unqualified names were put) that is
    not there is looked up by ``search_path`` visibility too, as the server resolves the unqualified name;
    if another schema has it, it is reported in ``SchemaResult.moved``.
    """
    kind = source_kind(conn_type)
    unique = {table.qualified: table for table in tables}
    cached = cached_lookup(connection_key, unique.values())
    found = {key: cols for key, cols in cached.columns.items() if key not in refresh}
    moved = {key: table for key, table in cached.moved.items() if key in found}
    STATS["cached_tables"] += len(found)
    missing = [table for key, table in unique.items() if key not in found]
    if not missing:
        return SchemaResult(found, moved=moved)
    if not supports_lookup(conn_type):
        return SchemaResult(found, error=f"no schema lookup for connection type {conn_type!r}", moved=moved)
    if timeout <= 0:
        return SchemaResult(
            found, error="no time left in the extraction budget for the schema lookup", moved=moved
        )
    resolvable = default_schema if kind == "postgres" else None
    try:
        rows = call_with_timeout(
            lambda: _query(hook, kind, missing, timeout, resolvable), timeout, name="lineage-schema-lookup"
        )
    except Exception as exc:
        reason = f"schema lookup failed: {type(exc).__name__}: {str(exc)[:200]}"
        return SchemaResult(found, round_trips=1, error=reason, moved=moved)
    fetched, relocated = _match(kind, missing, rows, resolvable)
    for key, columns in fetched.items():
        CACHE.put(connection_key, key, columns, ttl, relocated.get(key))
    found.update(fetched)
    moved.update(relocated)
    return SchemaResult(found, round_trips=1, moved=moved)


def _literal(value: str, kind: str) -> str:
    escaped = value.replace("'", "''")
    if kind == "mysql":
        escaped = escaped.replace("\\", "\\\\")
    return f"'{escaped}'"


def _sqlite_query(tables: Sequence[TableRef]) -> str:
    """One statement for every table, attached databases included. The schema argument of
    ``pragma_table_info`` comes from ``pragma_database_list``, so a database the SQL ATTACHed on its own
    connection (unknown to the lookup connection) is simply not found instead of failing the whole query."""
    wanted = sorted(
        {((table.schema or table.database or "main").lower(), table.name.lower()) for table in tables}
    )
    rows = ", ".join(f"({_literal(schema, 'sqlite')}, {_literal(name, 'sqlite')})" for schema, name in wanted)
    return (
        f"WITH wanted(s, t) AS (VALUES {rows}) "
        "SELECT d.name, w.t, p.name, p.type, p.cid "
        "FROM pragma_database_list AS d CROSS JOIN wanted AS w "
        "CROSS JOIN pragma_table_info(w.t, d.name) AS p "
        "WHERE lower(d.name) = w.s ORDER BY 1, 2, 5"
    )


def _information_schema_query(kind: str, tables: Sequence[TableRef]) -> str:
    fold = kind in _CASE_INSENSITIVE
    column_schema = "LOWER(table_schema)" if fold else "table_schema"
    column_name = "LOWER(table_name)" if fold else "table_name"
    conditions = []
    for table in tables:
        name = _literal(table.name.lower() if fold else table.name, kind)
        if table.schema:
            schema = _literal(table.schema.lower() if fold else table.schema, kind)
            conditions.append(f"({column_schema} = {schema} AND {column_name} = {name})")
        else:
            conditions.append(f"({column_name} = {name})")
    return (
        "SELECT table_catalog, table_schema, table_name, column_name, data_type "
        "FROM information_schema.columns WHERE "
        + " OR ".join(conditions)
        + " ORDER BY table_schema, table_name, ordinal_position"
    )


def _postgres_query(tables: Sequence[TableRef], default_schema: str | None = None) -> str:
    """pg_catalog directly: the information_schema.columns view is ~10x slower on a busy catalog.

    A table in ``default_schema`` is also matched where ``search_path`` makes its name visible.
    """
    conditions = []
    for table in tables:
        name = _literal(table.name, "postgres")
        if table.schema:
            visible = (
                f" OR (c.relname = {name} AND pg_catalog.pg_table_is_visible(c.oid))"
                if default_schema and table.schema == default_schema
                else ""
            )
            conditions.append(
                f"((n.nspname = {_literal(table.schema, 'postgres')} AND c.relname = {name}){visible})"
            )
        else:
            conditions.append(f"(c.relname = {name} AND pg_catalog.pg_table_is_visible(c.oid))")
    return (
        "SELECT pg_catalog.current_database(), n.nspname, c.relname, a.attname, "
        "pg_catalog.format_type(a.atttypid, a.atttypmod) "
        "FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND ("
        + " OR ".join(conditions)
        + ") ORDER BY n.nspname, c.relname, a.attnum"
    )


def _query(
    hook: Any, kind: str, tables: Sequence[TableRef], timeout: float, default_schema: str | None = None
) -> list[tuple[Any, ...]]:
    """Run the one metadata query on a fresh connection; rows are (catalog, schema, table, column, type)."""
    if kind == "sqlite":
        sql = _sqlite_query(tables)
    elif kind == "postgres":
        sql = _postgres_query(tables, default_schema)
    else:
        sql = _information_schema_query(kind, tables)
    conn = hook.get_conn()
    try:
        if kind in ("postgres", "redshift", "vertica"):
            sql = f"SET statement_timeout = {max(1, int(timeout * 1000))}; {sql}"
        elif kind == "mysql" and "mariadb" in str(_server_info(conn)).lower():
            sql = f"SET STATEMENT max_statement_time = {max(timeout, 0.001):.3f} FOR {sql}"
        elif kind == "mysql":
            hint = f"/*+ MAX_EXECUTION_TIME({max(1, int(timeout * 1000))}) */"
            sql = sql.replace("SELECT ", f"SELECT {hint} ", 1)
        cursor = conn.cursor()
        STATS["round_trips"] += 1
        cursor.execute(sql)
        while cursor.description is None and cursor.nextset():  # psycopg 3: skip the SET's result
            pass
        rows = list(cursor.fetchall())
        cursor.close()
        if kind == "sqlite":
            return [(None, schema, table, column, type_) for schema, table, column, type_, _ in rows]
        return rows
    finally:
        try:
            if kind in ("postgres", "redshift", "vertica"):
                conn.rollback()
            conn.close()
        except Exception:
            log.debug("closing the schema-lookup connection failed", exc_info=True)


def _server_info(conn: Any) -> str:
    getter = getattr(conn, "get_server_info", None)
    try:
        return str(getter()) if getter else ""
    except Exception:
        return ""


def _match(
    kind: str, tables: Sequence[TableRef], rows: Iterable[tuple[Any, ...]], default_schema: str | None = None
) -> tuple[dict[str, Columns], dict[str, TableRef]]:
    """Group rows by table and map them back to the requested table keys; also the tables of
    ``default_schema`` found only in another schema of the search path (see :func:`_postgres_query`)."""
    fold = kind in _CASE_INSENSITIVE

    def norm(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.lower() if fold else text

    databases = {norm(table.database) for table in tables if table.database}
    # rows by (schema, table) as matched, then by the catalog's own spelling: on a case-sensitive MySQL
    # server `Orders` and `orders` are two tables that match the same folded name
    spelled: dict[tuple[str, str], dict[tuple[str, str], list[Column]]] = {}
    for catalog, schema, table, column, type_ in rows:
        if catalog and kind not in ("mysql", "sqlite") and databases and norm(catalog) not in databases:
            continue  # same schema.table name in another database than the one asked for
        variants = spelled.setdefault((norm(schema), norm(table)), {})
        variants.setdefault(("" if schema is None else str(schema), str(table)), []).append(
            Column(str(column), str(type_).lower() if type_ else None)
        )

    def columns_of(key: tuple[str, str], table: TableRef) -> list[Column] | None:
        variants = spelled.get(key)
        if not variants:
            return None
        if len(variants) == 1:
            return next(iter(variants.values()))
        exact = [cols for (_, tname), cols in variants.items() if tname == table.name]
        return exact[0] if len(exact) == 1 else None  # several spellings, none as written: ambiguous

    result: dict[str, Columns] = {}
    moved: dict[str, TableRef] = {}
    for table in tables:
        name = norm(table.name)
        if table.schema or kind == "sqlite":
            schema = norm(table.schema or table.database or "main")
            columns = columns_of((schema, name), table)
            if columns is None and default_schema and table.schema == default_schema:
                asked = {norm(t.schema) for t in tables if norm(t.name) == name}  # rows asked by name
                elsewhere = [(s, tname) for (s, tname) in spelled if tname == name and s not in asked]
                if len(elsewhere) == 1:  # so the one visible on the search path
                    columns = columns_of(elsewhere[0], table)
                    moved[table.qualified] = dataclasses.replace(table, schema=elsewhere[0][0])
        else:  # unqualified: only if exactly one schema has it
            candidates = [key for key in spelled if key[1] == name]
            columns = columns_of(candidates[0], table) if len(candidates) == 1 else None
        if columns:
            result[table.qualified] = tuple(columns)
    return result, moved
