"""Third review: statements outside the peer corpus (COPY with column lists and queries, multi-table UPDATE,
MERGE INSERT ROW / VALUES without a column list, dynamic SQL given as one constant string, DuckDB file
readers with options, T-SQL ``db..t`` and four-part names, BigQuery LOAD DATA, T-SQL BULK INSERT)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import plain as _plain
from .readers import tables as _tables


# ---------------------------------------------------------------------- COPY
@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        (
            "COPY public.users (id, name) FROM '/tmp/users.csv' WITH (FORMAT csv)",
            "postgres",
            ["/tmp/users.csv"],
            ["public.users"],
        ),
        (
            "COPY INTO raw.people (id, name) FROM (SELECT $1:id::int, $1:name::string FROM @stage/people/) "
            "FILE_FORMAT = (TYPE = 'JSON')",
            "snowflake",
            ["@stage/people/"],
            ["raw.people"],
        ),
        ("COPY users (id, name) FROM STDIN WITH CSV", "postgres", [], ["users"]),
    ],
)
def test_copy_into_a_column_list_does_not_read_the_target(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_copy_query_to_file_gives_column_lineage_like_export_data() -> None:
    got = _edges(
        "COPY (SELECT id, upper(name) AS name FROM users WHERE active) TO '/tmp/out.csv' WITH CSV",
        "postgres",
    )
    assert got == {
        "/tmp/out.csv.id": ({"users.id"}, "IDENTITY"),
        "/tmp/out.csv.name": ({"users.name"}, "TRANSFORMATION"),
    }


def test_copy_into_table_from_a_query_over_files_gives_column_lineage() -> None:
    got = _plain(
        "COPY INTO db.tgt FROM (SELECT id, cast(amount AS double) AS amount FROM 's3://b/x/') "
        "FILEFORMAT = CSV",
        "databricks",
    )
    assert got == {"db.tgt.id": {"s3://b/x/.id"}, "db.tgt.amount": {"s3://b/x/.amount"}}


def test_copy_into_column_list_maps_the_query_by_position() -> None:
    got = _plain("COPY INTO t (a, b) FROM (SELECT x, y FROM 's3://b/x/')", "databricks")
    assert got == {"t.a": {"s3://b/x/.x"}, "t.b": {"s3://b/x/.y"}}


# ---------------------------------------------------------------------- multi-table UPDATE (MySQL)
def test_mysql_update_join_writes_the_table_its_set_clause_names() -> None:
    sql = (
        "UPDATE orders o JOIN customers c ON o.customer_id = c.id "
        "SET c.last_order_at = o.created_at WHERE o.status = 'paid'"
    )
    assert _tables(sql, "mysql") == (["orders"], ["customers"])
    assert _edges(sql, "mysql") == {"customers.last_order_at": ({"orders.created_at"}, "IDENTITY")}


def test_mysql_update_of_two_tables_writes_both() -> None:
    sql = "UPDATE t1, t2 SET t1.a = t2.b, t2.c = t1.d WHERE t1.id = t2.id"
    assert _tables(sql, "mysql") == (["t1", "t2"], ["t1", "t2"])
    assert _plain(sql, "mysql") == {"t1.a": {"t2.b"}, "t2.c": {"t1.d"}}


def test_mysql_update_join_setting_the_first_table_is_unchanged() -> None:
    sql = "UPDATE orders o JOIN customers c ON o.cid = c.id SET o.region = c.region"
    assert _tables(sql, "mysql") == (["customers"], ["orders"])
    assert _plain(sql, "mysql") == {"orders.region": {"customers.region"}}


# ---------------------------------------------------------------------- MERGE
def test_bigquery_merge_insert_row_maps_all_source_columns() -> None:
    sql = (
        "MERGE ds.tgt T USING ds.src S ON T.id = S.id "
        "WHEN MATCHED THEN UPDATE SET val = S.val WHEN NOT MATCHED THEN INSERT ROW"
    )
    assert _plain(sql, "bigquery") == {"ds.tgt.val": {"ds.src.val"}, "ds.tgt.*": {"ds.src.*"}}
    with_schema = _plain(sql, "bigquery", schema={"ds.src": ["id", "val"], "ds.tgt": ["id", "val"]})
    assert with_schema == {"ds.tgt.id": {"ds.src.id"}, "ds.tgt.val": {"ds.src.val"}}


def test_merge_insert_values_without_column_list_uses_the_target_schema() -> None:
    sql = (
        "MERGE INTO tgt USING src ON tgt.id = src.id "
        "WHEN NOT MATCHED THEN INSERT VALUES (src.id, upper(src.v))"
    )
    assert _edges(sql, "snowflake", schema={"tgt": ["id", "v"]}) == {
        "tgt.id": ({"src.id"}, "IDENTITY"),
        "tgt.v": ({"src.v"}, "TRANSFORMATION"),
    }


# ---------------------------------------------------------------------- dynamic SQL given as a constant
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("EXECUTE IMMEDIATE 'INSERT INTO tgt SELECT a FROM src'", "bigquery"),
        ("EXECUTE IMMEDIATE 'INSERT INTO tgt SELECT a FROM src WHERE d = ''x'''", "snowflake"),
        ("EXECUTE IMMEDIATE $$INSERT INTO tgt SELECT a FROM src$$", "snowflake"),
        ("EXEC('INSERT INTO tgt SELECT a FROM src')", "tsql"),
        (
            "EXEC sp_executesql N'INSERT INTO tgt SELECT a FROM src WHERE d = @d', "
            "N'@d date', @d = '2024-01-01'",
            "tsql",
        ),
        ("EXECUTE IMMEDIATE 'INSERT INTO tgt SELECT a FROM src WHERE d = ?' USING '2024-01-01'", "bigquery"),
    ],
)
def test_execute_of_a_constant_string_is_analysed(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["src"], ["tgt"])
    assert _plain(sql, dialect) == {"tgt.a": {"src.a"}}


def test_snowflake_execute_immediate_anonymous_block() -> None:
    sql = """EXECUTE IMMEDIATE $$
