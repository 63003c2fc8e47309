"""Fourth review: realistic ELT statements outside the peer corpus, per dialect (temp tables filled by
``SELECT *``, table constraints, pseudo-columns, ClickHouse materialized views ``TO``, table functions
and mutations, T-SQL ``OPENROWSET(BULK)``, ``GO`` batches, ``TOP (n)`` and DML through a CTE, Hive
multi-insert, Snowflake PIVOT aliases and streams, MySQL ``INTO OUTFILE``, BigQuery script variables and
snapshots, ``SELECT ... INTO`` variables, Oracle ``CONNECT BY``)."""

from __future__ import annotations

import time

import pytest

from airflow_lineage_provider.sql import analyze
from airflow_lineage_provider.sql.text import split_statements

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables


# ---------------------------------------------------------------------- temp tables in scripts
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "CREATE TEMP TABLE tmp_new AS SELECT * FROM src.accounts WHERE updated_at > now();"
            "INSERT INTO dw.accounts (id, name) SELECT id, name FROM tmp_new; DROP TABLE tmp_new;",
            "postgres",
        ),
        ("SELECT * INTO #t FROM src.accounts; INSERT INTO dw.accounts SELECT id, name FROM #t", "tsql"),
        (
            "CREATE TEMPORARY VIEW v AS SELECT * FROM src.accounts; "
            "INSERT INTO dw.accounts SELECT id, name FROM v",
            "spark",
        ),
    ],
)
def test_columns_of_a_temp_table_filled_by_select_star_reach_the_real_columns(sql: str, dialect: str) -> None:
    assert _plain(sql, dialect) == {
        "dw.accounts.id": {"src.accounts.id"},
        "dw.accounts.name": {"src.accounts.name"},
    }


def test_rows_through_a_star_temp_table_name_the_real_columns() -> None:
    sql = (
        "BEGIN; CREATE TEMP TABLE stage_users (LIKE analytics.users);"
        "INSERT INTO stage_users SELECT * FROM staging.users_raw;"
        "DELETE FROM analytics.users USING stage_users WHERE analytics.users.id = stage_users.id;"
        "INSERT INTO analytics.users SELECT * FROM stage_users; END;"
    )
    assert _edges(sql, "redshift") == {
        "analytics.users.*": ({"staging.users_raw.*"}, "IDENTITY"),
    }
    assert _rows(sql, "redshift") == {
        ("analytics.users", "analytics.users.id", "FILTER"),
        ("analytics.users", "staging.users_raw.id", "FILTER"),
    }


def test_transformation_before_a_temp_table_is_kept() -> None:
    sql = (
        "CREATE TEMP TABLE t AS SELECT id, NVL(name, 'x') AS name FROM a; "
        "INSERT INTO b SELECT id, name FROM t"
    )
    assert _edges(sql, "redshift") == {
        "b.id": ({"a.id"}, "IDENTITY"),
        "b.name": ({"a.name"}, "TRANSFORMATION"),
    }


# ---------------------------------------------------------------------- CREATE TABLE column lists
def test_table_constraints_are_not_columns() -> None:
    sql = (
        "CREATE TABLE t (id INT, name TEXT, PRIMARY KEY (id), CONSTRAINT u UNIQUE (name));"
        "INSERT INTO t SELECT a, b FROM s; INSERT INTO x SELECT * FROM t"
    )
    assert _plain(sql, "postgres") == {
        "t.id": {"s.a"},
        "t.name": {"s.b"},
        "x.id": {"t.id"},
        "x.name": {"t.name"},
    }


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("CREATE TEMP TABLE su (LIKE a.users); INSERT INTO su SELECT x, y FROM s.raw;", "redshift"),
        ("CREATE TEMPORARY TABLE su LIKE a.users; INSERT INTO su SELECT x, y FROM s.raw;", "mysql"),
    ],
)
def test_create_table_like_takes_the_known_columns_of_its_model(sql: str, dialect: str) -> None:
    script = sql + "INSERT INTO a.users SELECT * FROM su"
    assert _plain(script, dialect, schema={"a.users": ["id", "name"]}) == {
        "a.users.id": {"s.raw.x"},
        "a.users.name": {"s.raw.y"},
    }


