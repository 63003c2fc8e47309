"""The production path, end to end: a real scheduler, api-server, dag-processor and triggerer.

Every other test runs DAGs with ``dag.test()`` inside pytest. Here the DAG goes through a real deployment
(tests/deployment_helpers.py): the dag-processor parses it, the scheduler (LocalExecutor) runs every try in
a fresh task process that talks to the api-server's execution API, and the quality gate defers to the
triggerer. The DAG:

    load (SQL: raw_orders -> orders_clean) >> gate (quality gate, pause mode) >> publish
    load >> repair (waits until the gate is deferred and its process ended, then fills the null e-mails)

The gate's first measurement breaches (null e-mails), it defers; ``repair`` fixes the data while it waits;
the trigger sees the recovery, the gate resumes and succeeds and ``publish`` runs. The provider's events go
to a file transport and are checked (each validated against the OpenLineage JSON Schemas by ol_schema).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import ol_schema
import pytest
from deployment_helpers import Deployment

NAMESPACE = "deploy_test"
DAG_ID = "deploy_orders"
CONN_ID = "deploy_warehouse"
TASKS = ("load", "gate", "repair", "publish")
RUN_TIMEOUT = 150.0

DAG_SOURCE = '''
import datetime
import sqlite3
import time

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


def repair(ti, dag_run):
    """Fill the null e-mails once the gate waits on its trigger (so its first measurement breached)."""
    deadline = time.monotonic() + 90
    while not ti.get_ti_count(
        dag_id=DAG_ID, task_ids=["gate"], run_ids=[dag_run.run_id], states=["deferred"]
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("the gate never deferred")
        time.sleep(0.5)
    # Airflow's own race (3.x, LocalExecutor): if the trigger fires and the resumed try is queued before
    # the scheduler has read the end of the process that deferred (same try number, same executor key),
    # the scheduler takes that end for the resumed try's and fails it ("state changed externally"). On a
    # loaded machine that end can be read seconds late; repair only once the scheduler has read it.
    seen = (
        "Received executor event with state success for task instance "
        f"TaskInstanceKey(dag_id={DAG_ID!r}, task_id='gate'"
    )
    while True:
        with open(SCHEDULER_LOG, errors="replace") as log:
            if seen in log.read():
                break
        if time.monotonic() > deadline:
            raise RuntimeError("the scheduler never read the end of the deferring gate process")
        time.sleep(0.5)
    time.sleep(1)
    with sqlite3.connect(DB_PATH) as db:
        db.execute("UPDATE orders_clean SET email = 'unknown@example.com' WHERE email IS NULL")


def publish(lineage_run, lineage_root):
    """Keeps what the provider's macros rendered in the real task runner (compared with its events)."""
    with open(DB_PATH + ".publish", "w") as f:
        f.write(lineage_run + "\\n" + lineage_root)


with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False,
         tags=["deployment"]) as dag:
    load = SQLExecuteQueryOperator(
        task_id="load",
        conn_id=CONN_ID,
        sql="INSERT INTO orders_clean (id, email, total) SELECT id, email, amount * 2 FROM raw_orders",
    )
    gate = QualityGateOperator(
        task_id="gate", conn_id=CONN_ID, table="orders_clean", null_thresholds={"email": 0.0},
        min_rows=1, on_breach="pause", poke_interval=1, timeout=120,
    )
    fix = PythonOperator(task_id="repair", python_callable=repair)
    done = PythonOperator(
        task_id="publish",
        python_callable=publish,
        op_args=["{{ macros.lineage_provider.lineage_run_id(ti) }}",
                 "{{ macros.lineage_provider.lineage_root_parent_id(ti) }}"],
    )
    load >> [gate, fix]
    gate >> done
