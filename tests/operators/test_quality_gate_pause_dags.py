"""``pause_downstream_dags``: a real ``airflow api-server`` pauses the DAGs scheduled on the gated asset.

The gate pauses only the consumer DAGs that were running (never one already paused), records them, and on
recovery unpauses exactly those. Credentials come from an Airflow connection (simple auth manager user).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import ORDERS, Repairer, gate_xcom, sqlite_execute, ti_states

pytestmark = pytest.mark.airflow

USER, PASSWORD = "gatekeeper", "s3cret-" + uuid.uuid4().hex[:8]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``airflow api-server`` on 127.0.0.1 sharing the tests' metadata DB; yields its base URL."""
    import httpx

    home = tmp_path_factory.mktemp("api")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
    }
    log = (home / "api-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow", "api-server", "--apps", "core", "-H", "127.0.0.1", "-p", str(port),
         "-w", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"api-server did not start: {(home / 'api-server.log').read_text()[-2000:]}"
                )
            time.sleep(0.5)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the session we started: the server and its worker
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()


CONSUMER = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG({dag_id!r}, schedule=[Asset({uri!r})], start_date=datetime.datetime(2024, 1, 1),
         is_paused_upon_creation={paused!r}) as dag:
    EmptyOperator(task_id="consume")
"""


def _paused(dag_ids: list[str]) -> dict[str, bool]:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(DagModel.dag_id, DagModel.is_paused).filter(DagModel.dag_id.in_(dag_ids)).all()
        return {dag_id: bool(paused) for dag_id, paused in rows}


def _scenario(
    api_server: str, sqlite_db: Any, monkeypatch: Any, consumers: dict[str, bool]
) -> tuple[str, Any, str]:
    """Orders with too many null emails, consumer DAGs scheduled on their asset (``{dag_id: paused}``) and
    an HTTP connection to the API server; returns (conn_id, db path, api conn_id)."""
    from airflow.sdk import BaseHook
    from lineage_helpers import dags_folder

    from airflow_lineage_provider.naming import asset_uri, dataset_for_table

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    uri = asset_uri(dataset_for_table(BaseHook.get_connection(conn_id), "orders"))
    assert uri
    for dag_id, paused in consumers.items():
        (dags_folder() / f"{dag_id}.py").write_text(CONSUMER.format(dag_id=dag_id, uri=uri, paused=paused))
    api_conn = f"qg_api_{uuid.uuid4().hex[:6]}"
    host, port = api_server.removeprefix("http://").split(":")
    login = {"conn_type": "http", "host": host, "port": int(port), "login": USER, "password": PASSWORD}
    monkeypatch.setenv(f"AIRFLOW_CONN_{api_conn.upper()}", json.dumps(login))
    return conn_id, path, api_conn


@pytest.mark.parametrize("targets", ["asset", "list"])
def test_pause_downstream_dags_and_unpause_exactly_those(
    api_server: str, sqlite_db: Any, gate_dag: Any, monkeypatch: pytest.MonkeyPatch, targets: str
) -> None:
    running, already_paused = f"{gate_dag.dag_id}_consumer_on", f"{gate_dag.dag_id}_consumer_off"
    conn_id, path, api_conn = _scenario(
        api_server, sqlite_db, monkeypatch, {running: False, already_paused: True}
    )
    observed: dict[str, Any] = {}

    def repair() -> None:
        observed.update(_paused([running, already_paused]))
        sqlite_execute(path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL")

    repairer = Repairer(gate_dag, repair, wait_polls=2.5, poke_interval=1.0)
    repairer.start()
    dag_run = gate_dag.run(
        conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="pause", poke_interval=1.0,
        timeout=120, airflow_api_conn_id=api_conn,
        # by asset: both consumers are found; by list: an unknown DAG id is reported and skipped
        pause_downstream_dags=True if targets == "asset" else ["no_such_dag", running, already_paused],
    )  # fmt: skip
    repairer.join(10)
    assert repairer.error is None, repairer.error
    assert observed == {running: True, already_paused: True}  # while the gate waited
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    result = gate_xcom(dag_run)
    assert result["paused_dags"] == [running] and result["unpaused_dags"] == [running]
    assert _paused([running, already_paused]) == {running: False, already_paused: True}
    notes = gate_dag.notes_read()
    assert [(n["event"], n["paused_dags"]) for n in notes] == [("breach", [running]), ("recovery", [running])]
    assert PASSWORD not in Path(gate_dag.notes).read_text()


def _variable(key: str) -> str | None:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(Variable).filter(Variable.key == key).one_or_none()
        return None if row is None else row.val


def _holds(gate_dag: Any) -> dict[str, tuple[tuple[str, ...], bool]]:
    """The gate's pause ledger as stored: ``{holder: (dags, ended)}`` (one Variable per holder)."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from airflow_lineage_provider.operators.pause_ledger import VariableHoldStore

    prefix = VariableHoldStore(gate_dag.dag_id, "gate", None).prefix
    with create_session() as session:
        rows = session.query(Variable).filter(Variable.key.startswith(prefix)).all()
        values = [json.loads(row.val) for row in rows]
    return {v["holder"]: (tuple(v["dags"]), v["ended"]) for v in values}