# ---------------------------------------------------------------------- pseudo-columns
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "INSERT INTO ds.daily (event_date, event_name) SELECT DATE(_PARTITIONTIME), event_name "
            "FROM ds.events WHERE _PARTITIONTIME >= TIMESTAMP('2024-01-01')",
            "bigquery",
            {"ds.daily.event_name": {"ds.events.event_name"}},
        ),
        (
            "INSERT INTO ds.t SELECT _TABLE_SUFFIX AS day, user_id FROM `p.ga.events_*` "
            "WHERE _TABLE_SUFFIX > '2024'",
            "bigquery",
            {"ds.t.user_id": {"p.ga.events_*.user_id"}},
        ),
        (
            "INSERT INTO dw.sales SELECT s.id, ROWNUM AS rn, LEVEL AS lvl FROM stg.sales s "
            "WHERE ROWNUM <= 10",
            "oracle",
            {"dw.sales.id": {"stg.sales.id"}},
        ),
        ("INSERT INTO x SELECT id, _part, _partition_id FROM raw.a", "clickhouse", {"x.id": {"raw.a.id"}}),
        ("INSERT INTO x SELECT id, INPUT__FILE__NAME FROM raw.t", "hive", {"x.id": {"raw.t.id"}}),
        ("INSERT INTO x SELECT $1, METADATA$FILENAME FROM @st/p/", "snowflake", {"x.$1": {"@st/p/.$1"}}),
    ],
)
def test_pseudo_columns_are_no_data_columns(sql: str, dialect: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, dialect) == expected
    assert not any("_partition" in r[1] or "rownum" in r[1] for r in _rows(sql, dialect))


def test_postgres_ctid_dedupe_filters_on_the_key_only() -> None:
    sql = "DELETE FROM dw.t a USING dw.t b WHERE a.ctid < b.ctid AND a.k = b.k"
    assert _rows(sql, "postgres") == {("dw.t", "dw.t.k", "FILTER")}


def test_a_pseudo_column_name_listed_by_the_schema_is_a_column() -> None:
    sql = "INSERT INTO ds.x SELECT _partitiontime AS pt FROM ds.y"
    assert _plain(sql, "bigquery", schema={"ds.y": ["_partitiontime"]}) == {
        "ds.x.pt": {"ds.y._partitiontime"}
    }


# ---------------------------------------------------------------------- ClickHouse
def test_clickhouse_materialized_view_to_writes_its_target() -> None:
    sql = (
        "CREATE MATERIALIZED VIEW analytics.mv_daily TO analytics.daily AS "
        "SELECT toDate(ts) AS day, count() AS n FROM raw.events GROUP BY day"
    )
    assert _tables(sql, "clickhouse") == (["raw.events"], ["analytics.daily"])
    assert _edges(sql, "clickhouse") == {
        "analytics.daily.day": ({"raw.events.ts"}, "TRANSFORMATION"),
        "analytics.daily.n": ({"raw.events.*"}, "AGGREGATION"),
    }


def test_clickhouse_materialized_view_with_engine_writes_itself() -> None:
    sql = (
        "CREATE MATERIALIZED VIEW a.mv ENGINE = SummingMergeTree ORDER BY d AS "
        "SELECT d, sum(v) AS v FROM r.e GROUP BY d"
    )
    assert _tables(sql, "clickhouse") == (["r.e"], ["a.mv"])


