"""A paused quality gate survives the triggerer dying: a real deployment, the triggerer SIGKILLed mid-pause.

Every deployment (and every crash) ends the triggerer process while gates wait in it. The trigger then
lives only as its serialized row in the metadata DB, assigned to a triggerer that no longer heartbeats;
the next triggerer takes it over once the old one is considered dead
(``[triggerer] triggerer_health_check_threshold``, 5 s here) and rebuilds it from ``serialize()``.

The DAG (tests/deployment_helpers.py runs api-server, scheduler, dag-processor and triggerer):

    gate (quality gate, pause mode, retries=2, a notifier writing its alerts to a file) >> publish

- restart while breached, repair while no triggerer runs: the new triggerer sees the repair, the gate
  succeeds in its first try with one OpenLineage run (START, RUNNING, COMPLETE) and ``publish`` runs;
- the gate's ``timeout`` elapses while no triggerer runs: the new triggerer ends the pause at its first
  measurement (the deadline is the first breach's, not restarted), the gate fails without retry.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ol_schema
import pytest
from deployment_helpers import Deployment

from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger

NAMESPACE = "deploy_restart_test"
DAG_ID = "deploy_gate_restart"
CONN_ID = "restart_warehouse"
#: the old triggerer's heartbeat must be this stale before another triggerer takes its triggers over
HEALTH_CHECK_THRESHOLD = 5

DAG_SOURCE = """
import datetime
import json

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


def alert(context):
    gate = context["quality_gate"]
    with open(ALERTS, "a") as out:
        out.write(json.dumps({
            "event": gate["event"], "summary": gate["summary"], "waited_seconds": gate.get("waited_seconds"),
            "detail": gate.get("detail"), "try_number": context["ti"].try_number,
        }) + "\\n")


def publish():
    print("published")


with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False) as dag:
    gate = QualityGateOperator(
        task_id="gate", conn_id=CONN_ID, table="orders", null_thresholds={"email": 0.0}, min_rows=1,
        on_breach="pause", poke_interval=1, timeout=GATE_TIMEOUT, retries=2, retry_delay=1,
        notifiers=[alert],
    )
    gate >> PythonOperator(task_id="publish", python_callable=publish)
"""


# ---------------------------------------------------------------- the trigger alone


def test_trigger_state_survives_serialization_with_an_absolute_deadline() -> None:
    """What a new triggerer rebuilds the trigger from: everything, and the deadline as a wall-clock instant.

    The kwargs go through Airflow's own serializer (as the ``trigger`` table stores them); the trigger made
    from them later has the same deadline, so ``timeout`` still counts from the first breach.
    """
    from airflow.serialization.serialized_objects import BaseSerialization

    deadline = time.time() + 30
    trigger = QualityGateTrigger(
        conn_id="c",
        query={"sql": "SELECT 1", "columns": [{"name": "email"}]},
        spec={"table": "orders", "rules": [{"column": "email", "max_null_rate": 0.0}]},
        poke_interval=1.5,
        deadline=deadline,
        gate_state={"paused_dags": ["reporting"], "paused_at": deadline - 30},
    )
    classpath, kwargs = trigger.serialize()
    stored = json.dumps(BaseSerialization.serialize(kwargs))
    time.sleep(0.05)  # a later triggerer
    rebuilt = QualityGateTrigger(**BaseSerialization.deserialize(json.loads(stored)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.deadline == deadline  # absolute: not "now + timeout" at each (re)start
    assert rebuilt.gate_state["paused_at"] == deadline - 30  # the gate's waited time counts the whole pause


# ---------------------------------------------------------------- the deployment


def _warehouse(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (id INTEGER, email TEXT)")
        db.executemany(
            "INSERT INTO orders VALUES (?, ?)",
            [(1, "a@example.com"), (2, None), (3, "c@example.com"), (4, None)],
        )


@contextmanager
def _deployment(tmp_path: Path, *, gate_timeout: float) -> Iterator[tuple[Deployment, Path, Path]]:
    """A started deployment with the DAG parsed and unpaused; every process group ends on exit."""
    db_path = (tmp_path / "warehouse.db").resolve()
    alerts = (tmp_path / "alerts.jsonl").resolve()
    _warehouse(db_path)
    connection = {"conn_type": "sqlite", "host": str(db_path)}
    deployment = Deployment(
        tmp_path,
        namespace=NAMESPACE,
        extra_env={
            f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(connection),
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD),
        },
    )
    header = (
        f"DAG_ID = {DAG_ID!r}\nCONN_ID = {CONN_ID!r}\nALERTS = {str(alerts)!r}\n"
        f"GATE_TIMEOUT = {gate_timeout!r}\n"
    )
    (deployment.dags / f"{DAG_ID}.py").write_text(header + DAG_SOURCE)
    deployment.migrate()
    try:
        deployment.start_all()
        deployment.wait_healthy(timeout=60)
        deployment.wait_dag(DAG_ID, timeout=45)
        deployment.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        yield deployment, db_path, alerts
    finally:
        deployment.stop()


def _trigger_run(deployment: Deployment) -> str:
    run = deployment.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})
    return str(run["dag_run_id"])


def _wait_first_poll_in_triggerer(deployment: Deployment, run_id: str) -> None:
    """The gate breached, deferred, and its trigger polls in the triggerer (its first poll is logged)."""
    deployment.wait_lines(r"still breached \(poll 1\)", 1, timeout=45)
    gate = _task_instances(deployment, run_id)["gate"]
    assert gate["state"] == "deferred", gate


def _kill_triggerer(deployment: Deployment) -> float:
    deployment.kill("triggerer")
    return time.monotonic()


def _task_instances(deployment: Deployment, run_id: str) -> dict[str, dict[str, Any]]:
    tis = deployment.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
    return {ti["task_id"]: ti for ti in tis["task_instances"]}


def _wait_run_end(deployment: Deployment, run_id: str, timeout: float) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        run = deployment.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    return deployment.wait_for(f"DAG run {run_id} to end", ended, timeout, interval=0.5)


def _wait_event(deployment: Deployment, job: str, event_type: str, timeout: float = 20) -> None:
    """The scheduler's events (DAG run, upstream-failed tasks) are sent in the background: let them land."""

    def landed() -> bool:
        if not deployment.events_file.exists():
            return False
        for line in deployment.events_file.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event["job"]["name"] == job and event["eventType"] == event_type:
                return True
        return False

    deployment.wait_for(f"the {event_type} event of {job}", landed, timeout)


