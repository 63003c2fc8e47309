"""MySQL/MariaDB table names are case-sensitive on Linux servers: ``Orders`` and ``orders`` are two tables.
Datasets keep the case the SQL wrote, with the schema found in the catalog, and the quality gate names the
table it measures exactly as the SQL extractor does, so a lineage backend joins the two."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from lineage_helpers import run_dag

from .conftest import MARIADB
from .events import by_job, schema_fields

pytestmark = [pytest.mark.airflow, pytest.mark.integration]


@pytest.fixture
def mixed_case_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import json

    import MySQLdb

    name = f"lp_Case_{uuid.uuid4().hex[:8]}"
    db = MySQLdb.connect(host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"])
    db.autocommit(True)
    cur = db.cursor()
    cur.execute(f"CREATE DATABASE `{name}`")
    cur.execute(f"CREATE TABLE `{name}`.`Orders` (id INT, Amount DECIMAL(10,2))")
    cur.execute(f"CREATE TABLE `{name}`.`orders` (id INT, other TEXT)")  # a different table on Linux
    cur.execute(f"CREATE TABLE `{name}`.`Orders_Copy` (id INT, Amount DECIMAL(10,2))")
    cur.execute(f"INSERT INTO `{name}`.`Orders` VALUES (1, 5.00), (2, NULL)")
    conn = {
        "conn_type": "mysql",
        "host": MARIADB["host"],
        "port": MARIADB["port"],
        "login": "root",
        "schema": name,
    }
    monkeypatch.setenv("AIRFLOW_CONN_LP_MYSQL_CASE", json.dumps(conn))
    try:
        yield name
    finally:
        cur.execute(f"DROP DATABASE `{name}`")
        db.close()


def test_mixed_case_tables_keep_their_case_and_the_gate_names_them_alike(mixed_case_db: str, lineage_events):
    cur = None
    import MySQLdb

    probe = MySQLdb.connect(host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"])
    cur = probe.cursor()
    cur.execute("SELECT @@lower_case_table_names")
    (lower_case,) = cur.fetchone()
    probe.close()
    if lower_case:  # the server folds names (Windows/macOS setting): then they are one table
        pytest.fail(
            f"this test needs lower_case_table_names=0 (the Linux default), the server has {lower_case}"
        )

    dag_id = "lp_mysql_table_case"
    source = f"""
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    load = SQLExecuteQueryOperator(task_id="load", conn_id="lp_mysql_case",
                                   sql="INSERT INTO Orders_Copy SELECT id, Amount FROM Orders")
    gate = QualityGateOperator(task_id="gate", conn_id="lp_mysql_case", table="Orders_Copy",
                               null_thresholds={{"Amount": 0.6}}, on_breach="fail")
    load >> gate
"""
    assert run_dag(source, dag_id).state == "success"
    events = lineage_events()
    load = by_job(events, f"{dag_id}.load", "COMPLETE")
    namespace = "mysql://127.0.0.1:3306"
    assert [(d["namespace"], d["name"]) for d in load["inputs"]] == [(namespace, f"{mixed_case_db}.Orders")]
    assert [(d["namespace"], d["name"]) for d in load["outputs"]] == [
        (namespace, f"{mixed_case_db}.Orders_Copy")
    ]
    assert schema_fields(load, (namespace, f"{mixed_case_db}.Orders")) == [
        ("id", "int"),
        ("Amount", "decimal"),
    ]
    gate = by_job(events, f"{dag_id}.gate", "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in gate["inputs"]] == [
        (namespace, f"{mixed_case_db}.Orders_Copy")
    ]
