"""analyze() takes time linear in the size of wide or long statements.

Each case is timed at a size n and at 4n (CPU time, best of a few runs, garbage collector paused): linear
cost gives a ratio near 4, quadratic cost near 16. The bound of 8 leaves room for a loaded machine.

The guards at the end keep the text rewrites and scans of vendor clauses (``INTO OUTFILE``, ``UNLOAD``,
executable comments, ``CLONE``, ``LIMIT BY``, ...) and of procedural heads (``LOOP``, ``ELSE IF ... THEN``)
linear on long or unterminated input: they compare n with 4n like the cases above, with the bounds each was
written with.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from airflow_lineage_provider.sql import SqlLineage, analyze

from .readers import cpu_at_n_and_4n, cpu_seconds

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


# ----------------------------------------------------------------- linear time of the text rewrites and scans


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("SELECT a INTO OUTFILE '/x' " + "FIELDS TERMINATED BY ',' " * 5000 + "FROM", "mysql"),
        ("SELECT a INTO OUTFILE '" + "x" * 100_000, "mysql"),
        ("ALTER TABLE " + "a" * 100_000 + " UPDATE", "clickhouse"),
        ("ALTER TABLE " + "a." * 30_000 + " UPDATE", "clickhouse"),
        ("CREATE STREAM " + "s" * 100_000, "snowflake"),
        ("EXCHANGE TABLES " + "t" * 100_000, "clickhouse"),
        ("SELECT * FROM OPENROWSET(BULK " + "(" * 90 + "'x'", "tsql"),
        ("DELETE TOP (" + "1" * 100_000, "tsql"),
        ("CREATE TABLE x CLONE " + "y" * 100_000 + " FOR SYSTEM_TIME", "bigquery"),
        ("SELECT 1\n" + "GO\n" * 20_000, "tsql"),
    ],
)
def test_vendor_clause_scans_stay_linear(sql: str, dialect: str) -> None:
    start = time.perf_counter()
    assert isinstance(analyze(sql, dialect).to_dict(), dict)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("build", "dialect"),
    [
        pytest.param(
            lambda n: (
                "INSERT INTO o SELECT a.x, y FROM a JOIN b ON a.id = b.id WHERE "
                + " AND ".join(f"a.c{i} = b.d{i}" for i in range(n))
            ),
            "postgres",
            id="qualified-columns-pass",
        ),
        pytest.param(
            lambda n: (
                "UPDATE t SET " + ", ".join(f"c{i} = v{i}" for i in range(n)) + " FROM s WHERE t.id = s.id"
            ),
            "postgres",
            id="update-set-list",
        ),
        pytest.param(
            lambda n: "RENAME TABLE " + ", ".join(f"a.t{i} TO a.u{i}" for i in range(n)),
            "mysql",
            id="rename-pairs",
        ),
        pytest.param(
            lambda n: (
                "MERGE INTO t USING s ON (t.id = s.id) "
                + " ".join(
                    f"WHEN MATCHED THEN UPDATE SET t.v = s.v WHERE s.a{i} = 1 DELETE WHERE s.b{i} = 2"
                    for i in range(n)
                )
            ),
            "oracle",
            id="merge-delete-where",
        ),
        pytest.param(
            lambda n: "; ".join(f"INSERT INTO x SELECT y FROM z WHERE n = $q{i}$a;b$q{i}$" for i in range(n)),
            "postgres",
            id="tagged-dollar-quotes",
        ),
        pytest.param(
            lambda n: (
                "IMPORT INTO t FROM CSV AT 'https://x/' " + " ".join(f"FILE 'f{i}.csv'" for i in range(n))
            ),
            "exasol",
            id="exasol-files",
        ),
        pytest.param(
            lambda n: (
                "IF EXISTS (SELECT 1 FROM c WHERE "
                + " AND ".join(f"(k{i} = 1)" for i in range(n))
                + ") THEN INSERT INTO x SELECT y FROM z; END IF"
            ),
            "bigquery",
            id="procedural-condition",
        ),
    ],
)
def test_resolution_rename_and_script_passes_are_linear(build: Callable[[int], str], dialect: str) -> None:
    cpu_seconds(build(50), dialect, runs=1)  # warm-up (imports)
    small, large = cpu_at_n_and_4n(build, dialect, 250)
    assert large < max(small, 0.005) * 10, (small, large)  # 4x the size: far from 16x


@pytest.mark.parametrize(
    ("build", "dialect"),
    [
        pytest.param(
            lambda n: "".join(f"INSERT INTO t{i} SELECT a FROM s # it's {i}; ok\n;" for i in range(n)),
            "mysql",
            id="hash-comments",
        ),
        pytest.param(
            lambda n: "".join(f"ALTER TABLE a{i} RENAME TO b{i}; DROP TABLE b{i};" for i in range(n)),
            "postgres",
            id="renames-dropped",
        ),
        pytest.param(
            lambda n: "ALTER TABLE db.t ATTACH PARTITION " + "x" * (40 * n) + " FROM db.s",
            "clickhouse",
            id="long-partition-expression",
        ),
    ],
)
def test_comment_rename_and_partition_passes_are_linear(build: Callable[[int], str], dialect: str) -> None:
    cpu_seconds(build(15), dialect, runs=1)  # warm-up
    small, large = cpu_at_n_and_4n(build, dialect, 150)
    assert large < 2.0
    assert large / max(small, 1e-3) < 8.0


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param("x WITH DATA", id="materialized-view-with-data"),
        pytest.param("x y WITH CHECK OPTION", id="view-check-option"),
    ],
)
def test_trailing_clause_rewrites_are_linear_in_a_whitespace_run(tail: str) -> None:
    """The rewrites that drop a trailing ``WITH [NO] DATA`` / ``WITH CHECK OPTION`` search the whole text:
    a long run of blanks (a rendered template) must not make them quadratic."""

    def sql(n: int) -> str:
        return "CREATE MATERIALIZED VIEW v AS SELECT a FROM t" + " " * n + tail

    small, large = cpu_at_n_and_4n(sql, "postgres", 20_000)
    assert large < max(small, 0.01) * 10, (small, large)


def test_a_long_union_chain_inside_a_cte_costs_linear_time() -> None:
    """Every table of a left-deep UNION chain climbing through all its ancestors to find its CTEs was
    quadratic: 1,000 -> 4,000 branches cost 13-17x (CPU time, best of runs); linear costs about 4x."""

    def sql(n: int) -> str:
        branches = " UNION ALL ".join(f"SELECT a{i % 7} AS a, b FROM t{i % 5}" for i in range(n))
        return f"WITH c AS ({branches}) INSERT INTO o SELECT a, b FROM c"

    small_sql, large_sql = sql(1000), sql(4000)
    result = analyze(small_sql, "postgres")  # also the warm-up
    assert sorted(t.qualified for t in result.inputs) == [f"t{i}" for i in range(5)]
    assert len(result.column_lineage) == 2 and not result.partial
    # n and 4n interleaved, best of three each: a burst of load on the machine (the same work measured
    # 0.26-0.6 s under load) lands on both sides instead of on all the runs of one
    small = large = float("inf")
    for _ in range(3):
        small = min(small, cpu_seconds(small_sql, "postgres", runs=1))
        large = min(large, cpu_seconds(large_sql, "postgres", runs=1))
    assert large / max(small, 1e-3) < MAX_RATIO, (small, large)


@pytest.mark.parametrize(
    ("build", "dialect"),
    [
        pytest.param(lambda n: "UNLOAD ('" + " " * n, "redshift", id="unload-unterminated-quote"),
        pytest.param(
            lambda n: "UNLOAD ('" + "\\'" * (n // 2) + "')" + " " * n, "redshift", id="unload-escapes"
        ),
        pytest.param(
            lambda n: "CREATE EXTERNAL TABLE t " + "WITH " * (n // 5) + " CONNECTION",
            "bigquery",
            id="with-runs",
        ),
        pytest.param(
            lambda n: "CREATE TABLE t WITH" + " " * n + "CONNECTION (", "bigquery", id="with-spaces"
        ),
        pytest.param(lambda n: "/*!50001 " + " " * n, "mysql", id="unterminated-executable-comment"),
        pytest.param(lambda n: "/*!" * (n // 3) + "'", "mysql", id="executable-comment-heads"),
        pytest.param(lambda n: "BEGIN" + " " * n + "IMMEDIATE x", "sqlite", id="begin-spaces"),
        pytest.param(lambda n: "END" + " " * n + "TRANSACTION x", "sqlite", id="end-spaces"),
        pytest.param(lambda n: "UNLOAD (" + "(" * (n // 2) + " " * n, "athena", id="unload-unclosed"),
        pytest.param(
            lambda n: "UNLOAD (SELECT 1) TO " + "'" + "x" * n, "athena", id="unload-unterminated-path"
        ),
        pytest.param(
            lambda n: "RESTORE TABLE " + "a." * (n // 2) + " TO", "databricks", id="restore-long-name"
        ),
        pytest.param(
            lambda n: "CREATE TABLE t CLONE " + "a" * n + " VERSION", "databricks", id="clone-long-name"
        ),
        pytest.param(
            lambda n: "CREATE TABLE t CLONE s " + "VERSION " * (n // 8), "databricks", id="clone-versions"
        ),
        pytest.param(
            lambda n: "SELECT a FROM t LIMIT 1 BY a " + "LIMIT 1 " * (n // 8),
            "clickhouse",
            id="limit-by-many-limits",
        ),
        pytest.param(lambda n: "CREATE TABLE t AS PIVOT " + "s " * (n // 2), "duckdb", id="pivot-long"),
        pytest.param(lambda n: "ALTER TABLE t EXECUTE" + " " * n, "trino", id="alter-execute-spaces"),
        pytest.param(
            lambda n: "APPLY CHANGES INTO t FROM STREAM(" + " " * n, "databricks", id="apply-changes"
        ),
        pytest.param(lambda n: "MERGE WITH" + " SCHEMA" * (n // 7), "databricks", id="merge-with-schemas"),
        pytest.param(lambda n: "LOAD " + "x" * n + " y", "duckdb", id="load-extension-long"),
        pytest.param(lambda n: "LET x" + " " * n + "INTEGER", "snowflake", id="let-spaces"),
        pytest.param(
            lambda n: "ALTER TABLE t UPDATE a = 1" + " IN PARTITION (" * (n // 15) + " WHERE",
            "clickhouse",
            id="in-partition-repeated",
        ),
        pytest.param(
            lambda n: "ALTER TABLE t UPDATE a = 1 IN PARTITION '" + "''" * (n // 2) + " WHERE",
            "clickhouse",
            id="in-partition-unterminated-quote",
        ),
        pytest.param(lambda n: "INSERT INTO " + "a." * (n // 2) + " BY", "duckdb", id="insert-by-long-name"),
        pytest.param(lambda n: "INSERT INTO t (" + "(" * n, "duckdb", id="insert-by-open-parens"),
        pytest.param(lambda n: "CREATE SECRET " + "(" * (n // 2), "duckdb", id="create-secret-parens"),
    ],
)
def test_text_rewrites_are_linear(build: Callable[[int], str], dialect: str) -> None:
    """The rewrites of statement heads and vendor clauses (``UNLOAD``, ``WITH CONNECTION``, executable
    comments, ``BEGIN`` / ``END`` modifiers, ``CLONE``, ``LIMIT BY``, ``IN PARTITION``, ...) on long or
    unterminated text."""
    small, large = cpu_at_n_and_4n(build, dialect, 20_000)
    assert large < max(small, 0.01) * 10, (small, large)


def test_procedural_heads_cost_linear_time() -> None:
    def script(n: int) -> str:
        return "".join(
            f"LOOP\n IF (SELECT count(*) FROM q{i}) = 0 THEN LEAVE; END IF;\nEND LOOP;\n" for i in range(n)
        )

    def one_piece(n: int) -> str:  # the heads of one piece are peeled one after the other
        return "ELSE IF x > 0 THEN " * n + "INSERT INTO t SELECT a FROM s"

    small, large = cpu_at_n_and_4n(script, "bigquery", 200)
    assert large < 8 * max(small, 0.01), (small, large)
    small, large = cpu_at_n_and_4n(one_piece, "bigquery", 2000)
    assert large < 8 * max(small, 0.01), (small, large)