def _trigger_logs(deployment: Deployment) -> dict[str, str]:
    """The gate's trigger logs, one file per triggerer that ran the trigger."""
    paths = deployment.logs.glob(f"dag_id={DAG_ID}/run_id=*/task_id=gate/attempt=1.log.trigger.*")
    return {p.name: p.read_text(errors="replace") for p in sorted(paths)}


def _alerts(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _gate_events(deployment: Deployment) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Every event (schema-validated), by job, and the gate's; plus the common checks."""
    assert deployment.events_file.exists(), "no event was written" + deployment.log_tails()
    events = ol_schema.read_events(deployment.events_file)
    jobs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        jobs.setdefault(event["job"]["name"], []).append(event)
    gate = jobs[f"{DAG_ID}.gate"]
    assert len({e["run"]["runId"] for e in gate}) == 1, [(e["eventType"], e["run"]["runId"]) for e in gate]
    for event in gate:
        assert event["run"]["facets"]["airflow"]["taskInstance"]["try_number"] == 1
    left = sorted(str(p.relative_to(deployment.spool)) for p in deployment.spool.rglob("*") if p.is_file())
    assert not left, f"events left in the spool: {left}"
    warnings = deployment.lines_matching(r"lineage: .*(failed|no event sent)")
    assert not warnings, "\n".join(warnings)
    return jobs, gate


@pytest.mark.airflow
@pytest.mark.slow
def test_triggerer_killed_mid_pause_new_triggerer_sees_the_repair(tmp_path: Path) -> None:
    started = time.monotonic()
    with _deployment(tmp_path, gate_timeout=60) as (deployment, db_path, alerts):
        ready = time.monotonic()
        run_id = _trigger_run(deployment)
        _wait_first_poll_in_triggerer(deployment, run_id)
        killed = _kill_triggerer(deployment)
        with sqlite3.connect(db_path) as db:  # repaired while no triggerer runs
            db.execute("UPDATE orders SET email = 'unknown@example.com' WHERE email IS NULL")
        deployment.start("triggerer")
        run = _wait_run_end(deployment, run_id, timeout=45)
        resumed = time.monotonic() - killed
        tis = _task_instances(deployment, run_id)
        _wait_event(deployment, DAG_ID, "COMPLETE")
    print(
        f"restart case: {time.monotonic() - started:.1f} s in all, {ready - started:.1f} s to start, "
        f"run ended {resumed:.1f} s after the triggerer was killed"
    )
    states = {task: ti["state"] for task, ti in tis.items()}
    assert run["state"] == "success", (run, states)
    assert states == {"gate": "success", "publish": "success"}, states
    assert tis["gate"]["try_number"] == 1, tis["gate"]  # the same try resumed: no retry was spent

    # the trigger ran in two triggerers (one log file each): breached in the first, recovered in the second
    logs = _trigger_logs(deployment)
    assert len(logs) == 2, sorted(logs)
    recovered = [text for text in logs.values() if "recovered after" in text]
    assert len(recovered) == 1, logs
    second = recovered[0]
    first = next(text for text in logs.values() if text is not second)
    assert "still breached (poll 1)" in first and "recovered after" not in first, first
    assert "recovered after" in second and "Trigger fired event" in second, second
    assert not [line for line in second.splitlines() if "still breached" in line], second  # saw the repair

    assert [a["event"] for a in _alerts(alerts)] == ["breach", "recovery"], _alerts(alerts)
    tracebacks = deployment.provider_tracebacks()
    assert not tracebacks, "\n\n".join(tracebacks)

    jobs, gate = _gate_events(deployment)
    kinds = [e["eventType"] for e in gate]
    assert kinds == ["START", "RUNNING", "COMPLETE"], kinds  # one run: no second START, no FAIL
    facets = gate[-1]["inputs"][0]["inputFacets"]
    assert {a["name"]: a["success"] for a in facets["dataQualityAssertions"]["assertions"]} == {
        "email_max_null_rate": True,
        "min_rows": True,
    }
    assert [e["eventType"] for e in jobs[f"{DAG_ID}.publish"]] == ["START", "COMPLETE"]
    assert [e["eventType"] for e in jobs[DAG_ID]] == ["START", "COMPLETE"]


@pytest.mark.airflow
@pytest.mark.slow
def test_gate_timeout_elapses_while_no_triggerer_runs(tmp_path: Path) -> None:
    gate_timeout = 8.0
    down_for = gate_timeout + 4  # well past the deadline (and past the health-check threshold)
    started = time.monotonic()
    with _deployment(tmp_path, gate_timeout=gate_timeout) as (deployment, _db_path, alerts):
        ready = time.monotonic()
        run_id = _trigger_run(deployment)
        _wait_first_poll_in_triggerer(deployment, run_id)
        killed = _kill_triggerer(deployment)
        time.sleep(down_for)  # the data stays breached
        restarted = time.monotonic()
        deployment.start("triggerer")
        run = _wait_run_end(deployment, run_id, timeout=45)
        ended_after_restart = time.monotonic() - restarted
        tis = _task_instances(deployment, run_id)
        _wait_event(deployment, DAG_ID, "FAIL")
        _wait_event(deployment, f"{DAG_ID}.publish", "FAIL")
    print(
        f"timeout case: {time.monotonic() - started:.1f} s in all, {ready - started:.1f} s to start, "
        f"triggerer down {restarted - killed:.1f} s, run ended {ended_after_restart:.1f} s after restart"
    )
    states = {task: ti["state"] for task, ti in tis.items()}
    assert run["state"] == "failed", (run, states)
    assert states == {"gate": "failed", "publish": "upstream_failed"}, states
    assert tis["gate"]["try_number"] == 1, tis["gate"]  # retries=2, but a timed-out pause is not retried

    # the new triggerer measured once and ended the pause: the deadline was the first breach's
    logs = _trigger_logs(deployment)
    assert len(logs) == 2, sorted(logs)
    polls = {name: re.findall(r"still breached \(poll (\d+)\)", text) for name, text in logs.items()}
    assert sorted(len(p) for p in polls.values())[0] == 1, polls  # one poll after the restart
    assert any("Trigger fired event" in text for text in logs.values()), logs

    alerts_sent = _alerts(alerts)
    assert [a["event"] for a in alerts_sent] == ["breach", "timeout"], alerts_sent
    timeout_alert = alerts_sent[1]
    assert timeout_alert["waited_seconds"] >= down_for, timeout_alert  # the whole pause, downtime included
    assert "breach" in timeout_alert["detail"], timeout_alert
    gate_log = next(deployment.logs.glob(f"dag_id={DAG_ID}/run_id=*/task_id=gate/attempt=1.log"))
    assert "quality gate timed out after" in gate_log.read_text(errors="replace")

    # the gate's own failure is the one expected traceback; nothing else of the provider's
    tracebacks = [
        t
        for t in deployment.provider_tracebacks()
        if not ("QualityGateFailed" in t and "quality gate timed out" in t)
    ]
    assert not tracebacks, "\n\n".join(tracebacks)

    jobs, gate = _gate_events(deployment)
    kinds = Counter(e["eventType"] for e in gate)
    assert [e["eventType"] for e in gate] == ["START", "RUNNING", "FAIL"], kinds
    assert [e["eventType"] for e in jobs[DAG_ID]] == ["START", "FAIL"]
    # publish never ran: reported by the scheduler as upstream_failed (START + FAIL, docs/listener.md)
    publish = jobs[f"{DAG_ID}.publish"]
    assert [e["eventType"] for e in publish] == ["START", "FAIL"], publish


@pytest.mark.airflow
@pytest.mark.slow
def test_triggerer_down_past_airflows_deferral_timeout_fails_the_gate_without_retry(tmp_path: Path) -> None:
    """Airflow's own deferral timeout (the gate's safety net: ``timeout + 2 * poke_interval + 60 s``) fires
    when the triggerer stays down that long: the scheduler resumes the gate to fail it, without any trigger
    event. That is still the pause timing out: no retry (a retry would breach again and wait a fresh full
    ``timeout``), the ``timeout`` alert sent.

    Waiting 70 s for the safety net is replaced by moving the TI's ``trigger_timeout`` into the past in the
    metadata DB once the gate's deadline has passed: the scheduler then does exactly what it does after
    the wait.
    """
    gate_timeout = 8.0
    started = time.monotonic()
    with _deployment(tmp_path, gate_timeout=gate_timeout) as (deployment, _db_path, alerts):
        run_id = _trigger_run(deployment)
        _wait_first_poll_in_triggerer(deployment, run_id)
        _kill_triggerer(deployment)
        time.sleep(gate_timeout)  # the gate's deadline passes while no triggerer runs
        with sqlite3.connect(deployment.home / "airflow.db", timeout=30) as meta:
            changed = meta.execute(
                "UPDATE task_instance SET trigger_timeout = '2000-01-01 00:00:00.000000' "
                "WHERE dag_id = ? AND task_id = 'gate' AND run_id = ? AND state = 'deferred'",
                (DAG_ID, run_id),
            ).rowcount
        assert changed == 1

        def gate_left_deferral() -> dict[str, Any] | None:
            gate = _task_instances(deployment, run_id)["gate"]
            done = gate["state"] in ("failed", "success", "up_for_retry") or gate["try_number"] > 1
            return gate if done else None

        gate = deployment.wait_for("the gate to leave its deferral", gate_left_deferral, timeout=30)
        deployment.start("triggerer")  # back, with nothing left to run
        if gate["state"] == "failed":
            _wait_run_end(deployment, run_id, timeout=30)
            _wait_event(deployment, DAG_ID, "FAIL")
        tis = _task_instances(deployment, run_id)
    print(f"deferral-timeout case: {time.monotonic() - started:.1f} s in all")
    states = {task: ti["state"] for task, ti in tis.items()}
    assert (gate["state"], gate["try_number"]) == ("failed", 1), (gate, states)
    assert states == {"gate": "failed", "publish": "upstream_failed"}, states
    alerts_sent = _alerts(alerts)
    assert [a["event"] for a in alerts_sent] == ["breach", "timeout"], alerts_sent
    assert alerts_sent[1]["waited_seconds"] >= gate_timeout, alerts_sent
    gate_log = next(deployment.logs.glob(f"dag_id={DAG_ID}/run_id=*/task_id=gate/attempt=1.log"))
    assert "quality gate timed out after" in gate_log.read_text(errors="replace")
    tracebacks = [
        t
        for t in deployment.provider_tracebacks()
        if not ("QualityGateFailed" in t and "quality gate timed out" in t)
    ]
    assert not tracebacks, "\n\n".join(tracebacks)
    _jobs, gate_events = _gate_events(deployment)
    assert [e["eventType"] for e in gate_events] == ["START", "RUNNING", "FAIL"]
