"""Databricks, Spark, Delta and Hive: Delta Live Tables (``STREAM(s)``, ``LIVE``, ``APPLY CHANGES``), ``CLONE
... VERSION AS OF``, ``RESTORE``, ``CONVERT TO DELTA``, Delta maintenance, ``REPLACE WHERE``,
``table_changes``, Spark ``CACHE TABLE`` / ``REFRESH TABLE`` and temporary views over files, Hive
multi-insert, partitions and ``TRANSFORM``; plus passing cases that document lakehouse shapes (labelled
``documents``, also of Trino, Athena, ClickHouse, DuckDB and Snowflake).

``REFRESH MATERIALIZED VIEW`` / ``REFRESH STREAMING TABLE`` are in test_ddl.py, ``COPY INTO`` in
test_load_unload.py, ``INSERT INTO t TABLE s`` in test_insert_update_delete.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- Delta Live Tables


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE STREAMING TABLE t AS SELECT id, a FROM STREAM(s)",
            {"t.id": {"s.id"}, "t.a": {"s.a"}},
            id="stream-of-a-table",
        ),
        pytest.param(
            "CREATE OR REFRESH STREAMING TABLE t AS SELECT x.id, u.b FROM STREAM(cat.sch.s) AS x "
            "JOIN u ON x.id = u.id",
            {"t.id": {"cat.sch.s.id"}, "t.b": {"u.b"}},
            id="stream-with-alias-joined",
        ),
        pytest.param(
            "CREATE OR REFRESH STREAMING TABLE t AS SELECT x.id FROM STREAM bronze.s x",
            {"t.id": {"bronze.s.id"}},
            id="stream-without-parentheses",
        ),
        pytest.param(
            "CREATE OR REFRESH STREAMING TABLE raw AS "
            "SELECT * FROM STREAM read_files('s3://b/p', format => 'json')",
            {"raw.*": {"s3://b/p.*"}},
            id="stream-read-files",
        ),
    ],
)
def test_stream_of_a_table_keeps_column_lineage(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "databricks") == expected


def test_live_schema_is_the_pipeline_itself() -> None:
    sql = (
        "CREATE OR REFRESH LIVE TABLE a AS SELECT id FROM raw;\n"
        "CREATE OR REFRESH STREAMING TABLE b AS SELECT id FROM STREAM(LIVE.a);\n"
        "CREATE OR REFRESH MATERIALIZED VIEW c AS SELECT count(*) AS n FROM live.b"
    )
    assert _tables(sql, "databricks") == (["a", "b", "raw"], ["a", "b", "c"])
    assert _plain(sql, "databricks") == {"a.id": {"raw.id"}, "b.id": {"a.id"}, "c.n": {"b.*"}}


def test_documents_live_as_a_catalog_or_quoted_is_a_name() -> None:
    assert _tables("INSERT INTO o SELECT id FROM live.sch.t", "databricks") == (["live.sch.t"], ["o"])
    assert _tables("INSERT INTO o SELECT id FROM `live`.t", "databricks") == (["live.t"], ["o"])


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "APPLY CHANGES INTO live.t FROM STREAM(live.s) KEYS (id) SEQUENCE BY ts STORED AS SCD TYPE 2",
            (["live.s"], ["live.t"]),
            id="apply-changes-stream",
        ),
        pytest.param(
            "APPLY CHANGES INTO t FROM STREAM cdc.s KEYS (id) APPLY AS DELETE WHEN op = 'D' "
            "SEQUENCE BY ts COLUMNS * EXCEPT (op, ts)",
            (["cdc.s"], ["t"]),
            id="apply-changes-stream-no-parentheses",
        ),
        pytest.param(
            "CREATE FLOW f AS AUTO CDC INTO main.sch.t FROM stream(main.sch.s) KEYS (id) SEQUENCE BY ts",
            (["main.sch.s"], ["main.sch.t"]),
            id="create-flow-auto-cdc",
        ),
    ],
)
def test_dlt_change_data_capture_moves_the_source_rows(
    sql: str, expected: tuple[list[str], list[str]]
) -> None:
    assert _tables(sql, "databricks") == expected
    assert _plain(sql, "databricks") == {f"{expected[1][0]}.*": {f"{expected[0][0]}.*"}}


# ------------------------------------------- Delta: CLONE, RESTORE, maintenance, REPLACE WHERE, table_changes


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE TABLE IF NOT EXISTS main.sch.t DEEP CLONE main.sch.s VERSION AS OF 3",
            (["main.sch.s"], ["main.sch.t"]),
            id="deep-clone-version",
        ),
        pytest.param(
            "CREATE OR REPLACE TABLE t SHALLOW CLONE s TIMESTAMP AS OF '2024-01-01'",
            (["s"], ["t"]),
            id="shallow-clone-timestamp",
        ),
        pytest.param(
            "CREATE TABLE t CLONE `my-cat`.`raw-data`.s VERSION AS OF 12 LOCATION 's3://b/t'",
            (["my-cat.raw-data.s"], ["t"]),
            id="clone-backticked-version-location",
        ),
    ],
)
def test_clone_of_an_older_version_reads_the_source(sql: str, expected: tuple[list[str], list[str]]) -> None:
    assert _tables(sql, "databricks") == expected
    target, source = expected[1][0], expected[0][0]
    assert _plain(sql, "databricks") == {f"{target}.*": {f"{source}.*"}}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("RESTORE TABLE cat.sch.t TO VERSION AS OF 3", "cat.sch.t", id="version"),
        pytest.param("RESTORE t TO TIMESTAMP AS OF '2024-01-01 00:00:00'", "t", id="timestamp-no-table-word"),
        pytest.param("RESTORE TABLE `my-cat`.sch.`t-1` VERSION AS OF 3", "my-cat.sch.t-1", id="no-to"),
    ],
)
def test_restore_writes_the_table(sql: str, expected: str) -> None:
    assert _tables(sql, "databricks") == ([], [expected])


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("OPTIMIZE cat.sch.t WHERE dt = '2024-01-01' ZORDER BY (c, d)", id="optimize-zorder"),
        pytest.param("VACUUM cat.sch.t RETAIN 168 HOURS", id="vacuum"),
    ],
)
def test_documents_delta_maintenance_has_no_lineage(sql: str) -> None:
    assert _tables(sql, "databricks") == ([], [])


def test_replace_where_filters_the_target_rows() -> None:
    sql = "INSERT INTO t REPLACE WHERE dt = '2024-01-01' SELECT id, a, dt FROM s WHERE dt = '2024-01-01'"
    assert _plain(sql, "databricks") == {"t.id": {"s.id"}, "t.a": {"s.a"}, "t.dt": {"s.dt"}}
    assert _rows(sql, "databricks") == {("t", "t.dt", "FILTER"), ("t", "s.dt", "FILTER")}


def test_databricks_table_changes_reads_the_table() -> None:
    sql = (
        "MERGE INTO dw.t USING (SELECT id, v, _change_type FROM table_changes('raw.t', 2)) s "
        "ON dw.t.id = s.id "
        "WHEN MATCHED AND s._change_type = 'delete' THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)"
    )
    assert _tables(sql, "databricks") == (["raw.t"], ["dw.t"])
    assert _plain(sql, "databricks") == {"dw.t.id": {"raw.t.id"}, "dw.t.v": {"raw.t.v"}}
    assert _rows(sql, "databricks") == {("dw.t", "dw.t.id", "JOIN"), ("dw.t", "raw.t.id", "JOIN")}


@pytest.mark.parametrize(
    ("sql", "written"),
    [
        pytest.param(
            "CONVERT TO DELTA parquet.`/mnt/raw/events` PARTITIONED BY (dt STRING)", "/mnt/raw/events"
        ),
        pytest.param("CONVERT TO DELTA parquet.`s3://b/events` NO STATISTICS", "s3://b/events"),
        pytest.param("CONVERT TO DELTA main.raw.events", "main.raw.events"),
    ],
)
def test_convert_to_delta_writes_the_table(sql: str, written: str) -> None:
    assert _tables(sql, "databricks") == ([], [written])


# ---------------------------------------------------------------------- Spark CACHE TABLE and temporary views


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("CACHE TABLE c AS SELECT a, b FROM src WHERE x > 1; INSERT INTO out SELECT * FROM c", "spark"),
        (
            "CACHE LAZY TABLE c OPTIONS ('storageLevel' 'DISK_ONLY') AS SELECT a, b FROM src WHERE x > 1; "
            "INSERT INTO out SELECT a, b FROM c; UNCACHE TABLE c",
            "databricks",
        ),
    ],
)
def test_cache_table_as_select_is_a_temp_view(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["src"], ["out"])
    assert _plain(sql, dialect) == {"out.a": {"src.a"}, "out.b": {"src.b"}}
    assert _rows(sql, dialect) == {("out", "src.x", "FILTER")}


@pytest.mark.parametrize(
    "sql", ["CACHE TABLE db.src", "CACHE TABLE c AS SELECT a FROM src", "cache table c select * from src"]
)
def test_cache_table_alone_moves_no_data(sql: str) -> None:
    assert _tables(sql, "spark") == ([], [])


def test_cache_table_kept_with_keep_temp_tables() -> None:
    sql = "CACHE TABLE c AS SELECT a FROM src; INSERT INTO out SELECT a FROM c"
    assert _plain(sql, "spark", keep_temp_tables=True) == {"c.a": {"src.a"}, "out.a": {"c.a"}}


def test_an_unread_cache_is_kept_with_keep_temp_tables() -> None:
    res = analyze("CACHE TABLE c AS SELECT a FROM src", "spark", keep_temp_tables=True)
    assert res.to_dict() == {"inputs": ["src"], "outputs": ["c"], "column_lineage": [["c.a", "src.a"]]}


@pytest.mark.parametrize(
    ("sql", "files", "expected"),
    [
        (
            "CREATE TEMPORARY VIEW raw USING parquet OPTIONS (path 's3://b/raw/'); "
            "INSERT INTO db.t SELECT id FROM raw",
            "s3://b/raw/",
            {"db.t.id": {"s3://b/raw/.id"}},
        ),
        (
            "CREATE TEMPORARY VIEW raw (id INT, v STRING) USING csv OPTIONS ('path' = 's3://b/raw.csv', "
            "header 'true'); INSERT INTO db.t SELECT id FROM raw",
            "s3://b/raw.csv",
            {"db.t.id": {"s3://b/raw.csv.id"}},
        ),
        (
            "CREATE TEMPORARY TABLE raw USING parquet LOCATION 's3://b/raw/'; "
            "INSERT INTO db.t SELECT * FROM raw",
            "s3://b/raw/",
            {"db.t.*": {"s3://b/raw/.*"}},
        ),
    ],
)
def test_spark_temp_view_over_files_reads_the_files(
    sql: str, files: str, expected: dict[str, set[str]]
) -> None:
    assert _tables(sql, "spark") == ([files], ["db.t"])
    assert _plain(sql, "spark") == expected


def test_documents_refresh_table_is_still_a_cache_refresh() -> None:
    assert _tables("REFRESH TABLE t", "databricks") == ([], [])
    assert _kinds("REFRESH TABLE t", "spark") == ["other"]


@pytest.mark.parametrize("dialect", ["spark", "databricks"])
def test_a_global_temporary_view_is_read_through_global_temp(dialect: str) -> None:
    """Spark keeps global temporary views in the ``global_temp`` schema: readers name them so, and the
    script collapses them like any temporary view."""
    sql = (
        "CREATE GLOBAL TEMPORARY VIEW tv (a, b) AS SELECT id, amount FROM raw.p; "
        "INSERT INTO mart.x SELECT a, b FROM global_temp.tv"
    )
    assert _tables(sql, dialect) == (["raw.p"], ["mart.x"])
    assert _plain(sql, dialect) == {"mart.x.a": {"raw.p.id"}, "mart.x.b": {"raw.p.amount"}}


# ------------------------------------------------------------------ Hive: multi-insert, partitions, TRANSFORM


def test_hive_multi_insert_writes_every_target_from_the_shared_source() -> None:
    sql = (
        "FROM (SELECT id, x, y FROM raw.src WHERE dt = 1) s "
        "INSERT OVERWRITE TABLE dw.a PARTITION (dt = 1) SELECT s.id, s.x WHERE s.x > 0 "
        "INSERT INTO TABLE dw.b SELECT s.id, s.y"
    )
    assert _tables(sql, "hive") == (["raw.src"], ["dw.a", "dw.b"])
    assert _plain(sql, "hive") == {
        "dw.a.id": {"raw.src.id"},
        "dw.a.x": {"raw.src.x"},
        "dw.b.id": {"raw.src.id"},
        "dw.b.y": {"raw.src.y"},
    }
    assert ("dw.a", "raw.src.x", "FILTER") in _rows(sql, "hive")
    assert ("dw.b", "raw.src.x", "FILTER") not in _rows(sql, "hive")


def test_hive_static_partition_is_not_mapped_by_position() -> None:
    got = _plain(
        "INSERT INTO TABLE o PARTITION (dt='2024-01-01', hr) SELECT a, hr FROM t",
        "hive",
        schema={"o": ["a", "dt", "hr"]},
    )
    assert got == {"o.a": {"t.a"}, "o.hr": {"t.hr"}}


def test_spark_dynamic_partitions_come_last() -> None:
    got = _plain(
        "INSERT OVERWRITE TABLE o PARTITION (dt) SELECT x, y, day FROM t",
        "spark",
        schema={"o": ["dt", "a", "b"]},
    )
    assert got == {"o.a": {"t.x"}, "o.b": {"t.y"}, "o.dt": {"t.day"}}


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
        (
            "INSERT INTO TABLE t SELECT TRANSFORM(a, b) USING 'python x.py' AS (c, d) FROM s",
            {"t.c": {"s.a", "s.b"}, "t.d": {"s.a", "s.b"}},
        ),
        (
            "INSERT INTO TABLE t SELECT TRANSFORM(a, b) USING 'python x.py' AS (c STRING, d INT) FROM s",
            {"t.c": {"s.a", "s.b"}, "t.d": {"s.a", "s.b"}},
        ),
        (
            "INSERT OVERWRITE TABLE t SELECT TRANSFORM(s.a) USING 'cat' FROM s",
            {"t.key": {"s.a"}, "t.value": {"s.a"}},
        ),
    ],
)
def test_hive_transform_script_columns_derive_from_its_inputs(
    sql: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "hive") == expected


# ---------------------------- documents: lakehouse shapes (also Trino, Athena, ClickHouse, DuckDB, Snowflake)


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO main.gold.o SELECT id, a FROM `my-cat`.`raw-data`.`events-v2`",
            "databricks",
            {
                "main.gold.o.id": {"my-cat.raw-data.events-v2.id"},
                "main.gold.o.a": {"my-cat.raw-data.events-v2.a"},
            },
            id="unity-catalog-backticks-dashes",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, a FROM t VERSION AS OF 3",
            "databricks",
            {"o.id": {"t.id"}, "o.a": {"t.a"}},
            id="version-as-of",
        ),
        pytest.param(
            "INSERT INTO o SELECT x.id, x.a FROM cat.sch.t TIMESTAMP AS OF '2024-01-01' AS x",
            "databricks",
            {"o.id": {"cat.sch.t.id"}, "o.a": {"cat.sch.t.a"}},
            id="timestamp-as-of-alias",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, a FROM cat.sch.t@v3",
            "databricks",
            {"o.id": {"cat.sch.t.id"}, "o.a": {"cat.sch.t.a"}},
            id="at-version",
        ),
        pytest.param(
            "COPY INTO main.sch.t FROM (SELECT id::int AS id, a FROM 's3://bucket/path') FILEFORMAT = CSV "
            "FORMAT_OPTIONS ('header' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')",
            "databricks",
            {"main.sch.t.id": {"s3://bucket/path.id"}, "main.sch.t.a": {"s3://bucket/path.a"}},
            id="copy-into-query",
        ),
        pytest.param(
            "INSERT INTO t SELECT id, a FROM read_files('s3://b/p/', format => 'csv', header => true)",
            "databricks",
            {"t.id": {"s3://b/p/.id"}, "t.a": {"s3://b/p/.a"}},
            id="read-files",
        ),
        pytest.param(
            "CREATE OR REPLACE TABLE t USING DELTA PARTITIONED BY (dt) LOCATION 's3://b/t' "
            "AS SELECT id, dt FROM s",
            "databricks",
            {"t.id": {"s.id"}, "t.dt": {"s.dt"}},
            id="ctas-using-delta",
        ),
        pytest.param(
            "INSERT OVERWRITE t PARTITION (dt) SELECT id, a, dt FROM s",
            "databricks",
            {"t.id": {"s.id"}, "t.a": {"s.a"}, "t.dt": {"s.dt"}},
            id="insert-overwrite-dynamic-partition",
        ),
        pytest.param(
            "INSERT INTO hive.sch.t SELECT id, a FROM iceberg.raw.s",
            "trino",
            {"hive.sch.t.id": {"iceberg.raw.s.id"}, "hive.sch.t.a": {"iceberg.raw.s.a"}},
            id="trino-cross-catalog",
        ),
        pytest.param(
            "CREATE TABLE t WITH (format = 'PARQUET', partitioned_by = ARRAY['dt']) AS SELECT id, dt FROM s",
            "athena",
            {"t.id": {"s.id"}, "t.dt": {"s.dt"}},
            id="athena-ctas-with-properties",
        ),
        pytest.param("INSERT INTO o TABLE s", "trino", {"o.*": {"s.*"}}, id="trino-table-statement"),
        pytest.param(
            "INSERT INTO o SELECT id, a FROM t FOR TIMESTAMP AS OF TIMESTAMP '2024-01-01 00:00:00'",
            "trino",
            {"o.id": {"t.id"}, "o.a": {"t.a"}},
            id="trino-for-timestamp-as-of",
        ),
        pytest.param(
            "INSERT INTO t SELECT id, a FROM s3('https://bucket.s3.amazonaws.com/data/*.parquet', 'Parquet')",
            "clickhouse",
            {
                "t.id": {"https://bucket.s3.amazonaws.com/data/*.parquet.id"},
                "t.a": {"https://bucket.s3.amazonaws.com/data/*.parquet.a"},
            },
            id="clickhouse-s3",
        ),
        pytest.param(
            "INSERT INTO FUNCTION s3('https://b.s3.amazonaws.com/out.parquet', 'Parquet') SELECT id FROM t",
            "clickhouse",
            {"https://b.s3.amazonaws.com/out.parquet.id": {"t.id"}},
            id="clickhouse-insert-into-function",
        ),
        pytest.param(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv TO db.target (id UInt64, n UInt64) AS "
            "SELECT id, count() AS n FROM db.src FINAL GROUP BY id",
            "clickhouse",
            {"db.target.id": {"db.src.id"}, "db.target.n": {"db.src.*"}},
            id="clickhouse-mv-to-target",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, x FROM t ARRAY JOIN arr AS x",
            "clickhouse",
            {"o.id": {"t.id"}, "o.x": {"t.arr"}},
            id="clickhouse-array-join",
        ),
        pytest.param(
            "COPY (SELECT id, a FROM t WHERE a > 0) TO 'out.parquet' (FORMAT PARQUET)",
            "duckdb",
            {"out.parquet.id": {"t.id"}, "out.parquet.a": {"t.a"}},
            id="duckdb-copy-query-to",
        ),
        pytest.param(
            "CREATE TABLE t AS FROM read_csv('x.csv')", "duckdb", {"t.*": {"x.csv.*"}}, id="duckdb-from-first"
        ),
        pytest.param(
            "INSERT INTO o FROM t SELECT a, b WHERE c > 1",
            "duckdb",
            {"o.a": {"t.a"}, "o.b": {"t.b"}},
            id="duckdb-insert-from-first",
        ),
        pytest.param(
            "INSERT INTO o SELECT * FROM 'data/*.parquet'",
            "duckdb",
            {"o.*": {"data/*.parquet.*"}},
            id="duckdb-glob",
        ),
        pytest.param(
            "ATTACH 'db.duckdb' AS d; INSERT INTO o SELECT id FROM d.main.t",
            "duckdb",
            {"o.id": {"d.main.t.id"}},
            id="duckdb-attach",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, q.px FROM t ASOF JOIN q ON t.sym = q.sym AND t.ts >= q.ts",
            "duckdb",
            {"o.id": {"t.id"}, "o.px": {"q.px"}},
            id="duckdb-asof-join",
        ),
        pytest.param(
            "INSERT INTO o SELECT a.x, b.y FROM a POSITIONAL JOIN b",
            "duckdb",
            {"o.x": {"a.x"}, "o.y": {"b.y"}},
            id="duckdb-positional-join",
        ),
        pytest.param(
            "CREATE OR REPLACE DYNAMIC TABLE db.sch.t TARGET_LAG = '1 hour' WAREHOUSE = wh AS "
            "SELECT id, sum(a) AS a FROM db.sch.s GROUP BY id",
            "snowflake",
            {"db.sch.t.id": {"db.sch.s.id"}, "db.sch.t.a": {"db.sch.s.a"}},
            id="snowflake-dynamic-table",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, a FROM t CHANGES(INFORMATION => DEFAULT) "
            "AT(TIMESTAMP => '2024-01-01'::timestamp_ltz)",
            "snowflake",
            {"o.id": {"t.id"}, "o.a": {"t.a"}},
            id="snowflake-changes-at",
        ),
        pytest.param(
            "CREATE TABLE t CLONE s AT(TIMESTAMP => '2024-01-01'::timestamp_tz)",
            "snowflake",
            {"t.*": {"s.*"}},
            id="snowflake-clone-at",
        ),
        pytest.param(
            "EXECUTE IMMEDIATE $$\nBEGIN\n  INSERT INTO t SELECT a FROM s;\nEND;\n$$",
            "snowflake",
            {"t.a": {"s.a"}},
            id="snowflake-execute-immediate-block",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, f.value:sku::string AS sku "
            "FROM t, LATERAL FLATTEN(input => t.v:items) f",
            "snowflake",
            {"o.id": {"t.id"}, "o.sku": {"t.v"}},
            id="snowflake-lateral-flatten-path",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, v:customer.name::string AS cname FROM t",
            "snowflake",
            {"o.id": {"t.id"}, "o.cname": {"t.v"}},
            id="snowflake-path-cast",
        ),
    ],
)
def test_documents_lakehouse_shapes(sql: str, dialect: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "COPY INTO main.sch.t FROM 's3://bucket/path' FILEFORMAT = PARQUET",
            "databricks",
            (["s3://bucket/path"], ["main.sch.t"]),
            id="databricks-copy-into-path",
        ),
        pytest.param(
            "CREATE OR REFRESH MATERIALIZED VIEW mv AS SELECT id, sum(a) AS n FROM live.s GROUP BY id",
            "databricks",
            (["s"], ["mv"]),
            id="databricks-materialized-view",
        ),
        pytest.param(
            "INSERT INTO t REPLACE WHERE dt >= '2024-01-01' SELECT * FROM s",
            "databricks",
            (["s"], ["t"]),
            id="databricks-replace-where-star",
        ),
        pytest.param(
            "MERGE INTO t USING (SELECT * FROM s) AS u ON (t.id = u.id) WHEN MATCHED THEN DELETE",
            "trino",
            (["s"], ["t"]),
            id="trino-merge-delete",
        ),
    ],
)
def test_documents_lakehouse_tables(sql: str, dialect: str, expected: tuple[list[str], list[str]]) -> None:
    assert _tables(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE o AS SELECT id, explode(arr) FROM t", {"o.id": {"t.id"}, "o.col": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT explode_outer(arr) FROM t", {"o.col": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT posexplode(arr) FROM t", {"o.pos": {"t.arr"}, "o.col": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT posexplode(arr) AS (p, v) FROM t", {"o.p": {"t.arr"}, "o.v": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT explode(arr) AS x FROM t", {"o.x": {"t.arr"}}),
        ("CREATE TABLE o AS SELECT id, inline(arr) FROM t", {"o.id": {"t.id"}, "o.*": {"t.arr"}}),
        (
            "CREATE TABLE o AS SELECT id, col FROM (SELECT id, explode(arr) FROM t) s",
            {"o.id": {"t.id"}, "o.col": {"t.arr"}},
        ),
    ],
)
def test_generators_in_the_select_list_have_spark_column_names(
    sql: str, expected: dict[str, set[str]]
) -> None:
    """Spark names ``explode(arr)`` without an alias ``col`` and ``posexplode(arr)`` ``pos``, ``col``;
    ``inline(arr)`` gives the fields of the structs (``*``)."""
    assert _plain(sql, "spark") == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "INSERT OVERWRITE TABLE db.t SELECT /*+ REPARTITION(10), BROADCAST(d) */ f.id, d.name "
            "FROM db.f f JOIN db.d d ON f.did = d.id",
            "spark",
            (["db.d", "db.f"], ["db.t"]),
        ),
        (
            "INSERT INTO db.t SELECT /*+ MAPJOIN(small), SHUFFLE_HASH(big) */ big.k FROM db.big big "
            "JOIN db.small small ON big.k = small.k",
            "databricks",
            (["db.big", "db.small"], ["db.t"]),
        ),
        (
            "INSERT INTO t SELECT /*+ INDEX(e emp_idx) LEADING(e d) */ e.id FROM hr.emp e JOIN hr.dept d "
            "ON e.did = d.id",
            "oracle",
            (["hr.dept", "hr.emp"], ["t"]),
        ),
    ],
)
def test_optimizer_hints_name_no_tables(
    sql: str, dialect: str, expected: tuple[list[str], list[str]]
) -> None:
    """A join hint's argument (``BROADCAST(d)``) is an alias of the query, not a table it reads."""
    assert _tables(sql, dialect) == expected


