"""Small readers of ``analyze()`` results for exact, table-driven assertions."""

from __future__ import annotations

import gc
import time
from typing import Any

from airflow_lineage_provider.sql import analyze


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


def plain(sql: str, dialect: str, **kwargs: Any) -> dict[str, set[str]]:
    """``{output column: {input columns}}``."""
    return {k: v[0] for k, v in edges(sql, dialect, **kwargs).items()}


def cpu_seconds(sql: str, dialect: str | None, runs: int = 2) -> float:
    """Best CPU time of ``runs`` analyses, each with the garbage collector paused (a collection of the
    whole test session's heap must not land in one side of a scaling comparison)."""
    best = float("inf")
    enabled = gc.isenabled()
    try:
        for _ in range(runs):
            gc.collect()
            gc.disable()
            start = time.process_time()
            analyze(sql, dialect)
            best = min(best, time.process_time() - start)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return best
