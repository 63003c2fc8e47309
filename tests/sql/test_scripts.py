"""Scripts of several statements: temporary tables (filled by ``SELECT *``, vendor ``CREATE TEMP TABLE
... AS`` forms, Teradata ``VOLATILE`` tables, T-SQL ``#temp`` tables, also into a ``MERGE``), dbt
materializations and their backup renames, views over views and temporary functions defined earlier in the
script, variables (``SELECT ... INTO``, ``SET x = (query)``, script variables named like columns),
transaction control and session settings of the default schema (Oracle ``ALTER SESSION SET
CURRENT_SCHEMA``, ``SET [CURRENT] SCHEMA``).

Procedural blocks, routines and dynamic SQL are in test_procedural.py, Snowflake's ``USE`` in
test_snowflake.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import kinds as _kinds
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- temp tables


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


def test_documents_a_truncated_staging_table_stays_an_output() -> None:
    """TRUNCATE empties the table but it outlives the script (unlike DROP): written, so an output."""
    truncated = "CREATE TABLE stg AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM stg; TRUNCATE TABLE stg"
    assert _tables(truncated, "postgres") == (["src", "stg"], ["stg", "tgt"])
    dropped = "CREATE TABLE stg AS SELECT a FROM src; INSERT INTO tgt SELECT a FROM stg; DROP TABLE stg"
    assert _tables(dropped, "postgres") == (["src"], ["tgt"])


@pytest.mark.parametrize(
    "create",
    [
        pytest.param("CREATE VOLATILE TABLE vt AS (SELECT a FROM db.s) WITH DATA", id="volatile"),
        pytest.param(
            "CREATE VOLATILE TABLE vt AS (SELECT a FROM db.s) WITH DATA ON COMMIT PRESERVE ROWS",
            id="volatile-on-commit",
        ),
        pytest.param(
            "CREATE MULTISET VOLATILE TABLE vt AS (SELECT a FROM db.s) WITH DATA", id="multiset-volatile"
        ),
    ],
)
def test_teradata_volatile_table_is_collapsed_in_every_spelling(create: str) -> None:
    sql = f"{create};\nINSERT INTO db.o SELECT a FROM vt"
    assert _tables(sql, "teradata") == (["db.s"], ["db.o"])
    assert _plain(sql, "teradata") == {"db.o.a": {"db.s.a"}}


def test_documents_tsql_temp_table_into_merge() -> None:
    sql = (
        "CREATE TABLE #stage (id INT, amt MONEY);\n"
        "INSERT INTO #stage (id, amt) SELECT id, amount FROM dbo.payments WHERE paid_at >= @since;\n"
        "MERGE dbo.balances AS b USING #stage AS s ON b.id = s.id\n"
        "WHEN MATCHED THEN UPDATE SET b.total = b.total + s.amt\n"
        "WHEN NOT MATCHED BY TARGET THEN INSERT (id, total) VALUES (s.id, s.amt);"
    )
    assert _tables(sql, "tsql") == (["dbo.payments"], ["dbo.balances"])
    assert _plain(sql, "tsql") == {
        "dbo.balances.total": {"dbo.balances.total", "dbo.payments.amount"},
        "dbo.balances.id": {"dbo.payments.id"},
    }


# ---------------------------------------------------------------------- dbt materializations


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


# ---------------------------------------------------------- views and functions defined earlier in the script


def test_documents_views_over_views_and_temp_functions() -> None:
    sql = (
        "CREATE VIEW v1 AS SELECT a, b FROM base;\n"
        "CREATE VIEW v2 AS SELECT a, sum(b) AS sb FROM v1 GROUP BY a;\n"
        "INSERT INTO rpt SELECT a, sb FROM v2"
    )
    assert _plain(sql, "postgres")["rpt.sb"] == {"v2.sb"}
    sql = "CREATE TEMP FUNCTION clean(s STRING) AS (TRIM(LOWER(s)));\n"
    sql += "INSERT INTO ds.t SELECT clean(n) AS n FROM ds.s"
    assert _edges(sql, "bigquery") == {"ds.t.n": ({"ds.s.n"}, "TRANSFORMATION")}


# ---------------------------------------------------------------------- variables


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


def test_select_into_variables_returns_no_columns() -> None:
    sql = (
        "DECLARE v NUMBER; BEGIN SELECT COUNT(*) INTO v FROM src; "
        "IF v > 0 THEN INSERT INTO tgt SELECT * FROM src; END IF; COMMIT; END;"
    )
    assert _edges(sql, "oracle") == {"tgt.*": ({"src.*"}, "IDENTITY")}


def test_tsql_select_assigning_variables_returns_no_columns() -> None:
    sql = (
        "DECLARE @x int; SELECT @x = max(ts), @y = min(ts) FROM a; "
        "INSERT INTO b SELECT id FROM c WHERE ts > @x"
    )
    assert _tables(sql, "tsql") == (["a", "c"], ["b"])
    assert _plain(sql, "tsql") == {"b.id": {"c.id"}}


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


def test_script_variable_named_like_a_selected_column_is_no_filter_column() -> None:
    sql = (
        "DECLARE run_date DATE DEFAULT '2024-01-01';\n"
        "INSERT INTO t (dt, id) SELECT run_date, id FROM s WHERE dt = run_date"
    )
    assert _plain(sql, "bigquery") == {"t.id": {"s.id"}}
    assert _rows(sql, "bigquery") == {("t", "s.dt", "FILTER")}


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


# ---------------------------------------------------------------------- session settings: the default schema


@pytest.mark.parametrize(
    ("setting", "dialect"),
    [
        pytest.param("ALTER SESSION SET CURRENT_SCHEMA = stage", "oracle", id="oracle"),
        pytest.param("ALTER SESSION SET current_schema=stage", "oracle", id="oracle-lower"),
        pytest.param("SET SCHEMA 'stage'", "postgres", id="postgres-set-schema"),
        pytest.param("SET CURRENT SCHEMA = stage", None, id="db2-current-schema"),
        pytest.param("SET SCHEMA stage", "exasol", id="set-schema"),
    ],
)
def test_session_schema_settings_change_the_default_schema(setting: str, dialect: str | None) -> None:
    sql = f"{setting};\nINSERT INTO t SELECT a FROM u"
    assert _tables(sql, dialect or "generic", default_schema="app") == (["stage.u"], ["stage.t"])


@pytest.mark.parametrize(
    ("sql", "dialect", "expected_tables", "expected_columns"),
    [
        pytest.param(
            "INSERT INTO analytics.orders_new SELECT o.id, o.amt FROM raw.orders o; "
            "ALTER TABLE analytics.orders_new RENAME TO orders",
            "postgres",
            (["raw.orders"], ["analytics.orders"]),
            {"analytics.orders.id": {"raw.orders.id"}, "analytics.orders.amt": {"raw.orders.amt"}},
            id="built-then-renamed-keeps-its-columns",
        ),
        pytest.param(
            "INSERT INTO analytics.orders_tmp SELECT * FROM raw.orders_delta; "
            "ALTER TABLE analytics.orders SWAP WITH analytics.orders_tmp; DROP TABLE analytics.orders_tmp",
            "snowflake",
            (["analytics.orders", "raw.orders_delta"], ["analytics.orders"]),
            {"analytics.orders.*": {"raw.orders_delta.*"}},
            id="snowflake-swap-with",
        ),
        pytest.param(
            "CREATE TEMPORARY TABLE stage AS SELECT id, v FROM raw.src; "
            "CREATE OR REPLACE TABLE mart.t_next CLONE mart.t; "
            "MERGE INTO mart.t_next d USING stage s ON d.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v "
            "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v); "
            "ALTER TABLE mart.t SWAP WITH mart.t_next; DROP TABLE mart.t_next",
            "snowflake",
            (["mart.t", "raw.src"], ["mart.t"]),
            {"mart.t.*": {"mart.t.*"}, "mart.t.id": {"raw.src.id"}, "mart.t.v": {"raw.src.v"}},
            id="snowflake-clone-merge-swap",
        ),
        pytest.param(
            "CREATE TABLE sales_stage AS SELECT * FROM sales_ext WHERE 1 = 0; "
            "INSERT INTO sales_stage SELECT * FROM sales_ext WHERE sale_month = DATE '2024-01-01'; "
            "ALTER TABLE sales EXCHANGE PARTITION p202401 WITH TABLE sales_stage; "
            "DROP TABLE sales_stage PURGE",
            "oracle",
            (["sales_ext"], ["sales"]),
            {"sales.*": {"sales_ext.*"}},
            id="oracle-exchange-partition",
        ),
        pytest.param(
            "INSERT INTO stage_events SELECT id, ts FROM raw.events; "
            "ALTER TABLE events APPEND FROM stage_events; DROP TABLE stage_events",
            "redshift",
            (["raw.events"], ["events"]),
            {"events.id": {"raw.events.id"}, "events.ts": {"raw.events.ts"}},
            id="redshift-append-from",
        ),
    ],
)
def test_maintenance_scripts_carry_columns_through_renames_swaps_and_exchanges(
    sql: str,
    dialect: str,
    expected_tables: tuple[list[str], list[str]],
    expected_columns: dict[str, set[str]],
) -> None:
    """A table built by the script and then renamed, swapped or exchanged into place passes the columns it
    holds to the table that outlives the script (each side of a swap takes the other's rows)."""
    assert _tables(sql, dialect) == expected_tables
    assert _plain(sql, dialect) == expected_columns


def test_swap_with_alone_moves_each_side_to_the_other() -> None:
    assert _plain("ALTER TABLE a SWAP WITH b", "snowflake") == {"a.*": {"b.*"}, "b.*": {"a.*"}}


# ------------------------------------------------- round 16: a temp table's named constant next to a star


def test_a_constant_column_of_a_temp_table_filled_with_a_star_is_no_column_of_its_source() -> None:
    # dbt snapshots stage their changes as ``select 'insert' as dbt_change_type, source_data.*``
    sql = (
        "CREATE TEMP TABLE stage AS SELECT 'insert' AS change_type, s.* FROM raw.users AS s "
        "WHERE s.active; "
        "INSERT INTO snap.users (id, change_type) SELECT st.id, st.change_type FROM stage AS st "
        "WHERE st.change_type = 'insert'"
    )
    res = analyze(sql, "postgres")
    assert not res.errors, res.errors
    assert {(str(r.input), r.subtype) for r in res.indirect} == {("raw.users.active", "FILTER")}
    assert {c.output.qualified: {i.qualified for i in c.inputs} for c in res.column_lineage} == {
        "snap.users.id": {"raw.users.id"}
    }
