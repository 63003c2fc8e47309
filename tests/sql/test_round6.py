"""Sixth review: SQL that Airflow DAGs run, outside the peer corpus (dbt materializations and their backup
renames, warehouse loading: partition moves, Redshift ``MERGE ... REMOVE DUPLICATES``, Snowflake file
formats and stages, BigQuery ``LOAD DATA`` clauses and ``UNNEST ... WITH OFFSET``; rendered templates:
numeric binds, leftover Jinja, dialect line comments holding ``;`` and quotes; Oracle multi-column
``UNPIVOT``; script variables)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import cpu_seconds
from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables


# ---------------------------------------------------------------------- dialect line comments
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "INSERT INTO t (a) SELECT a FROM s # it's loaded; then copied\n; INSERT INTO u SELECT a FROM t",
            "mysql",
            id="mysql-hash-comment",
        ),
        pytest.param(
            "#standardSQL\nINSERT INTO t (a) SELECT a FROM s; # don't; stop\n"
            "INSERT INTO u SELECT a FROM t WHERE b = 'x'",
            "bigquery",
            id="bigquery-hash-comment",
        ),
        pytest.param(
            "// load step; don't skip\nINSERT INTO t (a) SELECT a FROM s; // it's here; yes\n"
            "INSERT INTO u SELECT a FROM t",
            "snowflake",
            id="snowflake-double-slash-comment",
        ),
        pytest.param(
            "INSERT INTO t (a) SELECT a FROM s # that's; all\n; INSERT INTO u SELECT a FROM t",
            "clickhouse",
            id="clickhouse-hash-comment",
        ),
    ],
)
def test_dialect_line_comments_hold_semicolons_and_quotes(sql: str, dialect: str) -> None:
    assert _kinds(sql, dialect) == ["insert", "insert"]
    assert _tables(sql, dialect) == (["s", "t"], ["t", "u"])


def test_hash_is_no_comment_where_the_dialect_has_no_such_comment() -> None:
    sql = "INSERT INTO t SELECT a # b AS x FROM s; INSERT INTO u SELECT x FROM t"
    assert _plain(sql, "postgres") == {"t.x": {"s.a", "s.b"}, "u.x": {"t.x"}}


def test_slash_slash_inside_a_snowflake_string_is_no_comment() -> None:
    sql = "INSERT INTO t SELECT a FROM s WHERE u = 'https://x.io/a;b'; INSERT INTO u SELECT a FROM t"
    assert _kinds(sql, "snowflake") == ["insert", "insert"]


# ---------------------------------------------------------------------- Snowflake file formats
@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        pytest.param(
            "COPY INTO raw.events FROM @raw.stage/events/ FILE_FORMAT = (FORMAT_NAME = raw.csv_fmt)",
            ["@raw.stage/events/"],
            ["raw.events"],
            id="copy-format-name",
        ),
        pytest.param(
            "COPY INTO raw.events (a, b) "
            "FROM (SELECT $1, $2 FROM @raw.stage/x/ (FILE_FORMAT => raw.csv_fmt))",
            ["@raw.stage/x/"],
            ["raw.events"],
            id="copy-stage-file-format-argument",
        ),
        pytest.param(
            "CREATE TABLE t AS SELECT $1:a::string AS a FROM @raw.stage/x.json (FILE_FORMAT => json_fmt) s",
            ["@raw.stage/x.json"],
            ["t"],
            id="select-from-stage-with-file-format",
        ),
        pytest.param(
            "COPY INTO 's3://bucket/o/' FROM sales.orders STORAGE_INTEGRATION = s3_int "
            "FILE_FORMAT = (FORMAT_NAME = my_fmt)",
            ["sales.orders"],
            ["s3://bucket/o/"],
            id="unload-format-name",
        ),
        pytest.param(
            "CREATE OR REPLACE STAGE raw.stage URL = 's3://bucket/p/' FILE_FORMAT = raw.json_fmt",
            ["s3://bucket/p/"],
            ["raw.stage"],
            id="create-stage-file-format",
        ),
        pytest.param(
            "CREATE OR REPLACE EXTERNAL TABLE ext.e (id STRING AS (value:id::string)) "
            "LOCATION = @raw.stage/e/ FILE_FORMAT = (FORMAT_NAME = raw.json_fmt)",
            [],
            ["ext.e"],
            id="external-table-file-format",
        ),
        pytest.param(
            "CREATE OR REPLACE FILE FORMAT raw.json_fmt TYPE = JSON", [], [], id="create-file-format"
        ),
    ],
)
def test_snowflake_file_formats_are_no_datasets(sql: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, "snowflake") == (sorted(inputs), sorted(outputs))


def test_snowflake_qualified_positional_column_keeps_its_name() -> None:
    sql = "COPY INTO raw.events FROM (SELECT t.$1, t.$2 FROM @st/p/ t)"
    assert _plain(sql, "snowflake") == {"raw.events.$1": {"@st/p/.$1"}, "raw.events.$2": {"@st/p/.$2"}}


# ---------------------------------------------------------------------- BigQuery UNNEST ... WITH OFFSET
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO d.items (id, sku, pos) SELECT o.id, item.sku, off "
            "FROM `p.d.orders` o, UNNEST(o.items) AS item WITH OFFSET AS off",
            {
                "d.items.id": {"p.d.orders.id"},
                "d.items.sku": {"p.d.orders.items"},
                "d.items.pos": {"p.d.orders.items"},
            },
            id="offset-alias",
        ),
        pytest.param(
            "INSERT INTO d.items SELECT o.id, item, offset "
            "FROM `p.d.orders` o, UNNEST(o.items) AS item WITH OFFSET",
            {
                "d.items.id": {"p.d.orders.id"},
                "d.items.item": {"p.d.orders.items"},
                "d.items.offset": {"p.d.orders.items"},
            },
            id="default-offset-name",
        ),
        pytest.param(
            "INSERT INTO d.items SELECT o.id, pos FROM `p.d.orders` o, UNNEST(o.items) WITH OFFSET pos",
            {"d.items.id": {"p.d.orders.id"}, "d.items.pos": {"p.d.orders.items"}},
            id="unaliased-unnest",
        ),
    ],
)
def test_unnest_offset_is_the_position_in_the_array(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "bigquery") == expected


def test_unnest_offset_in_where_filters_on_the_array() -> None:
    sql = "INSERT INTO d.x SELECT o.id FROM d.o o, UNNEST(o.items) AS i WITH OFFSET AS off WHERE off < 3"
    assert _rows(sql, "bigquery") == {("d.x", "d.o.items", "FILTER")}


def test_unnest_offset_transformation() -> None:
    sql = "INSERT INTO d.x SELECT off FROM d.o o, UNNEST(o.items) AS i WITH OFFSET AS off"
    assert _edges(sql, "bigquery") == {"d.x.off": ({"d.o.items"}, "TRANSFORMATION")}


# ---------------------------------------------------------------------- rendered templates
@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t (c, d) SELECT {{ params.col }} AS c, d FROM s WHERE x = {{ params.x }}",
        "INSERT INTO t (c, d) SELECT s.{{ params.col }} AS c, d FROM s WHERE x = {{ params.x }}",
    ],
)
def test_leftover_jinja_names_no_column(sql: str) -> None:
    assert _plain(sql, "postgres") == {"t.d": {"s.d"}}
    assert _rows(sql, "postgres") == {("t", "s.x", "FILTER")}


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        ("INSERT INTO t (a, b) VALUES (:1, :2)", "oracle", [], ["t"]),
        ("INSERT INTO t (a) SELECT a FROM s WHERE c = :1 AND d BETWEEN :2 AND :3", "oracle", ["s"], ["t"]),
        ("UPDATE t SET a = :1 WHERE id = :2", "sqlite", [], ["t"]),
        ("DELETE FROM t WHERE id IN (:1,:2)", "postgres", [], ["t"]),
    ],
)
def test_numeric_binds_parse(sql: str, dialect: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_numeric_bind_lookalikes_are_kept() -> None:
    assert _plain("SELECT x::int AS x, arr[1:2] AS a FROM s", "postgres") == {"x": {"s.x"}, "a": {"s.arr"}}
    assert _plain("SELECT v:1 AS v FROM s", "snowflake") == {"v": {"s.v"}}


def test_script_variable_named_like_a_selected_column_is_no_filter_column() -> None:
    sql = (
        "DECLARE run_date DATE DEFAULT '2024-01-01';\n"
        "INSERT INTO t (dt, id) SELECT run_date, id FROM s WHERE dt = run_date"
    )
    assert _plain(sql, "bigquery") == {"t.id": {"s.id"}}
    assert _rows(sql, "bigquery") == {("t", "s.dt", "FILTER")}


# ---------------------------------------------------------------------- partitions
@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param(
            "ALTER TABLE sales ATTACH PARTITION sales_2024_01 "
            "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')",
            "postgres",
            ["sales_2024_01"],
            ["sales"],
            id="postgres-attach",
        ),
        pytest.param(
            "ALTER TABLE sales ATTACH PARTITION sales_old DEFAULT",
            "postgres",
            ["sales_old"],
            ["sales"],
            id="attach-default",
        ),
        pytest.param(
            "ALTER TABLE IF EXISTS ONLY sales DETACH PARTITION sales_2023_01 CONCURRENTLY",
            "postgres",
            ["sales"],
            ["sales_2023_01"],
            id="postgres-detach",
        ),
        pytest.param(
            "ALTER TABLE dbo.sales SWITCH PARTITION 3 TO dbo.sales_archive PARTITION 3",
            "tsql",
            ["dbo.sales"],
            ["dbo.sales_archive"],
            id="tsql-switch-partition",
        ),
        pytest.param(
            "ALTER TABLE stage SWITCH TO dbo.sales PARTITION 3",
            "tsql",
            ["stage"],
            ["dbo.sales"],
            id="tsql-switch-in",
        ),
        pytest.param(
            "ALTER TABLE db.t ATTACH PARTITION 202401 FROM db.t_stage",
            "clickhouse",
            ["db.t_stage"],
            ["db.t"],
            id="clickhouse-attach-from",
        ),
        pytest.param(
            "ALTER TABLE db.t ON CLUSTER c MOVE PARTITION '2024-01' TO TABLE db.t_archive",
            "clickhouse",
            ["db.t"],
            ["db.t_archive"],
            id="clickhouse-move-to-table",
        ),
        pytest.param(
            "ALTER TABLE t DETACH PARTITION 202401", "clickhouse", [], ["t"], id="clickhouse-detach"
        ),
        pytest.param("ALTER TABLE t TRUNCATE PARTITION p2024", "oracle", [], ["t"], id="oracle-truncate"),
        pytest.param("ALTER TABLE t DROP PARTITION p2024", "oracle", [], ["t"], id="oracle-drop"),
        pytest.param("ALTER TABLE t TRUNCATE PARTITION p2024", "mysql", [], ["t"], id="mysql-truncate"),
        pytest.param("ALTER TABLE t RECOVER PARTITIONS", "databricks", [], ["t"], id="spark-recover"),
    ],
)
def test_partition_moves_and_maintenance(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


# ---------------------------------------------------------------------- loads
@pytest.mark.parametrize(
    ("sql", "files"),
    [
        (
            "LOAD DATA INTO p.d.e PARTITION BY DATE(ts) CLUSTER BY id "
            "FROM FILES (format = 'PARQUET', uris = ['gs://b/e/*.parquet'])",
            ["gs://b/e/*.parquet"],
        ),
        (
            "LOAD DATA INTO p.d.e PARTITIONS(_PARTITIONTIME = TIMESTAMP '2024-01-01') "
            "FROM FILES (format = 'AVRO', uris = ['gs://b/e/*.avro'])",
            ["gs://b/e/*.avro"],
        ),
        (
            "LOAD DATA OVERWRITE p.d.e (id STRING, ts TIMESTAMP) OPTIONS (description = 'x') "
            "FROM FILES (format = 'CSV', uris = ['gs://b/1.csv', 'gs://b/2.csv']) WITH PARTITION COLUMNS",
            ["gs://b/1.csv", "gs://b/2.csv"],
        ),
    ],
)
def test_bigquery_load_data_clauses(sql: str, files: list[str]) -> None:
    assert _tables(sql, "bigquery") == (files, ["p.d.e"])


def test_bigquery_load_data_into_temp_table_is_collapsed() -> None:
    sql = (
        "LOAD DATA INTO TEMP TABLE tmp FROM FILES (format = 'CSV', uris = ['gs://b/e.csv']);\n"
        "INSERT INTO d.t SELECT * FROM tmp"
    )
    assert _tables(sql, "bigquery") == (["gs://b/e.csv"], ["d.t"])


def test_redshift_merge_remove_duplicates_replaces_and_inserts() -> None:
    sql = "MERGE INTO public.target USING public.stage s ON target.id = s.id REMOVE DUPLICATES"
    schema = {"public.target": ["id", "name"], "public.stage": ["id", "name"]}
    assert _tables(sql, "redshift") == (["public.stage"], ["public.target"])
    assert _plain(sql, "redshift", schema=schema) == {
        "public.target.id": {"public.stage.id"},
        "public.target.name": {"public.stage.name"},
    }
    assert _plain(sql, "redshift") == {"public.target.*": {"public.stage.*"}}


# ---------------------------------------------------------------------- dbt
_DBT_TABLE = """
begin;
create table "dev"."marts"."fct__dbt_tmp" as (select id, amt from "dev"."stg"."x");
alter table "dev"."marts"."fct" rename to "fct__dbt_backup";
alter table "dev"."marts"."fct__dbt_tmp" rename to "fct";
commit;
drop table if exists "dev"."marts"."fct__dbt_backup" cascade;
"""


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
def test_dbt_table_materialization_does_not_read_the_table_it_replaces(dialect: str) -> None:
    assert _tables(_DBT_TABLE, dialect) == (["dev.stg.x"], ["dev.marts.fct"])
    assert _plain(_DBT_TABLE, dialect) == {
        "dev.marts.fct.id": {"dev.stg.x.id"},
        "dev.marts.fct.amt": {"dev.stg.x.amt"},
    }


def test_dbt_view_materialization_does_not_read_the_view_it_replaces() -> None:
    sql = (
        'create view "d"."m"."v__dbt_tmp" as (select id from "d"."s"."x");\n'
        'alter table "d"."m"."v" rename to "v__dbt_backup";\n'
        'alter table "d"."m"."v__dbt_tmp" rename to "v";\n'
        'drop view if exists "d"."m"."v__dbt_backup" cascade'
    )
    assert _tables(sql, "postgres") == (["d.s.x"], ["d.m.v"])


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        pytest.param("ALTER TABLE a RENAME TO a_old; DROP TABLE a_old", [], ["a"], id="renamed-then-dropped"),
        pytest.param(
            "ALTER TABLE a RENAME TO a_old; INSERT INTO b SELECT * FROM a_old; DROP TABLE a_old",
            ["a"],
            ["b"],
            id="renamed-read-then-dropped",
        ),
        pytest.param("ALTER TABLE a RENAME TO b", ["a"], ["b"], id="plain-rename"),
    ],
)
def test_a_table_renamed_away_and_dropped_is_dropped(sql: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, "postgres") == (inputs, outputs)


def test_renamed_away_table_kept_with_keep_temp_tables() -> None:
    result = analyze("ALTER TABLE a RENAME TO a_old; DROP TABLE a_old", "postgres", keep_temp_tables=True)
    assert [t.qualified for t in result.inputs] == ["a"]
    assert sorted(t.qualified for t in result.outputs) == ["a_old"]


# ---------------------------------------------------------------------- derived tables joined to DML targets
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tgt t JOIN (SELECT id, MAX(ts) AS mts FROM stg WHERE ok GROUP BY id) s ON t.id = s.id "
        "SET t.last_ts = s.mts",
        "UPDATE tgt t INNER JOIN (SELECT id, MAX(ts) AS mts FROM stg WHERE ok GROUP BY id) AS s "
        "ON t.id = s.id SET last_ts = s.mts",
    ],
)
def test_mysql_update_join_derived_table(sql: str) -> None:
    assert _edges(sql, "mysql") == {"tgt.last_ts": ({"stg.ts"}, "AGGREGATION")}
    assert _rows(sql, "mysql") == {
        ("tgt", "stg.id", "GROUP_BY"),
        ("tgt", "stg.id", "JOIN"),
        ("tgt", "stg.ok", "FILTER"),
        ("tgt", "tgt.id", "JOIN"),
    }


@pytest.mark.parametrize(
    ("sql", "dialect", "subtype"),
    [
        ("DELETE t FROM tgt t JOIN (SELECT id FROM stg WHERE del = 1) s ON t.id = s.id", "mysql", "JOIN"),
        ("DELETE t FROM tgt t JOIN (SELECT id FROM stg WHERE del = 1) s ON t.id = s.id", "tsql", "JOIN"),
        (
            "DELETE FROM tgt USING tgt JOIN (SELECT id FROM stg WHERE del = 1) s ON tgt.id = s.id",
            "mysql",
            "JOIN",
        ),
        (
            "DELETE FROM tgt USING (SELECT id FROM stg WHERE del = 1) s WHERE tgt.id = s.id",
            "postgres",
            "FILTER",
        ),
    ],
)
def test_delete_through_a_derived_table_names_its_columns(sql: str, dialect: str, subtype: str) -> None:
    assert _tables(sql, dialect) == (["stg"], ["tgt"])
    assert _rows(sql, dialect) == {
        ("tgt", "stg.del", "FILTER"),
        ("tgt", "stg.id", subtype),
        ("tgt", "tgt.id", subtype),
    }


# ---------------------------------------------------------------------- MySQL row alias column names
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO t (a, b) VALUES (%s, %s) AS new(m, n) ON DUPLICATE KEY UPDATE b = t.b + n",
            {"t.b": {"t.b"}},
        ),
        (
            "INSERT INTO t (a, b) VALUES ((SELECT max(x) FROM s), 2) AS new(m, n) "
            "ON DUPLICATE KEY UPDATE b = new.m",
            {"t.a": {"s.x"}, "t.b": {"s.x"}},
        ),
        (
            "INSERT INTO t (a, b) VALUES ((SELECT max(x) FROM s), 2) AS new(m, n) "
            "ON DUPLICATE KEY UPDATE b = m",
            {"t.a": {"s.x"}, "t.b": {"s.x"}},
        ),
    ],
)
def test_mysql_row_alias_column_names_are_the_inserted_values(
    sql: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "mysql") == expected


# ---------------------------------------------------------------------- Redshift PartiQL
def test_redshift_partiql_array_navigation_with_index() -> None:
    sql = "INSERT INTO items SELECT o.id, i.sku, idx FROM orders o, o.items AS i AT idx WHERE idx < 3"
    assert _tables(sql, "redshift") == (["orders"], ["items"])
    assert _edges(sql, "redshift") == {
        "items.id": ({"orders.id"}, "IDENTITY"),
        "items.sku": ({"orders.items"}, "TRANSFORMATION"),
        "items.idx": ({"orders.items"}, "TRANSFORMATION"),
    }
    assert _rows(sql, "redshift") == {("items", "orders.items", "FILTER")}


# ---------------------------------------------------------------------- UNPIVOT
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


def test_pivot_over_a_subquery_of_values_invents_no_column() -> None:
    sql = (
        "INSERT INTO m SELECT * FROM (SELECT region, month, amount FROM sales) "
        "PIVOT (SUM(amount) FOR month IN (SELECT DISTINCT month FROM months))"
    )
    assert _tables(sql, "snowflake") == (["months", "sales"], ["m"])
    assert _plain(sql, "snowflake") == {"m.region": {"sales.region"}}


# ---------------------------------------------------------------------- scaling of the new scans


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
def test_new_passes_are_linear(build: object, dialect: str) -> None:
    make = build  # type: ignore[assignment]
    n = 150
    cpu_seconds(make(n // 10), dialect, runs=1)  # warm-up
    small = cpu_seconds(make(n), dialect, runs=2)
    large = cpu_seconds(make(4 * n), dialect, runs=2)
    assert large < 2.0
    assert large / max(small, 1e-3) < 8.0
