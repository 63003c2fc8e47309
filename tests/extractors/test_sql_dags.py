"""SQL tasks run as real DAGs (dag.test()) on SQLite, PostgreSQL and MariaDB: exact lineage in the events.

One DAG per database runs every scenario as a task: CTAS, INSERT..SELECT with a join and a CTE (templated
with params and ds), UPDATE..FROM, a script with a temp table, SELECT * expanded from the schema, MERGE
(PostgreSQL), SQL run through a hook inside a @task, and a statement that does not parse. Every captured
event is validated against the OpenLineage JSON Schemas by the ``lineage_events`` fixture.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from lineage_helpers import run_dag

from .conftest import Warehouse
from .events import by_job, column_edges, datasets, extraction, schema_fields

pytestmark = pytest.mark.airflow

LOGICAL_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

_UPDATE_FROM = (
    "UPDATE customers SET country = f.country FROM country_fixes AS f WHERE f.customer_id = customers.id"
)
UPDATE_FROM = {
    "sqlite": _UPDATE_FROM,
    "postgres": _UPDATE_FROM,
    "mysql": "UPDATE customers AS c JOIN country_fixes AS f ON f.customer_id = c.id "
    "SET c.country = f.country",
}
TEMP = {"sqlite": "TEMP", "postgres": "TEMP", "mysql": "TEMPORARY"}
HOOK = {
    "sqlite": "from airflow.providers.sqlite.hooks.sqlite import SqliteHook as Hook",
    "postgres": "from airflow.providers.postgres.hooks.postgres import PostgresHook as Hook",
    "mysql": "from airflow.providers.mysql.hooks.mysql import MySqlHook as Hook",
}
HOOK_ARG = {"sqlite": "sqlite_conn_id", "postgres": "postgres_conn_id", "mysql": "mysql_conn_id"}
MERGE = (
    "MERGE INTO customers AS c USING country_fixes AS f ON f.customer_id = c.id "
    "WHEN MATCHED THEN UPDATE SET country = f.country "
    "WHEN NOT MATCHED THEN INSERT (id, country) VALUES (f.customer_id, f.country)"
)


def dag_source(wh: Warehouse, dag_id: str) -> str:
    merge = (
        f"SQLExecuteQueryOperator(task_id='merge', conn_id=CONN, sql={MERGE!r})"
        if wh.kind == "postgres"
        else "None"
    )
    return f"""
import datetime
from airflow.sdk import DAG, task
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
{HOOK[wh.kind]}

CONN = {wh.conn_id!r}

START = datetime.datetime(2024, 1, 1)
with DAG({dag_id!r}, schedule=None, start_date=START, params={{"min_amount": 5}}) as dag:
    ctas = SQLExecuteQueryOperator(
        task_id="ctas", conn_id=CONN,
        sql="CREATE TABLE customer_totals AS SELECT c.name AS customer, SUM(o.amount) AS total "
            "FROM orders AS o JOIN customers AS c ON o.customer_id = c.id GROUP BY c.name",
    )
    insert_cte = SQLExecuteQueryOperator(
        task_id="insert_cte", conn_id=CONN,
        sql="INSERT INTO big_orders (order_id, customer, amount) "
            "WITH fr AS (SELECT id, name FROM customers WHERE country = 'FR') "
            "SELECT o.id, fr.name, o.amount FROM orders AS o JOIN fr ON fr.id = o.customer_id "
            "WHERE o.amount >= {{{{ params.min_amount }}}} AND o.ds = '{{{{ ds }}}}'",
    )
    update_from = SQLExecuteQueryOperator(task_id="update_from", conn_id=CONN, sql={UPDATE_FROM[wh.kind]!r})
    script = SQLExecuteQueryOperator(
        task_id="script", conn_id=CONN, split_statements=True,
        sql="CREATE {TEMP[wh.kind]} TABLE tmp_fr AS SELECT id, name FROM customers WHERE country = 'FR'; "
            "INSERT INTO fr_orders SELECT o.id, t.name, o.amount "
            "FROM orders AS o JOIN tmp_fr AS t ON t.id = o.customer_id; "
            "DROP TABLE tmp_fr",
    )
    select_star = SQLExecuteQueryOperator(
        task_id="select_star", conn_id=CONN, sql="INSERT INTO orders_copy SELECT * FROM orders"
    )
    merge = {merge}

    @task
    def via_hook():
        Hook({HOOK_ARG[wh.kind]}=CONN).run(
            "INSERT INTO audit_log (customer, total) SELECT customer, total FROM customer_totals"
        )

    bad_sql = SQLExecuteQueryOperator(task_id="bad_sql", conn_id=CONN, sql="SELEC name FROM customers")

    ctas >> via_hook()
    insert_cte >> update_from >> script >> select_star
