"""Loading and unloading: ``COPY`` / ``COPY INTO`` (PostgreSQL, Redshift, Snowflake stages, Databricks, also
``WITH (CREDENTIAL ...)`` and ``FILES = (...)``), ``UNLOAD`` (Redshift, Athena), BigQuery ``LOAD DATA`` /
``EXPORT DATA``, MySQL / Hive ``LOAD DATA`` and ``SELECT ... INTO OUTFILE``, T-SQL ``BULK INSERT`` /
``OPENROWSET(BULK)``, Spark ``INSERT OVERWRITE DIRECTORY``, Exasol ``IMPORT`` / ``EXPORT`` and DuckDB
``EXPORT`` / ``IMPORT DATABASE``; also the SQL that Airflow's transfer operators generate."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- COPY / COPY INTO


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


def test_snowflake_qualified_positional_column_keeps_its_name() -> None:
    sql = "COPY INTO raw.events FROM (SELECT t.$1, t.$2 FROM @st/p/ t)"
    assert _plain(sql, "snowflake") == {"raw.events.$1": {"@st/p/.$1"}, "raw.events.$2": {"@st/p/.$2"}}


def test_snowflake_copy_table_into_stage_unloads_every_column() -> None:
    sql = "COPY INTO @unload/customers/ FROM analytics.customers"
    assert _tables(sql, "snowflake") == (["analytics.customers"], ["@unload/customers/"])
    assert _plain(sql, "snowflake") == {"@unload/customers/.*": {"analytics.customers.*"}}


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param(
            "COPY public.orders FROM 's3://bucket/orders/2024-01-01/' IAM_ROLE 'arn:aws:iam::1:role/r' "
            "FORMAT AS PARQUET",
            "redshift",
            ["s3://bucket/orders/2024-01-01/"],
            ["public.orders"],
            id="s3-to-redshift-copy",
        ),
        pytest.param(
            "COPY sch.t (id, amt) FROM 's3://b/p' IAM_ROLE 'arn' FORMAT AS CSV DELIMITER ',' QUOTE '\"' "
            "IGNOREHEADER 1 REGION 'us-east-1' TIMEFORMAT 'auto' EMPTYASNULL",
            "redshift",
            ["s3://b/p"],
            ["sch.t"],
            id="s3-to-redshift-copy-options",
        ),
        pytest.param(
            "COPY INTO raw.events FROM @raw.stage/events/2024/ (FILE_FORMAT => raw.parquet_fmt) "
            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE",
            "snowflake",
            ["@raw.stage/events/2024/"],
            ["raw.events"],
            id="snowflake-copy-match-by-column-name",
        ),
        pytest.param(
            "COPY INTO raw.e (a, b)\nFROM  @raw.st/2024/01/\nfiles=('a.csv','b.csv')\npattern='.*'\n"
            "file_format=(type = 'CSV', field_delimiter = ';', skip_header = 1)\nON_ERROR = CONTINUE\n",
            "snowflake",
            ["@raw.st/2024/01/"],
            ["raw.e"],
            id="external-stage-to-snowflake-operator",
        ),
        pytest.param(
            "TRUNCATE TABLE mart.daily; INSERT INTO mart.daily SELECT day, sum(x) AS total FROM raw.p "
            "WHERE day = '2024-01-01' GROUP BY day",
            "postgres",
            ["raw.p"],
            ["mart.daily"],
            id="truncate-then-insert",
        ),
        pytest.param(
            "-- {{ task_instance_key_str }}\n/* dag=x; task=y */\nINSERT /*+ APPEND */ INTO t "
            "SELECT /*+ FULL(s) */ a FROM s WHERE ds = '2024-01-01' -- end; done\n",
            "oracle",
            ["s"],
            ["t"],
            id="comments-and-hints",
        ),
    ],
)
def test_documents_operator_generated_sql(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_copy_into_with_a_credential_reads_the_files() -> None:
    sql = (
        "COPY INTO t FROM 'abfss://c@acct.dfs.core.windows.net/p' WITH (CREDENTIAL (AZURE_SAS_TOKEN = 'x')) "
        "FILEFORMAT = CSV FILES = ('a.csv', 'b.csv')"
    )
    assert _tables(sql, "databricks") == (["abfss://c@acct.dfs.core.windows.net/p"], ["t"])


def test_documents_copy_into_files_list_reads_the_directory() -> None:
    sql = (
        "COPY INTO main.bronze.events FROM (SELECT _c0::int AS id, _c1 AS name FROM 's3://b/landing/') "
        "FILEFORMAT = CSV FILES = ('f1.csv') FORMAT_OPTIONS ('header' = 'false')"
    )
    assert _plain(sql, "databricks") == {
        "main.bronze.events.id": {"s3://b/landing/._c0"},
        "main.bronze.events.name": {"s3://b/landing/._c1"},
    }


# ---------------------------------------------------------------------- UNLOAD (Redshift, Athena)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "UNLOAD ('select id, name from sales.venue where state = \\'NV\\'') TO 's3://b/u/' "
            "IAM_ROLE 'arn:aws:iam::1:role/r' PARQUET ALLOWOVERWRITE",
            id="backslash-escaped",
        ),
        pytest.param(
            "UNLOAD ('SELECT id, name FROM sales.venue WHERE state = ''NV''') TO 's3://b/u/' "
            "iam_role 'arn' HEADER PARALLEL OFF ALLOWOVERWRITE PARTITION BY (name) MANIFEST",
            id="doubled-quotes-redshift-to-s3-operator",
        ),
        pytest.param(
            "UNLOAD ('SELECT id, name FROM sales.venue WHERE state = \\'N\\\\\\'V\\'') TO 's3://b/u/' "
            "CREDENTIALS 'aws_access_key_id=A;aws_secret_access_key=B' CSV DELIMITER AS ',' ADDQUOTES",
            id="escaped-backslash-then-quote",
        ),
    ],
)
def test_unload_reads_its_query_and_writes_its_columns_to_the_path(sql: str) -> None:
    assert _kinds(sql, "redshift") == ["unload"]
    assert _tables(sql, "redshift") == (["sales.venue"], ["s3://b/u/"])
    assert _edges(sql, "redshift") == {
        "s3://b/u/.id": ({"sales.venue.id"}, "IDENTITY"),
        "s3://b/u/.name": ({"sales.venue.name"}, "IDENTITY"),
    }
    assert _rows(sql, "redshift") == {("s3://b/u/", "sales.venue.state", "FILTER")}


def test_unload_of_a_join_keeps_the_path_unqualified() -> None:
    sql = (
        "UNLOAD ('SELECT c.id, sum(o.amt) AS total FROM sales.c c JOIN sales.o o ON o.cid = c.id "
        "GROUP BY c.id') TO 's3://Bucket/u/' IAM_ROLE 'arn'"
    )
    assert _tables(sql, "redshift", default_database="dev", default_schema="public") == (
        ["dev.sales.c", "dev.sales.o"],
        ["s3://Bucket/u/"],
    )
    assert _edges(sql, "redshift") == {
        "s3://Bucket/u/.id": ({"sales.c.id"}, "IDENTITY"),
        "s3://Bucket/u/.total": ({"sales.o.amt"}, "AGGREGATION"),
    }


def test_documents_unload_of_two_statements_gives_the_tables_only() -> None:
    sql = "UNLOAD ('SELECT id FROM sales.c; SELECT 1') TO 's3://b/u/'"
    assert _tables(sql, "redshift") == (["sales.c"], ["s3://b/u/"])
    assert _plain(sql, "redshift") == {}


@pytest.mark.parametrize(
    ("sql", "expected_edges", "expected_rows"),
    [
        pytest.param(
            "UNLOAD (SELECT id, a FROM s WHERE dt = '2024-01-01') TO 's3://bucket/out/' "
            "WITH (format = 'PARQUET', compression = 'SNAPPY')",
            {"s3://bucket/out/.id": {"s.id"}, "s3://bucket/out/.a": {"s.a"}},
            {("s3://bucket/out/", "s.dt", "FILTER")},
            id="with-options",
        ),
        pytest.param(
            "UNLOAD (SELECT id, upper(a) AS ua FROM sch.s WHERE a IN (SELECT a FROM sch.ok)) "
            "TO 's3://bucket/out/' WITH (format = 'PARQUET', partitioned_by = ARRAY['id'])",
            {"s3://bucket/out/.id": {"sch.s.id"}, "s3://bucket/out/.ua": {"sch.s.a"}},
            {("s3://bucket/out/", "sch.s.a", "FILTER"), ("s3://bucket/out/", "sch.ok.a", "FILTER")},
            id="subquery-partitioned",
        ),
        pytest.param(
            "UNLOAD (\n  WITH c AS (SELECT id FROM s)\n  SELECT id FROM c\n) TO 's3://b/o/'",
            {"s3://b/o/.id": {"s.id"}},
            set(),
            id="cte-no-options",
        ),
    ],
)
def test_athena_unload_of_a_query_writes_the_path(
    sql: str, expected_edges: dict[str, set[str]], expected_rows: set[tuple[str, str, str]]
) -> None:
    assert _plain(sql, "athena") == expected_edges
    assert _rows(sql, "athena") == expected_rows
    assert _kinds(sql, "athena") == ["unload"]


# ---------------------------------------------------------------------- BigQuery LOAD DATA and EXPORT DATA


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


def test_export_data_with_connection_does_not_read_the_connection() -> None:
    sql = (
        "EXPORT DATA WITH CONNECTION `proj.us.aws_conn` OPTIONS (uri = 's3://b/e/*', format = 'PARQUET') "
        "AS SELECT id FROM ds.t"
    )
    assert _tables(sql, "bigquery") == (["ds.t"], ["s3://b/e/*"])
    assert _plain(sql, "bigquery") == {"s3://b/e/*.id": {"ds.t.id"}}


# ------------------------------------------------------------ MySQL / Hive LOAD DATA, SELECT ... INTO OUTFILE


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


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "SELECT a FROM t UNION SELECT b FROM u INTO OUTFILE '/x.csv' FIELDS TERMINATED BY ','",
            id="trailing",
        ),
        pytest.param("SELECT a INTO OUTFILE '/x.csv' FROM t UNION SELECT b FROM u", id="in-the-first-branch"),
        pytest.param(
            "(SELECT a FROM t) UNION ALL (SELECT b FROM u) INTO OUTFILE '/x.csv'", id="parenthesised"
        ),
    ],
)
def test_into_outfile_after_a_union_writes_the_whole_union(sql: str) -> None:
    assert _tables(sql, "mysql") == (["t", "u"], ["/x.csv"])
    assert _plain(sql, "mysql") == {"/x.csv.a": {"t.a", "u.b"}}


def test_into_outfile_after_a_sorted_union_sorts_by_both_branches() -> None:
    sql = "SELECT a FROM t UNION SELECT b FROM u ORDER BY 1 INTO OUTFILE '/x.csv'"
    assert _rows(sql, "mysql") == {("/x.csv", "t.a", "SORT"), ("/x.csv", "u.b", "SORT")}


def test_documents_into_outfile_with_export_options() -> None:
    sql = (
        "SELECT id INTO OUTFILE '/tmp/o.csv' FIELDS TERMINATED BY ' FROM ' ENCLOSED BY '\"' "
        "ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' FROM t WHERE ok"
    )
    assert _plain(sql, "mysql") == {"/tmp/o.csv.id": {"t.id"}}


# ---------------------------------- T-SQL BULK INSERT / OPENROWSET, Spark directories, Exasol IMPORT / EXPORT


def test_tsql_bulk_insert_reads_the_file() -> None:
    sql = "BULK INSERT dbo.people FROM 'C:\\data\\people.csv' WITH (FIELDTERMINATOR = ',', FIRSTROW = 2)"
    assert _tables(sql, "tsql", default_database="db") == (["C:\\data\\people.csv"], ["db.dbo.people"])


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


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT OVERWRITE DIRECTORY 's3://b/out/' USING parquet SELECT id FROM db.t",
        "INSERT OVERWRITE DIRECTORY USING parquet OPTIONS ('path' 's3://b/out/', compression 'snappy') "
        "SELECT id FROM db.t",
    ],
)
def test_spark_insert_overwrite_directory_using_writes_the_path(sql: str) -> None:
    assert _tables(sql, "spark") == (["db.t"], ["s3://b/out/"])
    assert _plain(sql, "spark") == {"s3://b/out/.id": {"db.t.id"}}


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        (
            "IMPORT INTO t FROM CSV AT 'https://x/' FILE 'a.csv' FILE 'b.csv' COLUMN SEPARATOR = ','",
            ["https://x/a.csv", "https://x/b.csv"],
            ["t"],
        ),
        ("IMPORT INTO s.t (a, b) FROM LOCAL CSV FILE '/tmp/a.csv'", ["/tmp/a.csv"], ["s.t"]),
        ("IMPORT INTO s.t FROM EXA AT my_conn TABLE other.t", [], ["s.t"]),
        ("IMPORT INTO s.t FROM JDBC AT my_conn STATEMENT 'SELECT * FROM x'", [], ["s.t"]),
        ("EXPORT s.t INTO CSV AT 'https://x/out' FILE 't.csv'", ["s.t"], ["https://x/out/t.csv"]),
        (
            "EXPORT (SELECT a FROM s.t WHERE b > 0) INTO LOCAL CSV FILE '/tmp/out.csv'",
            ["s.t"],
            ["/tmp/out.csv"],
        ),
        ("EXPORT s.t INTO ORA AT conn TABLE x", ["s.t"], []),
    ],
)
def test_exasol_import_and_export(sql: str, inputs: list[str], outputs: list[str]) -> None:
    res = analyze(sql, "exasol")
    assert not res.errors and not res.partial
    assert (sorted(t.qualified for t in res.inputs), [t.qualified for t in res.outputs]) == (inputs, outputs)


# ---------------------------------------------------------------------- DuckDB EXPORT / IMPORT DATABASE


def test_duckdb_export_and_import_database_name_the_directory() -> None:
    exported = analyze("EXPORT DATABASE 'backup_dir' (FORMAT PARQUET)", "duckdb")
    assert not exported.errors
    assert [t.qualified for t in exported.outputs] == ["backup_dir"]
    assert exported.warnings  # every table of the database is read; the SQL does not name them
    imported = analyze("IMPORT DATABASE 'backup_dir'", "duckdb")
    assert not imported.errors
    assert [t.qualified for t in imported.inputs] == ["backup_dir"]