@pytest.mark.parametrize(
    ("reader", "path"),
    [
        (
            "s3('https://b.s3.amazonaws.com/data/*.parquet', 'Parquet')",
            "https://b.s3.amazonaws.com/data/*.parquet",
        ),
        ("url('https://example.com/data.csv', CSVWithNames)", "https://example.com/data.csv"),
        ("file('data/*.csv', 'CSVWithNames')", "data/*.csv"),
        ("hdfs('hdfs://nn:9000/x/*.tsv', 'TSV')", "hdfs://nn:9000/x/*.tsv"),
        (
            "s3Cluster('main', 'https://b.s3.amazonaws.com/x/*.csv', 'CSV')",
            "https://b.s3.amazonaws.com/x/*.csv",
        ),
    ],
)
def test_clickhouse_file_table_functions_are_file_datasets(reader: str, path: str) -> None:
    sql = f"INSERT INTO analytics.t SELECT id, name FROM {reader}"
    assert _tables(sql, "clickhouse") == ([path], ["analytics.t"])
    assert _plain(sql, "clickhouse") == {
        "analytics.t.id": {f"{path}.id"},
        "analytics.t.name": {f"{path}.name"},
    }


def test_clickhouse_insert_into_function_writes_the_file() -> None:
    sql = (
        "INSERT INTO FUNCTION s3('https://b.s3.amazonaws.com/out/x.parquet', 'Parquet') "
        "SELECT id FROM a.users"
    )
    assert _tables(sql, "clickhouse") == (["a.users"], ["https://b.s3.amazonaws.com/out/x.parquet"])
    assert _plain(sql, "clickhouse") == {"https://b.s3.amazonaws.com/out/x.parquet.id": {"a.users.id"}}


def test_clickhouse_final_and_prewhere() -> None:
    sql = (
        "INSERT INTO x SELECT a.id, b.v FROM raw.a AS a FINAL JOIN raw.b AS b FINAL ON a.id = b.id "
        "PREWHERE a.status = 1 WHERE a.dt > 0"
    )
    assert _plain(sql, "clickhouse") == {"x.id": {"raw.a.id"}, "x.v": {"raw.b.v"}}
    assert _rows(sql, "clickhouse") == {
        ("x", "raw.a.id", "JOIN"),
        ("x", "raw.b.id", "JOIN"),
        ("x", "raw.a.status", "FILTER"),
        ("x", "raw.a.dt", "FILTER"),
    }


def test_clickhouse_mutations_are_update_and_delete() -> None:
    update = (
        "ALTER TABLE a.t ON CLUSTER main UPDATE v = v * 2, w = (SELECT max(x) FROM r.m) "
        "WHERE id IN (SELECT id FROM r.fix)"
    )
    assert _tables(update, "clickhouse") == (["r.fix", "r.m"], ["a.t"])
    assert _edges(update, "clickhouse") == {
        "a.t.v": ({"a.t.v"}, "TRANSFORMATION"),
        "a.t.w": ({"r.m.x"}, "AGGREGATION"),
    }
    delete = "ALTER TABLE a.t DELETE WHERE dt < today() - 30"
    assert _tables(delete, "clickhouse") == ([], ["a.t"])
    assert _rows(delete, "clickhouse") == {("a.t", "a.t.dt", "FILTER")}


def test_clickhouse_exchange_tables_swaps_both() -> None:
    assert _tables("EXCHANGE TABLES a.t AND a.t_new", "clickhouse") == (
        ["a.t", "a.t_new"],
        ["a.t", "a.t_new"],
    )


# ---------------------------------------------------------------------- T-SQL
def test_openrowset_bulk_reads_the_file() -> None:
    sql = (
        "INSERT INTO dbo.Staging (a, b) SELECT r.a, r.b FROM OPENROWSET(BULK "
        "'https://acct.blob.core.windows.net/c/data/*.parquet', FORMAT = 'PARQUET') "
        "WITH (a INT, b VARCHAR(10)) AS r"
    )
    path = "https://acct.blob.core.windows.net/c/data/*.parquet"
    assert _tables(sql, "tsql") == ([path], ["dbo.staging"])
    assert _plain(sql, "tsql") == {"dbo.staging.a": {f"{path}.a"}, "dbo.staging.b": {f"{path}.b"}}