"""


def _run(wh: Warehouse, lineage_events) -> list[dict]:
    dag_id = f"lp_sql_{wh.conn_id}"
    dag_run = run_dag(dag_source(wh, dag_id), dag_id, logical_date=LOGICAL_DATE)
    assert dag_run.state == "failed"  # only because of bad_sql
    events = lineage_events()
    for event in events:
        event["job"]["name"] = event["job"]["name"].removeprefix(f"{dag_id}.")
    if os.environ.get("LP_DUMP_EVENTS"):  # debugging aid: keep the events of the last run
        Path(os.environ["LP_DUMP_EVENTS"]).write_text(json.dumps(events, indent=1))
    return events


def _check(wh: Warehouse, events: list[dict]) -> None:
    ds = wh.ds
    types = {
        "sqlite": {"int": "integer", "name": "varchar(50)", "amount": "decimal(10,2)", "cc": "varchar(2)"},
        "postgres": {
            "int": "integer",
            "name": "character varying(50)",
            "amount": "numeric(10,2)",
            "cc": "character varying(2)",
        },
        "mysql": {"int": "int", "name": "varchar", "amount": "decimal", "cc": "varchar"},
    }[wh.kind]

    # CTAS: inputs, the created table as output with its real schema on COMPLETE, column lineage
    start, complete = by_job(events, "ctas", "START"), by_job(events, "ctas", "COMPLETE")
    for event in (start, complete):
        assert datasets(event, "inputs") == {ds("orders"), ds("customers")}
        assert datasets(event, "outputs") == {ds("customer_totals")}
        assert column_edges(event) == {
            (ds("customer_totals"), "customer", ds("customers"), "name"),
            (ds("customer_totals"), "total", ds("orders"), "amount"),
        }
    assert schema_fields(start, ds("customer_totals")) is None  # the table does not exist yet on START
    created = schema_fields(complete, ds("customer_totals"))
    assert created is not None and [name for name, _ in created] == ["customer", "total"]
    assert schema_fields(complete, ds("customers")) == [
        ("id", types["int"]),
        ("name", types["name"]),
        ("country", types["cc"]),
    ]
    assert extraction(complete)["status"] == "ok"
    assert extraction(complete)["metadataRoundTrips"] == 1
    assert extraction(start)["metadataRoundTrips"] == 0

    # INSERT..SELECT with a CTE and a join, templated with params and ds
    complete = by_job(events, "insert_cte", "COMPLETE")
    assert datasets(complete, "inputs") == {ds("orders"), ds("customers")}
    assert datasets(complete, "outputs") == {ds("big_orders")}
    assert column_edges(complete) == {
        (ds("big_orders"), "order_id", ds("orders"), "id"),
        (ds("big_orders"), "customer", ds("customers"), "name"),
        (ds("big_orders"), "amount", ds("orders"), "amount"),
    }
    query = complete["job"]["facets"]["sql"]["query"]
    assert "o.amount >= 5" in query and "o.ds = '2024-01-01'" in query

    # UPDATE..FROM (UPDATE..JOIN on MariaDB)
    complete = by_job(events, "update_from", "COMPLETE")
    assert ds("country_fixes") in datasets(complete, "inputs")
    assert datasets(complete, "outputs") == {ds("customers")}
    assert column_edges(complete) == {(ds("customers"), "country", ds("country_fixes"), "country")}

    # a script with a temp table: the temp table is collapsed, lineage flows through it
    complete = by_job(events, "script", "COMPLETE")
    assert datasets(complete, "inputs") == {ds("orders"), ds("customers")}
    assert datasets(complete, "outputs") == {ds("fr_orders")}
    assert column_edges(complete) == {
        (ds("fr_orders"), "order_id", ds("orders"), "id"),
        (ds("fr_orders"), "customer", ds("customers"), "name"),
        (ds("fr_orders"), "amount", ds("orders"), "amount"),
    }

    # SELECT * expanded from the schema read from the database
    complete = by_job(events, "select_star", "COMPLETE")
    assert datasets(complete, "inputs") == {ds("orders")}
    assert datasets(complete, "outputs") == {ds("orders_copy")}
    assert column_edges(complete) == {
        (ds("orders_copy"), column, ds("orders"), column) for column in ("id", "customer_id", "amount", "ds")
    }
    assert extraction(complete)["metadataRoundTrips"] <= 1

    # SQL run through a hook inside a @task: attributed to the task
    complete = by_job(events, "via_hook", "COMPLETE")
    assert datasets(complete, "inputs") == {ds("customer_totals")}
    assert datasets(complete, "outputs") == {ds("audit_log")}
    assert column_edges(complete) == {
        (ds("audit_log"), "customer", ds("customer_totals"), "customer"),
        (ds("audit_log"), "total", ds("customer_totals"), "total"),
    }

    # a statement that does not parse: the task fails, lineage says why and never breaks the event
    fail = by_job(events, "bad_sql", "FAIL")
    status = extraction(fail)
    assert status["status"] == "partial"
    assert any("parse" in reason for reason in status["reasons"])
    assert datasets(fail, "inputs") == {ds("customers")}  # table-level fallback
    assert fail["run"]["facets"]["extractionError"]["failedTasks"] == 1

    # START of a positional INSERT without the target's schema: no guessed column edges
    start = by_job(events, "script", "START")
    assert all(edge[1] in ("order_id", "customer", "amount") for edge in column_edges(start))

    # every SQL task event carries the status facet and a sql facet
    for event in events:
        if event["job"]["name"] in ("ctas", "insert_cte", "update_from", "script", "select_star", "bad_sql"):
            assert "sqlExtraction" in event["run"]["facets"]
            assert "sql" in event["job"]["facets"]


def test_sqlite_dag(sqlite_warehouse: Warehouse, lineage_events) -> None:
    _check(sqlite_warehouse, _run(sqlite_warehouse, lineage_events))


@pytest.mark.integration
def test_postgres_dag(postgres_warehouse: Warehouse, lineage_events) -> None:
    events = _run(postgres_warehouse, lineage_events)
    _check(postgres_warehouse, events)
    ds = postgres_warehouse.ds
    complete = by_job(events, "merge", "COMPLETE")
    assert datasets(complete, "inputs") == {ds("country_fixes")}
    assert datasets(complete, "outputs") == {ds("customers")}
    assert column_edges(complete) == {
        (ds("customers"), "country", ds("country_fixes"), "country"),
        (ds("customers"), "id", ds("country_fixes"), "customer_id"),
    }


@pytest.mark.integration
def test_mariadb_dag(mariadb_warehouse: Warehouse, lineage_events) -> None:
    _check(mariadb_warehouse, _run(mariadb_warehouse, lineage_events))


def _run_with_option(
    monkeypatch: pytest.MonkeyPatch, option: str, template: str, wh: Warehouse, prefix: str, **fields: str
) -> str:
    """Switch ``[lineage_provider] <option>`` on, run DAG ``template`` on ``wh`` once; return its dag_id."""
    from lineage_helpers import reset_lineage

    monkeypatch.setenv(f"AIRFLOW__LINEAGE_PROVIDER__{option}", "true")
    reset_lineage()
    dag_id = f"{prefix}_{wh.conn_id}"
    assert run_dag(template.format(dag_id=dag_id, conn_id=wh.conn_id, **fields), dag_id).state == "success"
    return dag_id


ASSET_DAG = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(
        task_id="ctas", conn_id={conn_id!r},
        sql="CREATE TABLE IF NOT EXISTS fr_customers AS SELECT id, name FROM customers WHERE country = 'FR'",
    )

# no hand-written outlets anywhere: the consumer is scheduled on the table's Asset URI only
with DAG({dag_id!r} + "_consumer", schedule=[Asset({uri!r})], start_date=datetime.datetime(2024, 1, 1)):
    EmptyOperator(task_id="report")
"""


