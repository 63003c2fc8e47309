"""common.sql check operators run as real DAGs: their results become data-quality facets on the checked table.

Every captured event is validated against the OpenLineage JSON Schemas by the ``lineage_events`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest
from lineage_helpers import run_dag

from airflow_lineage_provider.extractors import checks

from .conftest import Warehouse
from .events import by_job, datasets

pytestmark = pytest.mark.airflow

CHECKS_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import (
    SQLCheckOperator, SQLColumnCheckOperator, SQLTableCheckOperator, SQLValueCheckOperator,
)

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLColumnCheckOperator(
        task_id="columns", conn_id={conn_id!r}, table="customers",
        column_mapping={{
            "name": {{"null_check": {{"equal_to": 0}}, "distinct_check": {{"geq_to": 2}}}},
            "id": {{"min": {{"geq_to": 1}}, "max": {{"leq_to": 100}}}},
        }},
    )
    SQLColumnCheckOperator(
        task_id="columns_fail", conn_id={conn_id!r}, table="orders", retries=0,
        column_mapping={{"amount": {{"max": {{"less_than": 15}}}}}},
    )
    SQLTableCheckOperator(
        task_id="table", conn_id={conn_id!r}, table="orders",
        checks={{"row_count": {{"check_statement": "COUNT(*) = 3"}},
                "positive": {{"check_statement": "amount > 0", "partition_clause": "ds = '2024-01-01'"}}}},
    )
    SQLCheckOperator(
        task_id="custom", conn_id={conn_id!r},
        sql="SELECT COUNT(*) > 0 FROM orders WHERE ds = {ds_param}", parameters={{"ds": "2024-01-01"}},
    )
    SQLValueCheckOperator(
        task_id="joined", conn_id={conn_id!r}, pass_value=2,
        sql="SELECT COUNT(*) FROM orders AS o JOIN customers AS c ON c.id = o.customer_id WHERE o.amount > 6",
    )
"""


def _assertions(event: dict[str, Any], dataset: tuple[str, str]) -> dict[str, dict[str, Any]]:
    for d in event.get("inputs") or []:
        if (d["namespace"], d["name"]) == dataset:
            facet = (d.get("inputFacets") or {}).get("dataQualityAssertions") or {"assertions": []}
            return {a["name"]: a for a in facet["assertions"]}
    raise AssertionError(f"{dataset} is not an input of the event")


def _metrics(event: dict[str, Any], dataset: tuple[str, str]) -> dict[str, Any] | None:
    for d in event.get("inputs") or []:
        if (d["namespace"], d["name"]) == dataset:
            return ((d.get("inputFacets") or {}).get("dataQualityMetrics") or {}).get("columnMetrics")
    raise AssertionError(f"{dataset} is not an input of the event")


def _tests(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in event["run"]["facets"]["test"]["tests"]}


def _run_checks(wh: Warehouse, lineage_events) -> list[dict[str, Any]]:
    dag_id = f"lp_checks_{wh.conn_id}"
    ds_param = {"sqlite": ":ds", "postgres": "%(ds)s", "mysql": "%(ds)s"}[wh.kind]  # drivers' named styles
    dag_run = run_dag(CHECKS_DAG.format(dag_id=dag_id, conn_id=wh.conn_id, ds_param=ds_param), dag_id)
    assert dag_run.state == "failed"  # columns_fail only
    events = lineage_events()
    for event in events:
        event["job"]["name"] = event["job"]["name"].removeprefix(f"{dag_id}.")
    return events


def _check_events(wh: Warehouse, events: list[dict[str, Any]]) -> None:
    customers, orders = wh.ds("customers"), wh.ds("orders")

    start = by_job(events, "columns", "START")  # nothing measured yet
    assert "test" not in start["run"]["facets"]
    assert all("dataQualityAssertions" not in (d.get("inputFacets") or {}) for d in start.get("inputs") or [])

    columns = by_job(events, "columns", "COMPLETE")
    assert datasets(columns, "inputs") == {customers} and not columns.get("outputs")
    found = _assertions(columns, customers)
    assert {n: (a["assertion"], a["column"], a["success"], a["actual"]) for n, a in found.items()} == {
        "name.null_check": ("not_null", "name", True, "0"),  # common.sql's (dbt-style) types
        "name.distinct_check": ("accepted_range", "name", True, "2"),
        "id.min": ("accepted_range", "id", True, "1"),
        "id.max": ("accepted_range", "id", True, "2"),
    }
    assert (
        found["name.null_check"]["severity"] == "error" and found["name.null_check"]["contentType"] == "sql"
    )
    assert _metrics(columns, customers) == {
        "name": {"nullCount": 0, "distinctCount": 2},
        "id": {"min": 1, "max": 2},
    }
    assert set(_tests(columns)) == set(found)
    assert _tests(columns)["id.max"]["params"]["table"] == "customers"

    failed = by_job(events, "columns_fail", "FAIL")  # the failed check is in the FAIL event
    amount_max = _assertions(failed, orders)["amount.max"]
    assert amount_max["success"] is False and float(amount_max["actual"]) == 20.0
    assert _tests(failed)["amount.max"]["status"] == "fail"

    table = by_job(events, "table", "COMPLETE")
    found = _assertions(table, orders)
    assert {n: (a["assertion"], a.get("column"), a["success"]) for n, a in found.items()} == {
        "row_count": ("expression_is_true", None, True),
        "positive": ("expression_is_true", None, True),
    }
    assert found["positive"]["params"]["check_partition_clause"] == "ds = '2024-01-01'"
    assert _metrics(table, orders) is None  # boolean checks measure nothing

    custom = by_job(events, "custom", "COMPLETE")  # one table read: the check is on it
    assertion = _assertions(custom, orders)["custom"]
    assert assertion["success"] is True and "column" not in assertion
    assert assertion["params"] == {"parameterNames": ["ds"]}  # names, never values

    joined = by_job(events, "joined", "COMPLETE")  # two tables read: run-level test facet only
    assert datasets(joined, "inputs") == {orders, customers}
    assert all("dataQualityAssertions" not in (d.get("inputFacets") or {}) for d in joined["inputs"])
    assert _tests(joined)["joined"]["status"] == "pass" and _tests(joined)["joined"]["expected"] == "2"