def test_windows_paths_get_no_default_schema() -> None:
    sql = "INSERT INTO x SELECT a FROM OPENROWSET(BULK 'C:\\data\\f.csv', SINGLE_CLOB) AS r"
    assert _tables(sql, "tsql", default_schema="dbo", default_database="db") == (
        ["C:\\data\\f.csv"],
        ["db.dbo.x"],
    )


def test_go_lines_separate_batches() -> None:
    sql = "INSERT INTO dbo.a SELECT * FROM dbo.b\nGO\nUPDATE dbo.c SET x = d.y FROM dbo.d AS d;\ngo 2\n"
    assert _tables(sql, "tsql") == (["dbo.b", "dbo.d"], ["dbo.a", "dbo.c"])
    assert split_statements("SELECT 'a\nGO\nb' FROM t /*\nGO\n*/") == ["SELECT 'a\nGO\nb' FROM t /*\nGO\n*/"]


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        ("-- purge\nDELETE TOP (500) FROM dbo.Log WHERE ts < 1", [], ["dbo.log"]),
        ("UPDATE TOP (1000) dbo.T SET Processed = 1 WHERE Processed = 0", [], ["dbo.t"]),
        ("INSERT TOP (10) PERCENT INTO dbo.X (a) SELECT a FROM dbo.Y", ["dbo.y"], ["dbo.x"]),
        (
            "WHILE 1 = 1 BEGIN DELETE TOP (5000) FROM dbo.Big WHERE dt < @d; IF @@ROWCOUNT = 0 BREAK; END",
            [],
            ["dbo.big"],
        ),
        ("IF @x > 0 RETURN; INSERT INTO dbo.A SELECT * FROM dbo.B", ["dbo.b"], ["dbo.a"]),
    ],
)
def test_tsql_top_clauses_and_break(sql: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, "tsql") == (inputs, outputs)


def test_tsql_delete_through_a_cte_deletes_from_its_table() -> None:
    sql = (
        "WITH cte AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY Email ORDER BY Id) rn FROM dbo.Users) "
        "DELETE FROM cte WHERE rn > 1"
    )
    assert _tables(sql, "tsql") == ([], ["dbo.users"])
    assert _rows(sql, "tsql") == {
        ("dbo.users", "dbo.users.email", "FILTER"),
        ("dbo.users", "dbo.users.id", "FILTER"),
    }


def test_tsql_update_through_a_cte_writes_the_base_column() -> None:
    sql = (
        "WITH c AS (SELECT o.Id, o.Status AS st, x.Flag FROM dbo.Orders o JOIN dbo.Flags x ON x.Id = o.Id "
        "WHERE o.Active = 1) UPDATE c SET st = Flag"
    )
    assert _tables(sql, "tsql") == (["dbo.flags"], ["dbo.orders"])
    assert _plain(sql, "tsql") == {"dbo.orders.status": {"dbo.flags.flag"}}


def test_postgres_dml_target_named_like_a_cte_is_the_table() -> None:
    sql = "WITH t AS (SELECT id FROM s) DELETE FROM t WHERE id IN (SELECT id FROM t)"
    assert _tables(sql, "postgres") == (["s"], ["t"])


def test_cursor_commands_read_nothing() -> None:
    sql = (
        "DECLARE c CURSOR FOR SELECT id FROM dbo.T; OPEN c; FETCH NEXT FROM c INTO @id; "
        "CLOSE c; DEALLOCATE c;"
    )
    assert _tables(sql, "tsql") == (["dbo.t"], [])


# ---------------------------------------------------------------------- Hive / Spark
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


