"""Pure SQL lineage (no Airflow import): tables and columns read and written by SQL text.

``analyze(sql, dialect)`` is the door; it never raises. sqlglot is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_lineage_provider.sql.dialects import dialect_for_conn_type
from airflow_lineage_provider.sql.model import (
    ColumnLineage,
    ColumnRef,
    IndirectLineage,
    SqlLineage,
    StatementLineage,
    TableRef,
)

__all__ = [
    "ColumnLineage",
    "ColumnRef",
    "IndirectLineage",
    "SqlLineage",
    "StatementLineage",
    "TableRef",
    "analyze",
    "dialect_for_conn_type",
]


def analyze(
    sql: str,
    dialect: str | None = None,
    *,
    default_database: str | None = None,
    default_schema: str | None = None,
    schema: Mapping[str, Any] | None = None,
    keep_temp_tables: bool = False,
    deadline: float | None = None,
) -> SqlLineage:
    """Lineage of ``sql`` (one statement or a script); never raises (errors are in the result).

    ``schema`` maps ``"[db.][schema.]table"`` to its column names (list) or ``{column: type}``; it enables
    ``SELECT *`` expansion and resolution of unqualified columns in joins. Tables in the result get
    ``default_database``/``default_schema`` for missing parts. ``keep_temp_tables`` keeps tables created and
    consumed inside a script in the net result (they are collapsed by default). ``deadline`` is a
    ``time.monotonic()`` value: once it has passed, no further statement is analysed and the result holds
    those analysed so far (``partial`` and ``stopped_early``, with an error saying so); one statement's parse
    is not interrupted.
    """
    from airflow_lineage_provider.sql.engine import analyze_safely

    return analyze_safely(
        sql,
        dialect,
        default_database=default_database,
        default_schema=default_schema,
        schema=schema,
        keep_temp_tables=keep_temp_tables,
        deadline=deadline,
    )