# ------------------------------------------------- round 16: Hive EXPORT / IMPORT TABLE, MSCK REPAIR TABLE


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param("MSCK REPAIR TABLE raw.x", "hive", [], ["raw.x"], id="msck-repair"),
        pytest.param("MSCK REPAIR TABLE raw.x SYNC PARTITIONS", "hive", [], ["raw.x"], id="msck-sync"),
        pytest.param("MSCK TABLE raw.x", "hive", [], [], id="msck-check-only"),
        pytest.param("REPAIR TABLE raw.x ADD PARTITIONS", "databricks", [], ["raw.x"], id="repair-table"),
        pytest.param("MSCK REPAIR TABLE raw.x;", "spark", [], ["raw.x"], id="spark-msck"),
    ],
)
def test_repairing_a_table_writes_its_partitions(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_hive_export_table_writes_the_path_from_the_table() -> None:
    sql = "EXPORT TABLE mart.t PARTITION (dt='2024-01-01') TO 'hdfs:///backup/t'"
    assert _tables(sql, "hive") == (["mart.t"], ["hdfs:///backup/t"])
    assert _plain(sql, "hive") == {"hdfs:///backup/t.*": {"mart.t.*"}}


@pytest.mark.parametrize(
    ("sql", "outputs"),
    [
        pytest.param("IMPORT TABLE mart.t2 FROM '/backup/t'", ["mart.t2"], id="import-table"),
        pytest.param(
            "IMPORT EXTERNAL TABLE mart.t2 PARTITION (dt='2024') FROM '/backup/t' LOCATION '/warehouse/t2'",
            ["mart.t2"],
            id="import-external-partition",
        ),
    ],
)
def test_hive_import_table_reads_the_path_into_the_table(sql: str, outputs: list[str]) -> None:
    assert _tables(sql, "hive") == (["/backup/t"], outputs)
    assert _plain(sql, "hive") == {"mart.t2.*": {"/backup/t.*"}}


def test_hive_import_without_a_table_reads_the_path_only() -> None:
    res = analyze("IMPORT FROM '/backup/t'", "hive")
    assert not res.errors, res.errors
    assert [t.qualified for t in res.inputs] == ["/backup/t"]
    assert res.outputs == ()
    assert res.warnings


# ------------------------------------------------- round 16: Impala statements


@pytest.mark.parametrize(
    "sql",
    [
        "COMPUTE STATS mart.t",
        "COMPUTE INCREMENTAL STATS mart.t PARTITION (y=2024)",
        "INVALIDATE METADATA mart.t",
        "INVALIDATE METADATA",
        "DROP INCREMENTAL STATS mart.t PARTITION (y=2024)",
        "DROP STATS mart.t",
    ],
)
def test_impala_statistics_and_metadata_statements_move_no_data(sql: str) -> None:
    assert _tables(sql, "hive") == ([], [])


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "UPSERT INTO mart.k (id, v) SELECT id, v FROM raw.s",
            {"mart.k.id": {"raw.s.id"}, "mart.k.v": {"raw.s.v"}},
            id="upsert-into",
        ),
        pytest.param(
            "INSERT INTO mart.t PARTITION (y=2024, m) [SHUFFLE] SELECT a, m FROM raw.s",
            {"mart.t.a": {"raw.s.a"}, "mart.t.m": {"raw.s.m"}},
            id="insert-shuffle-hint",
        ),
        pytest.param(
            "INSERT INTO mart.t SELECT a.x, b.y FROM raw.a a JOIN [BROADCAST] raw.b b ON a.id = b.id",
            {"mart.t.x": {"raw.a.x"}, "mart.t.y": {"raw.b.y"}},
            id="join-broadcast-hint",
        ),
    ],
)
def test_impala_upsert_and_plan_hints(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "hive") == expected


