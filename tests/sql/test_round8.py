"""Eighth review: leftovers of earlier rounds and SQL that Airflow operators generate or DAG authors template.
Transaction control (SQLite ``BEGIN DEFERRED|IMMEDIATE|EXCLUSIVE [TRANSACTION]`` / ``END [TRANSACTION]``,
Teradata ``BT`` / ``ET``), ``ORDER BY`` over a set operation (plain and parenthesised: every branch sorts),
zipped ``UNNEST(a, b)`` with more column names than arrays (arrays of rows), Oracle database links with a
dotted link name (``s.t@link.example.com``), BigQuery ``WITH CONNECTION`` (``EXPORT DATA``, ``CREATE
EXTERNAL TABLE``, also ``WITH PARTITION COLUMNS``), Redshift ``#temp`` tables (S3ToRedshiftOperator's UPSERT
script), Redshift ``UNLOAD`` (backslash-escaped quotes, column and row lineage like ``COPY (query) TO``),
MySQL ``INTO OUTFILE`` with ``UNION``, the side a MERGE ``WHEN NOT MATCHED [BY SOURCE] AND cond`` reads,
MySQL / MariaDB executable comments (``/*!50001 ... */``, as mysqldump writes them), BigQuery partition
decorators (``t$20240101``, as a rendered ``{{ ds_nodash }}`` gives them), the cost of a long
``UNION`` chain inside a CTE and linear time of the new regexes; plus passing cases that document behaviour
this round checked (labelled ``documents``): truncated staging tables, ``CREATE TABLE t LIKE s`` in both
spellings, ``MERGE ... INSERT VALUES`` without a column list, external tables, and the operator-generated
shapes (Redshift ``COPY ... IAM_ROLE ... FORMAT AS PARQUET``, Snowflake ``COPY INTO ... FROM @stage
MATCH_BY_COLUMN_NAME``, BigQuery ``MERGE ... INSERT ROW`` and ``EXPORT DATA``, PostgreSQL ``ON CONFLICT ... DO
UPDATE ... WHERE``, ``TRUNCATE; INSERT`` loads, rendered ``{{ ds }}`` filters, comments and hints)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import cpu_seconds
from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables


# ---------------------------------------------------------------------- transaction control
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "BEGIN EXCLUSIVE TRANSACTION; INSERT INTO t SELECT a FROM s; END TRANSACTION",
            "sqlite",
            id="sqlite-begin-exclusive-end-transaction",
        ),
        pytest.param("BEGIN IMMEDIATE; INSERT INTO t SELECT a FROM s; END;", "sqlite", id="sqlite-immediate"),
        pytest.param(
            "BEGIN DEFERRED TRANSACTION; INSERT INTO t SELECT a FROM s; COMMIT TRANSACTION;",
            "sqlite",
            id="sqlite-deferred",
        ),
        pytest.param("BT; INSERT INTO t SELECT a FROM s; ET;", "teradata", id="teradata-bt-et"),
        pytest.param(
            "BEGIN TRANSACTION; INSERT INTO t SELECT a FROM s; END TRANSACTION;",
            "teradata",
            id="teradata-begin-end-transaction",
        ),
    ],
)
def test_transaction_commands_are_statements_without_lineage(sql: str, dialect: str) -> None:
    found = _kinds(sql, dialect)
    assert len(found) == 3, found
    assert found[1] == "insert"
    assert {found[0], found[2]} <= {"other", "transaction"}, found
    result = analyze(sql, dialect)
    assert result.to_dict() == {"inputs": ["s"], "outputs": ["t"], "column_lineage": [["t.a", "s.a"]]}


def test_documents_a_begin_end_block_is_still_a_block() -> None:
    sql = "CREATE PROCEDURE p() BEGIN EXECUTE IMMEDIATE 'INSERT INTO t SELECT a FROM s'; END"
    assert _tables(sql, "mysql") == (["s"], ["t"])


# ---------------------------------------------------------------------- ORDER BY over a set operation
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT a, c FROM s1 UNION SELECT b, d FROM s2 ORDER BY 1, c",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "SORT"), ("o", "s1.c", "SORT"), ("o", "s2.d", "SORT")},
            id="by-position-and-name",
        ),
        pytest.param(
            "INSERT INTO o (SELECT a FROM s1 UNION SELECT b FROM s2) ORDER BY 1",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "SORT")},
            id="parenthesised-union",
        ),
        pytest.param(
            "CREATE TABLE o AS (SELECT a FROM s1 UNION ALL SELECT b FROM s2 UNION ALL SELECT x FROM s3) "
            "ORDER BY a LIMIT 3",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "SORT"), ("o", "s3.x", "SORT")},
            id="parenthesised-chain-with-limit",
        ),
        pytest.param(
            "INSERT INTO o (SELECT a FROM s1 EXCEPT SELECT b FROM s2) ORDER BY a",
            {("o", "s1.a", "SORT"), ("o", "s2.b", "FILTER")},
            id="except-sorts-the-left-side-only",
        ),
    ],
)
def test_order_by_over_a_set_operation_sorts_every_branch(
    sql: str, expected: set[tuple[str, str, str]]
) -> None:
    assert _rows(sql, "postgres") == expected


# ---------------------------------------------------------------------- zipped UNNEST of rows
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT u.x, u.y, u.z FROM t CROSS JOIN UNNEST(t.rows_arr, t.b) AS u(x, y, z)",
            {"o.x": {"t.rows_arr"}, "o.y": {"t.rows_arr", "t.b"}, "o.z": {"t.b"}},
            id="rows-first",
        ),
        pytest.param(
            "INSERT INTO o SELECT u.x, u.y, u.z FROM t CROSS JOIN UNNEST(t.a, t.rows_arr) AS u(x, y, z)",
            {"o.x": {"t.a"}, "o.y": {"t.a", "t.rows_arr"}, "o.z": {"t.rows_arr"}},
            id="rows-last",
        ),
        pytest.param(
            "INSERT INTO o SELECT u.x, u.y, u.z, u.n FROM t "
            "CROSS JOIN UNNEST(t.rows_arr, t.b) WITH ORDINALITY AS u(x, y, z, n)",
            {
                "o.x": {"t.rows_arr"},
                "o.y": {"t.rows_arr", "t.b"},
                "o.z": {"t.b"},
                "o.n": {"t.rows_arr", "t.b"},
            },
            id="with-ordinality",
        ),
        pytest.param(
            "INSERT INTO o SELECT u.k, u.v FROM t CROSS JOIN UNNEST(t.keys, t.vals) AS u(k, v)",
            {"o.k": {"t.keys"}, "o.v": {"t.vals"}},
            id="documents-as-many-names-as-arrays-pair-by-position",
        ),
    ],
)
def test_zipped_unnest_with_more_names_than_arrays_keeps_each_name_to_its_possible_arrays(
    sql: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "trino") == expected


# ---------------------------------------------------------------------- Oracle database links
@pytest.mark.parametrize(
    ("sql", "parts"),
    [
        pytest.param(
            "INSERT INTO x SELECT a FROM sales.orders@remote.example.com",
            [(None, "sales", "orders@remote.example.com"), (None, None, "x")],
            id="schema-and-dotted-link",
        ),
        pytest.param(
            "INSERT INTO x SELECT a FROM orders@remote.example.com",
            [(None, None, "orders@remote.example.com"), (None, None, "x")],
            id="dotted-link",
        ),
        pytest.param(
            "INSERT INTO sales.orders@remote.acme SELECT a FROM s",
            [(None, None, "s"), (None, "sales", "orders@remote.acme")],
            id="write",
        ),
        pytest.param(
            "SELECT a FROM sales.orders@remote",
            [(None, "sales", "orders@remote")],
            id="documents-plain-link",
        ),
    ],
)
def test_a_dotted_database_link_is_part_of_the_table_name(
    sql: str, parts: list[tuple[str | None, str | None, str]]
) -> None:
    result = analyze(sql, "oracle")
    assert not result.errors, result.errors
    assert [(t.database, t.schema, t.name) for t in (*result.inputs, *result.outputs)] == parts


def test_documents_a_dotted_database_link_names_the_columns_read_through_it() -> None:
    assert _tables("SELECT o.a FROM sales.orders@remote.example.com o", "oracle") == (
        ["sales.orders@remote.example.com"],
        [],
    )
    assert _plain("SELECT o.a FROM sales.orders@remote.example.com o", "oracle") == {
        "a": {"sales.orders@remote.example.com.a"}
    }


# ---------------------------------------------------------------------- BigQuery WITH CONNECTION
def test_export_data_with_connection_does_not_read_the_connection() -> None:
    sql = (
        "EXPORT DATA WITH CONNECTION `proj.us.aws_conn` OPTIONS (uri = 's3://b/e/*', format = 'PARQUET') "
        "AS SELECT id FROM ds.t"
    )
    assert _tables(sql, "bigquery") == (["ds.t"], ["s3://b/e/*"])
    assert _plain(sql, "bigquery") == {"s3://b/e/*.id": {"ds.t.id"}}


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t WITH CONNECTION `proj.us.conn` "
            "OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            id="with-connection",
        ),
        pytest.param(
            "CREATE OR REPLACE EXTERNAL TABLE ds.t (a INT64) WITH PARTITION COLUMNS "
            "WITH CONNECTION proj.us.conn OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'], "
            "hive_partition_uri_prefix = 'gs://b/p')",
            id="with-partition-columns-and-connection",
        ),
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t WITH PARTITION COLUMNS (dt DATE) "
            "OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            id="with-partition-column-list",
        ),
    ],
)
def test_bigquery_external_table_clauses_parse_like_the_plain_form(sql: str) -> None:
    result = analyze(sql, "bigquery")
    assert not result.errors and not result.partial, result.errors
    assert [s.kind for s in result.statements] == ["create_table"]
    assert _tables(sql, "bigquery") == ([], ["ds.t"])


# ---------------------------------------------------------------------- Redshift #temp tables
def test_redshift_hash_tables_are_temporary_in_the_s3_to_redshift_upsert_script() -> None:
    sql = (
        "CREATE TABLE #orders (LIKE public.orders);\n"
        "COPY #orders FROM 's3://bucket/key' credentials 'aws_access_key_id=A;aws_secret_access_key=B' "
        "FORMAT AS PARQUET;\n"
        "BEGIN;\n"
        "DELETE FROM public.orders USING #orders WHERE public.orders.id = #orders.id;\n"
        "INSERT INTO public.orders SELECT * FROM #orders;\n"
        "COMMIT"
    )
    assert _tables(sql, "redshift") == (["public.orders", "s3://bucket/key"], ["public.orders"])
    assert _tables(sql, "redshift", keep_temp_tables=True) == (
        ["#orders", "public.orders", "s3://bucket/key"],
        ["#orders", "public.orders"],
    )


def test_redshift_hash_table_passes_columns_through() -> None:
    sql = "CREATE TABLE #s AS SELECT id, upper(v) AS v FROM raw.src; INSERT INTO mart.t SELECT id, v FROM #s"
    assert _edges(sql, "redshift") == {
        "mart.t.id": ({"raw.src.id"}, "IDENTITY"),
        "mart.t.v": ({"raw.src.v"}, "TRANSFORMATION"),
    }


def test_documents_hash_names_stay_tables_where_they_are_no_temp_tables() -> None:
    assert _tables('INSERT INTO "#t" SELECT a FROM s', "postgres") == (["s"], ["#t"])


# ---------------------------------------------------------------------- Redshift UNLOAD
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


# ---------------------------------------------------------------------- MySQL INTO OUTFILE with UNION
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


# ---------------------------------------------------------------------- MERGE WHEN NOT MATCHED conditions
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "MERGE ds.t T USING ds.s S ON T.id = S.id WHEN NOT MATCHED AND dt = '2024-01-01' THEN INSERT ROW",
            "bigquery",
            ("ds.t", "ds.s.dt", "FILTER"),
            id="bigquery-not-matched-reads-the-source",
        ),
        pytest.param(
            "MERGE ds.t T USING ds.s S ON T.id = S.id "
            "WHEN NOT MATCHED BY SOURCE AND dt < '2024-01-01' THEN DELETE",
            "bigquery",
            ("ds.t", "ds.t.dt", "FILTER"),
            id="bigquery-not-matched-by-source-reads-the-target",
        ),
        pytest.param(
            "MERGE INTO t USING s ON t.id = s.id "
            "WHEN NOT MATCHED AND flag = 1 THEN INSERT (id) VALUES (s.id)",
            "postgres",
            ("t", "s.flag", "FILTER"),
            id="postgres-not-matched",
        ),
        pytest.param(
            "MERGE INTO t USING s ON (t.id = s.id) "
            "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id) WHERE flag = 1",
            "oracle",
            ("t", "s.flag", "FILTER"),
            id="oracle-insert-where",
        ),
    ],
)
def test_an_unqualified_column_of_a_not_matched_branch_is_the_side_it_sees(
    sql: str, dialect: str, expected: tuple[str, str, str]
) -> None:
    assert expected in _rows(sql, dialect)


def test_documents_a_matched_condition_over_two_unknown_tables_stays_unresolved() -> None:
    sql = "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND flag = 1 THEN UPDATE SET v = s.v"
    assert _rows(sql, "postgres") == {("t", "s.id", "JOIN"), ("t", "t.id", "JOIN")}


# ---------------------------------------------------------------------- MySQL executable comments
@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param(
            "/*!50001 CREATE ALGORITHM=UNDEFINED */ "
            "/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ "
            "/*!50001 VIEW `v` AS select `s`.`a` AS `a` from `s` */;",
            "mysql",
            ["s"],
            ["v"],
            id="mysqldump-view",
        ),
        pytest.param(
            "/*!40101 SET NAMES utf8mb4 */;\nINSERT INTO t SELECT a FROM s",
            "mysql",
            ["s"],
            ["t"],
            id="documents-set-names",
        ),
        pytest.param("/*M!100100 INSERT INTO t SELECT a FROM s */", "mariadb", ["s"], ["t"], id="mariadb"),
        pytest.param(
            "INSERT INTO t SELECT a FROM s WHERE x <> '/*!50001 not a comment */'",
            "mysql",
            ["s"],
            ["t"],
            id="documents-inside-a-string",
        ),
    ],
)
def test_mysql_executable_comments_are_run(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_documents_executable_comments_are_comments_elsewhere() -> None:
    assert _tables("/*!50001 INSERT INTO t SELECT a FROM s */ SELECT 1", "postgres") == ([], [])


# ---------------------------------------------------------------------- BigQuery partition decorators
@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        pytest.param(
            "INSERT INTO `p.ds.daily$20240101` SELECT a FROM `p.ds.events`",
            ["p.ds.events"],
            ["p.ds.daily"],
            id="rendered-ds-nodash-target",
        ),
        pytest.param(
            "INSERT INTO p.ds.daily SELECT a FROM `p.ds.events$2024010112`",
            ["p.ds.events"],
            ["p.ds.daily"],
            id="hour",
        ),
        pytest.param(
            "SELECT a FROM `p.ds.events$__UNPARTITIONED__`", ["p.ds.events"], [], id="unpartitioned"
        ),
    ],
)
def test_a_bigquery_partition_decorator_names_the_table(
    sql: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, "bigquery") == (inputs, outputs)


def test_documents_a_dollar_in_a_name_stays_elsewhere() -> None:
    assert _tables("SELECT a FROM t$1", "snowflake") == (["t$1"], [])


# ---------------------------------------------------------------------- documents: leftovers decided
def test_documents_a_truncated_staging_table_stays_an_output() -> None:
    """TRUNCATE empties the table but it outlives the script (unlike DROP): written, so an output."""
    truncated = "CREATE TABLE stg AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM stg; TRUNCATE TABLE stg"
    assert _tables(truncated, "postgres") == (["src", "stg"], ["stg", "tgt"])
    dropped = "CREATE TABLE stg AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM stg; DROP TABLE stg"
    assert _tables(dropped, "postgres") == (["src"], ["tgt"])


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param("CREATE TABLE t LIKE s", "snowflake", id="snowflake"),
        pytest.param("CREATE TABLE t LIKE s", "mysql", id="mysql"),
        pytest.param("CREATE TABLE t LIKE s", "databricks", id="databricks"),
        pytest.param("CREATE TABLE t (LIKE s)", "postgres", id="postgres"),
        pytest.param("CREATE TABLE t (LIKE s INCLUDING ALL)", "postgres", id="postgres-including"),
    ],
)
def test_documents_create_table_like_reads_its_model_in_every_spelling(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["s"], ["t"])


def test_documents_merge_insert_values_without_a_column_list_needs_a_schema() -> None:
    sql = "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)"
    assert _plain(sql, "postgres") == {}
    assert _plain(sql, "postgres", schema={"t": ["id", "val"]}) == {"t.id": {"s.id"}, "t.val": {"s.v"}}


@pytest.mark.parametrize(
    ("sql", "dialect", "output"),
    [
        pytest.param("CREATE EXTERNAL TABLE t (a INT) LOCATION 's3://b/p/'", "hive", "t", id="hive"),
        pytest.param(
            "CREATE EXTERNAL TABLE spectrum.t (a INT) STORED AS PARQUET LOCATION 's3://b/p/'",
            "redshift",
            "spectrum.t",
            id="redshift-spectrum",
        ),
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            "bigquery",
            "ds.t",
            id="bigquery",
        ),
    ],
)
def test_documents_external_tables_write_the_table_and_read_nothing(
    sql: str, dialect: str, output: str
) -> None:
    assert _tables(sql, dialect) == ([], [output])


# ---------------------------------------------------------------------- documents: operator-generated SQL
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


def test_documents_bigquery_merge_insert_row_and_export_data() -> None:
    merge = (
        "MERGE ds.t T USING ds.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET v = S.v "
        "WHEN NOT MATCHED THEN INSERT ROW"
    )
    assert _plain(merge, "bigquery", schema={"ds.s": ["id", "v"], "ds.t": ["id", "v"]}) == {
        "ds.t.id": {"ds.s.id"},
        "ds.t.v": {"ds.s.v"},
    }
    export = (
        "EXPORT DATA OPTIONS(uri='gs://b/e/*.csv', format='CSV', overwrite=true, header=true) AS "
        "SELECT id, name FROM ds.t WHERE dt = '2024-01-01' ORDER BY id"
    )
    assert _plain(export, "bigquery") == {
        "gs://b/e/*.csv.id": {"ds.t.id"},
        "gs://b/e/*.csv.name": {"ds.t.name"},
    }
    assert _rows(export, "bigquery") == {
        ("gs://b/e/*.csv", "ds.t.dt", "FILTER"),
        ("gs://b/e/*.csv", "ds.t.id", "SORT"),
    }


def test_documents_on_conflict_do_update_where_reads_the_excluded_row() -> None:
    sql = (
        "INSERT INTO t (id, v, ts) SELECT id, v, ts FROM s ON CONFLICT (id) DO UPDATE "
        "SET v = EXCLUDED.v, ts = EXCLUDED.ts WHERE t.ts < EXCLUDED.ts"
    )
    assert _plain(sql, "postgres") == {"t.id": {"s.id"}, "t.v": {"s.v"}, "t.ts": {"s.ts"}}
    assert _rows(sql, "postgres") == {
        ("t", "s.id", "JOIN"),
        ("t", "t.id", "JOIN"),
        ("t", "s.ts", "FILTER"),
        ("t", "t.ts", "FILTER"),
    }


def test_documents_into_outfile_with_export_options() -> None:
    sql = (
        "SELECT id INTO OUTFILE '/tmp/o.csv' FIELDS TERMINATED BY ' FROM ' ENCLOSED BY '\"' "
        "ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' FROM t WHERE ok"
    )
    assert _plain(sql, "mysql") == {"/tmp/o.csv.id": {"t.id"}}


# ---------------------------------------------------------------------- linear time
def test_a_long_union_chain_inside_a_cte_costs_linear_time() -> None:
    def sql(n: int) -> str:
        branches = " UNION ALL ".join(f"SELECT a{i % 7} AS a, b FROM t{i % 5}" for i in range(n))
        return f"WITH c AS ({branches}) INSERT INTO o SELECT a, b FROM c"

    # before: 1,000 -> 4,000 branches cost 8.9x (every table climbed through all its ancestors); now 4x
    small, large = cpu_seconds(sql(1000), "postgres"), cpu_seconds(sql(4000), "postgres")
    assert large < max(small, 0.01) * 6, (small, large)


@pytest.mark.parametrize(
    ("build", "dialect"),
    [
        pytest.param(lambda n: "UNLOAD ('" + " " * n, "redshift", id="unload-unterminated-quote"),
        pytest.param(
            lambda n: "UNLOAD ('" + "\\'" * (n // 2) + "')" + " " * n, "redshift", id="unload-escapes"
        ),
        pytest.param(
            lambda n: "CREATE EXTERNAL TABLE t " + "WITH " * (n // 5) + " CONNECTION",
            "bigquery",
            id="with-runs",
        ),
        pytest.param(
            lambda n: "CREATE TABLE t WITH" + " " * n + "CONNECTION (", "bigquery", id="with-spaces"
        ),
        pytest.param(lambda n: "/*!50001 " + " " * n, "mysql", id="unterminated-executable-comment"),
        pytest.param(lambda n: "/*!" * (n // 3) + "'", "mysql", id="executable-comment-heads"),
        pytest.param(lambda n: "BEGIN" + " " * n + "IMMEDIATE x", "sqlite", id="begin-spaces"),
        pytest.param(lambda n: "END" + " " * n + "TRANSACTION x", "sqlite", id="end-spaces"),
    ],
)
def test_new_patterns_take_linear_time(build: Callable[[int], str], dialect: str) -> None:
    small, large = cpu_seconds(build(20_000), dialect), cpu_seconds(build(80_000), dialect)
    assert large < max(small, 0.01) * 10, (small, large)
