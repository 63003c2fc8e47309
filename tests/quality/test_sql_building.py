"""Table-driven tests of the pure SQL side: quoting, table names, sampling, the filter check, the query."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import (
    ColumnSpec,
    MetricsQuery,
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


def test_mysql_granted_columns_query_needs_no_escaping() -> None:
    """Names reach the catalog query as hex literals: a quote or a backslash in them means nothing there,
    whatever ``sql_mode`` says of backslashes."""
    from airflow_lineage_provider.quality.dialects import NamePart, granted_columns_query

    mysql = dialect_for("mariadb")
    sql = granted_columns_query(mysql, (NamePart("o'k\\"),))
    assert sql is not None and "o'k" not in sql and "\\" not in sql
    name_hex = b"o'k\\".hex()
    assert f"TABLE_NAME = CONVERT(X'{name_hex}' USING utf8mb4)" in sql
    assert "TABLE_SCHEMA = DATABASE()" in sql and "FIND_IN_SET('select', PRIVILEGES)" in sql
    sql = granted_columns_query(mysql, (NamePart("db"), NamePart("t")))
    assert sql is not None and "TABLE_SCHEMA = CONVERT(X'6462' USING utf8mb4)" in sql
    assert granted_columns_query(dialect_for("snowflake"), (NamePart("t"),)) is None


def test_refused_privileges_are_told_from_other_errors() -> None:
    from airflow_lineage_provider.quality.dialects import lacks_privilege

    class PgError(Exception):
        pgcode = "42501"

    class ConnectorError(Exception):  # mysql-connector: errno, and SQLSTATE 42000 (any syntax error too)
        def __init__(self, errno: int) -> None:
            super().__init__("denied")
            self.errno, self.sqlstate = errno, "42000"

    assert lacks_privilege(PgError())
    assert lacks_privilege(Exception(1142, "SELECT command denied to user"))  # mysqlclient, PyMySQL
    assert lacks_privilege(Exception(1143, "SELECT command denied ... for column"))
    assert lacks_privilege(ConnectorError(1143))
    assert not lacks_privilege(ConnectorError(1064))  # a syntax error
    assert not lacks_privilege(Exception(1146, "Table doesn't exist"))
    assert not lacks_privilege(Exception("no such table"))


# ---- spatial columns, serialised queries, the counter limit, table name types


def test_mysql_spatial_columns_are_read_as_bytes_for_the_blank_test() -> None:
    mysql = dialect_for("mariadb")
    query = build_metrics_query(
        mysql, parse_table_name("t"), [ColumnSpec("g", count_blank=True, opaque=True), ColumnSpec("s", True)]
    )
    assert query.sql == (
        "SELECT COUNT(*), COUNT(`g`), COUNT(CASE WHEN TRIM(CAST(`g` AS BINARY)) = '' THEN 1 END), "
        "COUNT(`s`), COUNT(CASE WHEN TRIM(CAST(`s` AS CHAR)) = '' THEN 1 END) FROM `t`"
    )
    assert 255 in mysql.opaque_type_codes  # GEOMETRY in mysqlclient, PyMySQL and mysql-connector
    # engines without such types keep their one cast
    postgres = dialect_for("postgres")
    assert postgres.blank_test('"g"', opaque=True) == postgres.blank_test('"g"')


def test_a_serialised_query_keeps_the_opaque_flag_and_reads_older_ones() -> None:
    query = build_metrics_query(
        dialect_for("mysql"), parse_table_name("t"), [ColumnSpec("g", count_blank=True, opaque=True)]
    )
    assert MetricsQuery.from_dict(query.to_dict()) == query
    older = {"sql": "SELECT 1", "columns": [{"name": "g", "count_blank": True}]}  # a trigger stored before
    assert MetricsQuery.from_dict(older).columns == (ColumnSpec("g", True, False),)


@pytest.mark.parametrize(("engine", "limit"), [("postgres", 1664), ("sqlite", 2000)])
def test_more_counters_than_one_row_holds_is_refused_before_running(engine: str, limit: int) -> None:
    dialect = dialect_for(engine)
    assert dialect.max_result_columns == limit
    fits = [ColumnSpec(f"c{i}") for i in range(limit - 1)]  # + COUNT(*): exactly the limit
    build_metrics_query(dialect, parse_table_name("t"), fits)
    too_many = [ColumnSpec(f"c{i}", count_blank=i == 0) for i in range(limit - 1)]
    with pytest.raises(QualityGateError) as info:
        build_metrics_query(dialect, parse_table_name("s.t"), too_many)
    assert str(info.value).startswith(
        f"measuring {limit - 1} columns of {dialect.render_table(parse_table_name('s.t'))} takes "
        f"{limit + 1} counters"
    )
    assert f"{engine} allows at most {limit}: split null_thresholds over two gates" in str(info.value)
    assert dialect_for("mysql").max_result_columns is None  # MySQL/MariaDB: thousands, never reached


@pytest.mark.parametrize("table", [None, 3, b"t", ("s", "t")])
def test_a_table_name_must_be_a_string(table: object) -> None:
    with pytest.raises(QualityGateError, match=r"^table must be a table name string such as 'schema.table'"):
        parse_table_name(table)  # type: ignore[arg-type]


# ---- tiny samples written exactly; three-part names where the engine has two


@pytest.mark.parametrize(
    ("percent", "written"),
    [
        (4e-7, "0.0000004"),
        (1e-12, "0.000000000001"),
        (12.345678901, "12.345678901"),
        (5, "5"),
        (100.0, "100"),
    ],
)
def test_sample_percent_is_written_exactly(percent: float, written: str) -> None:
    query = build_metrics_query(
        dialect_for("postgres"), parse_table_name("t"), [ColumnSpec("a")], sample_percent=percent
    )
    assert query.sql.endswith(f'FROM "t" TABLESAMPLE SYSTEM ({written})')
    mssql = build_metrics_query(
        dialect_for("mssql"), parse_table_name("t"), [ColumnSpec("a")], sample_percent=percent
    )
    assert mssql.sql.endswith(f"TABLESAMPLE ({written} PERCENT)")


@pytest.mark.parametrize("conn_type", ["mysql", "mariadb", "sqlite"])
def test_three_part_names_are_refused_where_the_engine_has_two(conn_type: str) -> None:
    dialect = dialect_for(conn_type)
    dialect.check_table(parse_table_name("db.t"), "db.t")  # two parts: fine
    with pytest.raises(QualityGateError, match=r"table 'db\.sales\.t' has 3 name parts, but .* names tables"):
        dialect.check_table(parse_table_name("db.sales.t"), "db.sales.t")


@pytest.mark.parametrize("conn_type", ["postgres", "snowflake", "mssql", "bigquery", "trino", "unknown_db"])
def test_three_part_names_stay_allowed_where_the_engine_has_three(conn_type: str) -> None:
    dialect_for(conn_type).check_table(parse_table_name("db.sales.t"), "db.sales.t")
