"""Table-driven tests of the pure SQL side: quoting, table names, sampling, the filter check, the query."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import (
    ColumnSpec,
    NamePart,
    build_metrics_query,
    dialect_for,
    parse_table_name,
    probe_query,
    resolve_columns,
    validate_row_filter,
)


@pytest.mark.parametrize(
    ("conn_type", "identifier", "quoted"),
    [
        ("postgres", "MixedCase", '"MixedCase"'),
        ("postgres", 'we"ird', '"we""ird"'),
        ("sqlite", "order", '"order"'),
        ("mysql", "select", "`select`"),
        ("mysql", "back`tick", "`back``tick`"),
        ("mariadb", "x", "`x`"),
        ("mssql", "a]b", "[a]]b]"),
        ("bigquery", "col", "`col`"),
        ("snowflake", "Col", '"Col"'),
        ("no-such-type", "Col", '"Col"'),
    ],
)
def test_quote(conn_type: str, identifier: str, quoted: str) -> None:
    assert dialect_for(conn_type).quote(identifier) == quoted


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("orders", (NamePart("orders"),)),
        ("public.orders", (NamePart("public"), NamePart("orders"))),
        ('"My Schema"."Order Lines"', (NamePart("My Schema", True), NamePart("Order Lines", True))),
        ('db.s."a.b"', (NamePart("db"), NamePart("s"), NamePart("a.b", True))),
        ('"we""ird"', (NamePart('we"ird', True),)),
        ("`proj-1`.ds.t", (NamePart("proj-1", True), NamePart("ds"), NamePart("t"))),
        ("[dbo].[My Table]", (NamePart("dbo", True), NamePart("My Table", True))),
        (" spaced . name ", (NamePart("spaced"), NamePart("name"))),
    ],
)
def test_parse_table_name(text: str, parts: tuple[NamePart, ...]) -> None:
    assert parse_table_name(text) == parts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ('"open', "unbalanced quote"),
        ("a..b", "not a plain identifier"),
        ("a.", "empty name part"),
        ("a.b.c.d", "at most three parts"),
        ("orders; drop table x", "not a plain identifier"),
        ('"a"b', "expected '.'"),
    ],
)
def test_parse_table_name_errors(text: str, message: str) -> None:
    with pytest.raises(QualityGateError, match=message):
        parse_table_name(text)


@pytest.mark.parametrize(
    ("conn_type", "table", "rendered"),
    [
        ("postgres", "Public.Orders", '"public"."orders"'),  # unquoted parts fold like PostgreSQL
        ("postgres", '"Public"."Orders"', '"Public"."Orders"'),
        ("snowflake", "db.sch.orders", '"DB"."SCH"."ORDERS"'),
        ("mysql", "shop.order", "`shop`.`order`"),
        ("sqlite", "Order", '"Order"'),
        ("generic", "plain.Name", "plain.Name"),  # unknown engine: plain names left to it
        ("generic", '"Quoted"', '"Quoted"'),
    ],
)
def test_render_table(conn_type: str, table: str, rendered: str) -> None:
    assert dialect_for(conn_type).render_table(parse_table_name(table)) == rendered


@pytest.mark.parametrize(
    ("conn_type", "clause"),
    [
        ("postgres", " TABLESAMPLE SYSTEM (12.5)"),
        ("snowflake", " SAMPLE SYSTEM (12.5)"),
        ("bigquery", " TABLESAMPLE SYSTEM (12.5 PERCENT)"),
        ("mssql", " TABLESAMPLE (12.5 PERCENT)"),
        ("trino", " TABLESAMPLE SYSTEM (12.5)"),
    ],
)
def test_sample_clause(conn_type: str, clause: str) -> None:
    assert dialect_for(conn_type).sample(12.5) == clause


@pytest.mark.parametrize("conn_type", ["sqlite", "mysql", "redshift", "generic"])
def test_sampling_unsupported_is_a_clear_error(conn_type: str) -> None:
    with pytest.raises(QualityGateError, match=r"sampling is not supported.*remove sample_percent"):
        dialect_for(conn_type).sample(10)


@pytest.mark.parametrize(
    "text",
    [
        "ds = '2026-01-01'",
        "name = 'it''s; fine -- really'",
        "status IN ('a', 'b') AND (x > 1 OR y IS NULL)",
        '"Mixed Col" = 1',
        "id IN (SELECT id FROM other WHERE flag)",
        "note LIKE '%/*%'",
    ],
)
def test_filter_accepted(text: str) -> None:
    assert validate_row_filter(f"  {text} ") == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1=1; DROP TABLE t", "';'"),
        ("1=1 -- ignore the rest", "comment"),
        ("1=1 /* x */", "comment"),
        ("1=1 # mysql comment", "comment"),
        ("name = 'open", "unbalanced quote"),
        ('"col = 1', "unbalanced quote"),
        ("1=1) OR (1=1", "without its"),
        ("(1=1", "unclosed"),
        # backslash-escape ambiguity: clean for MySQL, but PostgreSQL sees the ';' outside the literal
        (r"a = 'x\'; DROP TABLE t; --'", "';'|comment|unbalanced"),
    ],
)
def test_filter_refused(text: str, problem: str) -> None:
    with pytest.raises(QualityGateError, match=f"row_filter .* is refused: it contains .*({problem})"):
        validate_row_filter(text)


def test_filter_empty_is_none() -> None:
    assert validate_row_filter(None) is None
    assert validate_row_filter("   ") is None
    with pytest.raises(QualityGateError, match="must be a SQL boolean expression string"):
        validate_row_filter(5)  # type: ignore[arg-type]


def test_query_shape_postgres() -> None:
    dialect = dialect_for("postgres")
    query = build_metrics_query(
        dialect,
        parse_table_name("Sales.orders"),
        [ColumnSpec("MixedCase"), ColumnSpec("order", count_blank=True)],
        row_filter="ds = '2026-01-01'",
        sample_percent=5,
    )
    assert query.sql == (
        'SELECT COUNT(*), COUNT(*) FILTER (WHERE "MixedCase" IS NULL), '
        'COUNT(*) FILTER (WHERE "order" IS NULL), '
        "COUNT(*) FILTER (WHERE TRIM(CAST(\"order\" AS TEXT)) = '') "
        'FROM "sales"."orders" TABLESAMPLE SYSTEM (5) WHERE (ds = \'2026-01-01\')'
    )
    assert query.counts_nulls
    measurement = query.parse((10, 3, 1, 2))
    assert measurement.row_count == 10
    assert measurement.columns["MixedCase"].null == 3
    assert measurement.columns["order"].blank == 2
    assert type(query).from_dict(query.to_dict()) == query


def test_query_shape_without_aggregate_filter() -> None:
    """Engines without FILTER (MySQL/MariaDB, Snowflake, ...) count non-nulls; the measurement is the same."""
    query = build_metrics_query(
        dialect_for("mysql"),
        parse_table_name("shop.orders"),
        [ColumnSpec("a"), ColumnSpec("b", count_blank=True)],
    )
    assert query.sql == (
        "SELECT COUNT(*), COUNT(`a`), COUNT(`b`), COUNT(CASE WHEN TRIM(CAST(`b` AS CHAR)) = '' THEN 1 END) "
        "FROM `shop`.`orders`"
    )
    assert not query.counts_nulls
    measurement = query.parse((10, 7, 9, 2))
    assert (measurement.columns["a"].null, measurement.columns["b"].null, measurement.columns["b"].blank) == (
        3,
        1,
        2,
    )


def test_serialised_query_from_0_1_0_still_parses_non_null_counts() -> None:
    """A trigger serialised before ``counts_nulls`` existed reads its row as non-null counts."""
    old = {"sql": 'SELECT COUNT(*), COUNT("a") FROM "t"', "columns": [{"name": "a", "count_blank": False}]}
    query = type(build_metrics_query(dialect_for("postgres"), parse_table_name("t"), [ColumnSpec("a")]))
    assert query.from_dict(old).parse((10, 7)).columns["a"].null == 3


def test_query_rejects_bad_filter_and_no_columns() -> None:
    dialect = dialect_for("sqlite")
    with pytest.raises(QualityGateError, match="refused"):
        build_metrics_query(dialect, parse_table_name("t"), [ColumnSpec("a")], row_filter="1=1; select 1")
    with pytest.raises(QualityGateError, match="at least one column"):
        build_metrics_query(dialect, parse_table_name("t"), [])


def test_query_runs_on_sqlite_with_awkward_names(tmp_path) -> None:
    """The generated SQL really runs: reserved words, mixed case, embedded quotes, blanks, NULLs."""
    db = sqlite3.connect(tmp_path / "x.db")
    db.execute('CREATE TABLE "Weird ""T""" ("order" TEXT, "MixedCase" INTEGER, "sp ace" TEXT)')
    db.executemany(
        'INSERT INTO "Weird ""T""" VALUES (?, ?, ?)',
        [("a", 1, "x"), (None, None, "  "), ("", 3, None), (" ", None, "y")],
    )
    dialect = dialect_for("sqlite")
    table = parse_table_name('"Weird ""T"""')
    assert [d[0] for d in db.execute(probe_query(dialect, table)).description] == [
        "order",
        "MixedCase",
        "sp ace",
    ]
    query = build_metrics_query(
        dialect,
        table,
        [
            ColumnSpec("order", count_blank=True),
            ColumnSpec("MixedCase"),
            ColumnSpec("sp ace", count_blank=True),
        ],
    )
    m = query.parse(db.execute(query.sql).fetchone())
    assert m.row_count == 4
    assert (m.columns["order"].null, m.columns["order"].blank) == (1, 2)
    assert m.columns["MixedCase"].null == 2
    assert (m.columns["sp ace"].null, m.columns["sp ace"].blank) == (1, 1)


