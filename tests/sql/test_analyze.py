"""Table-driven tests of analyze(): tables, columns, scripts, dialects, defaults and schema."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

# (id, sql, dialect, expected inputs, expected outputs)
TABLE_CASES = [
    ("select", "SELECT a FROM s.t", None, ["s.t"], []),
    ("three_parts", "SELECT a FROM db.s.t", "snowflake", ["db.s.t"], []),
    ("quoted_keeps_case", 'SELECT * FROM "Sales"."Orders"', "postgres", ["Sales.Orders"], []),
    (
        "join_and_where_subquery",
        "SELECT a.x FROM a JOIN b ON a.id = b.id WHERE a.k IN (SELECT k FROM c)",
        None,
        ["a", "b", "c"],
        [],
    ),
    ("exists", "SELECT 1 WHERE EXISTS (SELECT 1 FROM customers)", "postgres", ["customers"], []),
    ("cte_not_dataset", "WITH x AS (SELECT * FROM src) SELECT * FROM x", None, ["src"], []),
    ("unused_cte_dropped", "WITH x AS (SELECT * FROM unused) SELECT * FROM real_t", None, ["real_t"], []),
    ("cte_self_name_is_table", "WITH t AS (SELECT * FROM t) SELECT * FROM t", "postgres", ["t"], []),
    (
        "nested_ctes",
        "WITH a AS (WITH b AS (SELECT id FROM src) SELECT id FROM b) SELECT id FROM a",
        None,
        ["src"],
        [],
    ),
    ("insert_select", "INSERT INTO tgt SELECT * FROM src", None, ["src"], ["tgt"]),
    ("insert_values", "INSERT INTO tgt (a, b) VALUES (1, 2), (3, 4)", "postgres", [], ["tgt"]),
    ("insert_self_read", "INSERT OVERWRITE TABLE foo SELECT col FROM foo", "databricks", ["foo"], ["foo"]),
    ("ctas", "CREATE TABLE new_t AS SELECT * FROM old_t", None, ["old_t"], ["new_t"]),
    ("create_view", "CREATE VIEW v AS SELECT a FROM t", None, ["t"], ["v"]),
    ("create_like", "CREATE TABLE n LIKE o", None, ["o"], ["n"]),
    ("clone", "CREATE TABLE n CLONE o", "snowflake", ["o"], ["n"]),
    ("update_from", "UPDATE t SET v = s.v FROM s WHERE t.k = s.k", "postgres", ["s"], ["t"]),
    ("update_self_only", "UPDATE t SET v = v + 1", None, [], ["t"]),
    (
        "update_alias_target",
        "UPDATE sr SET sr.n = wo.n FROM prod.sr_t AS sr JOIN prod.wo AS wo ON sr.id = wo.id",
        "tsql",
        ["prod.wo"],
        ["prod.sr_t"],
    ),
    (
        "update_compound_assignment",
        "UPDATE sr SET sr.n += 'x' FROM p.a AS sr JOIN p.b AS wo ON sr.id = wo.id",
        "tsql",
        ["p.b"],
        ["p.a"],
    ),
    ("mysql_update_join", "UPDATE t1 a JOIN t2 b ON a.k = b.k SET a.v = b.v", "mysql", ["t2"], ["t1"]),
    ("delete", "DELETE FROM a.b WHERE x = 0", "postgres", [], ["a.b"]),
    (
        "delete_using",
        "DELETE FROM a.b USING (SELECT col FROM b.c) d WHERE a.b.col = d.col",
        "postgres",
        ["b.c"],
        ["a.b"],
    ),
    (
        "mysql_multi_delete",
        "DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id JOIN lk ON t1.id = lk.id",
        "mysql",
        ["lk"],
        ["t1", "t2"],
    ),
    (
        "merge",
        "MERGE INTO tgt t USING src s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v",
        None,
        ["src"],
        ["tgt"],
    ),
    (
        "merge_subquery",
        "MERGE INTO tgt USING (SELECT k FROM a JOIN b USING (k)) s ON tgt.k = s.k "
        "WHEN NOT MATCHED THEN INSERT (k) VALUES (s.k)",
        None,
        ["a", "b"],
        ["tgt"],
    ),
    ("drop", "DROP TABLE IF EXISTS a.b, c.d", "postgres", [], ["a.b", "c.d"]),
    ("truncate", "TRUNCATE TABLE a.b", "postgres", [], ["a.b"]),
    ("alter_rename", "ALTER TABLE s.t1 RENAME TO t2", "postgres", ["s.t1"], ["s.t2"]),
    ("alter_swap", "ALTER TABLE a SWAP WITH b", "snowflake", ["a", "b"], ["a", "b"]),
    ("append_from", "ALTER TABLE tgt APPEND FROM stage", "redshift", ["stage"], ["tgt"]),
    ("exchange_partition", "ALTER TABLE t1 EXCHANGE PARTITION (p='1') WITH TABLE t2", "hive", ["t2"], ["t1"]),
    ("select_into", "SELECT * INTO films_recent FROM films", "postgres", ["films"], ["films_recent"]),
    ("copy_from_uri", "COPY tab1 FROM 's3://bucket/key'", "postgres", ["s3://bucket/key"], ["tab1"]),
    ("copy_into_stage", "COPY INTO a.b FROM @ns.stage/path", "snowflake", ["@ns.stage/path"], ["a.b"]),
    ("copy_unload", "COPY INTO @ns.stage FROM db.s.src", "snowflake", ["db.s.src"], ["@ns.stage"]),
    (
        "unload",
        "UNLOAD ('select * from venue') TO 's3://b/venue_' IAM_ROLE 'arn:x'",
        "redshift",
        ["venue"],
        ["s3://b/venue_"],
    ),
    (
        "insert_directory",
        "INSERT OVERWRITE DIRECTORY 'hdfs://p/f' SELECT * FROM t",
        "databricks",
        ["t"],
        ["hdfs://p/f"],
    ),
    ("file_path", "SELECT * FROM parquet.`/data/x/`", "databricks", ["/data/x/"], []),
    ("bigquery_backticks", "SELECT * FROM `proj.ds.tbl`", "bigquery", ["proj.ds.tbl"], []),
    ("tsql_brackets", "SELECT * FROM [s1].[t1]", "tsql", ["s1.t1"], []),
    (
        "table_function_ignored",
        "SELECT * FROM TABLE(GENERATOR(ROWCOUNT => 10)) JOIN s.t ON true",
        "snowflake",
        ["s.t"],
        [],
    ),
    ("identifier_literal", "SELECT c FROM identifier('tgt')", "snowflake", ["tgt"], []),
    ("identifier_bind_unknown", "SELECT c FROM identifier(:t)", "snowflake", [], []),
    (
        "lateral_view",
        "INSERT OVERWRITE TABLE foo SELECT q.c FROM bar sc LATERAL VIEW explode(sc.a) q AS c",
        "hive",
        ["bar"],
        ["foo"],
    ),
    ("no_lineage_statements", "SET x = 1; SHOW TABLES; ANALYZE t; REFRESH TABLE t", "databricks", [], []),
    (
        "procedure_body",
        "CREATE PROCEDURE p() AS BEGIN INSERT INTO t2 (c) SELECT c FROM t1; END",
        "oracle",
        ["t1"],
        ["t2"],
    ),
    (
        "tsql_while_block",
        "WHILE @i < 3 BEGIN INSERT INTO t2 SELECT c FROM t1; SET @i = @i + 1; END",
        "tsql",
        ["t1"],
        ["t2"],
    ),
    (
        "tsql_without_semicolons",
        "insert into t1 select * from a\ninsert into t2 select * from b",
        "tsql",
        ["a", "b"],
        ["t1", "t2"],
    ),
    ("exasol_generic_dialect", "SELECT * FROM x.y", "exasol", ["x.y"], []),
    ("unknown_dialect", "SELECT * FROM x.y", "no-such-dialect", ["x.y"], []),
]


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"), [c[1:] for c in TABLE_CASES], ids=[c[0] for c in TABLE_CASES]
)
def test_tables(sql: str, dialect: str | None, inputs: list[str], outputs: list[str]) -> None:
    result = analyze(sql, dialect).to_dict()
    assert sorted(result["inputs"]) == sorted(inputs)
    assert sorted(result["outputs"]) == sorted(outputs)


# (id, sql, dialect, schema, expected edges [out, in])
COLUMN_CASES = [
    (
        "plain_select",
        "SELECT t1.a, b AS x FROM table1 t1",
        "postgres",
        None,
        [["a", "table1.a"], ["x", "table1.b"]],
    ),
    (
        "insert_positional",
        "INSERT INTO tgt (x, y) SELECT a, b + c FROM src",
        None,
        None,
        [["tgt.x", "src.a"], ["tgt.y", "src.b"], ["tgt.y", "src.c"]],
    ),
    (
        "where_join_not_edges",
        "INSERT INTO tgt SELECT s.a FROM s JOIN o ON s.id = o.id WHERE o.f = 1",
        None,
        None,
        [["tgt.a", "s.a"]],
    ),
    (
        "through_cte_and_subquery",
        "WITH c AS (SELECT id, amount FROM pay) INSERT INTO t SELECT x.id, x.total FROM "
        "(SELECT id, sum(amount) AS total FROM c GROUP BY id) x",
        None,
        None,
        [["t.id", "pay.id"], ["t.total", "pay.amount"]],
    ),
    (
        "union",
        "INSERT INTO t SELECT a FROM t1 UNION ALL SELECT b FROM t2",
        None,
        None,
        [["t.a", "t1.a"], ["t.a", "t2.b"]],
    ),
    (
        "case_and_window",
        "SELECT CASE WHEN a > 0 THEN b END AS c, row_number() OVER (PARTITION BY d) AS r FROM t",
        None,
        None,
        [["c", "t.a"], ["c", "t.b"], ["r", "t.d"]],
    ),
    ("scalar_subquery", "SELECT (SELECT max(x) FROM o) AS m FROM t", None, None, [["m", "o.x"]]),
    ("update_set", "UPDATE t SET v = s.w FROM s WHERE t.k = s.k", "postgres", None, [["t.v", "s.w"]]),
    (
        "merge_update_insert",
        "MERGE INTO tgt t USING src s ON t.k = s.k WHEN MATCHED THEN UPDATE SET t.v = s.v "
        "WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)",
        None,
        None,
        [["tgt.v", "src.v"], ["tgt.k", "src.k"]],
    ),
    (
        "ctas_column_list",
        "CREATE TABLE t (x int, y int) AS SELECT a, b FROM s",
        "databricks",
        None,
        [["t.x", "s.a"], ["t.y", "s.b"]],
    ),
    ("star_without_schema", "INSERT INTO t SELECT * FROM s", None, None, [["t.*", "s.*"]]),
    (
        "star_with_schema",
        "INSERT INTO t SELECT * FROM s",
        None,
        {"s": ["a", "b"]},
        [["t.a", "s.a"], ["t.b", "s.b"]],
    ),
    (
        "unqualified_in_join_with_schema",
        "SELECT a, b FROM s JOIN o ON s.id = o.id",
        None,
        {"s": {"a": "int", "id": "int"}, "o": ["b", "id"]},
        [["a", "s.a"], ["b", "o.b"]],
    ),
    (
        "star_through_cte_with_schema",
        "WITH c AS (SELECT * FROM s) INSERT INTO t (x) SELECT a FROM c",
        None,
        {"s": ["a"]},
        [["t.x", "s.a"]],
    ),
    (
        "lateral_alias_with_schema",
        "SELECT a AS u, u || b AS v FROM p",
        "snowflake",
        {"p": ["a", "b"]},
        [["u", "p.a"], ["v", "p.a"], ["v", "p.b"]],
    ),
    (
        "merge_set_star",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
        "databricks",
        {"s": ["id", "v"]},
        [["t.id", "s.id"], ["t.v", "s.v"]],
    ),
    ("count_star", "INSERT INTO t SELECT count(*) AS n FROM s", None, None, [["t.n", "s.*"]]),
    ("constant_has_no_edge", "INSERT INTO t SELECT 1 AS a, current_timestamp AS b FROM s", None, None, []),
    (
        "unaliased_expression_named_by_text",
        "INSERT INTO t SELECT max(a) FROM s",
        None,
        None,
        [["t.max(a)", "s.a"]],
    ),
]


@pytest.mark.parametrize(
    ("sql", "dialect", "schema", "edges"), [c[1:] for c in COLUMN_CASES], ids=[c[0] for c in COLUMN_CASES]
)
def test_columns(sql: str, dialect: str | None, schema: dict | None, edges: list[list[str]]) -> None:
    got = analyze(sql, dialect, schema=schema).to_dict()["column_lineage"]
    assert sorted(got) == sorted(edges)


def test_transformation_types_follow_the_path() -> None:
    result = analyze(
        "WITH c AS (SELECT k, sum(v) AS total FROM s GROUP BY k) "
        "INSERT INTO t SELECT k, total, upper(k) AS u FROM c"
    )
    how = {cl.output.column: cl.transformation for cl in result.column_lineage}
    assert how == {"k": "IDENTITY", "total": "AGGREGATION", "u": "TRANSFORMATION"}


# (id, sql, dialect, kwargs, inputs, outputs)
SCRIPT_CASES = [
    (
        "defaults_fill_missing_parts",
        "SELECT * FROM t JOIN s2.u ON true",
        "postgres",
        {"default_database": "db", "default_schema": "public"},
        ["db.public.t", "db.s2.u"],
        [],
    ),
    ("use_database", "USE db1; INSERT INTO c SELECT k FROM t", None, {}, ["db1.t"], ["db1.c"]),
    ("use_database_schema", "USE db1.s1; SELECT k FROM t", "snowflake", {}, ["db1.s1.t"], []),
    (
        "use_in_spark_is_schema",
        "USE db1; INSERT INTO c SELECT k FROM s.t",
        "databricks",
        {},
        ["s.t"],
        ["db1.c"],
    ),
    (
        "search_path",
        "SET search_path TO staging, public; SELECT * FROM t",
        "postgres",
        {"default_database": "d"},
        ["d.staging.t"],
        [],
    ),
    (
        "temp_tables_collapsed",
        "CREATE TEMP TABLE tmp AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM tmp",
        "postgres",
        {},
        ["src"],
        ["tgt"],
    ),
    (
        "temp_tables_kept",
        "CREATE TEMP TABLE tmp AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM tmp",
        "postgres",
        {"keep_temp_tables": True},
        ["src", "tmp"],
        ["tmp", "tgt"],
    ),
    (
        "tsql_hash_temp",
        "SELECT a INTO #w FROM src; INSERT INTO tgt SELECT a FROM #w",
        "tsql",
        {},
        ["src"],
        ["tgt"],
    ),
    (
        "dbt_create_then_rename",
        "CREATE TABLE s.m__dbt_tmp AS SELECT a FROM s.src; ALTER TABLE s.m__dbt_tmp RENAME TO m",
        "postgres",
        {},
        ["s.src"],
        ["s.m"],
    ),
    (
        "regular_tables_not_collapsed",
        "INSERT INTO a.a VALUES (1); INSERT INTO b.b SELECT * FROM a.a",
        "postgres",
        {},
        ["a.a"],
        ["a.a", "b.b"],
    ),
    (
        "failing_statement_in_script",
        "FAILING STATEMENT; INSERT INTO p SELECT k FROM s.t; INSERT ALSO FAILING",
        "postgres",
        {},
        ["s.t"],
        ["p"],
    ),
]


@pytest.mark.parametrize(
    ("sql", "dialect", "kwargs", "inputs", "outputs"),
    [c[1:] for c in SCRIPT_CASES],
    ids=[c[0] for c in SCRIPT_CASES],
)
def test_scripts(sql: str, dialect: str | None, kwargs: dict, inputs: list[str], outputs: list[str]) -> None:
    result = analyze(sql, dialect, **kwargs).to_dict()
    assert sorted(result["inputs"]) == sorted(inputs)
    assert sorted(result["outputs"]) == sorted(outputs)


def test_temp_table_columns_are_chained() -> None:
    result = analyze(
        "CREATE TEMP TABLE w AS SELECT a AS x FROM src; INSERT INTO tgt (y) SELECT x FROM w", "postgres"
    )
    assert result.to_dict()["column_lineage"] == [["tgt.y", "src.a"]]


def test_per_statement_results_and_errors() -> None:
    result = analyze("INSERT INTO a SELECT * FROM b; THIS IS NOT SQL FROM c; DROP TABLE d", "postgres")
    kinds = [st.kind for st in result.statements]
    assert kinds == ["insert", "unparsed", "drop"]
    bad = result.statements[1]
    assert bad.partial and bad.errors and [t.qualified for t in bad.inputs] == ["c"]
    assert result.partial and result.errors


def test_table_ref_qualified_and_defaults() -> None:
    result = analyze('SELECT * FROM "MySchema".t', "postgres", default_database="DB")
    (ref,) = result.inputs
    assert (ref.database, ref.schema, ref.name) == ("DB", "MySchema", "t")
    assert ref.qualified == "DB.MySchema.t"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM t WHERE a = %(name)s AND b = %s",
        "SELECT * FROM t WHERE a = :name",
        "SELECT * FROM t WHERE a = ? AND b = $1",
        "SELECT * FROM t WHERE a = '{{ ds }}' {% if x %}AND b = 1{% endif %}",
    ],
)
def test_parameter_styles_and_jinja(sql: str) -> None:
    result = analyze(sql, "postgres")
    assert result.to_dict()["inputs"] == ["t"]
    assert not result.partial


def test_jinja_in_a_name_drops_the_templated_part() -> None:
    assert analyze("SELECT * FROM {{ params.schema }}.orders", "postgres").to_dict()["inputs"] == ["orders"]


def test_schema_keys_with_defaults_applied() -> None:
    """The extractor keys schemas by the qualified names of the result (defaults applied)."""
    result = analyze(
        "INSERT INTO tgt SELECT * FROM src",
        "postgres",
        default_database="test",
        default_schema="public",
        schema={"test.public.src": {"a": "int", "b": "text"}},
    )
    assert sorted(result.to_dict()["column_lineage"]) == [
        ["test.public.tgt.a", "test.public.src.a"],
        ["test.public.tgt.b", "test.public.src.b"],
    ]


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs", "edges"),
    [
        (
            "CREATE TABLE stage AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM stage; DROP TABLE stage",
            "postgres",
            ["src"],
            ["tgt"],
            [["tgt.a", "src.a"]],
        ),
        (
            "CREATE TABLE #w (a int); INSERT INTO #w SELECT a FROM src; INSERT INTO tgt SELECT a FROM #w",
            "tsql",
            ["src"],
            ["tgt"],
            [["tgt.a", "src.a"]],
        ),
        (
            "DECLARE @t TABLE (a int); INSERT INTO @t SELECT a FROM src; INSERT INTO tgt SELECT 1 FROM @t",
            "tsql",
            ["src"],
            ["tgt"],
            [],
        ),
        (
            "MERGE dbo.t AS tgt USING dbo.s AS src ON tgt.id = src.id "
            "WHEN MATCHED THEN UPDATE SET tgt.v = src.v OUTPUT $action, inserted.id INTO dbo.audit;",
            "tsql",
            ["dbo.s", "dbo.t"],  # inserted.id is the target's id (the MERGE does not write id)
            ["dbo.t", "dbo.audit"],
            [["dbo.t.v", "dbo.s.v"], ["dbo.audit.id", "dbo.t.id"]],
        ),
        ("REPLACE INTO t (a) SELECT b FROM s", "mysql", ["s"], ["t"], [["t.a", "s.b"]]),
        ("LOAD DATA INFILE '/tmp/x.csv' INTO TABLE db.t", "mysql", ["/tmp/x.csv"], ["db.t"], []),
        (
            "INSERT ALL INTO t1 (a) VALUES (x) INTO t2 (b) VALUES (y) SELECT x, y FROM s",
            "oracle",
            ["s"],
            ["t1", "t2"],
            [["t1.a", "s.x"], ["t2.b", "s.y"]],
        ),
        (
            "EXPORT DATA OPTIONS (uri = 'gs://b/x/*.csv', format = 'CSV') AS SELECT a FROM ds.t",
            "bigquery",
            ["ds.t"],
            ["gs://b/x/*.csv"],
            [["gs://b/x/*.csv.a", "ds.t.a"]],
        ),
        (
            "CREATE TABLE t AS SELECT a FROM read_parquet('s3://b/x.parquet')",
            "duckdb",
            ["s3://b/x.parquet"],
            ["t"],
            [["t.a", "s3://b/x.parquet.a"]],
        ),
        ("SELECT sysdate FROM dual", "oracle", [], [], []),
        (
            "CREATE OR REPLACE TASK tk WAREHOUSE = w AS INSERT INTO a SELECT x FROM b",
            "snowflake",
            ["b"],
            ["a"],
            [["a.x", "b.x"]],
        ),
    ],
)
def test_dialect_specific_forms(sql: str, dialect: str, inputs: list, outputs: list, edges: list) -> None:
    result = analyze(sql, dialect).to_dict()
    assert (sorted(result["inputs"]), sorted(result["outputs"])) == (sorted(inputs), sorted(outputs))
    assert sorted(result["column_lineage"] or []) == sorted(edges)


@pytest.mark.parametrize(
    ("sql", "dialect", "schema", "edges"),
    [
        (
            "INSERT INTO t SELECT s.* EXCEPT (secret) FROM ds.s AS s",
            "bigquery",
            {"ds.s": ["id", "secret"]},
            [["t.id", "ds.s.id"]],
        ),
        (
            "INSERT INTO t SELECT * EXCLUDE (secret) FROM s",
            "snowflake",
            {"s": ["id", "secret"]},
            [["t.id", "s.id"]],
        ),
        (
            "INSERT INTO t SELECT u.address.city AS city FROM ds.users u",
            "bigquery",
            None,
            [["t.city", "ds.users.address"]],
        ),
        ("INSERT INTO t SELECT IFNULL(b, 0) FROM s", "mysql", None, [["t.ifnull(b, 0)", "s.b"]]),
        (
            "INSERT INTO t SELECT (a + b) FROM s",
            "postgres",
            None,
            [["t.(a + b)", "s.a"], ["t.(a + b)", "s.b"]],
        ),
        ("INSERT INTO t SELECT a::text FROM s", "postgres", None, [["t.a", "s.a"]]),
    ],
)
def test_star_exclusions_struct_fields_and_names(
    sql: str, dialect: str, schema: dict | None, edges: list
) -> None:
    assert sorted(analyze(sql, dialect, schema=schema).to_dict()["column_lineage"]) == sorted(edges)


def test_procedural_lines_are_not_errors() -> None:
    sql = """CREATE PROCEDURE p(a NUMBER) AS
    BEGIN
      IF a IS NULL THEN
        a := 0;
      END IF;
      LOOP
        INSERT INTO t2 SELECT c FROM t1;
        EXIT WHEN a > 1;
      END LOOP;
    END;"""
    result = analyze(sql, "oracle")
    assert result.to_dict()["inputs"] == ["t1"] and result.to_dict()["outputs"] == ["t2"]
    assert not result.errors and not result.partial


def test_renamed_intermediate_keeps_column_lineage() -> None:
    sql = "CREATE TABLE m__tmp AS SELECT a, b + 1 AS c FROM src; ALTER TABLE m__tmp RENAME TO m"
    assert sorted(analyze(sql, "postgres").to_dict()["column_lineage"]) == [
        ["m.a", "src.a"],
        ["m.c", "src.b"],
    ]


def test_list_of_statements_is_one_script() -> None:
    result = analyze(["CREATE TEMP TABLE w AS SELECT a FROM s", "INSERT INTO t SELECT a FROM w"], "postgres")
    assert result.to_dict() == {"inputs": ["s"], "outputs": ["t"], "column_lineage": [["t.a", "s.a"]]}


@pytest.mark.parametrize(
    ("sql", "dialect", "edges"),
    [
        (
            "INSERT OVERWRITE TABLE foo SELECT sc.id, q.c1 FROM bar sc LATERAL VIEW explode(sc.arr) q AS c1",
            "hive",
            [["foo.id", "bar.id"], ["foo.c1", "bar.arr"]],
        ),
        (
            "INSERT INTO t SELECT p.id, f.value:type AS typ FROM s.persons p, LATERAL FLATTEN(p.c) f",
            "snowflake",
            [["t.id", "s.persons.id"], ["t.typ", "s.persons.c"]],
        ),
        (
            "INSERT INTO ds.t SELECT id, x FROM ds.s, UNNEST(arr) AS x",
            "bigquery",
            [["ds.t.id", "ds.s.id"], ["ds.t.x", "ds.s.arr"]],
        ),
        (
            "WITH RECURSIVE r AS (SELECT id, 1 AS lvl FROM n UNION ALL "
            "SELECT n.id, r.lvl + 1 FROM n JOIN r ON n.p = r.id) INSERT INTO t SELECT id, lvl FROM r",
            "postgres",
            [["t.id", "n.id"]],
        ),
    ],
)
def test_table_functions_and_recursive_ctes(sql: str, dialect: str, edges: list) -> None:
    assert sorted(analyze(sql, dialect).to_dict()["column_lineage"]) == sorted(edges)


@pytest.mark.parametrize(
    ("sql", "edges"),
    [
        ("UPDATE t SET (a, b) = (SELECT x, y FROM s WHERE s.id = t.id)", [["t.a", "s.x"], ["t.b", "s.y"]]),
        ("UPDATE t SET (a, b) = (s.x, s.y) FROM s WHERE s.id = t.id", [["t.a", "s.x"], ["t.b", "s.y"]]),
        (
            "INSERT INTO r (total, n) VALUES ((SELECT count(*) FROM o), 1), (2, (SELECT max(v) FROM p))",
            [["r.total", "o.*"], ["r.n", "p.v"]],
        ),
    ],
)
def test_tuple_assignments_and_values_subqueries(sql: str, edges: list) -> None:
    assert sorted(analyze(sql, "postgres").to_dict()["column_lineage"]) == sorted(edges)


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        ("INSERT OVERWRITE TABLE t1 SELECT * FROM t2; ALTER TABLE t1 RENAME TO t3", ["t2"], ["t3"]),
        (
            "CREATE TABLE s AS SELECT * FROM a; MERGE INTO f USING s ON f.k = s.k WHEN MATCHED THEN DELETE; "
            "DROP TABLE s",
            ["a"],
            ["f"],
        ),
        ("DROP TABLE IF EXISTS t1; CREATE TABLE t1 AS SELECT 1 AS x", [], ["t1"]),
    ],
)
def test_tables_that_do_not_outlive_the_script(sql: str, inputs: list, outputs: list) -> None:
    result = analyze(sql, "hive").to_dict()
    assert (sorted(result["inputs"]), sorted(result["outputs"])) == (inputs, outputs)


@pytest.mark.parametrize(
    ("schema", "edges"),
    [
        ({"public.o": ["x", "y"]}, [["x", "o.x"], ["y", "o.y"]]),  # one longer key fits
        ({"a.o": ["x"], "b.o": ["y"]}, [["*", "o.*"]]),  # two fit: ambiguous, not expanded
    ],
)
def test_schema_key_more_qualified_than_the_sql(schema: dict, edges: list) -> None:
    assert sorted(analyze("SELECT * FROM o", "postgres", schema=schema).to_dict()["column_lineage"]) == edges


# ---------------------------------------------------------------------- round 18: lineage with table schemas

_SHOP = {"orders": ["id", "customer_id", "amount", "ts"], "customers": ["id", "name", "region"]}


def _rows(sql: str, dialect: str, schema: dict) -> set[tuple[str, str, str]]:
    res = analyze(sql, dialect, schema=schema)
    assert not res.errors, res.errors
    return {(r.output.qualified, r.input.qualified, r.subtype) for r in res.indirect}


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        (  # orders has no region: the subquery's region is the outer customers' (correlated)
            "INSERT INTO out SELECT * FROM customers c WHERE region IN (SELECT region FROM orders)",
            {("out", "customers.region", "FILTER")},
        ),
        (
            "INSERT INTO out SELECT id, name FROM customers WHERE EXISTS "
            "(SELECT 1 FROM orders WHERE customer_id = id AND region = 'EU')",
            {
                ("out", "orders.customer_id", "FILTER"),
                ("out", "orders.id", "FILTER"),
                ("out", "customers.region", "FILTER"),
            },
        ),
    ],
)
def test_schema_unqualified_column_missing_from_the_subquery_table_is_the_outer_one(
    sql: str, rows: set
) -> None:
    assert _rows(sql, "postgres", _SHOP) == rows


@pytest.mark.parametrize(
    ("sql", "dialect", "schema", "edges"),
    [
        (  # Snowflake's catalog spells unquoted names in upper case; the script's temp table holds ID, AMOUNT
            "CREATE TEMP TABLE t AS SELECT * FROM raw.orders; "
            "INSERT INTO mart.out SELECT id, amount * 2 FROM t WHERE amount > 0",
            "snowflake",
            {"RAW.ORDERS": ["ID", "AMOUNT"], "MART.OUT": ["K", "V"]},
            [["mart.out.K", "raw.orders.ID"], ["mart.out.V", "raw.orders.AMOUNT"]],
        ),
        (  # T-SQL's case-insensitive columns, through a #temp table
            "SELECT * INTO #t FROM dbo.Orders WHERE Amount > 0; "
            "INSERT INTO dbo.Out SELECT customerid, amount FROM #t",
            "tsql",
            {"dbo.orders": ["Id", "CustomerId", "Amount"], "dbo.out": ["a", "b"]},
            [["dbo.out.a", "dbo.orders.CustomerId"], ["dbo.out.b", "dbo.orders.Amount"]],
        ),
        (  # a reference and a star over the same column name it alike
            "SELECT * REPLACE (amount * 2 AS amount) FROM orders",
            "snowflake",
            {"ORDERS": ["ID", "AMOUNT"]},
            [["AMOUNT", "orders.AMOUNT"], ["ID", "orders.ID"]],
        ),
    ],
)
def test_schema_columns_referenced_in_another_case_keep_the_catalog_spelling(
    sql: str, dialect: str, schema: dict, edges: list
) -> None:
    assert sorted(analyze(sql, dialect, schema=schema).to_dict()["column_lineage"]) == edges


@pytest.mark.parametrize("dialect", ["oracle", "snowflake"])
def test_natural_join_over_an_upper_case_catalog_has_the_shared_column_once(dialect: str) -> None:
    schema = {"HR.EMP": ["EMPNO", "DEPTNO"], "HR.DEPT": ["DEPTNO", "DNAME"], "HR.OUT": ["A", "B", "C"]}
    sql = "INSERT INTO hr.out SELECT * FROM hr.emp NATURAL JOIN hr.dept"
    assert sorted(analyze(sql, dialect, schema=schema).to_dict()["column_lineage"]) == [
        ["hr.out.A", "hr.dept.DEPTNO"],
        ["hr.out.A", "hr.emp.DEPTNO"],
        ["hr.out.B", "hr.emp.EMPNO"],
        ["hr.out.C", "hr.dept.DNAME"],
    ]
    assert _rows(sql, dialect, schema) == {
        ("hr.out", "hr.emp.DEPTNO", "JOIN"),
        ("hr.out", "hr.dept.DEPTNO", "JOIN"),
    }
