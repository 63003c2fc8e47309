"""Every example DAG in dags/examples/ runs with dag.test() and produces the lineage its docs promise.

On the embedded default (SQLite data, no ``AIRFLOW_CONN_ORDERS_DB``) and, by setting that one connection,
on the PostgreSQL server at 127.0.0.1:5432 (a private database per test). Events are captured through a
real file transport and schema-validated by the ``lineage_events`` fixture. One test runs the
``airflow dags test`` command itself.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ol_schema
import pytest
from lineage_helpers import dags_folder, load_dag, task_events

from airflow_lineage_provider import graph

EXAMPLES = Path(__file__).resolve().parents[2] / "dags" / "examples"
FILES = {
    "orders_pipeline": "orders_pipeline.py",
    "orders_export": "orders_export_manual_lineage.py",
    "revenue_by_country": "revenue_by_country.py",
    "customer_stats": "customer_stats_hook.py",
}
CONN_ENV = "AIRFLOW_CONN_ORDERS_DB"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

Events = list[dict[str, Any]]


class Examples:
    """Runs example DAGs from the dags folder of the test AIRFLOW_HOME, with their shared module."""

    def __init__(self, data_dir: Path, read: Callable[..., Events]) -> None:
        self.data_dir = data_dir
        self.read = read

    def run(self, dag_id: str) -> Any:
        folder = dags_folder()
        shutil.copy(EXAMPLES / "orders_common.py", folder / "orders_common.py")
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        sys.modules.pop("orders_common", None)  # re-read the connection and data dir of this test
        dag_run = load_dag((EXAMPLES / FILES[dag_id]).read_text(), dag_id).test()
        states = {ti.task_id: _state(ti.state) for ti in dag_run.get_task_instances()}
        assert _state(dag_run.state) == "success", states
        assert set(states.values()) == {"success"}, states
        return dag_run


def _state(state: object) -> str:
    return str(getattr(state, "value", state))


@pytest.fixture
def examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lineage_events: Callable[..., Events]
) -> Iterator[Examples]:
    monkeypatch.setenv("ORDERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(CONN_ENV, raising=False)
    try:
        yield Examples((tmp_path / "data").resolve(), lineage_events)
    finally:
        os.environ.pop(CONN_ENV, None)  # orders_common sets the SQLite default itself
        sys.modules.pop("orders_common", None)


@pytest.fixture
def postgres_orders(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private PostgreSQL database; AIRFLOW_CONN_ORDERS_DB points at it. Yields its name."""
    import psycopg2

    name = f"alp_examples_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(dbname="test", **PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    monkeypatch.setenv(CONN_ENV, f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def _completes(events: Events, job: str) -> dict[str, Any]:
    mine = task_events(events, job)
    assert [e["eventType"] for e in mine] == ["START", "COMPLETE"], [e["eventType"] for e in mine]
    return mine[-1]


def _names(datasets: list[dict[str, Any]]) -> list[str]:
    return sorted(d["name"].rsplit(".", 1)[-1] for d in datasets)


def _column_inputs(dataset: dict[str, Any], column: str) -> set[tuple[str, str]]:
    fields = dataset["facets"]["columnLineage"]["fields"]
    return {(f["name"].rsplit(".", 1)[-1], f["field"]) for f in fields[column]["inputFields"]}


def check_orders_pipeline(events: Events, namespace: str) -> None:
    """The pipeline's lineage: loads, the transform's tables and columns, the gate's verdict, publish."""
    for table in ("customers", "orders", "order_items"):
        load = _completes(events, f"orders_pipeline.load_{table}")
        assert _names(load["outputs"]) == [f"raw_{table}"]
        assert load["outputs"][0]["namespace"] == namespace
    transform = _completes(events, "orders_pipeline.transform_orders")
    assert _names(transform["inputs"]) == ["raw_customers", "raw_order_items", "raw_orders"]
    (enriched,) = transform["outputs"]
    assert enriched["name"].endswith("orders_enriched") and enriched["namespace"] == namespace
    assert _column_inputs(enriched, "country") == {("raw_customers", "country")}
    assert _column_inputs(enriched, "amount") == {
        ("raw_order_items", "quantity"),
        ("raw_order_items", "unit_price"),
    }
    assert _column_inputs(enriched, "order_day") == {("raw_orders", "ordered_at")}

    gate = _completes(events, "orders_pipeline.gate_orders_enriched")
    (measured,) = gate["inputs"]
    assert measured["name"] == enriched["name"] and measured["namespace"] == namespace
    assert measured["inputFacets"]["dataQualityMetrics"]["rowCount"] == 11
    verdicts = {
        a.get("column"): (a["success"], a.get("severity"))
        for a in measured["inputFacets"]["dataQualityAssertions"]["assertions"]
    }
    assert verdicts["country"] == (True, "error")  # 2 of 11 orders without a country <= 25%
    assert verdicts["coupon_code"] == (False, "warn")  # 8 of 11 > 50%: alert only

    publish = _completes(events, "orders_pipeline.publish_daily_revenue")
    assert _names(publish["inputs"]) == ["orders_enriched"]
    # the declared asset outlet and the table found in the SQL are one dataset, not two
    assert [(d["namespace"], d["name"].rsplit(".", 1)[-1]) for d in publish["outputs"]] == [
        (namespace, "daily_revenue")
    ]
    dag_events = task_events(events, "orders_pipeline")
    assert [e["eventType"] for e in dag_events] == ["START", "COMPLETE"]

    picture = graph.build_graph(events)
    verdicts = {ds.key[2].rsplit(".", 1)[-1]: ds.verdict for ds in picture.gated()}
    assert verdicts["orders_enriched"] == "warn"  # the gate; country_revenue's check passes (downstream DAG)
    assert len(picture.column_edges) >= 10