def test_sqlite_check_operators(sqlite_warehouse: Warehouse, lineage_events) -> None:
    _check_events(sqlite_warehouse, _run_checks(sqlite_warehouse, lineage_events))


@pytest.mark.integration
def test_postgres_check_operators(postgres_warehouse: Warehouse, lineage_events) -> None:
    _check_events(postgres_warehouse, _run_checks(postgres_warehouse, lineage_events))


@pytest.mark.integration
def test_mariadb_check_operators(mariadb_warehouse: Warehouse, lineage_events) -> None:
    _check_events(mariadb_warehouse, _run_checks(mariadb_warehouse, lineage_events))


class _OldColumnCheck:
    """What an older common.sql left behind: results only in ``column_mapping``."""

    task_id = "old"
    table = "customers"
    column_mapping = {
        "name": {"null_check": {"equal_to": 0, "result": 1, "success": False}},
        "id": {"min": {"geq_to": 1, "partition_clause": "id > 0", "result": 1, "success": True}},
    }


def test_results_of_older_common_sql_releases_are_read_from_the_column_mapping() -> None:
    found = {o.name: o for o in checks.outcomes(_OldColumnCheck())}
    assert found["name.null_check"].success is False and found["name.null_check"].actual == "1"
    assert found["name.null_check"].expected == "0" and found["name.null_check"].table == "customers"
    assert found["name.null_check"].column_check == "null_check"
    assert found["name.null_check"].check_type == "not_null"
    assert found["id.min"].column_check is None  # its own partition: no metric for the table


def test_nothing_before_the_operator_ran_and_nothing_for_other_operators() -> None:
    class _Other:
        task_id = "x"
        check_results: list[Any] = []

    assert checks.outcomes(_Other()) == []
    assert checks.outcomes(object()) == []


def test_check_sql_and_partition_clauses_are_redacted_like_the_sql_facet() -> None:
    from openlineage.client.event_v2 import InputDataset

    from airflow_lineage_provider.extractors.base import OperatorLineage
    from airflow_lineage_provider.naming import DatasetId
    from airflow_lineage_provider.sql.redact import redact_sql

    outcome = checks.CheckOutcome(
        name="positive",
        check_type="expression_is_true",
        success=True,
        table="orders",
        content="MIN(CASE WHEN amount > 0 THEN 1 ELSE 0 END)",
        params={"check_partition_clause": "customer_email = 'ann@example.com'", "accept_none": True},
    )
    lineage = OperatorLineage(inputs=[InputDataset(namespace="sqlite://w", name="orders")])
    checks.attach(
        lineage,
        [outcome],
        lambda table: DatasetId("sqlite://w", table),
        redact=lambda text: redact_sql(text, mask_literals=True),
        producer="p",
    )
    facet = lineage.inputs[0].inputFacets["dataQualityAssertions"]
    (assertion,) = facet.assertions
    assert "ann@example.com" not in str(assertion.params) and "0 THEN 1" not in (assertion.content or "")
    assert assertion.params["accept_none"] is True
    (test,) = lineage.run_facets["test"].tests
    assert "ann@example.com" not in str(test.params) and test.params["table"] == "orders"


def test_metrics_are_json_numbers_only() -> None:
    from decimal import Decimal

    def outcome(check: str, raw: Any) -> checks.CheckOutcome:
        return checks.CheckOutcome(
            name=f"x.{check}", check_type=check, success=True, column="x", column_check=check, raw_result=raw
        )

    found = [
        outcome("min", float("nan")),
        outcome("max", Decimal("Infinity")),
        outcome("null_check", Decimal("3")),
        outcome("distinct_check", "7"),  # text: not a measured count
    ]
    assert checks._column_metrics(found) == {"x": {"nullCount": 3}}