BEGIN
  CREATE OR REPLACE TEMPORARY TABLE stage AS SELECT a, b FROM db.s.src;
  INSERT INTO db.s.tgt SELECT a, b FROM stage;
  DELETE FROM db.s.src WHERE a IS NULL;
END;
$$"""
    assert _tables(sql, "snowflake") == (["db.s.src"], ["db.s.src", "db.s.tgt"])
    assert _plain(sql, "snowflake") == {"db.s.tgt.a": {"db.s.src.a"}, "db.s.tgt.b": {"db.s.src.b"}}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("EXECUTE 'INSERT INTO tgt SELECT a FROM ' || tbl", "postgres"),
        ("EXECUTE IMMEDIATE 'INSERT INTO ' || tbl || ' SELECT a FROM src'", "snowflake"),
        ("EXEC('INSERT INTO ' + @t + ' SELECT a FROM src')", "tsql"),
        ("EXECUTE my_prepared_statement(1, 2)", "postgres"),
        ("EXEC dbo.load_orders @day = '2024-01-01'", "tsql"),
    ],
)
def test_execute_of_built_sql_or_a_procedure_gives_nothing(sql: str, dialect: str) -> None:
    res = analyze(sql, dialect)
    assert (res.inputs, res.outputs, res.errors) == ((), (), ())


# ---------------------------------------------------------------------- DuckDB file readers
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


# ---------------------------------------------------------------------- names
def test_tsql_database_dot_dot_table_keeps_the_database_and_fills_the_schema() -> None:
    sql = "INSERT INTO other_db..tgt SELECT id FROM src"
    got = _tables(sql, "tsql", default_database="db", default_schema="dbo")
    assert got == (["db.dbo.src"], ["other_db.dbo.tgt"])
    assert _plain(sql, "tsql", default_database="db", default_schema="dbo") == {
        "other_db.dbo.tgt.id": {"db.dbo.src.id"}
    }


def test_snowflake_database_dot_dot_table_is_the_public_schema() -> None:
    got = _tables(
        "INSERT INTO db2..tgt SELECT id FROM src", "snowflake", default_database="DB", default_schema="S"
    )
    assert got == (["DB.S.src"], ["db2.public.tgt"])


def test_tsql_four_part_linked_server_names_are_kept() -> None:
    sql = "INSERT INTO srv.db.dbo.tgt (id) SELECT id FROM [srv2].[db2].[dbo].[src]"
    assert _tables(sql, "tsql") == (["srv2.db2.dbo.src"], ["srv.db.dbo.tgt"])
    assert _plain(sql, "tsql") == {"srv.db.dbo.tgt.id": {"srv2.db2.dbo.src.id"}}


# ---------------------------------------------------------------------- loads
@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        (
            "LOAD DATA OVERWRITE ds.people FROM FILES (format = 'PARQUET', uris = ['gs://b/people/*.parquet'])",
            ["gs://b/people/*.parquet"],
            ["ds.people"],
        ),
        (
            "LOAD DATA INTO ds.people (id INT64, name STRING) "
            "FROM FILES (format = 'CSV', uris = ['gs://b/a.csv', 'gs://b/b.csv'])",
            ["gs://b/a.csv", "gs://b/b.csv"],
            ["ds.people"],
        ),
    ],
)
def test_bigquery_load_data_reads_the_uris_and_writes_the_table(
    sql: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, "bigquery") == (inputs, outputs)


def test_tsql_bulk_insert_reads_the_file() -> None:
    sql = "BULK INSERT dbo.people FROM 'C:\\data\\people.csv' WITH (FIELDTERMINATOR = ',', FIRSTROW = 2)"
    assert _tables(sql, "tsql", default_database="db") == (["C:\\data\\people.csv"], ["db.dbo.people"])


def test_snowflake_copy_transform_reads_positional_columns_of_the_stage() -> None:
    got = _edges(
        "COPY INTO raw.people (id, name) FROM (SELECT $1:id::int, t.$2 FROM @stage/people/ t) "
        "FILE_FORMAT = (TYPE = 'CSV')",
        "snowflake",
    )
    assert got == {
        "raw.people.id": ({"@stage/people/.$1"}, "TRANSFORMATION"),
        "raw.people.name": ({"@stage/people/.$2"}, "IDENTITY"),
    }


# ---------------------------------------------------------------------- script-local tables, vendor CTAS
def test_tsql_table_variable_passes_lineage_through_like_a_temp_table() -> None:
    sql = """DECLARE @t TABLE (id INT, v INT);