'''


def _warehouse(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE raw_orders (id INTEGER, email TEXT, amount REAL)")
        db.execute("CREATE TABLE orders_clean (id INTEGER, email TEXT, total REAL)")
        db.executemany(
            "INSERT INTO raw_orders VALUES (?, ?, ?)",
            [(1, "a@example.com", 10.0), (2, None, 20.0), (3, "c@example.com", 5.0), (4, None, 7.5)],
        )


def _by_job(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    jobs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        jobs.setdefault(event["job"]["name"], []).append(event)
    return jobs


def _wait_for_events(path: Path, done: Any, timeout: float) -> list[dict[str, Any]]:
    """Raw (not yet validated) events, once ``done(events)`` holds or the time is up."""
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if path.exists():
            events = []
            for line in path.read_text().splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:  # a line another process is writing right now
                    continue
            if done(events):
                break
        time.sleep(0.5)
    return events


PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def metadata_db(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The deployment's metadata DB: a SQLite file, or a new database on the PostgreSQL server, where the
    DAG-run hooks run inside the scheduler's PostgreSQL transactions (listener ``_fenced``)."""
    if request.param == "sqlite":
        yield {}
        return
    import psycopg2

    name = f"lp_meta_{secrets.token_hex(4)}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        yield {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{PG_SERVER}/{name}"}
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.mark.airflow
@pytest.mark.slow
def test_scheduler_executor_triggerer_deployment(tmp_path: Path, metadata_db: dict[str, str]) -> None:
    db_path = (tmp_path / "warehouse.db").resolve()
    _warehouse(db_path)
    # SQLite has no password (a login or password in the URI breaks SqliteHook): the connection's secret is
    # an extra, which the hook passes in the URI as a query parameter SQLite ignores
    password = f"pw-{secrets.token_hex(12)}"
    connection = {"conn_type": "sqlite", "host": str(db_path), "extra": {"token": password}}
    deployment = Deployment(
        tmp_path,
        namespace=NAMESPACE,
        extra_env={f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(connection), **metadata_db},
    )
    header = (
        f"DAG_ID = {DAG_ID!r}\nCONN_ID = {CONN_ID!r}\nDB_PATH = {str(db_path)!r}\n"
        f"SCHEDULER_LOG = {str(deployment.log_path('scheduler'))!r}\n"
    )
    (deployment.dags / f"{DAG_ID}.py").write_text(header + DAG_SOURCE)

    started = time.monotonic()
    deployment.migrate()
    try:
        deployment.start_all()
        deployment.wait_healthy(timeout=90)
        deployment.wait_dag(DAG_ID, timeout=60)
        deployment.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        run = deployment.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})
        run_id = run["dag_run_id"]
        final = deployment.wait_for(
            f"DAG run {run_id} to finish",
            lambda: _finished(deployment.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")),
            timeout=RUN_TIMEOUT,
            interval=1.0,
        )
        tis = deployment.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
        states = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
        assert final["state"] == "success", f"{final} {states}" + deployment.log_tails()
        assert states == dict.fromkeys(TASKS, "success"), states
        # the scheduler's DAG-run COMPLETE is sent by its background sender: give it a moment to land
        _wait_for_events(
            deployment.events_file,
            lambda evs: any(e["job"]["name"] == DAG_ID and e["eventType"] == "COMPLETE" for e in evs),
            timeout=30,
        )
    finally:
        deployment.stop()
    elapsed = time.monotonic() - started
    print(f"deployment run took {elapsed:.1f} s")
    assert deployment.events_file.exists(), "no event was written" + deployment.log_tails()
    raw = deployment.events_file.read_text()
    events = ol_schema.read_events(deployment.events_file)  # every event schema-validated

    # -- nothing left behind, nothing leaked, nothing broke --
    left = sorted(str(p.relative_to(deployment.spool)) for p in deployment.spool.rglob("*") if p.is_file())
    assert not left, f"events left in the spool: {left}"
    # every process read the transport and spool options: nothing went to the embedded default
    # ($AIRFLOW_HOME/lineage/events.jsonl) or to the default spool ($AIRFLOW_HOME/lineage/spool)
    default_dir = deployment.home / "lineage"
    stray = sorted(str(p) for p in default_dir.rglob("*") if p.is_file()) if default_dir.exists() else []
    assert not stray, f"events written outside the configured transport: {stray}"
    for secret in (password, deployment.jwt_secret, deployment.api_secret_key):
        assert secret not in raw, "a secret reached the events"
    tracebacks = deployment.provider_tracebacks()
    assert not tracebacks, "\n\n".join(tracebacks)
    warnings = deployment.lines_matching(r"lineage: .*(failed|no event sent)")
    assert not warnings, "\n".join(warnings)
    aborted = deployment.lines_matching(r"current transaction is aborted|InFailedSqlTransaction")
    assert not aborted, "\n".join(aborted)

    # Airflow's side of the story: the gate's try deferred, the triggerer ran the trigger, the try resumed
    gate_logs = list(deployment.logs.glob(f"dag_id={DAG_ID}/run_id=*/task_id=gate/attempt=1.log*"))
    gate_text = {p.name: p.read_text(errors="replace") for p in gate_logs}
    assert "Pausing task as DEFERRED" in gate_text.get("attempt=1.log", ""), sorted(gate_text)
    assert any(".trigger." in n and "Trigger fired event" in t for n, t in gate_text.items()), sorted(
        gate_text
    )

    _check_events(events, run, db_path)


def _finished(run: dict[str, Any]) -> dict[str, Any] | None:
    return run if run["state"] in ("success", "failed") else None


def _check_events(events: list[dict[str, Any]], run: dict[str, Any], db_path: Path) -> None:
    jobs = _by_job(events)
    seen = {name: [e["eventType"] for e in evs] for name, evs in jobs.items()}
    expected_jobs = {DAG_ID, *(f"{DAG_ID}.{t}" for t in TASKS)}
    assert set(jobs) == expected_jobs, seen
    for event in events:
        assert event["job"]["namespace"] == NAMESPACE, event["job"]

    # the DAG run: START and COMPLETE, from the scheduler
    dag_events = jobs[DAG_ID]
    assert [e["eventType"] for e in dag_events] == ["START", "COMPLETE"], seen
    dag_run_ids = {e["run"]["runId"] for e in dag_events}
    assert len(dag_run_ids) == 1, dag_run_ids
    dag_run_uuid = dag_run_ids.pop()
    from openlineage.client.uuid import generate_static_uuid

    instant = _instant(run)
    assert dag_run_uuid == str(generate_static_uuid(instant, f"{NAMESPACE}.{DAG_ID}.0".encode()))
    for event in dag_events:
        assert event["run"]["facets"]["airflow"]["dagRun"]["run_id"] == run["dag_run_id"]
    for event in events:  # schedule=None: no "schedule" key, on the scheduler's events as on the tasks'
        assert "schedule" not in event["run"]["facets"]["airflow"]["dag"], event["job"]["name"]

    # tasks: one try each, one START and one terminal event (the gate also reports RUNNING while it waits)
    for task_id in TASKS:
        task_events = jobs[f"{DAG_ID}.{task_id}"]
        kinds = Counter(e["eventType"] for e in task_events)
        assert kinds["START"] == 1, (task_id, seen)
        assert kinds["COMPLETE"] == 1 and kinds["FAIL"] == 0, (task_id, seen)
        assert task_events[0]["eventType"] == "START" and task_events[-1]["eventType"] == "COMPLETE", seen
        assert set(kinds) <= (
            {"START", "RUNNING", "COMPLETE"} if task_id == "gate" else {"START", "COMPLETE"}
        )
        run_ids = {e["run"]["runId"] for e in task_events}
        assert len(run_ids) == 1, (task_id, run_ids)  # the deferred gate too: one try, one run
        data = f"{NAMESPACE}.{DAG_ID}.{task_id}.1.-1".encode()
        assert run_ids == {str(generate_static_uuid(instant, data))}, task_id
        for event in task_events:
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == dag_run_uuid, (task_id, parent)
            assert (parent["job"]["namespace"], parent["job"]["name"]) == (NAMESPACE, DAG_ID), parent
            root = parent.get("root") or {}
            assert (root.get("run") or {}).get("runId") == dag_run_uuid, (task_id, parent)
            assert event["run"]["facets"]["airflow"]["taskInstance"]["try_number"] == 1
    # the macros rendered in the real task runner name the ids its events carry
    rendered_run_id, rendered_root = Path(f"{db_path}.publish").read_text().splitlines()
    assert rendered_run_id == jobs[f"{DAG_ID}.publish"][0]["run"]["runId"]
    assert rendered_root == f"{NAMESPACE}/{DAG_ID}/{dag_run_uuid}"
    # the order the DAG imposes (by event time: several processes write the file): the run starts first
    # and ends last, publish starts only after the gate ended
    order = [(e["eventType"], e["job"]["name"]) for e in sorted(events, key=_event_time)]
    assert order[0] == ("START", DAG_ID) and order[-1] == ("COMPLETE", DAG_ID), order
    assert order.index(("COMPLETE", f"{DAG_ID}.gate")) < order.index(("START", f"{DAG_ID}.publish")), order

    # the gate deferred and resumed: it reported the breach while waiting (RUNNING), then recovery
    gate = jobs[f"{DAG_ID}.gate"]
    assert [e["eventType"] for e in gate] == ["START", "RUNNING", "COMPLETE"], seen
    namespace = f"sqlite://{db_path}"
    running, gate_complete = gate[1], gate[2]
    assert _assertions(running, namespace) == {"email_max_null_rate": False, "min_rows": True}
    assert _assertions(gate_complete, namespace) == {"email_max_null_rate": True, "min_rows": True}
    metrics = _input(gate_complete, namespace, "orders_clean")["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 4 and metrics["columnMetrics"]["email"]["nullCount"] == 0, metrics

    # the SQL task: inputs, outputs and column lineage
    load_complete = jobs[f"{DAG_ID}.load"][-1]
    assert {(d["namespace"], d["name"]) for d in load_complete["inputs"]} == {(namespace, "raw_orders")}
    assert {(d["namespace"], d["name"]) for d in load_complete["outputs"]} == {(namespace, "orders_clean")}
    lineage = load_complete["outputs"][0]["facets"]["columnLineage"]["fields"]
    edges = {
        (column, (f["namespace"], f["name"], f["field"]))
        for column, spec in lineage.items()
        for f in spec["inputFields"]
    }
    assert edges == {
        ("id", (namespace, "raw_orders", "id")),
        ("email", (namespace, "raw_orders", "email")),
        ("total", (namespace, "raw_orders", "amount")),
    }, edges


def _parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _instant(run: dict[str, Any]) -> datetime:
    """What the run ids derive from: the logical date, or ``run_after`` for a run without one."""
    return _parse_time(run.get("logical_date") or run["run_after"])


def _event_time(event: dict[str, Any]) -> datetime:
    return _parse_time(event["eventTime"])


def _input(event: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    found = [d for d in event.get("inputs") or [] if (d["namespace"], d["name"]) == (namespace, name)]
    assert len(found) == 1, (event["eventType"], event.get("inputs"))
    return found[0]


def _assertions(event: dict[str, Any], namespace: str) -> dict[str, bool]:
    facets = _input(event, namespace, "orders_clean")["inputFacets"]
    assert "dataQualityMetrics" in facets and "dataQualityAssertions" in facets, facets.keys()
    return {a["name"]: a["success"] for a in facets["dataQualityAssertions"]["assertions"]}
