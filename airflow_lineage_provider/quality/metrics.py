"""The one-scan metrics query and its measurement.

One ``SELECT`` reads the table once and returns integers only: the row count, per checked column its
non-null count (``COUNT(c)``) or, where the engine has aggregate ``FILTER``, its null count
(``COUNT(*) FILTER (WHERE c IS NULL)``: the aggregate then only steps on null rows, 10-25 % faster on
PostgreSQL and SQLite), and, where asked, the count of blank strings. Rates are derived in Python, so no
engine's integer division or divide-by-zero rule leaks into the result.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality.dialects import NamePart, QualityDialect
from airflow_lineage_provider.quality.filters import validate_row_filter


@attrs.frozen
class ColumnSpec:
    """A column to measure: its exact catalog name and whether to count blank strings.

    ``opaque``: the engine cannot cast the column's type to text (a MySQL spatial type): its blank test
    uses the dialect's ``opaque_text_cast``.
    """

    name: str
    count_blank: bool = False
    opaque: bool = False


@attrs.frozen
class MetricsQuery:
    """The SQL and the layout of its one result row (``row_count``, then per column values/blanks).

    ``counts_nulls``: the per-column value is the null count (``FILTER`` form), else the non-null count.
    """

    sql: str
    columns: tuple[ColumnSpec, ...]
    counts_nulls: bool = False
    #: session settings run first on the same connection (the dialect's ``setup``)
    setup: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "columns": [attrs.asdict(c) for c in self.columns],
            "counts_nulls": self.counts_nulls,
            "setup": list(self.setup),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricsQuery:
        return cls(
            sql=data["sql"],
            columns=tuple(ColumnSpec(**c) for c in data["columns"]),
            counts_nulls=bool(data.get("counts_nulls", False)),  # absent in triggers serialised by 0.1.0
            setup=tuple(str(s) for s in data.get("setup") or ()),  # absent in triggers serialised before it
        )

    def execute(self, cursor: Any) -> Sequence[Any] | None:
        """Run the setup statements, then the query, on a DB-API ``cursor``; the query's one result row."""
        for statement in self.setup:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()
        cursor.execute(self.sql)
        return cursor.fetchone()

    def run(self, connection: Any) -> Sequence[Any] | None:
        """:meth:`execute` on a new cursor of a DB-API ``connection``."""
        cursor = connection.cursor()
        try:
            return self.execute(cursor)
        finally:
            cursor.close()

    def parse(self, row: Sequence[Any] | None) -> Measurement:
        """The measurement from the query's result row (integers; ``None`` counts as 0)."""
        expected = 1 + sum(2 if c.count_blank else 1 for c in self.columns)
        if row is None or len(row) != expected:
            msg = f"the metrics query returned {row!r}; expected one row of {expected} counts"
            raise QualityGateError(msg)
        values = [int(v or 0) for v in row]
        rows = values[0]
        position = 1
        columns: dict[str, ColumnCounts] = {}
        for column in self.columns:
            counted = values[position]
            position += 1
            non_null = rows - counted if self.counts_nulls else counted
            blank = None
            if column.count_blank:
                blank = values[position]
                position += 1
            columns[column.name] = ColumnCounts(non_null=non_null, null=rows - non_null, blank=blank)
        return Measurement(row_count=rows, columns=columns)


@attrs.frozen
class ColumnCounts:
    """Counts of one column over the evaluated rows (``blank`` is ``None`` when not counted)."""

    non_null: int
    null: int
    blank: int | None = None