INSERT INTO @t (id, v) SELECT id, v FROM dbo.src;
INSERT INTO dbo.tgt (id, v) SELECT id, upper(v) FROM @t;"""
    assert _tables(sql, "tsql") == (["dbo.src"], ["dbo.tgt"])
    assert _edges(sql, "tsql") == {
        "dbo.tgt.id": ({"dbo.src.id"}, "IDENTITY"),
        "dbo.tgt.v": ({"dbo.src.v"}, "TRANSFORMATION"),
    }


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "CREATE LOCAL TEMPORARY TABLE stage ON COMMIT PRESERVE ROWS AS SELECT id, v FROM raw.src; "
            "INSERT INTO mart.tgt SELECT id, v FROM stage",
            "postgres",
        ),
        (
            "CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT id, v FROM raw.src; "
            "INSERT INTO mart.tgt SELECT id, v FROM stage",
            "postgres",
        ),
        (
            "CREATE MULTISET VOLATILE TABLE stage AS (SELECT id, v FROM raw.src) WITH DATA "
            "PRIMARY INDEX (id) ON COMMIT PRESERVE ROWS; INSERT INTO mart.tgt SELECT id, v FROM stage",
            "teradata",
        ),
    ],
)
def test_vendor_forms_of_create_temp_table_as_are_collapsed(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["raw.src"], ["mart.tgt"])
    assert _plain(sql, dialect) == {"mart.tgt.id": {"raw.src.id"}, "mart.tgt.v": {"raw.src.v"}}


def test_create_table_with_vendor_options_before_as_keeps_its_target() -> None:
    sql = "CREATE UNLOGGED TABLE IF NOT EXISTS mart.t WITH (fillfactor = 70) AS SELECT id FROM raw.s"
    assert _tables(sql, "postgres") == (["raw.s"], ["mart.t"])
    assert _plain(sql, "postgres") == {"mart.t.id": {"raw.s.id"}}


def test_clone_copies_every_column() -> None:
    assert _plain("CREATE TABLE db.s.t2 CLONE db.s.t1", "snowflake") == {"db.s.t2.*": {"db.s.t1.*"}}
    got = _plain("CREATE TABLE t2 DEEP CLONE t1", "databricks", schema={"t1": ["a", "b"]})
    assert got == {"t2.a": {"t1.a"}, "t2.b": {"t1.b"}}
