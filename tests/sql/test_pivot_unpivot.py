"""Column lineage through ``PIVOT`` (aliases, stars, subqueries of values, dynamic ``ANY``), ``UNPIVOT``
(several value columns, Oracle's parenthesised column lists) and ``MATCH_RECOGNIZE`` measures.

DuckDB's ``PIVOT`` / ``UNPIVOT`` statements are in test_duckdb.py."""

from __future__ import annotations

import pytest

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- PIVOT


def test_pivot_columns_derive_from_the_aggregate_and_the_for_column() -> None:
    got = _edges(
        "INSERT INTO o SELECT region, jan, feb FROM sales "
        "PIVOT (sum(amt) FOR month IN ('jan' AS jan, 'feb' AS feb)) AS p",
        "databricks",
    )
    assert got == {
        "o.region": ({"sales.region"}, "IDENTITY"),
        "o.jan": ({"sales.amt", "sales.month"}, "AGGREGATION"),
        "o.feb": ({"sales.amt", "sales.month"}, "AGGREGATION"),
    }


def test_pivot_star_over_a_subquery_keeps_only_the_grouping_columns() -> None:
    got = _plain(
        "INSERT INTO o SELECT * FROM (SELECT region, month, amt FROM sales) "
        "PIVOT (sum(amt) FOR month IN ('jan', 'feb'))",
        "databricks",
    )
    assert got == {
        "o.region": {"sales.region"},
        "o.jan": {"sales.amt", "sales.month"},
        "o.feb": {"sales.amt", "sales.month"},
    }


SALES = {"sales": ["region", "month", "amt"], "wide": ["id", "a1", "a2", "a3"]}


def test_pivot_star_with_schema() -> None:
    got = _plain(
        "CREATE TABLE o AS SELECT * FROM sales PIVOT (sum(amt) AS total FOR month IN ('jan' AS jan))",
        "bigquery",
        schema=SALES,
    )
    assert got == {"o.region": {"sales.region"}, "o.total_jan": {"sales.amt", "sales.month"}}


def test_dynamic_pivot_adds_no_nameless_column() -> None:
    got = _plain(
        "INSERT INTO o SELECT * FROM sales s PIVOT (sum(amt) FOR month IN (ANY ORDER BY month))", "snowflake"
    )
    assert got == {"o.*": {"sales.*"}}


def test_snowflake_pivot_alias_columns_name_the_output() -> None:
    sql = (
        "INSERT INTO m SELECT * FROM (SELECT product, month, amount FROM s) "
        "PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p (prod, jan, feb)"
    )
    assert _plain(sql, "snowflake") == {
        "m.prod": {"s.product"},
        "m.jan": {"s.amount", "s.month"},
        "m.feb": {"s.amount", "s.month"},
    }


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (
            "SELECT *",
            {"m.prod": {"s.*"}, "m.jan": {"s.amount", "s.month"}, "m.feb": {"s.amount", "s.month"}},
        ),
        ("SELECT p.prod, jan", {"m.prod": {"s.*"}, "m.jan": {"s.amount", "s.month"}}),
    ],
)
def test_snowflake_pivot_alias_columns_over_a_table_without_schema_name_the_passed_columns(
    select: str, expected: dict[str, set[str]]
) -> None:
    """``AS p (prod, jan, feb)`` names every result column: ``prod`` is the one column passed through, some
    column of ``s`` (no ``m.*``), as a column list over an unexpanded star names its columns."""
    sql = (
        f"INSERT INTO m {select} FROM s PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p (prod, jan, feb)"
    )
    assert _plain(sql, "snowflake") == expected


def test_pivot_over_a_subquery_of_values_invents_no_column() -> None:
    sql = (
        "INSERT INTO m SELECT * FROM (SELECT region, month, amount FROM sales) "
        "PIVOT (SUM(amount) FOR month IN (SELECT DISTINCT month FROM months))"
    )
    assert _tables(sql, "snowflake") == (["months", "sales"], ["m"])
    assert _plain(sql, "snowflake") == {"m.region": {"sales.region"}}