@attrs.frozen
class Measurement:
    """What one scan measured."""

    row_count: int
    columns: dict[str, ColumnCounts]

    def to_dict(self) -> dict[str, Any]:
        return {"row_count": self.row_count, "columns": {k: attrs.asdict(v) for k, v in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            row_count=int(data["row_count"]),
            columns={k: ColumnCounts(**v) for k, v in data["columns"].items()},
        )


def build_metrics_query(
    dialect: QualityDialect,
    table: tuple[NamePart, ...],
    columns: Sequence[ColumnSpec],
    *,
    row_filter: str | None = None,
    sample_percent: float | None = None,
) -> MetricsQuery:
    """The one-scan query.

    ``SELECT COUNT(*), COUNT(c1), [COUNT(CASE WHEN TRIM(c1) = '' THEN 1 END)], ... FROM t [sample] [WHERE]``,
    or with ``COUNT(*) FILTER (WHERE c1 IS NULL)`` / ``FILTER (WHERE TRIM(c1) = '')`` where the dialect
    has aggregate filters.
    """
    if not columns:
        msg = "no column to measure: null_thresholds must name at least one column"
        raise QualityGateError(msg)
    counters = 1 + sum(2 if c.count_blank else 1 for c in columns)
    limit = dialect.max_result_columns
    if limit is not None and counters > limit:
        msg = (
            f"measuring {len(columns)} columns of {dialect.render_table(table)} takes {counters} counters "
            "in the one result row (a row count, a null count per column, a blank count per blank_is_null "
            f"column), and {dialect.name} allows at most {limit}: split null_thresholds over two gates, or "
            "count blanks (blank_is_null) on fewer columns"
        )
        raise QualityGateError(msg)
    selects = ["COUNT(*)"]
    for column in columns:
        quoted = dialect.quote(column.name)
        if dialect.aggregate_filter:
            selects.append(f"COUNT(*) FILTER (WHERE {quoted} IS NULL)")
            if column.count_blank:
                selects.append(f"COUNT(*) FILTER (WHERE {dialect.blank_test(quoted, opaque=column.opaque)})")
            continue
        selects.append(f"COUNT({quoted})")
        if column.count_blank:
            selects.append(f"COUNT(CASE WHEN {dialect.blank_test(quoted, opaque=column.opaque)} THEN 1 END)")
    sql = f"SELECT {', '.join(selects)} FROM {dialect.render_table(table)}"
    if sample_percent is not None:
        sql += dialect.sample(sample_percent)
    checked_filter = validate_row_filter(row_filter)
    if checked_filter:
        sql += f" WHERE ({checked_filter})"
    return MetricsQuery(
        sql=sql, columns=tuple(columns), counts_nulls=dialect.aggregate_filter, setup=dialect.setup
    )


_MYSQL_TYPES = frozenset({"mysql", "mariadb", "aurora_mysql"})


def cancellable(connection: Any, conn_type: str | None) -> bool:
    """Whether a query running on ``connection`` can be cancelled from another thread (``query_stopper``)."""
    return (conn_type or "").lower() in _MYSQL_TYPES or callable(getattr(connection, "cancel", None))


def query_stopper(
    connection: Any, conn_type: str | None, open_connection: Callable[[], Any]
) -> Callable[[], str]:
    """A function that stops the statement about to run on ``connection`` (called from another thread while
    it runs) and says how it did.

    PostgreSQL (and any driver with one): ``connection.cancel()``, which asks the server to cancel it.
    MySQL/MariaDB: ``KILL QUERY`` with the session's id (read now: the driver refuses to be asked while its
    statement runs), on a connection of its own (``open_connection``). SQLite: ``interrupt()``. Others: the
    connection is closed, which most servers notice at their next write to the client.
    """
    if (conn_type or "").lower() in _MYSQL_TYPES:
        session = connection.thread_id() if callable(getattr(connection, "thread_id", None)) else None
        session = getattr(connection, "connection_id", None) if session is None else session
        if session is not None:
            statement = f"KILL QUERY {int(session)}"

            def kill() -> str:
                other = open_connection()
                try:
                    cursor = other.cursor()
                    cursor.execute(statement)
                    cursor.close()
                finally:
                    other.close()
                return statement

            return kill
    for method in ("cancel_safe", "cancel", "interrupt", "close"):
        if callable(getattr(connection, method, None)):
            stop = getattr(connection, method)

            def call(stop: Callable[[], Any] = stop, method: str = method) -> str:
                stop()
                return f"connection.{method}()"

            return call
    return lambda: "nothing (the driver cannot be stopped)"


def error_line(exc: BaseException) -> str:
    """A database error as one short line (type and first line of the message) for logs and messages."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def probe_query(dialect: QualityDialect, table: tuple[NamePart, ...]) -> str:
    """A query that reads no row but fails for an unknown table and describes its columns."""
    return f"SELECT * FROM {dialect.render_table(table)} WHERE 1 = 0"


def resolve_columns(wanted: Sequence[str], available: Sequence[str], *, table: str) -> dict[str, str]:
    """Map each wanted column to the table's exact name: an exact match, else a unique case-insensitive one.

    Raises ``QualityGateError`` naming the unknown (or ambiguous) columns and listing the table's columns.
    """
    by_lower: dict[str, list[str]] = {}
    for name in available:
        by_lower.setdefault(name.lower(), []).append(name)
    resolved: dict[str, str] = {}
    problems = []
    for name in wanted:
        if name in available:
            resolved[name] = name
            continue
        candidates = by_lower.get(name.lower(), [])
        if len(candidates) == 1:
            resolved[name] = candidates[0]
        elif candidates:
            problems.append(f"{name!r} is ambiguous (matches {candidates}; use the exact case)")
        else:
            close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
            hint = f" (did you mean {by_lower[close[0]][0]!r}?)" if close else ""
            problems.append(f"{name!r} does not exist{hint}")
    keys_of: dict[str, list[str]] = {}
    for name, column in resolved.items():
        keys_of.setdefault(column, []).append(name)
    for column, keys in keys_of.items():
        if len(keys) > 1:
            problems.append(f"{' and '.join(map(repr, keys))} are the same column {column!r} (keep one rule)")
    if problems:
        msg = (
            f"null_thresholds names columns of {table} that cannot be measured: {'; '.join(problems)}. "
            f"Columns of {table}: {', '.join(available)}"
        )
        raise QualityGateError(msg)
    return resolved
