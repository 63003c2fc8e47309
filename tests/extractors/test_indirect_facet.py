"""The columnLineage facet's ``dataset`` list: the columns that filter, join, group or sort what a SQL task
writes (INDIRECT lineage), on real dag.test() runs against SQLite and PostgreSQL, with the same dataset
naming and the catalog's column spelling as the direct edges."""

from __future__ import annotations

from typing import Any

import pytest
from lineage_helpers import run_dag

from .conftest import Warehouse
from .events import by_job

pytestmark = pytest.mark.airflow

SQL = """
INSERT INTO big_orders (order_id, customer, amount)
SELECT o.id, c.name, o.amount
FROM orders AS o JOIN customers AS c ON c.id = o.customer_id
WHERE o.amount > 6 AND c.country IN (SELECT country FROM country_fixes)
ORDER BY o.ds
"""


def _dag(wh: Warehouse, dag_id: str) -> str:
    return f"""
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(task_id="load", conn_id={wh.conn_id!r}, sql={SQL!r})
"""


def _indirect(event: dict[str, Any], wh: Warehouse) -> set[tuple[str, str, str]]:
    (out,) = event["outputs"]
    assert (out["namespace"], out["name"]) == wh.ds("big_orders")
    found = set()
    for field in out["facets"]["columnLineage"]["dataset"]:
        assert field["namespace"] == wh.namespace
        for t in field["transformations"]:
            assert t["type"] == "INDIRECT"
            found.add((field["name"].removeprefix(wh.prefix), field["field"], t["subtype"]))
    return found


EXPECTED = {
    ("orders", "customer_id", "JOIN"),
    ("customers", "id", "JOIN"),
    ("orders", "amount", "FILTER"),
    ("customers", "country", "FILTER"),
    ("country_fixes", "country", "FILTER"),
    ("orders", "ds", "SORT"),
}


def _check(wh: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch, dag_id: str) -> None:
    monkeypatch.setenv(*wh.env)
    assert run_dag(_dag(wh, dag_id), dag_id).state == "success"
    complete = by_job(lineage_events(), f"{dag_id}.load", "COMPLETE")
    assert _indirect(complete, wh) == EXPECTED
    fields = complete["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert {c: {f["field"] for f in spec["inputFields"]} for c, spec in fields.items()} == {
        "order_id": {"id"},
        "customer": {"name"},
        "amount": {"amount"},
    }


def test_sqlite(sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(sqlite_warehouse, lineage_events, monkeypatch, "lp_indirect_sqlite")


@pytest.mark.integration
def test_postgres(postgres_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(postgres_warehouse, lineage_events, monkeypatch, "lp_indirect_pg")


DELETE_SQL = (
    'DELETE FROM orders WHERE amount < 0 OR "AMOUNT" IS NULL OR customer_id NOT IN (SELECT id FROM customers)'
)


def test_a_table_with_only_row_deciding_columns_gets_one_entry_per_column(
    sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DELETE ... WHERE``: no column is written, yet the facet names what chose the deleted rows, once per
    column and subtype even when the SQL spells a column twice (``amount`` / ``"AMOUNT"``)."""
    wh, dag_id = sqlite_warehouse, "lp_indirect_delete"
    monkeypatch.setenv(*wh.env)
    dag = f"""
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(task_id="load", conn_id={wh.conn_id!r}, sql={DELETE_SQL!r})
"""
    assert run_dag(dag, dag_id).state == "success"
    complete = by_job(lineage_events(), f"{dag_id}.load", "COMPLETE")
    (out,) = complete["outputs"]
    assert (out["namespace"], out["name"]) == wh.ds("orders")
    facet = out["facets"]["columnLineage"]
    assert facet["fields"] == {}
    entries = [
        (f["name"], f["field"], [(t["type"], t["subtype"]) for t in f["transformations"]])
        for f in facet["dataset"]
    ]
    assert sorted(entries) == [
        ("customers", "id", [("INDIRECT", "FILTER")]),
        ("orders", "amount", [("INDIRECT", "FILTER")]),
        ("orders", "customer_id", [("INDIRECT", "FILTER")]),
    ]