def test_dags_left_paused_by_a_timeout_are_unpaused_by_the_next_passing_run(
    api_server: str, sqlite_db: Any, gate_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = f"{gate_dag.dag_id}_consumer"
    conn_id, path, api_conn = _scenario(api_server, sqlite_db, monkeypatch, {consumer: False})
    kwargs = dict(conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="pause",
                  poke_interval=0.5, timeout=1.5, pause_downstream_dags=True,
                  airflow_api_conn_id=api_conn)  # fmt: skip
    first = gate_dag.run(**kwargs)
    assert ti_states(first)["gate"] == "failed"  # timed out
    assert _paused([consumer]) == {consumer: True}  # left paused, and recorded
    assert _holds(gate_dag) == {first.run_id: ((consumer,), True)}  # held by a run that ended

    sqlite_execute(path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL")
    second = gate_dag.run(**kwargs)
    assert ti_states(second) == {"gate": "success", "downstream": "success", "further": "success"}
    assert gate_xcom(second)["unpaused_dags"] == [consumer]
    assert _paused([consumer]) == {consumer: False}
    assert _holds(gate_dag) == {}


def _set_variable(key: str, value: Any) -> None:
    from airflow.models.variable import Variable

    Variable.set(key, value, serialize_json=True)


def test_a_passing_run_leaves_dags_another_run_still_waits_on_paused(
    api_server: str, sqlite_db: Any, gate_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions: run A waits on bad data and holds the consumer paused; run B passes and must not unpause
    it. A DAG id the API cannot unpause is kept, so the next passing run tries again. The holds are in the
    one shared Variable of earlier versions: they are moved to records of their own. Run A's gate is still
    waiting (deferred): its record names no try, so its task instance's state keeps the hold."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    consumer = f"{gate_dag.dag_id}_consumer"
    conn_id, path, api_conn = _scenario(api_server, sqlite_db, monkeypatch, {consumer: True})
    sqlite_execute(path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL")
    kwargs = dict(conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="pause",
                  pause_downstream_dags=True, airflow_api_conn_id=api_conn)  # fmt: skip
    run_a = gate_dag.run(**kwargs)
    with create_session() as session:  # run A's gate waits on its data (since before the upgrade)
        session.query(TaskInstance).filter_by(dag_id=gate_dag.dag_id, run_id=run_a.run_id,
                                              task_id="gate").one().state = "deferred"  # fmt: skip
    key = f"lineage_provider.quality_gate.{gate_dag.dag_id}.gate.paused_dags"
    _set_variable(key, {consumer: [run_a.run_id], "no_such_dag": ["*"]})
    dag_run = gate_dag.run(**kwargs)
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    assert "unpaused_dags" not in gate_xcom(dag_run)
    assert _paused([consumer]) == {consumer: True}  # run A still holds it
    assert _holds(gate_dag) == {
        run_a.run_id: ((consumer,), False),
        "legacy:*": (("no_such_dag",), True),
    }
    assert _variable(key) is None  # the shared Variable is gone


def test_a_missing_api_connection_fails_the_gate_before_any_wait(sqlite_db: Any, gate_dag: Any) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    started = time.monotonic()
    dag_run = gate_dag.run(conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="pause",
                           poke_interval=1.0, timeout=60, pause_downstream_dags=["some_consumer"],
                           airflow_api_conn_id="qg_api_not_defined")  # fmt: skip
    assert time.monotonic() - started < 30
    states = {"gate": "failed", "downstream": "upstream_failed", "further": "upstream_failed"}
    assert ti_states(dag_run) == states


def test_the_gate_refuses_to_pause_its_own_dag() -> None:
    from airflow.sdk import DAG

    from airflow_lineage_provider.exceptions import QualityGateError
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    with DAG("qg_own_dag", schedule=None), pytest.raises(QualityGateError, match="own DAG 'qg_own_dag'"):
        QualityGateOperator(
            task_id="gate", conn_id="c", table="t", null_thresholds={"a": 0.1},
            pause_downstream_dags=["other", "qg_own_dag"], airflow_api_conn_id="api",
        )  # fmt: skip