def test_nested_struct_field_reads_the_struct_column() -> None:
    sql = "INSERT INTO dw.t SELECT s.id, s.info.address.city FROM raw.people s"
    assert _plain(sql, "spark") == {"dw.t.id": {"raw.people.id"}, "dw.t.city": {"raw.people.info"}}


# ---------------------------------------------------------------------- set operations, stars, pivots
def test_except_right_side_filters_but_gives_no_values() -> None:
    sql = "INSERT INTO dw.t (id) SELECT id FROM stg.s MINUS SELECT id FROM dw.t"
    assert _edges(sql, "oracle") == {"dw.t.id": ({"stg.s.id"}, "IDENTITY")}
    assert _rows(sql, "oracle") == {("dw.t", "dw.t.id", "FILTER")}


def test_star_replace_and_rename_without_schema_keep_the_named_columns() -> None:
    assert _edges("CREATE TABLE z AS SELECT * EXCLUDE (s) REPLACE (lower(e) AS e) FROM u", "duckdb") == {
        "z.*": ({"u.*"}, "IDENTITY"),
        "z.e": ({"u.e"}, "TRANSFORMATION"),
    }
    assert _plain("INSERT INTO z SELECT * RENAME (a AS b) FROM u", "snowflake") == {
        "z.*": {"u.*"},
        "z.b": {"u.a"},
    }


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


def test_snowflake_quoted_upper_case_names_are_the_unquoted_ones() -> None:
    sql = (
        "merge into a.inc as d using a.inc__tmp as s on (s.id = d.id) "
        'when matched then update set "ID" = s."ID", "Val" = s."Val"'
    )
    assert _plain(sql, "snowflake") == {"a.inc.id": {"a.inc__tmp.id"}, "a.inc.Val": {"a.inc__tmp.Val"}}
    assert _tables('SELECT 1 FROM "RAW"."ORDERS"', "snowflake") == (["raw.orders"], [])
    assert _tables('SELECT 1 FROM "RAW"."ORDERS"', "postgres") == (["RAW.ORDERS"], [])


# ---------------------------------------------------------------------- Snowflake stages and streams
def test_snowflake_copy_table_into_stage_unloads_every_column() -> None:
    sql = "COPY INTO @unload/customers/ FROM analytics.customers"
    assert _tables(sql, "snowflake") == (["analytics.customers"], ["@unload/customers/"])
    assert _plain(sql, "snowflake") == {"@unload/customers/.*": {"analytics.customers.*"}}


def test_snowflake_create_stream_reads_its_table() -> None:
    sql = "CREATE OR REPLACE STREAM raw.orders_stream ON TABLE raw.orders APPEND_ONLY = TRUE"
    assert _tables(sql, "snowflake") == (["raw.orders"], ["raw.orders_stream"])
    assert _plain(sql, "snowflake") == {"raw.orders_stream.*": {"raw.orders.*"}}


def test_snowflake_let_is_procedural() -> None:
    assert _tables("BEGIN LET n INTEGER := 0; INSERT INTO a.t SELECT x FROM a.s; END;", "snowflake") == (
        ["a.s"],
        ["a.t"],
    )


# ---------------------------------------------------------------------- MySQL
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, name INTO OUTFILE '/tmp/out.csv' FROM app.users WHERE active = 1",
        "SELECT id, name FROM app.users WHERE active = 1 INTO OUTFILE '/tmp/out.csv' "
        "FIELDS TERMINATED BY ';' ENCLOSED BY '\"' LINES TERMINATED BY '\\n'",
    ],
)
def test_mysql_select_into_outfile_writes_the_file(sql: str) -> None:
    assert _tables(sql, "mysql") == (["app.users"], ["/tmp/out.csv"])
    assert _plain(sql, "mysql") == {
        "/tmp/out.csv.id": {"app.users.id"},
        "/tmp/out.csv.name": {"app.users.name"},
    }