def test_resolve_columns() -> None:
    available = ["id", "Email", "email_Verified", "Dup", "dup"]
    assert resolve_columns(["id", "email", "Dup"], available, table="t") == {
        "id": "id",
        "email": "Email",
        "Dup": "Dup",
    }
    with pytest.raises(
        QualityGateError, match=r"'nope' does not exist.*'DUP' is ambiguous.*Columns of t: id"
    ):
        resolve_columns(["nope", "DUP"], available, table="t")
    with pytest.raises(
        QualityGateError, match=r"'emial_verified' does not exist \(did you mean 'email_Verified'\?\)"
    ):
        resolve_columns(["emial_verified"], available, table="t")


@pytest.mark.integration
def test_postgres_setup_optimises_jit_for_the_gates_transaction_only() -> None:
    """The PostgreSQL query runs after a transaction-local ``jit_optimize_above_cost = jit_above_cost``: when
    the server JIT-compiles the gate's query at all, it optimises it; the session is left as it was, and the
    setup survives the trip through the trigger's serialised form."""
    import psycopg2

    from airflow_lineage_provider.quality import MetricsQuery

    query = build_metrics_query(
        dialect_for("postgres"), (NamePart("pg_catalog"), NamePart("pg_am")), [ColumnSpec("amname")]
    )
    assert MetricsQuery.from_dict(query.to_dict()) == query and query.setup
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    try:
        cursor = connection.cursor()
        cursor.execute("SET jit_above_cost = 12345")
        connection.commit()
        row = query.execute(cursor)
        assert row is not None and row[0] >= 1 and row[1] == 0  # access methods, none without a name
        cursor.execute("SELECT current_setting('jit_optimize_above_cost')")
        assert cursor.fetchone() == ("12345",)
        connection.rollback()
        cursor.execute("SELECT current_setting('jit_optimize_above_cost')")
        assert cursor.fetchone() == ("500000",)  # the server default again after the gate's transaction
    finally:
        connection.close()
    assert build_metrics_query(dialect_for("sqlite"), (NamePart("t"),), [ColumnSpec("a")]).setup == ()
