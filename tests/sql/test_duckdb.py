"""DuckDB: file readers with options, ``COLUMNS(...)``, the ``PIVOT`` / ``UNPIVOT`` statements, ``QUALIFY``
and session setup (extensions, secrets) that has no lineage."""

from __future__ import annotations

import pytest

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- file readers


def test_duckdb_reader_with_options_is_a_file_input() -> None:
    sql = "CREATE TABLE people AS SELECT id, name FROM read_csv('data/people.csv', header = true)"
    assert _tables(sql, "duckdb") == (["data/people.csv"], ["people"])
    assert _plain(sql, "duckdb") == {
        "people.id": {"data/people.csv.id"},
        "people.name": {"data/people.csv.name"},
    }


def test_duckdb_reader_of_a_file_list_reads_every_file() -> None:
    sql = "CREATE TABLE t AS SELECT id FROM read_parquet(['a/1.parquet', 'a/2.parquet'])"
    assert _tables(sql, "duckdb") == (["a/1.parquet", "a/2.parquet"], ["t"])
    assert _plain(sql, "duckdb") == {"t.id": {"a/1.parquet.id", "a/2.parquet.id"}}


def test_duckdb_reader_json_with_named_options() -> None:
    sql = "INSERT INTO t SELECT * FROM read_json('s3://b/x.json', format = 'newline_delimited')"
    assert _tables(sql, "duckdb") == (["s3://b/x.json"], ["t"])


# ---------------------------------------------------------------------- COLUMNS(...)


_AMOUNTS = {"s": ["id", "amt_a", "amt_b"]}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO u SELECT id, COLUMNS('^amt_.*') FROM s",
            {
                "u.id": ({"s.id"}, "IDENTITY"),
                "u.amt_a": ({"s.amt_a"}, "IDENTITY"),
                "u.amt_b": ({"s.amt_b"}, "IDENTITY"),
            },
            id="regex",
        ),
        pytest.param(
            "INSERT INTO u SELECT id, min(COLUMNS('amt')) FROM s GROUP BY id",
            {
                "u.id": ({"s.id"}, "IDENTITY"),
                "u.min(amt_a)": ({"s.amt_a"}, "AGGREGATION"),
                "u.min(amt_b)": ({"s.amt_b"}, "AGGREGATION"),
            },
            id="inside-an-aggregate",
        ),
        pytest.param(
            "INSERT INTO u SELECT COLUMNS(*) FROM s",
            {
                "u.id": ({"s.id"}, "IDENTITY"),
                "u.amt_a": ({"s.amt_a"}, "IDENTITY"),
                "u.amt_b": ({"s.amt_b"}, "IDENTITY"),
            },
            id="star",
        ),
    ],
)
def test_duckdb_columns_expression_expands_per_column(
    sql: str, expected: dict[str, tuple[set[str], str]]
) -> None:
    assert _edges(sql, "duckdb", schema=_AMOUNTS) == expected


def test_duckdb_columns_expression_over_a_derived_table() -> None:
    sql = (
        "CREATE TABLE u AS SELECT sum(COLUMNS('amt_.*')) FROM (SELECT id, amt_a * 2 AS amt_a, amt_b FROM s) x"
    )
    assert _plain(sql, "duckdb") == {"u.sum(amt_a)": {"s.amt_a"}, "u.sum(amt_b)": {"s.amt_b"}}


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("c -> c LIKE 'amt%'", ["amt_a", "amt_b"]),
        ("c -> c NOT ILIKE 'AMT%'", ["id"]),
        ("c -> c IN ('id', 'amt_b')", ["id", "amt_b"]),
        ("c -> c = 'id' OR regexp_matches(c, '_a$')", ["id", "amt_a"]),
        ("c -> starts_with(c, 'amt') AND c <> 'amt_b'", ["amt_a"]),
        ("* EXCLUDE (id)", ["amt_a", "amt_b"]),
        ("c -> length(c) > 2", ["id", "amt_a", "amt_b"]),  # not decidable here: every column
    ],
)
def test_duckdb_columns_lambda_and_star_modifiers_select_by_name(selector: str, names: list[str]) -> None:
    got = _plain(f"INSERT INTO u SELECT max(COLUMNS({selector})) FROM s", "duckdb", schema=_AMOUNTS)
    assert got == {f"u.max({n})": {f"s.{n}"} for n in names}


def test_duckdb_columns_expression_without_a_schema_reads_the_table() -> None:
    assert _plain("INSERT INTO u SELECT COLUMNS('amt') FROM s", "duckdb") == {"u.*": {"s.*"}}


# ---------------------------------------------------------------------- PIVOT / UNPIVOT statements


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE TABLE t AS PIVOT s ON k USING sum(v) GROUP BY g",
            {"t.g": ({"s.g"}, "IDENTITY"), "t.*": ({"s.k", "s.v"}, "AGGREGATION")},
            id="ctas-pivot-group-by",
        ),
        pytest.param(
            "INSERT INTO t PIVOT s ON k USING sum(v) GROUP BY g",
            {"t.g": ({"s.g"}, "IDENTITY"), "t.*": ({"s.k", "s.v"}, "AGGREGATION")},
            id="insert-pivot",
        ),
        pytest.param(
            "CREATE TABLE t AS PIVOT s ON k IN ('x', 'y') USING sum(v) GROUP BY g",
            {
                "t.g": ({"s.g"}, "IDENTITY"),
                "t.x": ({"s.k", "s.v"}, "AGGREGATION"),
                "t.y": ({"s.k", "s.v"}, "AGGREGATION"),
            },
            id="ctas-pivot-in-list",
        ),
        pytest.param(
            "CREATE TABLE t AS SELECT * FROM (PIVOT s ON k USING sum(v) GROUP BY g)",
            {"t.g": ({"s.g"}, "IDENTITY"), "t.*": ({"s.k", "s.v"}, "AGGREGATION")},
            id="pivot-in-a-subquery",
        ),
        pytest.param(
            "CREATE TABLE t AS WITH p AS (PIVOT s ON k USING sum(v) GROUP BY g) SELECT * FROM p",
            {"t.g": ({"s.g"}, "IDENTITY"), "t.*": ({"s.k", "s.v"}, "AGGREGATION")},
            id="pivot-as-a-cte",
        ),
        pytest.param(
            "CREATE TABLE t AS SELECT * FROM (PIVOT s ON k USING sum(v))",
            {"t.*": ({"s.*", "s.k", "s.v"}, "AGGREGATION")},
            id="pivot-without-group-by-or-schema",
        ),
    ],
)
def test_duckdb_pivot_statement_columns(sql: str, expected: dict[str, tuple[set[str], str]]) -> None:
    assert _tables(sql, "duckdb") == (["s"], ["t"])
    assert _edges(sql, "duckdb") == expected