# ---------------------------------------------------------------------- UNPIVOT


def test_unpivot_value_column_derives_from_the_unpivoted_columns() -> None:
    got = _edges(
        "INSERT INTO o SELECT id, attr, val FROM wide UNPIVOT (val FOR attr IN (a1, a2, a3))", "snowflake"
    )
    assert got == {
        "o.id": ({"wide.id"}, "IDENTITY"),
        "o.val": ({"wide.a1", "wide.a2", "wide.a3"}, "TRANSFORMATION"),
    }


def test_unpivot_star_with_schema() -> None:
    got = _plain(
        "INSERT INTO o SELECT * FROM wide UNPIVOT (val FOR attr IN (a1, a2, a3)) AS u",
        "databricks",
        schema=SALES,
    )
    assert got == {"o.id": {"wide.id"}, "o.val": {"wide.a1", "wide.a2", "wide.a3"}}


def test_unpivot_several_value_columns() -> None:
    got = _plain(
        "INSERT INTO o SELECT k, v1, v2 FROM s "
        "UNPIVOT ((v1, v2) FOR k IN ((a1, a2) AS 'x', (b1, b2) AS 'y'))",
        "bigquery",
    )
    assert got == {"o.v1": {"s.a1", "s.b1"}, "o.v2": {"s.a2", "s.b2"}}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO l SELECT region, metric, val FROM (SELECT region, q1, q2 FROM w) "
            "UNPIVOT ((val) FOR metric IN ((q1) AS 'Q1', (q2) AS 'Q2'))",
            {"l.region": {"w.region"}, "l.val": {"w.q1", "w.q2"}},
        ),
        (
            "INSERT INTO l SELECT region, metric, v1, v2 FROM (SELECT region, a1, a2, b1, b2 FROM w) "
            "UNPIVOT ((v1, v2) FOR metric IN ((a1, a2) AS 'A', (b1, b2) AS 'B'))",
            {"l.region": {"w.region"}, "l.v1": {"w.a1", "w.b1"}, "l.v2": {"w.a2", "w.b2"}},
        ),
    ],
)
def test_oracle_unpivot_with_parenthesized_columns(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "oracle") == expected


# ---------------------------------------------------------------------- MATCH_RECOGNIZE


def test_match_recognize_measures_read_their_columns() -> None:
    sql = (
        "INSERT INTO o SELECT sym, start_price, end_price FROM t "
        "MATCH_RECOGNIZE (PARTITION BY sym ORDER BY ts "
        "MEASURES FIRST(price) AS start_price, LAST(price) AS end_price ONE ROW PER MATCH "
        "PATTERN (A B+) DEFINE B AS price > PREV(price))"
    )
    assert _plain(sql, "snowflake") == {
        "o.sym": {"t.sym"},
        "o.start_price": {"t.price"},
        "o.end_price": {"t.price"},
    }


