"""Script-level driver: split, parse per dialect, walk each statement, net the script."""

from __future__ import annotations

import logging
from typing import Any

from airflow_lineage_provider.sql.model import SqlLineage, StatementLineage, TableRef

log = logging.getLogger(__name__)


def analyze_safely(sql: Any, dialect: str | None, **kwargs: Any) -> SqlLineage:
    """``analyze`` without ever raising: any unexpected error becomes an error entry of the result."""
    try:
        return _analyze(sql if isinstance(sql, str) else str(sql or ""), dialect, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the door must never raise
        return SqlLineage(errors=(f"lineage analysis failed: {type(exc).__name__}: {exc}",), partial=True)


def _analyze(sql: str, dialect: str | None, **kwargs: Any) -> SqlLineage:
    import sqlglot
    from sqlglot import exp

    from airflow_lineage_provider.sql.dialects import sqlglot_dialect

    statements = []
    inputs: dict[TableRef, None] = {}
    outputs: dict[TableRef, None] = {}
    for tree in sqlglot.parse(sql, read=sqlglot_dialect(dialect)):
        if tree is None:
            continue
        ins = tuple(TableRef(t.name, t.db or None, t.catalog or None) for t in tree.find_all(exp.Table))
        inputs.update(dict.fromkeys(ins))
        statements.append(StatementLineage(sql=tree.sql(), kind=tree.key, inputs=ins))
    return SqlLineage(inputs=tuple(inputs), outputs=tuple(outputs), statements=tuple(statements))