# ---------------------------------------------------------------------- SELECT ... INTO variables
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "DECLARE v_cnt NUMBER; BEGIN SELECT COUNT(*) INTO v_cnt FROM stg.orders; "
            "INSERT INTO dw.orders SELECT * FROM stg.orders; END;",
            "oracle",
        ),
        ("SELECT max(id) INTO @m FROM stg.orders; INSERT INTO dw.orders SELECT * FROM stg.orders", "mysql"),
        (
            "DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM stg.orders; "
            "INSERT INTO dw.orders SELECT * FROM stg.orders; END $$",
            "postgres",
        ),
    ],
)
def test_select_into_a_variable_writes_no_dataset(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["stg.orders"], ["dw.orders"])


def test_select_into_still_creates_tables_where_it_does() -> None:
    assert _tables("SELECT * INTO films_recent FROM films", "postgres") == (["films"], ["films_recent"])
    assert _tables("SELECT a INTO dbo.Z FROM dbo.A", "tsql") == (["dbo.a"], ["dbo.z"])


# ---------------------------------------------------------------------- BigQuery
def test_bigquery_script_variables_are_not_columns() -> None:
    sql = (
        "DECLARE d DATE DEFAULT CURRENT_DATE(); DECLARE a, b INT64 DEFAULT (SELECT max(x) FROM ds.cfg);"
        "INSERT INTO ds.x SELECT id, d AS run_date, a FROM ds.y WHERE dt = d;"
    )
    assert _tables(sql, "bigquery") == (["ds.cfg", "ds.y"], ["ds.x"])
    assert _plain(sql, "bigquery") == {"ds.x.id": {"ds.y.id"}}
    assert _rows(sql, "bigquery") == {("ds.x", "ds.y.dt", "FILTER")}


def test_bigquery_variable_named_like_a_known_column_is_the_column() -> None:
    sql = "DECLARE id INT64; INSERT INTO ds.x SELECT id FROM ds.y"
    assert _plain(sql, "bigquery", schema={"ds.y": ["id"]}) == {"ds.x.id": {"ds.y.id"}}


def test_bigquery_snapshot_table_copies_its_source() -> None:
    sql = (
        "CREATE SNAPSHOT TABLE ds.snap CLONE ds.t FOR SYSTEM_TIME AS OF "
        "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR) "
        "OPTIONS (expiration_timestamp = TIMESTAMP '2030-01-01')"
    )
    assert _tables(sql, "bigquery") == (["ds.t"], ["ds.snap"])


# ---------------------------------------------------------------------- Oracle
def test_oracle_connect_by_decides_rows() -> None:
    sql = (
        "CREATE TABLE dw.h AS SELECT employee_id, LEVEL AS lvl FROM hr.emp "
        "START WITH manager_id IS NULL CONNECT BY PRIOR employee_id = manager_id"
    )
    assert _plain(sql, "oracle") == {"dw.h.employee_id": {"hr.emp.employee_id"}}
    assert _rows(sql, "oracle") == {
        ("dw.h", "hr.emp.manager_id", "FILTER"),
        ("dw.h", "hr.emp.manager_id", "JOIN"),
        ("dw.h", "hr.emp.employee_id", "JOIN"),
    }


# ---------------------------------------------------------------------- GROUP BY ALL, table_changes
@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "databricks"])
def test_group_by_all_groups_by_the_columns_that_aggregate_nothing(dialect: str) -> None:
    sql = "INSERT INTO o SELECT id, upper(k) AS k, sum(v) AS v FROM s GROUP BY ALL"
    assert _rows(sql, dialect) == {("o", "s.id", "GROUP_BY"), ("o", "s.k", "GROUP_BY")}


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


# ---------------------------------------------------------------------- bounded cost of the new scans
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
def test_new_text_scans_stay_linear(sql: str, dialect: str) -> None:
    start = time.perf_counter()
    assert isinstance(analyze(sql, dialect).to_dict(), dict)
    assert time.perf_counter() - start < 5
