"""Fifth review: realistic statements outside the peer corpus (unqualified columns of UPDATE ... FROM and
MERGE without a schema, MERGE ... WHEN NOT MATCHED values, Spark ``CACHE TABLE ... AS``, T-SQL ``INSERT ...
EXEC`` and table hints, session ``#temp`` tables, PostgreSQL ``dblink``, ClickHouse ``cluster()`` /
``remote()`` / ``ARRAY JOIN``, MySQL ``RENAME TABLE`` swaps, Oracle ``MERGE ... DELETE WHERE``)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import cpu_seconds
from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables


# ---------------------------------------------------------------------- columns the SQL itself shows
@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "UPDATE t SET c = c + v FROM s WHERE t.id = s.id",
            "postgres",
            {"t.c": {"t.c", "s.v"}},
            id="set-column-is-the-targets-and-the-other-from-the-joined-source",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM s WHERE t.id = s.id",
            "postgres",
            {"t.c": {"s.v"}},
            id="postgres-update-from",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM t JOIN s ON t.id = s.id",
            "tsql",
            {"t.c": {"s.v"}},
            id="tsql-update-from-target-join",
        ),
        pytest.param(
            "UPDATE t JOIN s ON t.id = s.id SET c = v",
            "mysql",
            {"t.c": {"s.v"}},
            id="mysql-update-join",
        ),
        pytest.param(
            "UPDATE t SET c = s.v + c FROM s WHERE t.id = s.id",
            "postgres",
            {"t.c": {"t.c", "s.v"}},
            id="target-column-read-unqualified",
        ),
        pytest.param(
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = c + v",
            "snowflake",
            {"t.c": {"t.c", "s.v"}},
            id="merge-update-set",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM s JOIN u ON s.k = u.k WHERE t.id = s.id",
            "postgres",
            {},
            id="two-joined-sources-stay-unresolved",
        ),
        pytest.param(
            "UPDATE t SET c = v FROM s WHERE t.id = s.id AND t.v IS NOT NULL",
            "postgres",
            {"t.c": {"t.v"}},
            id="a-column-qualified-by-the-target-elsewhere-is-the-targets",
        ),
    ],
)
def test_unqualified_set_values_without_schema(sql: str, dialect: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("UPDATE t SET c = v FROM s WHERE t.id = s.id", "postgres"),
        ("UPDATE x SET c = v FROM t x JOIN s y ON x.id = y.id", "tsql"),
        ("UPDATE t JOIN s ON t.id = s.id SET c = v", "mysql"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = v", "snowflake"),
    ],
)
def test_unqualified_set_values_with_schema(sql: str, dialect: str) -> None:
    schema = {"t": ["id", "c"], "s": ["id", "v"]}
    assert _plain(sql, dialect, schema=schema) == {"t.c": {"s.v"}}


def test_schema_naming_the_column_in_the_target_wins_over_the_guess() -> None:
    sql = "UPDATE t SET c = v FROM s WHERE t.id = s.id"
    assert _plain(sql, "postgres", schema={"t": ["id", "c", "v"], "s": ["id", "w"]}) == {"t.c": {"t.v"}}


def test_a_column_qualified_elsewhere_resolves_the_unqualified_one_in_a_select() -> None:
    sql = "INSERT INTO o SELECT a.x, y FROM a JOIN b ON a.id = b.id WHERE b.y > 0"
    assert _plain(sql, "postgres") == {"o.x": {"a.x"}, "o.y": {"b.y"}}


def test_a_known_derived_column_wins_over_a_qualified_reference() -> None:
    sql = "INSERT INTO o SELECT col1 FROM (SELECT col1 FROM tab1) c JOIN tab2 ON c.col1 = tab2.col1"
    assert _plain(sql, "postgres") == {"o.col1": {"tab1.col1"}}


def test_an_alias_reused_in_a_subquery_names_its_own_table() -> None:
    sql = (
        "INSERT INTO o SELECT id, v FROM t JOIN s ON t.id = s.id "
        "WHERE EXISTS (SELECT 1 FROM u t WHERE t.v > 0)"
    )
    assert _plain(sql, "postgres") == {}  # t.v is u's: id and v stay unresolved between t and s


# ---------------------------------------------------------------------- MERGE
@pytest.mark.parametrize("schema", [None, {"t": ["id", "c"], "s": ["id", "v"]}])
def test_merge_insert_values_read_the_source_only(schema: dict[str, list[str]] | None) -> None:
    sql = (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET c = v "
        "WHEN NOT MATCHED THEN INSERT (id, c) VALUES (id, v)"
    )
    assert _plain(sql, "snowflake", schema=schema) == {"t.c": {"s.v"}, "t.id": {"s.id"}}


def test_oracle_merge_delete_where_and_insert_where() -> None:
    sql = (
        "MERGE INTO dw.t t USING stg.s s ON (t.id = s.id) "
        "WHEN MATCHED THEN UPDATE SET t.v = s.v WHERE s.changed = 'Y' DELETE WHERE s.op = 'D' "
        "WHEN NOT MATCHED THEN INSERT (t.id, t.v) VALUES (s.id, s.v) WHERE s.v > 0"
    )
    assert _plain(sql, "oracle") == {"dw.t.v": {"stg.s.v"}, "dw.t.id": {"stg.s.id"}}
    assert _rows(sql, "oracle") == {
        ("dw.t", "dw.t.id", "JOIN"),
        ("dw.t", "stg.s.id", "JOIN"),
        ("dw.t", "stg.s.changed", "FILTER"),
        ("dw.t", "stg.s.op", "FILTER"),
        ("dw.t", "stg.s.v", "FILTER"),
    }


def test_oracle_merge_delete_where_without_update_where() -> None:
    sql = (
        "MERGE INTO dw.t t USING stg.s s ON (t.id = s.id) "
        "WHEN MATCHED THEN UPDATE SET t.v = s.v DELETE WHERE t.v IS NULL"
    )
    assert _tables(sql, "oracle") == (["stg.s"], ["dw.t"])
    assert ("dw.t", "dw.t.v", "FILTER") in _rows(sql, "oracle")


# ---------------------------------------------------------------------- Spark CACHE TABLE
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


# ---------------------------------------------------------------------- T-SQL
@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO dbo.t WITH (TABLOCK) (a) SELECT a FROM dbo.s WITH (NOLOCK)",
        "INSERT INTO dbo.t WITH (TABLOCK, HOLDLOCK) (a) SELECT a FROM dbo.s",
        "INSERT dbo.t WITH (TABLOCK) (a) SELECT a FROM dbo.s",
    ],
)
def test_tsql_insert_table_hints_keep_the_target(sql: str) -> None:
    assert _tables(sql, "tsql") == (["dbo.s"], ["dbo.t"])
    assert _plain(sql, "tsql") == {"dbo.t.a": {"dbo.s.a"}}


def test_an_unparseable_insert_is_not_taken_for_its_select() -> None:
    res = analyze("INSERT INTO dbo.t SOMETHING ODD (a) SELECT a FROM dbo.s", "tsql")
    assert [t.qualified for t in res.outputs] == ["dbo.t"]
    assert res.partial


@pytest.mark.parametrize(
    ("sql", "outputs"),
    [
        ("INSERT INTO t EXEC proc", ["t"]),
        ("INSERT INTO dbo.t (a, b) EXEC dbo.load_proc @x = 1", ["dbo.t"]),
        ("INSERT INTO [dbo].[t] ([a]) EXECUTE [dbo].[p]", ["dbo.t"]),
    ],
)
def test_insert_exec_procedure_writes_the_target_only(sql: str, outputs: list[str]) -> None:
    res = analyze(sql, "tsql")
    assert not res.errors and not res.partial
    assert [t.qualified for t in res.outputs] == outputs
    assert not res.inputs and not res.column_lineage
    assert any("INSERT ... EXEC" in w for w in res.warnings)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO dbo.t (a, b) EXEC ('SELECT x, y FROM dbo.s WHERE z = 1')",
        "INSERT INTO dbo.t (a, b) EXEC sp_executesql "
        "N'SELECT x, y FROM dbo.s WHERE z = @z', N'@z int', @z = 1",
    ],
)
def test_insert_exec_dynamic_query_is_the_inserted_query(sql: str) -> None:
    assert _plain(sql, "tsql") == {"dbo.t.a": {"dbo.s.x"}, "dbo.t.b": {"dbo.s.y"}}
    assert _rows(sql, "tsql") == {("dbo.t", "dbo.s.z", "FILTER")}


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO #tmp SELECT a FROM s; INSERT INTO dbo.log SELECT a FROM #tmp",
        "INSERT INTO #tmp EXEC ('SELECT a FROM s'); INSERT INTO dbo.log SELECT a FROM #tmp",
    ],
)
def test_tsql_temp_tables_are_collapsed_even_when_not_created_in_the_script(sql: str) -> None:
    assert _tables(sql, "tsql") == (["s"], ["dbo.log"])
    assert _plain(sql, "tsql") == {"dbo.log.a": {"s.a"}}


def test_insert_exec_into_a_temp_table_is_collapsed() -> None:
    sql = "INSERT INTO #who EXEC sp_who; INSERT INTO dbo.log SELECT spid FROM #who"
    assert _tables(sql, "tsql") == ([], ["dbo.log"])


# ---------------------------------------------------------------------- remote reads
@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "INSERT INTO t SELECT * FROM dblink('dbname=other', 'SELECT id, name FROM users') "
            "AS u(id int, name text)",
            "postgres",
        ),
        ("INSERT INTO t SELECT * FROM remote('host:9000', db.src, 'user', 'pw')", "clickhouse"),
        ("INSERT INTO t SELECT a, b FROM remoteSecure('host:9440', 'db', 'src')", "clickhouse"),
    ],
)
def test_tables_of_another_server_are_not_invented(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == ([], ["t"])


@pytest.mark.parametrize(
    "source",
    [
        "cluster('c1', db.src)",
        "clusterAllReplicas('c1', db, src)",
        "cluster('c1', 'db', 'src')",
        "cluster('{cluster}', 'db.src')",
    ],
)
def test_clickhouse_cluster_reads_the_table(source: str) -> None:
    sql = f"INSERT INTO t SELECT a FROM {source}"
    assert _tables(sql, "clickhouse") == (["db.src"], ["t"])
    assert _plain(sql, "clickhouse") == {"t.a": {"db.src.a"}}


# ---------------------------------------------------------------------- ClickHouse ARRAY JOIN
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO a.t SELECT id, tag FROM b.s ARRAY JOIN tags AS tag",
            {"a.t.id": {"b.s.id"}, "a.t.tag": {"b.s.tags"}},
        ),
        (
            "INSERT INTO a.t SELECT s.id, tag, n FROM b.s AS s LEFT ARRAY JOIN tags AS tag, nums AS n",
            {"a.t.id": {"b.s.id"}, "a.t.tag": {"b.s.tags"}, "a.t.n": {"b.s.nums"}},
        ),
        (
            "INSERT INTO a.t SELECT id, tags FROM b.s ARRAY JOIN tags",
            {"a.t.id": {"b.s.id"}, "a.t.tags": {"b.s.tags"}},
        ),
    ],
)
def test_clickhouse_array_join_alias_is_the_element(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "clickhouse") == expected


def test_clickhouse_array_join_alias_in_where_filters_on_the_array() -> None:
    sql = "INSERT INTO a.t SELECT id, tag FROM b.s ARRAY JOIN tags AS tag WHERE tag != ''"
    assert _rows(sql, "clickhouse") == {("a.t", "b.s.tags", "FILTER")}


# ---------------------------------------------------------------------- RENAME TABLE
def test_rename_table_swap_passes_the_built_table_to_its_new_name() -> None:
    sql = (
        "CREATE TABLE a.t_new AS SELECT id, v FROM raw.s; "
        "RENAME TABLE a.t TO a.t_old, a.t_new TO a.t; DROP TABLE a.t_old"
    )
    assert _edges(sql, "mysql") == {
        "a.t.id": ({"raw.s.id"}, "IDENTITY"),
        "a.t.v": ({"raw.s.v"}, "IDENTITY"),
    }
    assert _tables(sql, "mysql") == (["raw.s"], ["a.t", "a.t_old"])


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("RENAME TABLE a.t TO a.t_old, a.t_new TO a.t", "mysql"),
        ("RENAME TABLE `a`.`t` TO `a`.`t2`", "mysql"),
        ("RENAME TABLE db.x TO db.y ON CLUSTER main", "clickhouse"),
    ],
)
def test_rename_table_of_a_table_the_script_did_not_write_is_understood_and_moves_nothing(
    sql: str, dialect: str
) -> None:
    res = analyze(sql, dialect)
    assert not res.errors and not res.partial
    assert _tables(sql, dialect) == ([], [])


# ---------------------------------------------------------------------- linear time


@pytest.mark.parametrize(
    ("build", "dialect"),
    [
        pytest.param(
            lambda n: (
                "INSERT INTO o SELECT a.x, y FROM a JOIN b ON a.id = b.id WHERE "
                + " AND ".join(f"a.c{i} = b.d{i}" for i in range(n))
            ),
            "postgres",
            id="qualified-columns-pass",
        ),
        pytest.param(
            lambda n: (
                "UPDATE t SET " + ", ".join(f"c{i} = v{i}" for i in range(n)) + " FROM s WHERE t.id = s.id"
            ),
            "postgres",
            id="update-set-list",
        ),
        pytest.param(
            lambda n: "RENAME TABLE " + ", ".join(f"a.t{i} TO a.u{i}" for i in range(n)),
            "mysql",
            id="rename-pairs",
        ),
        pytest.param(
            lambda n: (
                "MERGE INTO t USING s ON (t.id = s.id) "
                + " ".join(
                    f"WHEN MATCHED THEN UPDATE SET t.v = s.v WHERE s.a{i} = 1 DELETE WHERE s.b{i} = 2"
                    for i in range(n)
                )
            ),
            "oracle",
            id="merge-delete-where",
        ),
        pytest.param(
            lambda n: "; ".join(f"INSERT INTO x SELECT y FROM z WHERE n = $q{i}$a;b$q{i}$" for i in range(n)),
            "postgres",
            id="tagged-dollar-quotes",
        ),
        pytest.param(
            lambda n: (
                "IMPORT INTO t FROM CSV AT 'https://x/' " + " ".join(f"FILE 'f{i}.csv'" for i in range(n))
            ),
            "exasol",
            id="exasol-files",
        ),
        pytest.param(
            lambda n: (
                "IF EXISTS (SELECT 1 FROM c WHERE "
                + " AND ".join(f"(k{i} = 1)" for i in range(n))
                + ") THEN INSERT INTO x SELECT y FROM z; END IF"
            ),
            "bigquery",
            id="procedural-condition",
        ),
    ],
)
def test_new_passes_are_linear(build: object, dialect: str) -> None:
    make = build  # a callable n -> SQL
    assert callable(make)
    cpu_seconds(make(50), dialect, runs=1)  # warm-up (imports)
    small = cpu_seconds(make(250), dialect, runs=2)
    large = cpu_seconds(make(1000), dialect, runs=2)
    assert large < max(small, 0.005) * 10, (small, large)  # 4x the size: far from 16x


# ---------------------------------------------------------------------- scripts: quoting and variables
@pytest.mark.parametrize(
    "sql",
    [
        "CREATE FUNCTION f() RETURNS void AS $fn$ INSERT INTO b SELECT a FROM c; $fn$ LANGUAGE sql; "
        "INSERT INTO x SELECT y FROM z",
        "INSERT INTO x SELECT y FROM z WHERE note <> $q$a;b$q$",
    ],
)
def test_postgres_tagged_dollar_quotes_hold_their_semicolons(sql: str) -> None:
    res = analyze(sql, "postgres")
    assert not res.errors and not res.partial
    assert _plain(sql, "postgres") == {"x.y": {"z.y"}}


def test_plpgsql_function_body_in_tagged_dollar_quotes_is_analysed() -> None:
    sql = (
        "CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ "
        "BEGIN INSERT INTO b SELECT a FROM c; END; $fn$"
    )
    assert _plain(sql, "postgres") == {"b.a": {"c.a"}}


def test_dollar_signs_inside_names_are_no_quotes() -> None:
    sql = "SELECT v$a$b FROM x; INSERT INTO y SELECT a FROM z"
    assert _tables(sql, "oracle") == (["x", "z"], ["y"])


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs"),
    [
        (
            "SET v = (SELECT max(ts) FROM a); INSERT INTO b SELECT * FROM c WHERE ts > $v",
            "snowflake",
            ["a", "c"],
        ),
        (
            "SET @x = (SELECT max(ts) FROM a); INSERT INTO b SELECT * FROM c WHERE ts > @x",
            "mysql",
            ["a", "c"],
        ),
        ("SET @x = (SELECT max(ts) FROM a); INSERT INTO b SELECT * FROM c WHERE ts > @x", "tsql", ["a", "c"]),
        (
            "DECLARE x TIMESTAMP; SET x = (SELECT max(ts) FROM ds.a); "
            "INSERT INTO ds.b SELECT * FROM ds.c WHERE ts > x",
            "bigquery",
            ["ds.a", "ds.c"],
        ),
        ("SET spark.sql.shuffle.partitions = 10; INSERT INTO b SELECT * FROM c", "spark", ["c"]),
    ],
)
def test_set_from_a_query_reads_its_tables(sql: str, dialect: str, inputs: list[str]) -> None:
    assert _tables(sql, dialect)[0] == inputs


def test_tsql_select_assigning_variables_returns_no_columns() -> None:
    sql = (
        "DECLARE @x int; SELECT @x = max(ts), @y = min(ts) FROM a; "
        "INSERT INTO b SELECT id FROM c WHERE ts > @x"
    )
    assert _tables(sql, "tsql") == (["a", "c"], ["b"])
    assert _plain(sql, "tsql") == {"b.id": {"c.id"}}


# ---------------------------------------------------------------------- T-SQL renames and maintenance
@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        ("EXEC sp_rename 'dbo.t_new', 't'", ["dbo.t_new"], ["dbo.t"]),
        ("EXEC sys.sp_rename N'dbo.t_new', N't', N'OBJECT'", ["dbo.t_new"], ["dbo.t"]),
        ("EXEC sp_rename @objname = N'dbo.t.col_a', @newname = N'col_b', @objtype = N'COLUMN'", [], []),
        (
            "CREATE TABLE dbo.t_new (id int); INSERT INTO dbo.t_new SELECT id FROM dbo.s; "
            "EXEC sp_rename 'dbo.t_new', 't';",
            ["dbo.s"],
            ["dbo.t"],
        ),
    ],
)
def test_tsql_sp_rename_is_alter_table_rename(sql: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, "tsql") == (inputs, outputs)


def test_sp_rename_swap_carries_the_columns() -> None:
    sql = (
        "CREATE TABLE dbo.t_new (id int); INSERT INTO dbo.t_new SELECT id FROM dbo.s; "
        "EXEC sp_rename 'dbo.t_new', 't';"
    )
    assert _plain(sql, "tsql") == {"dbo.t.id": {"dbo.s.id"}}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("UPDATE STATISTICS dbo.o WITH FULLSCAN", "tsql"),
        ("ALTER INDEX ALL ON dbo.o REBUILD", "tsql"),
        ("DBCC CHECKDB", "tsql"),
        ("WAITFOR DELAY '00:00:05'", "tsql"),
        ("REINDEX TABLE t", "postgres"),
        ("CLUSTER t USING idx", "postgres"),
        ("CHECKPOINT", "postgres"),
        ("ALTER WAREHOUSE wh RESUME", "snowflake"),
        ("SYSTEM FLUSH LOGS", "clickhouse"),
    ],
)
def test_maintenance_statements_move_no_data_and_are_no_errors(sql: str, dialect: str) -> None:
    res = analyze(sql, dialect)
    assert not res.errors and not res.partial
    assert not res.inputs and not res.outputs


# ---------------------------------------------------------------------- MySQL CREATE TABLE (...) SELECT
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE t (a INT PRIMARY KEY) SELECT x AS a, y AS b FROM s", {"t.a": {"s.x"}, "t.b": {"s.y"}}),
        ("CREATE TABLE t (b TEXT, a INT) SELECT x AS a, y AS b FROM s", {"t.a": {"s.x"}, "t.b": {"s.y"}}),
        ("CREATE TABLE t (a INT, b TEXT) AS SELECT x, y FROM s", {"t.x": {"s.x"}, "t.y": {"s.y"}}),
    ],
)
def test_mysql_create_table_select_matches_columns_by_name(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "mysql") == expected


def test_mysql_create_table_select_columns_are_known_to_later_statements() -> None:
    sql = "CREATE TABLE t (b TEXT, a INT) SELECT x AS a FROM s; INSERT INTO u SELECT * FROM t"
    assert _plain(sql, "mysql") == {"t.a": {"s.x"}, "u.a": {"t.a"}, "u.b": {"t.b"}}


def test_other_dialects_map_a_ctas_column_list_by_position() -> None:
    assert _plain("CREATE TABLE t (a INT, b TEXT) AS SELECT x, y FROM s", "postgres") == {
        "t.a": {"s.x"},
        "t.b": {"s.y"},
    }


# ---------------------------------------------------------------------- Spark data sources and directories
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


# ---------------------------------------------------------------------- procedural conditions and parameters
@pytest.mark.parametrize(
    ("sql", "dialect", "inputs"),
    [
        (
            "IF EXISTS (SELECT 1 FROM dbo.control WHERE ready = 1) INSERT INTO dbo.t SELECT * FROM dbo.s",
            "tsql",
            ["dbo.control", "dbo.s"],
        ),
        (
            "IF (SELECT COUNT(*) FROM dbo.control) > 0 BEGIN INSERT INTO dbo.t SELECT * FROM dbo.s END",
            "tsql",
            ["dbo.control", "dbo.s"],
        ),
        ("WHILE EXISTS (SELECT 1 FROM dbo.q) BEGIN DELETE TOP (100) FROM dbo.q; END", "tsql", ["dbo.q"]),
        (
            "IF (SELECT COUNT(*) FROM ds.control) > 0 THEN INSERT INTO ds.t SELECT * FROM ds.s; END IF;",
            "bigquery",
            ["ds.control", "ds.s"],
        ),
        (
            "BEGIN IF EXISTS (SELECT 1 FROM sch.control) THEN "
            "INSERT INTO sch.t SELECT * FROM sch.s; END IF; END",
            "snowflake",
            ["sch.control", "sch.s"],
        ),
    ],
)
def test_procedural_conditions_read_their_tables(sql: str, dialect: str, inputs: list[str]) -> None:
    assert _tables(sql, dialect)[0] == inputs


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "CREATE PROCEDURE p(IN d DATE, OUT n INT) BEGIN INSERT INTO t SELECT id FROM s WHERE dt = d; END",
            "mysql",
        ),
        (
            "CREATE OR REPLACE PROCEDURE p(d IN DATE) AS BEGIN "
            "INSERT INTO t SELECT id FROM s WHERE dt = d; END;",
            "oracle",
        ),
        (
            "CREATE OR REPLACE PROCEDURE ds.p(d DATE) BEGIN INSERT INTO t SELECT id FROM s WHERE dt = d; END",
            "bigquery",
        ),
    ],
)
def test_routine_parameters_are_not_columns(sql: str, dialect: str) -> None:
    assert _rows(sql, dialect) == {("t", "s.dt", "FILTER")}


def test_routine_parameters_do_not_outlive_the_routine() -> None:
    sql = (
        "CREATE PROCEDURE p(d DATE) BEGIN INSERT INTO t SELECT id FROM s WHERE dt = d; END; "
        "INSERT INTO u SELECT d FROM w"
    )
    assert _plain(sql, "mysql") == {"t.id": {"s.id"}, "u.d": {"w.d"}}


def test_select_into_variables_returns_no_columns() -> None:
    sql = (
        "DECLARE v NUMBER; BEGIN SELECT COUNT(*) INTO v FROM src; "
        "IF v > 0 THEN INSERT INTO tgt SELECT * FROM src; END IF; COMMIT; END;"
    )
    assert _edges(sql, "oracle") == {"tgt.*": ({"src.*"}, "IDENTITY")}


# ---------------------------------------------------------------------- views
@pytest.mark.parametrize(
    ("sql", "dialect", "target"),
    [
        ("CREATE VIEW v AS SELECT a FROM t WITH CHECK OPTION", "mysql", "v"),
        (
            "CREATE OR REPLACE VIEW s.v AS SELECT a FROM t WHERE a > 0 WITH LOCAL CHECK OPTION;",
            "postgres",
            "s.v",
        ),
        ("CREATE VIEW v AS SELECT a FROM t WITH CASCADED CHECK OPTION", None, "v"),
    ],
)
def test_view_with_check_option_is_parsed(sql: str, dialect: str | None, target: str) -> None:
    res = analyze(sql, dialect)
    assert not res.errors and not res.partial
    assert {k: v[0] for k, v in _edges(sql, dialect or "").items()} == {f"{target}.a": {"t.a"}}


def test_postgres_recursive_view_is_its_recursive_cte() -> None:
    sql = (
        "CREATE RECURSIVE VIEW org.tree (id, parent_id, depth) AS "
        "SELECT id, parent_id, 1 FROM org.units WHERE parent_id IS NULL UNION ALL "
        "SELECT u.id, u.parent_id, t.depth + 1 FROM org.units u JOIN tree t ON u.parent_id = t.id"
    )
    assert _tables(sql, "postgres") == (["org.units"], ["org.tree"])
    assert _plain(sql, "postgres") == {
        "org.tree.id": {"org.units.id"},
        "org.tree.parent_id": {"org.units.parent_id"},
    }


@pytest.mark.parametrize("apply", ["OUTER APPLY", "CROSS APPLY"])
def test_tsql_apply_of_a_schema_function_derives_from_its_arguments(apply: str) -> None:
    sql = f"INSERT INTO o SELECT t.id, x.v FROM t {apply} dbo.fn(t.id) x"
    assert _tables(sql, "tsql") == (["t"], ["o"])
    assert _edges(sql, "tsql") == {"o.id": ({"t.id"}, "IDENTITY"), "o.v": ({"t.id"}, "TRANSFORMATION")}


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


def test_an_unread_cache_is_kept_with_keep_temp_tables() -> None:
    res = analyze("CACHE TABLE c AS SELECT a FROM src", "spark", keep_temp_tables=True)
    assert res.to_dict() == {"inputs": ["src"], "outputs": ["c"], "column_lineage": [["c.a", "src.a"]]}


def test_postgres_unnamed_function_parameters_are_no_names() -> None:
    sql = (
        "CREATE FUNCTION f(text, integer) RETURNS void AS $$ BEGIN "
        "INSERT INTO t SELECT text FROM s WHERE integer > 0; END; $$ LANGUAGE plpgsql"
    )
    assert _plain(sql, "postgres") == {"t.text": {"s.text"}}


# ---------------------------------------------------------------------- ClickHouse WITH values and FORMAT
def test_clickhouse_with_expression_alias_is_a_value_not_a_column() -> None:
    sql = (
        "WITH 10 AS lim, (SELECT max(ts) FROM b.m) AS mx "
        "INSERT INTO a.t SELECT id, mx AS latest FROM b.s WHERE ts > mx LIMIT lim"
    )
    assert _tables(sql, "clickhouse") == (["b.m", "b.s"], ["a.t"])
    assert _edges(sql, "clickhouse") == {
        "a.t.id": ({"b.s.id"}, "IDENTITY"),
        "a.t.latest": ({"b.m.ts"}, "AGGREGATION"),
    }
    assert _rows(sql, "clickhouse") == {("a.t", "b.m.ts", "FILTER"), ("a.t", "b.s.ts", "FILTER")}


def test_clickhouse_with_subquery_as_name_is_still_a_table() -> None:
    sql = "WITH recent AS (SELECT id FROM b.m) INSERT INTO a.t SELECT id FROM recent"
    assert _plain(sql, "clickhouse") == {"a.t.id": {"b.m.id"}}


@pytest.mark.parametrize(
    ("sql", "inputs"),
    [
        ("INSERT INTO a.t FORMAT CSV", []),
        ('INSERT INTO a.t (id, v) FORMAT JSONEachRow {"id": 1, "v": "x"}', []),
        ("INSERT INTO a.t SETTINGS async_insert=1 FORMAT Values (1, 'a')", []),
        (
            "INSERT INTO TABLE a.t FROM INFILE '/data/t.csv.gz' COMPRESSION 'gzip' FORMAT CSV",
            ["/data/t.csv.gz"],
        ),
    ],
)
def test_clickhouse_insert_format_writes_the_table(sql: str, inputs: list[str]) -> None:
    res = analyze(sql, "clickhouse")
    assert not res.errors and not res.partial
    assert _tables(sql, "clickhouse") == (inputs, ["a.t"])


# ---------------------------------------------------------------------- multi-table inserts
def test_insert_first_conditions_decide_the_rows_of_each_branch() -> None:
    sql = (
        "INSERT FIRST WHEN x > 0 THEN INTO a VALUES (x) WHEN y > 0 THEN INTO c VALUES (y) "
        "ELSE INTO b VALUES (x) SELECT x, y FROM s WHERE z = 1"
    )
    assert _plain(sql, "snowflake") == {"a.x": {"s.x"}, "c.y": {"s.y"}, "b.x": {"s.x"}}
    assert _rows(sql, "snowflake") == {
        ("a", "s.x", "FILTER"),
        ("a", "s.z", "FILTER"),
        ("c", "s.x", "FILTER"),
        ("c", "s.y", "FILTER"),
        ("c", "s.z", "FILTER"),
        ("b", "s.x", "FILTER"),
        ("b", "s.y", "FILTER"),
        ("b", "s.z", "FILTER"),
    }


def test_insert_all_conditions_decide_their_own_branch() -> None:
    sql = (
        "INSERT ALL WHEN x > 0 THEN INTO a VALUES (x) WHEN y > 0 THEN INTO c (k) VALUES (y) "
        "SELECT x, y FROM s"
    )
    assert _plain(sql, "snowflake") == {"a.x": {"s.x"}, "c.k": {"s.y"}}
    assert _rows(sql, "snowflake") == {("a", "s.x", "FILTER"), ("c", "s.y", "FILTER")}


def test_insert_all_without_column_list_uses_the_schema() -> None:
    sql = "INSERT ALL INTO a VALUES (x, y + 1) SELECT x, y FROM s"
    assert _edges(sql, "oracle", schema={"a": ["p", "q"]}) == {
        "a.p": ({"s.x"}, "IDENTITY"),
        "a.q": ({"s.y"}, "TRANSFORMATION"),
    }


# ---------------------------------------------------------------------- Exasol IMPORT / EXPORT
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