def test_duckdb_pivot_statement_groups_by_its_group_columns() -> None:
    sql = "CREATE TABLE t AS PIVOT s ON k USING sum(v) GROUP BY g"
    assert ("t", "s.g", "GROUP_BY") in _rows(sql, "duckdb")


def test_duckdb_pivot_statement_without_group_by_passes_the_other_columns() -> None:
    sql = "CREATE TABLE t AS PIVOT s ON k IN ('x', 'y') USING sum(v) AS total, max(w) AS top"
    found = _edges(sql, "duckdb", schema={"s": ["g", "h", "k", "v", "w"]})
    assert found == {
        "t.g": ({"s.g"}, "IDENTITY"),
        "t.h": ({"s.h"}, "IDENTITY"),
        "t.x_total": ({"s.k", "s.v"}, "AGGREGATION"),
        "t.x_top": ({"s.k", "s.w"}, "AGGREGATION"),
        "t.y_total": ({"s.k", "s.v"}, "AGGREGATION"),
        "t.y_top": ({"s.k", "s.w"}, "AGGREGATION"),
    }
    assert {r for r in _rows(sql, "duckdb", schema={"s": ["g", "h", "k", "v", "w"]})} == {
        ("t", "s.g", "GROUP_BY"),
        ("t", "s.h", "GROUP_BY"),
    }


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE TABLE t AS UNPIVOT s ON a, b INTO NAME k VALUE v",
            {"t.v": ({"s.a", "s.b"}, "TRANSFORMATION")},
            id="ctas-unpivot",
        ),
        pytest.param(
            "CREATE TABLE t AS SELECT * FROM (UNPIVOT s ON a, b INTO NAME k VALUE v)",
            {"t.v": ({"s.a", "s.b"}, "TRANSFORMATION")},
            id="unpivot-in-a-subquery",
        ),
    ],
)
def test_duckdb_unpivot_statement_columns(sql: str, expected: dict[str, tuple[set[str], str]]) -> None:
    assert _tables(sql, "duckdb") == (["s"], ["t"])
    found = _edges(sql, "duckdb")
    assert {k: v for k, v in found.items() if k != "t.*"} == expected


# ---------------------------------------------------------------------- QUALIFY, session setup


def test_documents_duckdb_qualify() -> None:
    sql = (
        "INSERT INTO o SELECT id, ts FROM t QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts DESC) = 1"
    )
    assert _plain(sql, "duckdb") == {"o.id": {"t.id"}, "o.ts": {"t.ts"}}
    assert _rows(sql, "duckdb") == {("o", "t.id", "FILTER"), ("o", "t.ts", "FILTER")}


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param("INSTALL httpfs; LOAD httpfs", id="install-load-extension"),
        pytest.param("FORCE INSTALL 'spatial' FROM core_nightly; LOAD 'spatial'", id="quoted-extension"),
        pytest.param(
            "CREATE SECRET (TYPE S3, KEY_ID 'AKIA', SECRET 'xyz', REGION 'us-east-1')", id="create-secret"
        ),
        pytest.param(
            "CREATE OR REPLACE PERSISTENT SECRET s3_main (TYPE S3, PROVIDER credential_chain, SCOPE 's3://b')",
            id="create-persistent-named-secret",
        ),
        pytest.param("DROP SECRET IF EXISTS s3_main", id="drop-secret"),
    ],
)
def test_duckdb_session_setup_has_no_lineage(setup: str) -> None:
    sql = f"{setup}; CREATE TABLE t AS SELECT id FROM 's3://b/x.parquet'"
    assert _tables(sql, "duckdb") == (["s3://b/x.parquet"], ["t"])
    assert _plain(sql, "duckdb") == {"t.id": {"s3://b/x.parquet.id"}}


def test_a_scalar_macro_of_the_script_reads_its_arguments() -> None:
    script = (
        "CREATE MACRO ratio(x, y) AS x / NULLIF(y, 0); CREATE TABLE o AS SELECT id, ratio(a, b) AS r FROM t"
    )
    assert _plain(script, "duckdb") == {"o.id": {"t.id"}, "o.r": {"t.a", "t.b"}}


def test_duckdb_hash_positions_in_group_by_and_order_by_read_that_column() -> None:
    """DuckDB's ``#2`` is the second result column, like the ordinal ``2``: ``GROUP BY #1 ORDER BY #2``."""
    sql = "CREATE TABLE r AS SELECT upper(k) AS k, sum(v) AS s FROM ev GROUP BY #1 ORDER BY #2 DESC LIMIT 3"
    assert _rows(sql, "duckdb") == {("r", "ev.k", "GROUP_BY"), ("r", "ev.v", "SORT")}
