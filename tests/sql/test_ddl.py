"""DDL: ``CREATE TABLE`` column lists and constraints, ``LIKE``, CTAS column lists and vendor options,
``CLONE``, external tables, views (``WITH CHECK OPTION``, recursive) and materialized views and their
refreshes (``REFRESH MATERIALIZED VIEW``, Databricks ``REFRESH STREAMING TABLE``, Snowflake ``ALTER DYNAMIC
TABLE ... REFRESH``), renames and swaps (``RENAME TABLE``, ``sp_rename``, tables renamed away and dropped),
PostgreSQL ``ALTER`` forms, partition moves and maintenance statements that move no data, and catalog
objects that hold no rows (schemas, external schemas, catalogs, volumes, extensions, integrations)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables

# --------------------------------------------- CREATE TABLE: column lists, LIKE, CTAS, CLONE, external tables


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


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param("CREATE TABLE o AS SELECT a FROM t WHERE b > 0 WITH NO DATA", "postgres", id="postgres"),
        pytest.param("CREATE TABLE o AS SELECT a FROM t WHERE b > 0 WITH NO DATA", "redshift", id="redshift"),
        pytest.param("CREATE TABLE o AS SELECT a FROM t WHERE b > 0 WITH NO DATA", "trino", id="trino"),
        pytest.param(
            "CREATE TABLE o AS (SELECT a FROM t WHERE b > 0) WITH NO DATA", "teradata", id="teradata"
        ),
    ],
)
def test_ctas_with_no_data_copies_the_structure_only(sql: str, dialect: str) -> None:
    """Like ``CREATE TABLE o LIKE t``: ``t`` is read, ``o`` written, no row moves (no column edge, no
    row-deciding column), but later statements know ``o``'s columns."""
    result = analyze(sql, dialect)
    assert not result.errors
    assert [t.qualified for t in result.inputs] == ["t"]
    assert [t.qualified for t in result.outputs] == ["o"]
    assert result.column_lineage == ()
    assert result.indirect == ()
    script = f"{sql}; INSERT INTO o SELECT x FROM s; INSERT INTO z SELECT * FROM o"
    assert _plain(script, dialect, keep_temp_tables=True)["z.a"] == {"o.a"}


def test_teradata_create_table_as_a_table_copies_it() -> None:
    assert _plain("CREATE TABLE o AS t WITH DATA", "teradata", schema={"t": ["a", "b"]}) == {
        "o.a": {"t.a"},
        "o.b": {"t.b"},
    }
    assert _plain("CREATE TABLE o AS t WITH DATA", "teradata") == {"o.*": {"t.*"}}
    assert _tables("CREATE TABLE o AS t WITH NO DATA", "teradata") == (["t"], ["o"])
    assert _plain("CREATE TABLE o AS t WITH NO DATA", "teradata") == {}


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE s.t_2024 PARTITION OF s.p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE TABLE IF NOT EXISTS s.t_2024 PARTITION OF s.p FOR VALUES IN ('a') PARTITION BY RANGE (d)",
        "CREATE TABLE s.t_2024 PARTITION OF s.p DEFAULT",
    ],
)
def test_postgres_partition_of_reads_no_rows_of_its_parent(sql: str) -> None:
    """The new partition is empty: ``s.p`` gives it its columns, no data (``ATTACH PARTITION`` moves data)."""
    assert _tables(sql, "postgres") == ([], ["s.t_2024"])
    script = f"{sql}; INSERT INTO s.z SELECT * FROM s.t_2024"
    assert _plain(script, "postgres", schema={"s.p": ["d", "v"]}) == {
        "s.z.d": {"s.t_2024.d"},
        "s.z.v": {"s.t_2024.v"},
    }


def test_other_dialects_map_a_ctas_column_list_by_position() -> None:
    assert _plain("CREATE TABLE t (a INT, b TEXT) AS SELECT x, y FROM s", "postgres") == {
        "t.a": {"s.x"},
        "t.b": {"s.y"},
    }


@pytest.mark.parametrize("kind", ["TABLE", "VIEW", "MATERIALIZED VIEW"])
def test_postgres_ctas_column_list_shorter_than_the_query_renames_the_first_columns(kind: str) -> None:
    """As ``WITH c(a) AS (...)``: the other columns keep their names, and a later ``SELECT *`` has them."""
    sql = f"CREATE {kind} t (k) AS SELECT x, y * 2 AS w FROM s; INSERT INTO o SELECT * FROM t"
    got = _plain(sql, "postgres", schema={"o": ["p", "q"]})
    assert got == {"t.k": {"s.x"}, "t.w": {"s.y"}, "o.p": {"t.k"}, "o.q": {"t.w"}}
    assert _plain("CREATE TABLE t (k) AS SELECT * FROM s", "postgres", schema={"s": ["x", "y"]}) == {
        "t.k": {"s.x"},
        "t.y": {"s.y"},
    }


def test_vendor_ctas_keeps_its_column_list() -> None:
    sql = "CREATE LOCAL TEMP TABLE t (x, y) ON COMMIT DROP AS SELECT a, b FROM s"
    assert _plain(sql, "postgres", keep_temp_tables=True) == {"t.x": {"s.a"}, "t.y": {"s.b"}}


def test_create_table_with_vendor_options_before_as_keeps_its_target() -> None:
    sql = "CREATE UNLOGGED TABLE IF NOT EXISTS mart.t WITH (fillfactor = 70) AS SELECT id FROM raw.s"
    assert _tables(sql, "postgres") == (["raw.s"], ["mart.t"])
    assert _plain(sql, "postgres") == {"mart.t.id": {"raw.s.id"}}


