"""Value objects returned by :func:`airflow_lineage_provider.sql.analyze`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: OpenLineage column-lineage transformation types
IDENTITY = "IDENTITY"
TRANSFORMATION = "TRANSFORMATION"
AGGREGATION = "AGGREGATION"
#: OpenLineage INDIRECT subtypes: input columns that decide which rows an output gets (or their order)
FILTER = "FILTER"
JOIN = "JOIN"
GROUP_BY = "GROUP_BY"
SORT = "SORT"


@dataclass(frozen=True)
class TableRef:
    """A dataset named by SQL: unquoted parts are stored lower-cased, quoted parts keep their case."""

    name: str
    schema: str | None = None
    database: str | None = None

    @property
    def qualified(self) -> str:
        """``db.schema.name`` with only the parts present."""
        return ".".join(p for p in (self.database, self.schema, self.name) if p)

    def __str__(self) -> str:
        return self.qualified


@dataclass(frozen=True)
class ColumnRef:
    """A column of a table (``table`` is None for the result columns of a plain SELECT)."""

    table: TableRef | None
    column: str

    @property
    def qualified(self) -> str:
        return f"{self.table.qualified}.{self.column}" if self.table is not None else self.column

    def __str__(self) -> str:
        return self.qualified


@dataclass(frozen=True)
class ColumnLineage:
    """One output column and the input columns it derives from."""

    output: ColumnRef
    inputs: tuple[ColumnRef, ...]
    transformation: str = IDENTITY


@dataclass(frozen=True)
class IndirectLineage:
    """An input column that shapes an output dataset without flowing into a column of it: a WHERE, JOIN,
    GROUP BY, HAVING, QUALIFY, ORDER BY or window column (OpenLineage's dataset-level INDIRECT lineage)."""

    output: TableRef
    input: ColumnRef
    subtype: str = FILTER

    def sort_key(self) -> tuple[str, str, str]:
        return (str(self.output), str(self.input), self.subtype)


@dataclass(frozen=True)
class StatementLineage:
    """Lineage of one statement of a script."""

    sql: str
    kind: str
    inputs: tuple[TableRef, ...] = ()
    outputs: tuple[TableRef, ...] = ()
    column_lineage: tuple[ColumnLineage, ...] = ()
    errors: tuple[str, ...] = ()
    partial: bool = False
    indirect: tuple[IndirectLineage, ...] = ()


def _edges(column_lineage: tuple[ColumnLineage, ...]) -> list[list[str]]:
    edges: dict[tuple[str, str], None] = {}
    for cl in column_lineage:
        for src in cl.inputs:
            edges[(cl.output.qualified, src.qualified)] = None
    return [list(e) for e in edges]


@dataclass(frozen=True)
class SqlLineage:
    """Net lineage of a SQL text (one statement or a script) plus per-statement results."""

    inputs: tuple[TableRef, ...] = ()
    outputs: tuple[TableRef, ...] = ()
    column_lineage: tuple[ColumnLineage, ...] = ()
    statements: tuple[StatementLineage, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    partial: bool = False
    #: False when no statement could be analysed at column level (then ``to_dict`` gives None)
    columns_known: bool = field(default=True)
    #: input columns that filter, join, group, sort or window the outputs' rows (not in ``to_dict``)
    indirect: tuple[IndirectLineage, ...] = ()
    #: the analysis stopped at its ``deadline``: the statements after those in ``statements`` are missing
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``{"inputs": [...], "outputs": [...], "column_lineage": [[out, in], ...] or None}``."""
        return {
            "inputs": [t.qualified for t in self.inputs],
            "outputs": [t.qualified for t in self.outputs],
            "column_lineage": _edges(self.column_lineage) if self.columns_known else None,
        }