def check_downstream(events: Events, namespace: str, data_dir: Path) -> None:
    export = _completes(events, "orders_export.export_daily_revenue")
    assert [(d["namespace"], d["name"].rsplit(".", 1)[-1]) for d in export["inputs"]] == [
        (namespace, "daily_revenue")
    ]
    csv_path = data_dir / "exports" / "daily_revenue.csv"
    assert [(d["namespace"], d["name"]) for d in export["outputs"]] == [("file", str(csv_path))]
    rows = list(csv.reader(csv_path.open()))
    assert rows[0] == ["order_day", "country", "orders", "revenue"] and len(rows) > 3

    country = _completes(events, "revenue_by_country.refresh_country_revenue")
    assert _names(country["inputs"]) == ["daily_revenue"]
    (country_revenue,) = country["outputs"]
    assert country_revenue["name"].endswith("country_revenue") and country_revenue["namespace"] == namespace
    assert _column_inputs(country_revenue, "revenue") == {("daily_revenue", "revenue")}
    check = _completes(events, "revenue_by_country.check_country_revenue")
    (checked,) = check["inputs"]
    assert (checked["namespace"], checked["name"]) == (country_revenue["namespace"], country_revenue["name"])
    assertions = checked["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {(a["name"], a["success"]) for a in assertions} == {
        ("country.null_check", True),
        ("revenue.null_check", True),
        ("revenue.min", True),
    }
    metrics = checked["inputFacets"]["dataQualityMetrics"]["columnMetrics"]
    assert metrics["country"]["nullCount"] == metrics["revenue"]["nullCount"] == 0

    stats = _completes(events, "customer_stats.refresh_customer_stats")
    # hook lineage: the CREATE TABLE ... AS SELECT and the COUNT(*) read back from the new table
    assert _names(stats["inputs"]) == ["customer_stats", "orders_enriched", "raw_customers"]
    assert _names(stats["outputs"]) == ["customer_stats"]


def _run_all(examples: Examples) -> Events:
    for dag_id in FILES:
        examples.run(dag_id)
    return examples.read()


@pytest.mark.airflow
@pytest.mark.slow
def test_examples_on_the_embedded_default(examples: Examples) -> None:
    events = _run_all(examples)
    namespace = f"sqlite://{examples.data_dir / 'orders.db'}"
    check_orders_pipeline(events, namespace)
    check_downstream(events, namespace, examples.data_dir)


@pytest.mark.airflow
@pytest.mark.integration
@pytest.mark.slow
def test_examples_on_postgres_with_one_connection(examples: Examples, postgres_orders: str) -> None:
    events = _run_all(examples)
    namespace = "postgres://127.0.0.1:5432"
    check_orders_pipeline(events, namespace)
    check_downstream(events, namespace, examples.data_dir)
    enriched = _completes(events, "orders_pipeline.transform_orders")["outputs"][0]
    assert enriched["name"] == f"{postgres_orders}.public.orders_enriched"


@pytest.mark.airflow
@pytest.mark.slow
def test_airflow_dags_test_command(tmp_path: Path) -> None:
    """``airflow dags test orders_pipeline`` with the examples as the DAGs folder, as the README says."""
    events_file = tmp_path / "events.jsonl"
    env = {k: v for k, v in os.environ.items() if k != CONN_ENV}
    env.update(
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLES),
        ORDERS_DATA_DIR=str(tmp_path / "data"),
        AIRFLOW__LINEAGE_PROVIDER__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
    )
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "orders_pipeline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    events = ol_schema.read_events(events_file)
    check_orders_pipeline(events, f"sqlite://{(tmp_path / 'data' / 'orders.db').resolve()}")