def test_clone_copies_every_column() -> None:
    assert _plain("CREATE TABLE db.s.t2 CLONE db.s.t1", "snowflake") == {"db.s.t2.*": {"db.s.t1.*"}}
    got = _plain("CREATE TABLE t2 DEEP CLONE t1", "databricks", schema={"t1": ["a", "b"]})
    assert got == {"t2.a": {"t1.a"}, "t2.b": {"t1.b"}}


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


# ---------------------------------------------------------------------- views and materialized views


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


@pytest.mark.parametrize(
    ("sql", "dialect", "written"),
    [
        pytest.param(
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mart.mv_sales", "postgres", "mart.mv_sales", id="pg"
        ),
        pytest.param(
            "REFRESH MATERIALIZED VIEW mv_sales WITH NO DATA", "postgres", "mv_sales", id="pg-no-data"
        ),
        pytest.param("REFRESH MATERIALIZED VIEW sales_mv", "redshift", "sales_mv", id="redshift"),
        pytest.param("REFRESH MATERIALIZED VIEW cat.s.mv", "trino", "cat.s.mv", id="trino"),
        pytest.param(
            "REFRESH MATERIALIZED VIEW main.gold.mv FULL", "databricks", "main.gold.mv", id="dbx-mv"
        ),
        pytest.param("REFRESH STREAMING TABLE main.bronze.st", "databricks", "main.bronze.st", id="dbx-st"),
        pytest.param("ALTER DYNAMIC TABLE dt REFRESH", "snowflake", "dt", id="snowflake-dynamic"),
    ],
)
def test_refresh_of_a_materialized_view_writes_it(sql: str, dialect: str, written: str) -> None:
    assert _tables(sql, dialect) == ([], [written])


def test_refresh_reads_what_the_script_defined_the_view_from() -> None:
    sql = (
        "CREATE MATERIALIZED VIEW mv AS SELECT region, sum(amount) AS total FROM sales GROUP BY region "
        "WITH NO DATA;\n"
        "REFRESH MATERIALIZED VIEW mv"
    )
    result = analyze(sql, "postgres")
    assert not result.errors
    refresh = result.statements[-1]
    assert refresh.kind == "refresh"
    assert [t.qualified for t in refresh.inputs] == ["sales"]
    assert [t.qualified for t in refresh.outputs] == ["mv"]
    assert {c.output.qualified: {i.qualified for i in c.inputs} for c in refresh.column_lineage} == {
        "mv.region": {"sales.region"},
        "mv.total": {"sales.amount"},
    }


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        (
            "ALTER VIEW dbo.v AS SELECT a, upper(b) AS b FROM dbo.s",
            "tsql",
            {"dbo.v.a": {"dbo.s.a"}, "dbo.v.b": {"dbo.s.b"}},
        ),
        ("ALTER VIEW v (x) AS SELECT a FROM s", "tsql", {"v.x": {"s.a"}}),
        ("ALTER VIEW v AS SELECT a FROM s WHERE b > 0", "mysql", {"v.a": {"s.a"}}),
    ],
)
def test_alter_view_as_a_query_maps_it_like_create_view(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected
    assert _tables(sql, dialect)[1] == sorted({c.rsplit(".", 1)[0] for c in expected})


# ---------------------------------------------------------------------- renames and swaps


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


# ---------------------------------------------------------------------- ALTER, partitions and maintenance


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
    # rows move whole from the table read into the table written; maintenance of one table moves none
    expected = {f"{outputs[0]}.*": {f"{inputs[0]}.*"}} if inputs else {}
    assert _plain(sql, dialect) == expected


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


def test_trino_alter_table_execute_is_maintenance() -> None:
    sql = "ALTER TABLE iceberg.sch.t EXECUTE optimize(file_size_threshold => '10MB')"
    assert _tables(sql, "trino") == ([], [])
    assert _kinds(sql, "trino") == ["other"]


# ------------------------------------------------------- schemas, catalogs, volumes, extensions, integrations


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE 'db' IAM_ROLE 'arn:x' "
            "CREATE EXTERNAL DATABASE IF NOT EXISTS",
            "redshift",
            id="redshift-external-schema",
        ),
        pytest.param(
            "CREATE EXTERNAL SCHEMA IF NOT EXISTS pg FROM POSTGRES DATABASE 'db' SCHEMA 'public' URI 'host' "
            "IAM_ROLE 'arn:x' SECRET_ARN 'arn:y'",
            "redshift",
            id="redshift-federated-schema",
        ),
        pytest.param(
            "CREATE SCHEMA IF NOT EXISTS stage AUTHORIZATION etl", "postgres", id="schema-authorization"
        ),
        pytest.param("ALTER SCHEMA s RENAME TO s2", "postgres", id="alter-schema"),
        pytest.param(
            "CREATE DATABASE shared_db FROM SHARE prov.share1", "snowflake", id="database-from-share"
        ),
        pytest.param(
            "CREATE CATALOG IF NOT EXISTS main MANAGED LOCATION 's3://b'", "databricks", id="catalog"
        ),
        pytest.param("CREATE VOLUME main.s.v", "databricks", id="volume"),
        pytest.param("CREATE EXTENSION IF NOT EXISTS postgis", "postgres", id="extension"),
        pytest.param("CREATE NOTIFICATION INTEGRATION ni TYPE = QUEUE", "snowflake", id="integration"),
    ],
)
def test_catalog_objects_that_hold_no_rows_name_no_dataset(sql: str, dialect: str) -> None:
    result = analyze(f"{sql};\nINSERT INTO t SELECT a FROM s", dialect)
    assert not result.errors
    assert [t.qualified for t in result.inputs] == ["s"]
    assert [t.qualified for t in result.outputs] == ["t"]
