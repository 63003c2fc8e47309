"""analyze() takes time linear in the size of wide or long statements.

Each case is timed at a size n and at 4n (CPU time, best of a few runs, garbage collector paused): linear
cost gives a ratio near 4, quadratic cost near 16. The bound of 8 leaves room for a loaded machine.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from airflow_lineage_provider.sql import SqlLineage, analyze

from .readers import cpu_seconds

#: time(4n) / time(n) above this is taken for super-linear growth (linear: about 4, quadratic: about 16)
MAX_RATIO = 8.0


@dataclass(frozen=True)
class Case:
    id: str
    dialect: str | None
    build: Callable[[int], str]
    n: int
    #: what the result at size n must show, so that the case times the path it is meant to
    check: Callable[[SqlLineage], bool]


def _array_join(n: int) -> str:
    joins = " ".join(f"ARRAY JOIN a{i} AS x{i}" for i in range(n))
    return "INSERT INTO o SELECT " + ", ".join(f"x{i}" for i in range(n)) + f" FROM t {joins}"


def _lateral_view(n: int) -> str:
    views = " ".join(f"LATERAL VIEW explode(a{i}) q{i} AS c{i}" for i in range(n))
    return f"INSERT INTO o SELECT c0, c{n - 1} FROM t {views}"


def _lateral_view_chain(n: int) -> str:
    views = " ".join(f"LATERAL VIEW explode(c{i - 1}) q{i} AS c{i}" for i in range(1, n))
    return f"INSERT INTO o SELECT * FROM t LATERAL VIEW explode(arr) q0 AS c0 {views}"


def _comma_join(n: int) -> str:
    return "INSERT INTO o SELECT t0.a FROM " + ", ".join(f"s.t{i}" for i in range(n))


def _join_on(n: int) -> str:
    joins = " ".join(f"JOIN s.t{i} ON t{i}.id = t{i - 1}.id" for i in range(1, n))
    return f"INSERT INTO o SELECT t0.a, b FROM s.t0 {joins}"


def _join_using(n: int) -> str:
    return "INSERT INTO o SELECT id FROM t0 " + " ".join(f"JOIN t{i} USING (id)" for i in range(1, n))


def _union_all(n: int) -> str:
    return "INSERT INTO o " + " UNION ALL ".join(f"SELECT a, b FROM t{i % 7}" for i in range(n))


def _case_when(n: int) -> str:
    whens = " ".join(f"WHEN a = {i} THEN b{i % 5}" for i in range(n))
    return f"INSERT INTO o SELECT CASE {whens} END AS c FROM t"


def _in_list(n: int) -> str:
    return "INSERT INTO o SELECT a FROM t WHERE b IN (" + ", ".join(str(i) for i in range(n)) + ")"


def _cte_chain(n: int) -> str:
    ctes = ", ".join(f"c{i} AS (SELECT a FROM {f'c{i - 1}' if i else 't'})" for i in range(n))
    return f"WITH {ctes} INSERT INTO o SELECT a FROM c{n - 1}"


def _casts(n: int) -> str:
    return "INSERT INTO o SELECT " + ", ".join(f"a{i}::int" for i in range(n)) + " FROM t"


def _nested_subqueries(n: int) -> str:
    return "INSERT INTO o " + "SELECT a FROM (" * n + "SELECT a FROM t" + ") x" * n


def _unterminated_dollar(tag: str) -> Callable[[int], str]:
    def build(n: int) -> str:  # n characters after the quote, each line a statement the quote swallows
        return f"SELECT 1; DO ${tag}$ " + "select a from t; " * (n // 17)

    return build


def _columns(result: SqlLineage) -> int:
    return len(result.column_lineage)


def _parsed(result: SqlLineage) -> bool:
    return not result.partial


CASES = [
    Case("clickhouse-array-join", "clickhouse", _array_join, 500, lambda r: _columns(r) == 500),
    Case("spark-lateral-view", "spark", _lateral_view, 600, lambda r: _columns(r) == 2),
    Case("hive-lateral-view-chain", "hive", _lateral_view_chain, 600, lambda r: _columns(r) > 600),
    Case("comma-join", "postgres", _comma_join, 1000, lambda r: len(r.inputs) == 1000),
    Case("join-on-chain", "postgres", _join_on, 500, lambda r: len(r.inputs) == 500 and not r.partial),
    Case("join-using-chain", "postgres", _join_using, 250, lambda r: _columns(r) == 1 and not r.partial),
    Case("union-all", "postgres", _union_all, 500, lambda r: _columns(r) == 2),
    Case("case-when", "postgres", _case_when, 500, lambda r: _columns(r) == 1),
    Case("in-list", "postgres", _in_list, 4000, lambda r: _columns(r) == 1 and not r.partial),
    Case("cte-chain", "postgres", _cte_chain, 250, lambda r: _columns(r) == 1),
    Case("postgres-casts", "postgres", _casts, 500, lambda r: _columns(r) == 500),
    Case("nesting-over-the-cap", "postgres", _nested_subqueries, 500, lambda r: r.partial),
    Case("dollar-quote-unterminated", "postgres", _unterminated_dollar(""), 15_000, _parsed),
    Case("tagged-quote-unterminated", "postgres", _unterminated_dollar("fn"), 15_000, _parsed),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_time_grows_linearly(case: Case) -> None:
    small, large = case.build(case.n), case.build(4 * case.n)
    assert case.check(analyze(small, case.dialect))  # also the warm-up
    t_small = cpu_seconds(small, case.dialect, runs=3)
    t_large = cpu_seconds(large, case.dialect, runs=2)
    ratio = t_large / max(t_small, 1e-3)
    assert ratio < MAX_RATIO, f"{case.id}: {t_small:.3f} s at n={case.n}, {t_large:.3f} s at 4n"


def _peak_bytes(sql: str, dialect: str | None) -> int:
    tracemalloc.start()
    try:
        analyze(sql, dialect)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("tag", ["", "fn"])
def test_unterminated_dollar_quote_memory_is_linear(tag: str) -> None:
    """The script an unterminated ``$$`` swallows is re-parsed into one statement per line: their texts
    must not each be a copy of the whole rest (quadratic memory, and time once it no longer fits)."""
    build = _unterminated_dollar(tag)
    analyze(build(1_000), "postgres")  # warm-up
    small, large = _peak_bytes(build(5_000), "postgres"), _peak_bytes(build(20_000), "postgres")
    assert large / small < MAX_RATIO, f"peak {small} bytes at n=5000, {large} at 4n"
