"""Seventh review: window, set-operation and alias-list shapes outside the peer corpus (named windows that
extend other named windows, also in QUALIFY; ``UNION [ALL] BY NAME`` and BigQuery ``CORRESPONDING``; CTE /
derived-table column lists shorter than the query or over an unexpanded ``*``; recursive CTEs without
``RECURSIVE`` in T-SQL / Oracle / Snowflake INSERT, SELECT INTO and CTAS), table functions (``UNNEST`` of
several arrays, PostgreSQL ``ROWS FROM``, ``LATERAL (VALUES ...)``, ``json_each`` / ``jsonb_each_text``
without a column list, DuckDB ``COLUMNS(...)``, Snowflake ``IDENTIFIER('t')``), data-modifying CTEs
(``INSERT ... RETURNING``), T-SQL table variables (``DECLARE @t TABLE (...)`` column lists, ``OUTPUT ... INTO
@t`` passing through to the final target, the rows ``OUTPUT INTO`` sends), MySQL ``UPDATE|DELETE ... JOIN
USING``, loading (MySQL ``LOAD DATA LOW_PRIORITY|CONCURRENT``, ``LOAD XML``, double-quoted files), PostgreSQL
``CREATE MATERIALIZED VIEW ... WITH [NO] DATA`` with its column list, ``ALTER MATERIALIZED VIEW ... RENAME``,
``ALTER ... SET SCHEMA`` / ``OWNER TO``, Hive ``PARTITION (...) IF NOT EXISTS``, transaction control
(savepoints, ``SAVE TRAN``, ``ABORT``), procedural ``FOR`` loops (PL/pgSQL, PL/SQL, BigQuery ``FOR ... IN
... DO``) and linear time of trailing-clause rewrites; plus passing cases that document behaviour this round
checked (labelled ``documents``) and a ``guard`` against looping."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import cpu_seconds
from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables


# ---------------------------------------------------------------------- named windows
@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "CREATE VIEW v AS SELECT id, sum(x) OVER w2 AS s FROM t "
            "WINDOW w1 AS (PARTITION BY g), w2 AS (w1 ORDER BY ts)",
            id="window-extends-window",
        ),
        pytest.param(
            "CREATE VIEW v AS SELECT id, sum(x) OVER (w2 ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s "
            "FROM t WINDOW w1 AS (PARTITION BY g), w2 AS (w1 ORDER BY ts)",
            id="over-clause-extends-a-chained-window",
        ),
    ],
)
def test_a_named_window_built_on_another_reads_both_definitions(sql: str) -> None:
    assert _edges(sql, "postgres") == {
        "v.id": ({"t.id"}, "IDENTITY"),
        "v.s": ({"t.g", "t.ts", "t.x"}, "AGGREGATION"),
    }


def test_guard_a_window_defined_by_itself_ends() -> None:
    """Invalid SQL (``WINDOW w AS (w)``) must not loop."""
    assert _plain("SELECT sum(x) OVER w AS s FROM t WINDOW w AS (w)", "postgres") == {"s": {"t.x"}}


def test_qualify_over_a_chained_named_window_filters_on_both_definitions() -> None:
    sql = (
        "CREATE VIEW v AS SELECT id, v FROM s QUALIFY row_number() OVER w2 = 1 "
        "WINDOW w1 AS (PARTITION BY id), w2 AS (w1 ORDER BY ts DESC)"
    )
    assert _rows(sql, "bigquery") == {("v", "s.id", "FILTER"), ("v", "s.ts", "FILTER")}


def test_documents_qualify_over_a_named_window_in_a_view() -> None:
    sql = (
        "CREATE VIEW v AS SELECT id, row_number() OVER w AS rn FROM t "
        "WINDOW w AS (PARTITION BY g ORDER BY ts) QUALIFY rn = 1"
    )
    assert _plain(sql, "duckdb") == {"v.id": {"t.id"}, "v.rn": {"t.g", "t.ts"}}
    assert _rows(sql, "duckdb") == {("v", "t.g", "FILTER"), ("v", "t.ts", "FILTER")}


# ---------------------------------------------------------------------- set operations by name
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION BY NAME SELECT b, a FROM s2",
            "duckdb",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}},
            id="duckdb-union-by-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL BY NAME SELECT b, c, a FROM s2",
            "duckdb",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}, "o.c": {"s2.c"}},
            id="duckdb-by-name-adds-right-only-columns",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL BY NAME SELECT b, a FROM s2",
            "spark",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}},
            id="spark-union-all-by-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL CORRESPONDING SELECT c, b, a FROM s2",
            "bigquery",
            {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}},
            id="bigquery-corresponding-keeps-common-names",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b, c FROM s1 UNION ALL CORRESPONDING BY (b, a) SELECT c, b, a FROM s2",
            "bigquery",
            {"o.b": {"s1.b", "s2.b"}, "o.a": {"s1.a", "s2.a"}},
            id="bigquery-corresponding-by-list",
        ),
        pytest.param(
            "INSERT INTO o SELECT a, b FROM s1 UNION ALL SELECT b, a FROM s2",
            "spark",
            {"o.a": {"s1.a", "s2.b"}, "o.b": {"s1.b", "s2.a"}},
            id="documents-plain-union-is-positional",
        ),
    ],
)
def test_set_operations_by_name_pair_columns_by_name(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


def test_intersect_by_name_filters_with_the_matching_columns() -> None:
    sql = "INSERT INTO o SELECT a, b FROM s1 INTERSECT BY NAME SELECT b, a FROM s2"
    assert _plain(sql, "duckdb") == {"o.a": {"s1.a", "s2.a"}, "o.b": {"s1.b", "s2.b"}}


# ---------------------------------------------------------------------- column alias lists
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "WITH c(a) AS (SELECT x, y FROM s) INSERT INTO u SELECT a, y FROM c",
            {"u.a": {"s.x"}, "u.y": {"s.y"}},
            id="cte-list-shorter-than-query",
        ),
        pytest.param(
            "INSERT INTO u SELECT q.a, q.y FROM (SELECT x, y FROM s) AS q(a)",
            {"u.a": {"s.x"}, "u.y": {"s.y"}},
            id="derived-table-list-shorter-than-query",
        ),
        pytest.param(
            "WITH c(a, b) AS (SELECT * FROM s) INSERT INTO u SELECT a, b FROM c",
            {"u.a": {"s.*"}, "u.b": {"s.*"}},
            id="cte-list-over-unexpanded-star",
        ),
        pytest.param(
            "WITH c(k, a, b) AS (SELECT s.id, o.* FROM s JOIN o ON s.id = o.sid) "
            "INSERT INTO u SELECT k, a, b FROM c",
            {"u.k": {"s.id"}, "u.a": {"o.*"}, "u.b": {"o.*"}},
            id="cte-list-over-column-then-star",
        ),
        pytest.param(
            "INSERT INTO u SELECT q.a, q.b, q.z FROM (SELECT *, 1 + w AS z FROM s) AS q(a, b, z)",
            {"u.a": {"s.*"}, "u.b": {"s.*"}, "u.z": {"s.w"}},
            id="derived-list-star-then-column",
        ),
    ],
)
def test_column_alias_lists(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "postgres") == expected


def test_documents_cte_alias_list_over_a_star_with_schema() -> None:
    sql = "WITH c(a, b) AS (SELECT * FROM s) INSERT INTO u SELECT a, b FROM c"
    assert _plain(sql, "postgres", schema={"s": ["x", "y"]}) == {"u.a": {"s.x"}, "u.b": {"s.y"}}


# ---------------------------------------------------------------------- table functions
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT t.id, u.x, u.y FROM t, unnest(t.a, t.b) AS u(x, y)",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}, "o.y": {"t.b"}},
            id="postgres-unnest-two-arrays",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, u.x, u.y, u.n FROM t, unnest(t.a, t.b) WITH ORDINALITY AS u(x, y, n)",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}, "o.y": {"t.b"}, "o.n": {"t.a", "t.b"}},
            id="postgres-unnest-two-arrays-with-ordinality",
        ),
        pytest.param(
            "INSERT INTO o SELECT r.id, k, v FROM raw r CROSS JOIN UNNEST(r.keys, r.vals) AS u(k, v)",
            "trino",
            {"o.id": {"raw.id"}, "o.k": {"raw.keys"}, "o.v": {"raw.vals"}},
            id="trino-cross-join-unnest-two-arrays",
        ),
        pytest.param(
            "INSERT INTO o SELECT r.id, li.sku, li.qty FROM raw r CROSS JOIN UNNEST(r.items) AS li(sku, qty)",
            "trino",
            {"o.id": {"raw.id"}, "o.sku": {"raw.items"}, "o.qty": {"raw.items"}},
            id="documents-trino-unnest-of-rows-fields-all-read-the-array",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, r.x, r.y "
            "FROM t, ROWS FROM (unnest(t.a), generate_series(1, t.k)) AS r(x, y)",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}, "o.y": {"t.k"}},
            id="postgres-rows-from",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, x FROM t, ROWS FROM (unnest(t.a)) AS x",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}},
            id="postgres-rows-from-alias-names-its-column",
        ),
    ],
)
def test_table_functions_of_several_arrays_pair_columns_by_position(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


# ---------------------------------------------------------------------- data-modifying CTEs
def test_insert_returning_in_a_cte_carries_lineage() -> None:
    sql = (
        "WITH ins AS (INSERT INTO a (x) SELECT x FROM s RETURNING id, x) "
        "INSERT INTO log (aid, val) SELECT id, x FROM ins"
    )
    assert _tables(sql, "postgres") == (["a", "s"], ["a", "log"])
    assert _plain(sql, "postgres") == {"a.x": {"s.x"}, "log.aid": {"a.id"}, "log.val": {"a.x"}}


def test_insert_returning_star_rows_are_the_rows_its_query_chose() -> None:
    sql = "WITH ins AS (INSERT INTO a SELECT x FROM s WHERE ok RETURNING *) INSERT INTO log SELECT * FROM ins"
    assert _plain(sql, "postgres") == {"a.x": {"s.x"}, "log.*": {"a.*"}}
    assert _rows(sql, "postgres") == {("a", "s.ok", "FILTER"), ("log", "s.ok", "FILTER")}


def test_insert_on_conflict_returning_in_a_cte() -> None:
    sql = (
        "WITH ins AS (INSERT INTO a (x) SELECT v FROM s ON CONFLICT (x) DO NOTHING RETURNING a.id, a.x) "
        "INSERT INTO log (aid, val) SELECT id, x FROM ins"
    )
    assert _plain(sql, "postgres") == {"a.x": {"s.v"}, "log.aid": {"a.id"}, "log.val": {"a.x"}}


# ---------------------------------------------------------------------- T-SQL table variables and OUTPUT
def test_table_variable_declared_columns_take_a_positional_insert() -> None:
    sql = (
        "DECLARE @t TABLE (a int PRIMARY KEY, b varchar(10) NOT NULL); "
        "INSERT INTO @t SELECT x, y FROM dbo.s; INSERT INTO dbo.o (a, b) SELECT a, b FROM @t"
    )
    assert _tables(sql, "tsql") == (["dbo.s"], ["dbo.o"])
    assert _plain(sql, "tsql") == {"dbo.o.a": {"dbo.s.x"}, "dbo.o.b": {"dbo.s.y"}}


def test_table_variable_declared_columns_expand_its_star() -> None:
    sql = "DECLARE @t TABLE (a int, b int); INSERT INTO @t SELECT x, y FROM s; INSERT INTO o SELECT * FROM @t"
    assert _plain(sql, "tsql") == {"o.a": {"s.x"}, "o.b": {"s.y"}}


def test_output_into_a_table_variable_passes_through_to_the_final_target() -> None:
    sql = (
        "DECLARE @log TABLE (id int, v int); "
        "UPDATE dbo.t SET v = v + 1 OUTPUT inserted.id, inserted.v INTO @log WHERE id > 10; "
        "INSERT INTO dbo.audit SELECT id, v FROM @log"
    )
    assert _tables(sql, "tsql") == (["dbo.t"], ["dbo.audit", "dbo.t"])
    assert _edges(sql, "tsql") == {
        "dbo.t.v": ({"dbo.t.v"}, "TRANSFORMATION"),
        "dbo.audit.id": ({"dbo.t.id"}, "IDENTITY"),
        "dbo.audit.v": ({"dbo.t.v"}, "TRANSFORMATION"),
    }
    assert _rows(sql, "tsql") == {("dbo.t", "dbo.t.id", "FILTER"), ("dbo.audit", "dbo.t.id", "FILTER")}


def test_output_into_keeps_the_statement_rows_and_gives_them_to_the_sink() -> None:
    sql = (
        "UPDATE dbo.t SET v = s.v OUTPUT deleted.id, deleted.v INTO dbo.hist (id, old_v) "
        "FROM dbo.t JOIN dbo.s ON t.id = s.id WHERE s.ok = 1"
    )
    assert _rows(sql, "tsql") == {
        (target, col, subtype)
        for target in ("dbo.t", "dbo.hist")
        for col, subtype in (("dbo.s.id", "JOIN"), ("dbo.t.id", "JOIN"), ("dbo.s.ok", "FILTER"))
    }


def test_delete_output_into_table_variable_then_archive() -> None:
    sql = (
        "DECLARE @gone TABLE (id int, payload nvarchar(max)); "
        "DELETE FROM dbo.q OUTPUT deleted.id, deleted.payload INTO @gone WHERE ts < '2024-01-01'; "
        "INSERT INTO dbo.q_archive (id, payload) SELECT id, payload FROM @gone"
    )
    assert _tables(sql, "tsql") == (["dbo.q"], ["dbo.q", "dbo.q_archive"])
    assert _plain(sql, "tsql") == {
        "dbo.q_archive.id": {"dbo.q.id"},
        "dbo.q_archive.payload": {"dbo.q.payload"},
    }
    assert ("dbo.q_archive", "dbo.q.ts", "FILTER") in _rows(sql, "tsql")


# ---------------------------------------------------------------------- loading
@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param(
            "LOAD DATA LOW_PRIORITY LOCAL INFILE '/tmp/x.csv' INTO TABLE t",
            "mysql",
            ["/tmp/x.csv"],
            ["t"],
            id="mysql-low-priority",
        ),
        pytest.param(
            "LOAD DATA CONCURRENT INFILE '/tmp/x.csv' IGNORE INTO TABLE db.t FIELDS TERMINATED BY ','",
            "mysql",
            ["/tmp/x.csv"],
            ["db.t"],
            id="mysql-concurrent-ignore",
        ),
        pytest.param(
            "LOAD XML LOCAL INFILE '/tmp/p.xml' INTO TABLE person ROWS IDENTIFIED BY '<person>'",
            "mysql",
            ["/tmp/p.xml"],
            ["person"],
            id="mysql-load-xml",
        ),
        pytest.param(
            'LOAD DATA LOCAL INFILE "/tmp/x.csv" INTO TABLE t (a, b)',
            "mysql",
            ["/tmp/x.csv"],
            ["t"],
            id="mysql-double-quoted-file",
        ),
        pytest.param(
            "LOAD DATA INPATH \"/user/etl/day\" OVERWRITE INTO TABLE t PARTITION (dt='2024-01-01')",
            "hive",
            ["/user/etl/day"],
            ["t"],
            id="documents-hive-double-quoted-path",
        ),
    ],
)
def test_load_data_modifiers(sql: str, dialect: str, inputs: list[str], outputs: list[str]) -> None:
    assert _kinds(sql, dialect) == ["load"]
    assert _tables(sql, dialect) == (inputs, outputs)


# ---------------------------------------------------------------------- materialized views
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE MATERIALIZED VIEW mv AS SELECT k, count(*) AS n FROM s GROUP BY k WITH DATA",
            {"mv.k": {"s.k"}, "mv.n": {"s.*"}},
            id="with-data",
        ),
        pytest.param(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS mart.mv (k, n) AS "
            "SELECT k, count(*) FROM s GROUP BY k WITH NO DATA;",
            {"mart.mv.k": {"s.k"}, "mart.mv.n": {"s.*"}},
            id="column-list-with-no-data",
        ),
        pytest.param(
            'CREATE MATERIALIZED VIEW mv (k, "Total") TABLESPACE fast AS '
            "SELECT k, sum(v) FROM s GROUP BY k WITH DATA",
            {"mv.k": {"s.k"}, "mv.Total": {"s.v"}},
            id="quoted-column-list-and-tablespace",
        ),
        pytest.param(
            "CREATE MATERIALIZED VIEW mv AS SELECT k FROM s WHERE note = 'WITH DATA'",
            {"mv.k": {"s.k"}},
            id="documents-with-data-inside-a-string",
        ),
    ],
)
def test_postgres_materialized_view_with_data(sql: str, expected: dict[str, set[str]]) -> None:
    assert _kinds(sql, "postgres") == ["create_view"]
    assert _plain(sql, "postgres") == expected


def test_vendor_ctas_keeps_its_column_list() -> None:
    sql = "CREATE LOCAL TEMP TABLE t (x, y) ON COMMIT DROP AS SELECT a, b FROM s"
    assert _plain(sql, "postgres", keep_temp_tables=True) == {"t.x": {"s.a"}, "t.y": {"s.b"}}


# ---------------------------------------------------------------------- recursion without RECURSIVE
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO paths (id, path) WITH r (id, path) AS (SELECT id, label FROM roots UNION ALL "
            "SELECT n.id, r.path + n.name FROM nodes n JOIN r ON n.parent = r.id) SELECT id, path FROM r",
            "tsql",
            {"paths.id": {"nodes.id", "roots.id"}, "paths.path": {"nodes.name", "roots.label"}},
            id="tsql-insert",
        ),
        pytest.param(
            "WITH org (id, boss) AS (SELECT id, boss FROM emp WHERE boss IS NULL UNION ALL "
            "SELECT e.id, e.boss FROM emp e JOIN org o ON e.boss = o.id) "
            "SELECT id, boss INTO dbo.levels FROM org",
            "tsql",
            {"dbo.levels.id": {"emp.id"}, "dbo.levels.boss": {"emp.boss"}},
            id="tsql-select-into",
        ),
        pytest.param(
            "CREATE TABLE lv AS WITH org (id, lvl) AS (SELECT id, 1 FROM emp WHERE boss IS NULL UNION ALL "
            "SELECT e.id, org.lvl + 1 FROM emp e, org WHERE e.boss = org.id) SELECT id, lvl FROM org",
            "oracle",
            {"lv.id": {"emp.id"}},
            id="oracle-ctas",
        ),
        pytest.param(
            "CREATE TABLE t AS WITH r AS (SELECT id FROM a UNION ALL "
            "SELECT b.id FROM b JOIN r ON b.p = r.id) SELECT id FROM r",
            "snowflake",
            {"t.id": {"a.id", "b.id"}},
            id="snowflake-ctas",
        ),
    ],
)
def test_a_cte_that_unions_itself_is_recursive_where_the_keyword_is_optional(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    inputs, _ = _tables(sql, dialect)
    assert not {"r", "org"} & set(inputs)
    assert _plain(sql, dialect) == expected


def test_documents_postgres_cte_reading_its_own_name_without_recursive_reads_the_table() -> None:
    inputs, _ = _tables(
        "WITH r AS (SELECT id FROM a UNION ALL SELECT id FROM r) SELECT id FROM r", "postgres"
    )
    assert inputs == ["a", "r"]


def test_documents_tsql_cte_of_a_table_name_without_union_reads_the_table() -> None:
    assert _tables("WITH t AS (SELECT * FROM t) SELECT * FROM t", "tsql") == (["t"], [])


# ---------------------------------------------------------------------- DuckDB COLUMNS(...)
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


def test_duckdb_columns_expression_without_a_schema_reads_the_table() -> None:
    assert _plain("INSERT INTO u SELECT COLUMNS('amt') FROM s", "duckdb") == {"u.*": {"s.*"}}


# ---------------------------------------------------------------------- joins USING in UPDATE / DELETE
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "UPDATE t1 JOIN t2 USING (id) SET t1.v = t2.v WHERE t2.ok",
            {("t1", "t1.id", "JOIN"), ("t1", "t2.id", "JOIN"), ("t1", "t2.ok", "FILTER")},
            id="update-join-using",
        ),
        pytest.param(
            "DELETE t1 FROM t1 JOIN t2 USING (id) WHERE t2.gone",
            {("t1", "t1.id", "JOIN"), ("t1", "t2.id", "JOIN"), ("t1", "t2.gone", "FILTER")},
            id="delete-join-using",
        ),
    ],
)
def test_mysql_dml_join_using_joins_on_both_columns(sql: str, expected: set[tuple[str, str, str]]) -> None:
    assert _rows(sql, "mysql") == expected


def test_documents_select_join_using_chain() -> None:
    sql = "INSERT INTO u SELECT id FROM s JOIN o USING (id) JOIN p USING (id)"
    assert _rows(sql, "postgres") == {("u", f"{t}.id", "JOIN") for t in ("s", "o", "p")}


# ---------------------------------------------------------------------- transaction control
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "BEGIN WORK; SAVEPOINT sp1; INSERT INTO t SELECT a FROM s; RELEASE SAVEPOINT sp1; COMMIT WORK;",
            "postgres",
            id="postgres-savepoint-release",
        ),
        pytest.param(
            "START TRANSACTION; SAVEPOINT before_load; INSERT INTO t SELECT a FROM s; "
            "RELEASE SAVEPOINT before_load; COMMIT;",
            "mysql",
            id="mysql-savepoint-release",
        ),
        pytest.param(
            "BEGIN; INSERT INTO t SELECT a FROM s; RELEASE sp; ABORT;",
            "postgres",
            id="documents-release-and-abort",
        ),
        pytest.param(
            "BEGIN TRANSACTION; SAVE TRANSACTION sp; INSERT INTO t SELECT a FROM s; COMMIT TRANSACTION;",
            "tsql",
            id="tsql-save-transaction",
        ),
    ],
)
def test_transaction_control_statements_have_no_lineage(sql: str, dialect: str) -> None:
    result = analyze(sql, dialect)
    assert not result.errors, result.errors
    assert result.to_dict() == {"inputs": ["s"], "outputs": ["t"], "column_lineage": [["t.a", "s.a"]]}


# ---------------------------------------------------------------- Hive IF NOT EXISTS, Snowflake IDENTIFIER
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT OVERWRITE TABLE t PARTITION (dt='2024-01-01') IF NOT EXISTS SELECT x, y FROM s",
            "hive",
            {"t.x": {"s.x"}, "t.y": {"s.y"}},
            id="hive",
        ),
        pytest.param(
            "INSERT OVERWRITE TABLE db.t PARTITION (dt='2024-01-01', hr='(1)') IF NOT EXISTS SELECT x FROM s",
            "spark",
            {"db.t.x": {"s.x"}},
            id="spark-parenthesis-in-a-value",
        ),
    ],
)
def test_insert_overwrite_partition_if_not_exists(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _kinds(sql, dialect) == ["insert"]
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO IDENTIFIER('db.sc.t') SELECT a FROM IDENTIFIER('db.sc.s')",
            {"db.sc.t.a": {"db.sc.s.a"}},
            id="insert",
        ),
        pytest.param(
            "INSERT INTO IDENTIFIER('db.sc.t') (x, y) SELECT s.a, o.b FROM IDENTIFIER('db.sc.s') s "
            "JOIN IDENTIFIER('o') o ON s.id = o.id",
            {"db.sc.t.x": {"db.sc.s.a"}, "db.sc.t.y": {"o.b"}},
            id="aliased-join",
        ),
    ],
)
def test_snowflake_identifier_tables_carry_column_lineage(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "snowflake") == expected


def test_snowflake_identifier_table_star_expands_with_a_schema() -> None:
    sql = "CREATE OR REPLACE TABLE IDENTIFIER('db.sc.t') AS SELECT * FROM IDENTIFIER('db.sc.s')"
    got = _plain(sql, "snowflake", schema={"db.sc.s": ["a", "b"]})
    assert got == {"db.sc.t.a": {"db.sc.s.a"}, "db.sc.t.b": {"db.sc.s.b"}}


# ---------------------------------------------------------------------- PostgreSQL ALTER forms
@pytest.mark.parametrize(
    ("sql", "inputs", "outputs", "expected"),
    [
        pytest.param(
            "ALTER MATERIALIZED VIEW IF EXISTS sc.mv RENAME TO mv2",
            ["sc.mv"],
            ["sc.mv2"],
            {"sc.mv2.*": {"sc.mv.*"}},
            id="materialized-view-rename",
        ),
        pytest.param(
            "CREATE MATERIALIZED VIEW mv_new AS SELECT k FROM s WITH DATA; "
            "ALTER MATERIALIZED VIEW mv RENAME TO mv_old; ALTER MATERIALIZED VIEW mv_new RENAME TO mv; "
            "DROP MATERIALIZED VIEW mv_old;",
            ["s"],
            ["mv"],
            {"mv.k": {"s.k"}},
            id="materialized-view-swap-script",
        ),
        pytest.param(
            "CREATE TABLE stg.t AS SELECT a FROM s; ALTER TABLE stg.t SET SCHEMA prod",
            ["s"],
            ["prod.t"],
            {"prod.t.a": {"s.a"}},
            id="set-schema-moves-the-table",
        ),
        pytest.param(
            'ALTER TABLE IF EXISTS ONLY stg."Big T" SET SCHEMA prod',
            ["stg.Big T"],
            ["prod.Big T"],
            {"prod.Big T.*": {"stg.Big T.*"}},
            id="set-schema-quoted-name",
        ),
        pytest.param(
            'CREATE TABLE t AS SELECT a FROM s; ALTER TABLE t OWNER TO "ETL role"; '
            "GRANT SELECT ON t TO reader",
            ["s"],
            ["t"],
            {"t.a": {"s.a"}},
            id="owner-to-after-ctas",
        ),
        pytest.param("ALTER VIEW v OWNER TO etl", [], ["v"], {}, id="view-owner-to"),
    ],
)
def test_postgres_alter_forms_the_parser_keeps_opaque(
    sql: str, inputs: list[str], outputs: list[str], expected: dict[str, set[str]]
) -> None:
    assert _tables(sql, "postgres") == (inputs, outputs)
    assert _plain(sql, "postgres") == expected


# ---------------------------------------------------------------------- procedural FOR loops
def test_bigquery_for_in_reads_its_query_and_runs_its_body() -> None:
    sql = (
        "FOR rec IN (SELECT dt FROM ds.days) DO "
        "INSERT INTO ds.t SELECT a FROM ds.s WHERE d = rec.dt; END FOR;"
    )
    assert _tables(sql, "bigquery") == (["ds.days", "ds.s"], ["ds.t"])
    assert _plain(sql, "bigquery") == {"ds.t.a": {"ds.s.a"}}
    assert _rows(sql, "bigquery") == {("ds.t", "ds.s.d", "FILTER")}  # rec.dt is the loop row's, no column


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "DO $$ DECLARE r record; BEGIN FOR r IN SELECT id FROM s LOOP "
            "INSERT INTO t (id) VALUES (r.id); END LOOP; END $$;",
            "postgres",
            id="plpgsql-for-query-loop",
        ),
        pytest.param(
            "BEGIN FOR r IN (SELECT id FROM s WHERE ok = 1) LOOP "
            "INSERT INTO t (id) VALUES (r.id); END LOOP; END;",
            "oracle",
            id="plsql-cursor-for-loop",
        ),
    ],
)
def test_for_loop_query_tables_are_read(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["s"], ["t"])


def test_documents_numeric_for_loop_body_is_analysed() -> None:
    sql = "DO $$ BEGIN FOR i IN 1..10 LOOP INSERT INTO t SELECT a FROM s; END LOOP; END $$;"
    assert _plain(sql, "postgres") == {"t.a": {"s.a"}}


# ---------------------------------------------------------------- LATERAL VALUES, key/value table functions
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT t.id, v.val, v.name FROM t "
            "CROSS JOIN LATERAL (VALUES (t.a, 'a'), (t.b, 'b')) AS v(val, name)",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.val": ({"t.a", "t.b"}, "TRANSFORMATION")},
            id="lateral-values-unpivot",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, v.column1 FROM t CROSS JOIN LATERAL (VALUES (t.a), (t.b)) v",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.column1": ({"t.a", "t.b"}, "TRANSFORMATION")},
            id="lateral-values-default-names",
        ),
        pytest.param(
            "INSERT INTO u SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, nm)",
            {},
            id="documents-constant-values-give-no-edge",
        ),
    ],
)
def test_lateral_values_columns_read_their_rows(sql: str, expected: dict[str, tuple[set[str], str]]) -> None:
    assert _edges(sql, "postgres") == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT t.id, key, value FROM t, json_each(t.doc)",
            "sqlite",
            {"o.id": {"t.id"}, "o.key": {"t.doc"}, "o.value": {"t.doc"}},
            id="sqlite-json-each-unaliased",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, json_each.value FROM t, json_each(t.doc)",
            "sqlite",
            {"o.id": {"t.id"}, "o.value": {"t.doc"}},
            id="sqlite-json-each-by-function-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, key, value FROM t, jsonb_each_text(t.doc)",
            "postgres",
            {"o.id": {"t.id"}, "o.key": {"t.doc"}, "o.value": {"t.doc"}},
            id="postgres-jsonb-each-text-unaliased",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, j.key, j.value FROM t CROSS JOIN LATERAL jsonb_each(t.doc) AS j",
            "postgres",
            {"o.id": {"t.id"}, "o.key": {"t.doc"}, "o.value": {"t.doc"}},
            id="documents-postgres-jsonb-each-aliased",
        ),
    ],
)
def test_key_value_table_functions_have_their_columns(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


# ---------------------------------------------------------------------- linear time
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

    small, large = cpu_seconds(sql(20_000), "postgres"), cpu_seconds(sql(80_000), "postgres")
    assert large < max(small, 0.01) * 10, (small, large)
