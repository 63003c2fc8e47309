"""Small readers of ``analyze()`` results for exact, table-driven assertions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from timing import best_cpu_seconds, best_cpu_seconds_of_both

from airflow_lineage_provider.sql import SqlLineage, analyze


def tables(sql: str, dialect: str, **kwargs: Any) -> tuple[list[str], list[str]]:
    """Sorted qualified (inputs, outputs); the analysis must report no error."""
    res = analyze(sql, dialect, **kwargs)
    assert not res.errors, res.errors
    return sorted(t.qualified for t in res.inputs), sorted(t.qualified for t in res.outputs)


def edges(sql: str, dialect: str, **kwargs: Any) -> dict[str, tuple[set[str], str]]:
    """``{output column: ({input columns}, transformation)}``; the analysis must report no error."""
    res = analyze(sql, dialect, **kwargs)
    assert not res.errors, res.errors
    return {
        c.output.qualified: ({i.qualified for i in c.inputs}, c.transformation) for c in res.column_lineage
    }


def column_sources(result: SqlLineage) -> dict[str, set[str]]:
    """``{output column: {input columns}}`` of an analysis already made (errors are the caller's to check)."""
    return {c.output.qualified: {i.qualified for i in c.inputs} for c in result.column_lineage}


def plain(sql: str, dialect: str, **kwargs: Any) -> dict[str, set[str]]:
    """``{output column: {input columns}}``."""
    return {k: v[0] for k, v in edges(sql, dialect, **kwargs).items()}


def indirect_rows(sql: str, dialect: str = "postgres", **kwargs: Any) -> set[tuple[str, str, str]]:
    """``(output, input, subtype)`` of the INDIRECT (row-deciding) lineage; the SQL must analyse cleanly."""
    result = analyze(sql, dialect, **kwargs)
    assert not result.errors, result.errors
    return {(str(r.output), str(r.input), r.subtype) for r in result.indirect}


def kinds(sql: str, dialect: str) -> list[str]:
    """The kind of each statement; the SQL must analyse cleanly."""
    result = analyze(sql, dialect)
    assert not result.errors, result.errors
    return [s.kind for s in result.statements]


def cpu_seconds(sql: str, dialect: str | None, runs: int = 2) -> float:
    """Best CPU time of ``runs`` analyses, each with the garbage collector paused (``timing``)."""
    return best_cpu_seconds(lambda: analyze(sql, dialect), runs)


def cpu_at_n_and_4n(build: Callable[[int], str], dialect: str | None, n: int) -> tuple[float, float]:
    """Best CPU seconds of analysing ``build(n)`` and ``build(4 * n)``, measured in turns: linear cost gives a
    ratio near 4."""
    small, large = build(n), build(4 * n)
    return best_cpu_seconds_of_both(lambda: analyze(small, dialect), lambda: analyze(large, dialect))