def test_emit_asset_events(
    sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opt-in: the table a SQL task writes becomes an Airflow asset event through the provider's alias, and a
    DAG scheduled on that table's Asset URI (no hand-written outlets anywhere) is queued."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.sdk import Asset
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    from airflow_lineage_provider.extractors.assets import ALIAS_NAME
    from airflow_lineage_provider.naming import DatasetId, asset_uri

    uri = asset_uri(DatasetId(*sqlite_warehouse.ds("fr_customers")))
    assert uri is not None
    option, prefix = "EMIT_ASSET_EVENTS", "lp_assets"
    dag_id = _run_with_option(monkeypatch, option, ASSET_DAG, sqlite_warehouse, prefix, uri=uri)
    with create_session() as session:  # the first run registered the consumer DAG (paused, as DAGs start)
        consumer = DagModel.dag_id == f"{dag_id}_consumer"
        session.execute(update(DagModel).where(consumer).values(is_paused=False))
    _run_with_option(monkeypatch, option, ASSET_DAG, sqlite_warehouse, prefix, uri=uri)
    with create_session() as session:
        asset = session.scalars(select(AssetModel).where(AssetModel.uri == Asset(uri=uri).uri)).one()
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset.id)).all()
        assert len(events) == 2  # one per successful run
        assert {(e.source_dag_id, e.source_task_id) for e in events} == {(dag_id, "ctas")}
        assert all([alias.name for alias in e.source_aliases] == [ALIAS_NAME] for e in events)
        queued = session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.asset_id == asset.id)).all()
        assert [q.target_dag_id for q in queued] == [f"{dag_id}_consumer"]  # the consumer DAG is due
    job = f"{dag_id}.ctas"
    starts = [e for e in lineage_events() if e["job"]["name"] == job and e["eventType"] == "START"]
    assert [datasets(e, "outputs") for e in starts] == [{sqlite_warehouse.ds("fr_customers")}] * 2