@pytest.mark.parametrize("dialect", ["spark", "hive", "databricks"])
def test_a_multi_insert_from_a_cte_reads_the_cte_tables(dialect: str) -> None:
    """``WITH x AS (...) FROM x INSERT INTO a SELECT ... INSERT INTO b SELECT ...``: each branch reads the
    CTE, so its columns and row-deciding columns are those of the CTE's tables, never ``x``'s."""
    sql = "WITH x AS (SELECT id, v FROM s WHERE ok) FROM x INSERT INTO a SELECT id INSERT INTO b SELECT v"
    assert _plain(sql, dialect) == {"a.id": {"s.id"}, "b.v": {"s.v"}}
    assert _rows(sql, dialect) == {("a", "s.ok", "FILTER"), ("b", "s.ok", "FILTER")}


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO r SELECT id, stack(2, 'a', a, 'b', b) AS (k, v) FROM t",
        "INSERT INTO r SELECT id, k, v FROM t LATERAL VIEW stack(2, 'a', a, 'b', b) s AS k, v",
    ],
)
@pytest.mark.parametrize("dialect", ["spark", "databricks", "hive"])
def test_stack_deals_its_arguments_to_its_columns_by_position(sql: str, dialect: str) -> None:
    """``stack(2, 'a', a, 'b', b) AS (k, v)`` (the unpivot idiom) gives the rows ('a', a) and ('b', b):
    ``k`` holds constants (no edge), ``v`` the columns ``a`` and ``b``."""
    assert _plain(sql, dialect) == {"r.id": {"t.id"}, "r.v": {"t.a", "t.b"}}