@pytest.mark.parametrize(
    ("sql", "dialect", "schema", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT * FROM t MATCH_RECOGNIZE (PARTITION BY sym ORDER BY ts "
            "MEASURES FIRST(price) AS fp, LAST(B.price) AS lp, count(*) AS n "
            "PATTERN (A B*) DEFINE B AS B.price < PREV(B.price))",
            "trino",
            None,
            {
                "o.sym": ({"t.sym"}, "IDENTITY"),
                "o.fp": ({"t.price"}, "TRANSFORMATION"),
                "o.lp": ({"t.price"}, "TRANSFORMATION"),
                "o.n": ({"t.*"}, "AGGREGATION"),
            },
            id="one-row-per-match-pattern-variable",
        ),
        pytest.param(
            "INSERT INTO o SELECT * FROM t MATCH_RECOGNIZE (PARTITION BY sym ORDER BY ts "
            "MEASURES LAST(price) AS lp ALL ROWS PER MATCH PATTERN (A+) DEFINE A AS price > 10)",
            "snowflake",
            {"t": ["sym", "ts", "price"]},
            {
                "o.sym": ({"t.sym"}, "IDENTITY"),
                "o.ts": ({"t.ts"}, "IDENTITY"),
                "o.price": ({"t.price"}, "IDENTITY"),
                "o.lp": ({"t.price"}, "TRANSFORMATION"),
            },
            id="all-rows-per-match",
        ),
        pytest.param(
            "INSERT INTO o SELECT m.sym, m.fp FROM (SELECT sym, ts, price FROM raw) "
            "MATCH_RECOGNIZE (PARTITION BY sym ORDER BY ts MEASURES FIRST(price) AS fp "
            "PATTERN (A B*) DEFINE B AS price < PREV(price)) AS m",
            "snowflake",
            None,
            {"o.sym": ({"raw.sym"}, "IDENTITY"), "o.fp": ({"raw.price"}, "TRANSFORMATION")},
            id="over-a-derived-table-with-alias",
        ),
    ],
)
def test_match_recognize_shapes(
    sql: str, dialect: str, schema: dict[str, list[str]] | None, expected: dict[str, tuple[set[str], str]]
) -> None:
    assert _edges(sql, dialect, schema=schema) == expected
    rows = _rows(sql, dialect, schema=schema)
    assert {(r[1].rsplit(".", 1)[1], r[2]) for r in rows} == {
        ("sym", "GROUP_BY"),
        ("ts", "SORT"),
        ("price", "FILTER"),
    }


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT store, [Jan], [Feb] INTO dbo.p FROM dbo.sales PIVOT (SUM(amt) FOR mon IN ([Jan], [Feb])) pv",
        "SELECT pv.store, pv.[Jan], ISNULL(pv.[Feb], 0) AS [Feb] INTO dbo.p "
        "FROM (SELECT store, mon, amt FROM dbo.sales) s PIVOT (SUM(amt) FOR mon IN ([Jan], [Feb])) pv",
        "SELECT store, Jan AS [Jan], feb AS [Feb] INTO dbo.p "
        "FROM dbo.sales PIVOT (SUM(amt) FOR mon IN ([Jan], [Feb])) p",
    ],
)
def test_tsql_pivot_columns_keep_the_case_of_their_bracketed_names(sql: str) -> None:
    """``IN ([Jan], [Feb])`` makes the columns ``Jan`` and ``Feb``: ``[Jan]`` (or ``Jan``) selects the pivot
    column, not a column ``Jan`` of the table, and keeps its case."""
    got = _edges(sql, "tsql")
    assert got["dbo.p.Jan"] == ({"dbo.sales.amt", "dbo.sales.mon"}, "AGGREGATION")
    assert got["dbo.p.Feb"] == ({"dbo.sales.amt", "dbo.sales.mon"}, "AGGREGATION")


@pytest.mark.parametrize(
    ("dialect", "written"),
    [
        # the name column comes before the value column (Snowflake, Oracle, T-SQL, Databricks, Redshift)
        ("snowflake", {"out.d": {"orders.customer_id", "orders.amount"}}),
        ("oracle", {"out.d": {"orders.customer_id", "orders.amount"}}),
        ("tsql", {"out.d": {"orders.customer_id", "orders.amount"}}),
        ("databricks", {"out.d": {"orders.customer_id", "orders.amount"}}),
        # BigQuery puts the value column first
        ("bigquery", {"out.c": {"orders.customer_id", "orders.amount"}}),
    ],
)
def test_unpivot_star_maps_by_position_with_the_name_column_where_the_engine_puts_it(
    dialect: str, written: dict
) -> None:
    sql = "INSERT INTO out SELECT * FROM orders UNPIVOT (val FOR attr IN (customer_id, amount))"
    schema = {"orders": ["id", "customer_id", "amount", "ts"], "out": ["a", "b", "c", "d"]}
    expected = {"out.a": {"orders.id"}, "out.b": {"orders.ts"}, **written}
    assert _plain(sql, dialect, schema=schema) == expected
