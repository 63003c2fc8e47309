"""Hook lineage as DAG authors use it: SQL run through DbApiHooks inside @task functions (several connections
in one task, query parameters of each driver's style, scripts and lists of statements, declared outlets next
to the hooks' lineage), files read and written through ObjectStoragePath, and a task after them in the same
process (``dag.test()``) that must not inherit anything."""

from __future__ import annotations

import pytest
from lineage_helpers import run_dag

from .conftest import Warehouse
from .events import by_job, datasets, extraction

pytestmark = pytest.mark.airflow


HOOKS_DAG = """
import datetime
from airflow.sdk import DAG, Asset, task
from airflow.providers.sqlite.hooks.sqlite import SqliteHook
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.providers.mysql.hooks.mysql import MySqlHook

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def two_connections():
        SqliteHook(sqlite_conn_id={sqlite!r}).run(
            "INSERT INTO audit_log (customer, total) SELECT name, 1 FROM customers WHERE id = ?",
            parameters=(1,),
        )
        PostgresHook(postgres_conn_id={postgres!r}).run(
            [
                "INSERT INTO big_orders (order_id, amount) "
                "SELECT id, amount FROM orders WHERE amount > %(a)s",
                "SELECT name FROM customers WHERE id = %(cid)s",
            ],
            parameters={{"cid": 1, "a": 1}},
        )

    @task
    def script_with_parameters():
        hook = PostgresHook(postgres_conn_id={postgres!r})
        hook.run(
            "INSERT INTO fr_orders (order_id, amount) SELECT id, amount FROM orders WHERE ds = %(ds)s; "
            "DELETE FROM country_fixes WHERE customer_id = %(c)s",
            parameters={{"ds": "2024-01-01", "c": 2}},
            split_statements=True,
        )
        hook.get_records("SELECT id FROM orders_copy WHERE id = %s", parameters=(1,))

    @task
    def mariadb():
        hook = MySqlHook(mysql_conn_id={mariadb!r})
        hook.run(
            "INSERT INTO big_orders (order_id, amount) SELECT id, amount FROM orders WHERE amount > %s",
            parameters=(1,),
        )
        hook.get_first("SELECT count(*) FROM customers")

    @task
    def no_sql():
        return 1

    @task(outlets=[Asset("s3://exports/orders.csv")])
    def hook_and_outlet():
        SqliteHook(sqlite_conn_id={sqlite!r}).get_records("SELECT * FROM orders")

    two_connections() >> script_with_parameters() >> mariadb() >> no_sql() >> hook_and_outlet()
"""


@pytest.fixture
def hook_events(
    sqlite_warehouse: Warehouse, postgres_warehouse: Warehouse, mariadb_warehouse: Warehouse, lineage_events
) -> dict[str, dict]:
    dag_id = "lp_hook_review"
    source = HOOKS_DAG.format(
        dag_id=dag_id,
        sqlite=sqlite_warehouse.conn_id,
        postgres=postgres_warehouse.conn_id,
        mariadb=mariadb_warehouse.conn_id,
    )
    assert run_dag(source, dag_id).state == "success"
    events = lineage_events()
    tasks = ("two_connections", "script_with_parameters", "mariadb", "no_sql", "hook_and_outlet")
    found = {task: by_job(events, f"{dag_id}.{task}", "COMPLETE") for task in tasks}
    found.update({f"{task}:START": by_job(events, f"{dag_id}.{task}", "START") for task in tasks})
    return found


@pytest.mark.integration
def test_hook_lineage_of_real_tasks(
    hook_events: dict[str, dict],
    sqlite_warehouse: Warehouse,
    postgres_warehouse: Warehouse,
    mariadb_warehouse: Warehouse,
) -> None:
    sq, pg, my = sqlite_warehouse.ds, postgres_warehouse.ds, mariadb_warehouse.ds
    two = hook_events["two_connections"]
    assert datasets(two, "inputs") == {sq("customers"), pg("orders"), pg("customers")}
    assert datasets(two, "outputs") == {sq("audit_log"), pg("big_orders")}
    assert extraction(two)["status"] == "ok" and extraction(two)["statements"] == 3
    script = hook_events["script_with_parameters"]
    assert datasets(script, "inputs") == {pg("orders"), pg("orders_copy")}
    assert datasets(script, "outputs") == {pg("fr_orders"), pg("country_fixes")}
    maria = hook_events["mariadb"]
    assert datasets(maria, "inputs") == {my("orders"), my("customers")}
    assert datasets(maria, "outputs") == {my("big_orders")}
    # a task after them in the same process inherits nothing
    assert not hook_events["no_sql"].get("inputs") and not hook_events["no_sql"].get("outputs")
    assert "sqlExtraction" not in hook_events["no_sql"]["run"]["facets"]
    # the hook's lineage and the declared outlet, on the terminal event; only the outlet at START
    both = hook_events["hook_and_outlet"]
    assert datasets(both, "inputs") == {sq("orders")}
    assert datasets(both, "outputs") == {("s3://exports", "orders.csv")}
    assert datasets(hook_events["hook_and_outlet:START"], "outputs") == {("s3://exports", "orders.csv")}
    assert not hook_events["hook_and_outlet:START"].get("inputs")


@pytest.mark.integration
def test_sql_facet_of_two_dialects_claims_neither(hook_events: dict[str, dict]) -> None:
    """The SQL job facet of a task that ran SQLite and PostgreSQL statements holds both scripts; it used to
    say ``dialect: sqlite`` for all of them."""
    sql = hook_events["two_connections"]["job"]["facets"]["sql"]
    assert "INSERT INTO audit_log" in sql["query"] and "INSERT INTO big_orders" in sql["query"]
    assert sql.get("dialect") is None
    assert hook_events["script_with_parameters"]["job"]["facets"]["sql"]["dialect"] == "postgres"


FILES_DAG = """
import datetime
from airflow.sdk import DAG, ObjectStoragePath, task

with DAG("lp_hook_review_files", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def copy_file():
        source = ObjectStoragePath("file://{tmp}/in dir/orders é.csv")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("id,amount")
        target = ObjectStoragePath("file://{tmp}/out/orders.csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.copy(target)

    @task
    def after():
        return 1

    copy_file() >> after()
"""


def test_files_written_through_object_storage_paths(lineage_events, tmp_path) -> None:
    """ObjectStoragePath reports the files it reads and writes to the hook-lineage collector: they are the
    task's datasets (names with spaces and accents as they are), and the next task gets none of them."""
    assert run_dag(FILES_DAG.format(tmp=tmp_path), "lp_hook_review_files").state == "success"
    events = lineage_events()
    complete = by_job(events, "lp_hook_review_files.copy_file", "COMPLETE")
    assert datasets(complete, "inputs") == {("file", f"{tmp_path}/in dir/orders é.csv")}
    assert datasets(complete, "outputs") == {("file", f"{tmp_path}/out/orders.csv")}
    after = by_job(events, "lp_hook_review_files.after", "COMPLETE")
    assert not after.get("inputs") and not after.get("outputs")