HOOK_DAG = """
import datetime
from airflow.sdk import DAG, task
from airflow.providers.sqlite.hooks.sqlite import SqliteHook

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def two_queries():
        hook = SqliteHook(sqlite_conn_id={conn_id!r})
        hook.run("INSERT INTO big_orders (order_id, amount) SELECT id, amount FROM orders")
        hook.get_records("SELECT name FROM customers")

    two_queries()
"""


def test_hook_queries_as_child_jobs(
    sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hook_lineage_child_jobs: one child job per query, parent = the task run; the task keeps its lineage."""
    option = "HOOK_LINEAGE_CHILD_JOBS"
    dag_id = _run_with_option(monkeypatch, option, HOOK_DAG, sqlite_warehouse, "lp_children")
    events = lineage_events()
    ds = sqlite_warehouse.ds
    task = by_job(events, f"{dag_id}.two_queries", "COMPLETE")
    assert datasets(task, "inputs") == {ds("orders"), ds("customers")}
    assert datasets(task, "outputs") == {ds("big_orders")}
    first = by_job(events, f"{dag_id}.two_queries.query_1", "COMPLETE")
    second = by_job(events, f"{dag_id}.two_queries.query_2", "COMPLETE")
    assert datasets(first, "inputs") == {ds("orders")} and datasets(first, "outputs") == {ds("big_orders")}
    assert column_edges(first) == {
        (ds("big_orders"), "order_id", ds("orders"), "id"),
        (ds("big_orders"), "amount", ds("orders"), "amount"),
    }
    assert datasets(second, "inputs") == {ds("customers")} and not second.get("outputs")
    for child in (first, second):
        parent = child["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == task["run"]["runId"]
        assert parent["job"]["name"] == f"{dag_id}.two_queries"


OTHER_SQL_OPERATORS_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLInsertRowsOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    check = SQLColumnCheckOperator(
        task_id="check", conn_id={conn_id!r}, table="orders",
        column_mapping={{"id": {{"null_check": {{"equal_to": 0}}}}}},
    )
    insert_rows = SQLInsertRowsOperator(
        task_id="insert_rows", conn_id={conn_id!r}, table_name="audit_log", columns=["customer", "total"],
        rows=[("ann", 15.0)],
    )
    check >> insert_rows
"""


def test_other_common_sql_operators(sqlite_warehouse: Warehouse, lineage_events) -> None:
    """Keyed on the hook, not a class list: check operators read, row-insert operators write."""
    dag_id = f"lp_other_{sqlite_warehouse.conn_id}"
    source = OTHER_SQL_OPERATORS_DAG.format(dag_id=dag_id, conn_id=sqlite_warehouse.conn_id)
    assert run_dag(source, dag_id).state == "success"
    events = lineage_events()
    check = by_job(events, f"{dag_id}.check", "COMPLETE")
    assert datasets(check, "inputs") == {sqlite_warehouse.ds("orders")} and not check.get("outputs")
    assert extraction(check)["status"] == "ok"
    rows = by_job(events, f"{dag_id}.insert_rows", "COMPLETE")
    assert datasets(rows, "outputs") == {sqlite_warehouse.ds("audit_log")}


CATALOG_CASE_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(task_id="setup", conn_id={conn_id!r}, sql=[
        'CREATE TABLE people (id INTEGER, "Email" VARCHAR(50), "Full Name" VARCHAR(50))',
        'CREATE TABLE people_copy (id INTEGER, "Email" VARCHAR(50), "Full Name" VARCHAR(50))',
    ]) >> [
        SQLExecuteQueryOperator(task_id="star", conn_id={conn_id!r},
                                sql="INSERT INTO people_copy SELECT * FROM people"),
        SQLExecuteQueryOperator(task_id="written", conn_id={conn_id!r},
                                sql={written!r}),
    ]
"""


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def test_column_names_take_the_catalogs_spelling(
    kind: str, request: pytest.FixtureRequest, lineage_events
) -> None:
    """Mixed-case and spaced column names: ``SELECT *`` expands to the catalog's names, and a name the SQL
    writes in another case (SQLite compares names case-insensitively) is named as the catalog spells it, so
    column lineage fields match the schema facets' fields."""
    wh: Warehouse = request.getfixturevalue(f"{kind}_warehouse")
    written = (
        'INSERT INTO people_copy (id, "Email") SELECT id, "Email" FROM people'
        if kind == "postgres"
        else "INSERT INTO people_copy (id, email) SELECT id, EMAIL FROM people"
    )
    dag_id = f"lp_case_{wh.conn_id}"
    source = CATALOG_CASE_DAG.format(dag_id=dag_id, conn_id=wh.conn_id, written=written)
    assert run_dag(source, dag_id).state == "success"
    events = lineage_events()
    ds = wh.ds
    star = by_job(events, f"{dag_id}.star", "COMPLETE")
    assert [name for name, _ in schema_fields(star, ds("people")) or []] == ["id", "Email", "Full Name"]
    assert column_edges(star) == {
        (ds("people_copy"), c, ds("people"), c) for c in ("id", "Email", "Full Name")
    }
    assert column_edges(by_job(events, f"{dag_id}.written", "COMPLETE")) == {
        (ds("people_copy"), c, ds("people"), c) for c in ("id", "Email")
    }


SEARCH_PATH_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(
        task_id="load", conn_id={conn_id!r},
        sql="INSERT INTO audit_log (customer, total) SELECT label, 1 FROM ref_labels",
    )
"""


@pytest.mark.integration
def test_postgres_search_path_resolves_names_in_a_later_schema(
    postgres_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, lineage_events
) -> None:
    """``search_path=<warehouse>,<other>``: ``ref_labels`` exists only in the second schema, so PostgreSQL
    reads that one; the events name it there (with its schema facet and column lineage), not in the first."""
    import psycopg2

    wh = postgres_warehouse
    other = f"{wh.conn_id}_ref"
    db = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    db.autocommit = True
    try:
        with db.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {other}; CREATE TABLE {other}.ref_labels (label VARCHAR(50))")
        conn = {**wh.conn, "extra": {"options": f"-c search_path={wh.conn_id},{other}"}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{wh.conn_id.upper()}", json.dumps(conn))
        dag_id = f"lp_path_{wh.conn_id}"
        source = SEARCH_PATH_DAG.format(dag_id=dag_id, conn_id=wh.conn_id)
        assert run_dag(source, dag_id).state == "success"
        events = lineage_events()
    finally:
        with db.cursor() as cur:
            cur.execute(f"DROP SCHEMA {other} CASCADE")
        db.close()
    complete = by_job(events, f"{dag_id}.load", "COMPLETE")
    ref = (wh.namespace, f"test.{other}.ref_labels")
    assert datasets(complete, "inputs") == {ref}
    assert datasets(complete, "outputs") == {wh.ds("audit_log")}
    assert schema_fields(complete, ref) == [("label", "character varying(50)")]
    assert column_edges(complete) == {(wh.ds("audit_log"), "customer", ref, "label")}
