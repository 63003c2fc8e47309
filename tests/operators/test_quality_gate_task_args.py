"""The gate under the task arguments DAG authors put in ``default_args`` of every DAG, in real ``dag.test()``
runs on SQLite: ``retries``/``retry_delay``, ``execution_timeout``, ``on_failure_callback`` /
``on_retry_callback``, ``pool``, ``max_active_tis_per_dag``, ``trigger_rule``.

What is checked (docs/quality-gate.md, "Task arguments"):

* a breach in ``fail`` mode, and a pause that times out, fail once: no retry, ``on_failure_callback`` once,
  ``on_retry_callback`` never, one ``breach`` (and one ``timeout``) alert however many polls the pause made;
* a table that cannot be read at first (missing, the database down) is retried like any task's failure;
* ``execution_timeout`` limits each run of the gate's code, not the pause: a pause longer than it goes on to
  the gate's own ``timeout`` (Airflow 3 does not count deferred time in it), and the gate says so.
"""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import ORDERS, gate_xcom, sqlite_execute, ti_states

pytestmark = pytest.mark.airflow

ARGS_DAG = """
import datetime, json, sqlite3
from airflow.sdk import DAG, BaseNotifier
from airflow.providers.standard.operators.python import PythonOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


def record(kind, context, **more):
    ti = context["ti"]
    with open(CALLS, "a") as f:
        f.write(json.dumps({"kind": kind, "task": ti.task_id, "try": ti.try_number, **more}) + "\\n")


class Recorder(BaseNotifier):
    def notify(self, context):
        record("notifier", context, event=context["quality_gate"]["event"])


def on_failure(context):
    record("on_failure_callback", context, error=str(context.get("exception")))


def on_retry(context):
    record("on_retry_callback", context, error=str(context.get("exception")))
    for statement in ON_RETRY_SQL:  # e.g. the load that creates the table finishes meanwhile
        with sqlite3.connect(DB_PATH) as db:
            db.execute(statement)


default_args = {
    "retries": 3,
    "retry_delay": datetime.timedelta(seconds=1),
    "execution_timeout": datetime.timedelta(seconds=EXECUTION_TIMEOUT),
    "on_failure_callback": on_failure,
    "on_retry_callback": on_retry,
    "pool": "default_pool",
    "max_active_tis_per_dag": 1,
    "trigger_rule": "all_success",
    **EXTRA_DEFAULT_ARGS,
}

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1), default_args=default_args) as dag:
    gate = QualityGateOperator(task_id="gate", conn_id=CONN_ID, table="orders",
                               null_thresholds={"email": 0.1}, notifiers=[Recorder()], **GATE_KWARGS)
    downstream = PythonOperator(task_id="downstream", python_callable=lambda: None)
    gate >> downstream
"""


class ArgsDag:
    """A gate >> downstream DAG with the usual default_args and callbacks recording to a JSON-lines file."""

    def __init__(self, tmp_path: Path, dag_id: str, conn_id: str, db_path: Path) -> None:
        self.dag_id, self.conn_id, self.db_path = dag_id, conn_id, db_path
        self.calls = tmp_path / f"{dag_id}.calls.jsonl"

    def run(self, **kwargs: Any) -> Any:
        from lineage_helpers import run_dag

        return run_dag(self.source(**kwargs), self.dag_id)

    def source(
        self,
        *,
        execution_timeout: float = 1800,
        on_retry_sql: tuple[str, ...] = (),
        default_args: dict[str, Any] | None = None,
        **gate: Any,
    ) -> str:
        header = "\n".join(
            f"{name} = {value!r}"
            for name, value in {
                "DAG_ID": self.dag_id,
                "CONN_ID": self.conn_id,
                "DB_PATH": str(self.db_path),
                "CALLS": str(self.calls),
                "EXECUTION_TIMEOUT": execution_timeout,
                "ON_RETRY_SQL": on_retry_sql,
                "EXTRA_DEFAULT_ARGS": default_args or {},
                "GATE_KWARGS": gate,
            }.items()
        )
        return header + "\n" + textwrap.dedent(ARGS_DAG)

    def calls_read(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.calls.read_text().splitlines()] if self.calls.exists() else []

    def kinds(self) -> list[str]:
        """What was called, in order: ``notifier:<event>``, ``on_failure_callback``, ``on_retry_callback``."""
        return [f"notifier:{c['event']}" if c["kind"] == "notifier" else c["kind"] for c in self.calls_read()]


@pytest.fixture
def args_dag(tmp_path: Path, sqlite_db: tuple[str, Path], gate_dag: Any) -> ArgsDag:
    conn_id, path = sqlite_db
    return ArgsDag(tmp_path, gate_dag.dag_id, conn_id, path)


def _gate_ti(dag_run: Any) -> Any:
    [ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    return ti


def test_fail_mode_fails_once_with_retries_3(args_dag: ArgsDag) -> None:
    """Issue requirement: ``on_breach="fail"`` fails without retry even with ``retries=3`` in default_args;
    the failure callback runs once, the retry callback never, and the notifiers alert once."""
    sqlite_execute(args_dag.db_path, *ORDERS)
    dag_run = args_dag.run(on_breach="fail")
    assert ti_states(dag_run) == {"gate": "failed", "downstream": "upstream_failed"}
    assert _gate_ti(dag_run).try_number == 1
    assert args_dag.kinds() == ["notifier:breach", "on_failure_callback"]
    [failure] = [c for c in args_dag.calls_read() if c["kind"] == "on_failure_callback"]
    assert "quality gate failed: orders: breach (email" in failure["error"]


def test_pause_timeout_fails_once_with_retries_3(args_dag: ArgsDag) -> None:
    """A pause that times out fails the gate without retry (a retry would breach again and wait a fresh
    ``timeout``): one ``breach`` and one ``timeout`` alert whatever the number of polls, one failure
    callback, no retry callback."""
    sqlite_execute(args_dag.db_path, *ORDERS)
    dag_run = args_dag.run(on_breach="pause", poke_interval=0.5, timeout=2)
    assert ti_states(dag_run) == {"gate": "failed", "downstream": "upstream_failed"}
    assert _gate_ti(dag_run).try_number == 1
    assert args_dag.kinds() == ["notifier:breach", "notifier:timeout", "on_failure_callback"]
    [failure] = [c for c in args_dag.calls_read() if c["kind"] == "on_failure_callback"]
    assert "quality gate timed out after" in failure["error"]


@pytest.mark.parametrize("on_breach", ["pause", "fail"])
def test_a_table_missing_at_first_is_retried(args_dag: ArgsDag, on_breach: str) -> None:
    """A table that cannot be read yet (the load before the gate not visible yet, a database outage) is not
    bad input: the try fails as any task's would and ``retries`` apply. The retry callback creates the
    table, so the second try measures and passes; no alert, no failure callback."""
    clean = (ORDERS[0], "INSERT INTO orders VALUES (1, 'a@x', 1.0), (2, 'b@x', NULL)")
    dag_run = args_dag.run(on_breach=on_breach, poke_interval=0.5, timeout=5, on_retry_sql=clean)
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success"}
    assert _gate_ti(dag_run).try_number == 2
    assert args_dag.kinds() == ["on_retry_callback"]
    [retry] = args_dag.calls_read()
    assert retry["try"] == 1 and "table 'orders' cannot be read" in retry["error"]
    assert gate_xcom(dag_run)["status"] == "pass"


def test_a_table_missing_then_breached_alerts_once_per_breach(args_dag: ArgsDag) -> None:
    """Try 1 cannot read the table (retried), try 2 breaches and pauses until its timeout: one retry
    callback, then one breach alert, one timeout alert and one failure callback, all from try 2."""
    dag_run = args_dag.run(on_breach="pause", poke_interval=0.5, timeout=2, on_retry_sql=ORDERS)
    assert ti_states(dag_run) == {"gate": "failed", "downstream": "upstream_failed"}
    assert _gate_ti(dag_run).try_number == 2
    calls = args_dag.calls_read()
    assert args_dag.kinds() == [
        "on_retry_callback",
        "notifier:breach",
        "notifier:timeout",
        "on_failure_callback",
    ]
    assert [c["try"] for c in calls] == [1, 2, 2, 2]


def test_a_pause_outlasts_execution_timeout_and_the_gate_says_so(args_dag: ArgsDag, capfd: Any) -> None:
    """``execution_timeout`` (2 s here; 30 min in a real DAG) shorter than the gate's ``timeout`` (30 s here;
    2 h): Airflow 3 applies ``execution_timeout`` to each run of the task's code (the measuring before the
    pause, the resume), not to the deferral, so the pause goes on past it. Airflow's own deadline for the
    deferral (the TI's ``trigger_timeout``) is not cut to ``execution_timeout`` either. The gate logs both
    values when it starts to wait, so nobody is surprised either way."""
    sqlite_execute(args_dag.db_path, *ORDERS)
    seen: dict[str, Any] = {}

    def repair_after_execution_timeout() -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        try:
            deadline = time.monotonic() + 60
            while not args_dag.calls_read():  # the breach alert: the gate is about to defer
                assert time.monotonic() < deadline, "the gate never alerted"
                time.sleep(0.1)
            time.sleep(3.5)  # past execution_timeout (2 s) while the gate waits
            with create_session() as session:
                row = session.query(TaskInstance).filter_by(dag_id=args_dag.dag_id, task_id="gate").one()
                seen["trigger_timeout"], seen["state"] = row.trigger_timeout, row.state
            seen["checked_at"] = time.time()
            sqlite_execute(args_dag.db_path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL")
        except BaseException as exc:
            seen["error"] = exc

    repairer = threading.Thread(target=repair_after_execution_timeout, daemon=True)
    repairer.start()
    dag_run = args_dag.run(on_breach="pause", poke_interval=0.5, timeout=30, execution_timeout=2)
    repairer.join(30)
    assert "error" not in seen, seen.get("error")
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success"}
    assert _gate_ti(dag_run).try_number == 1
    result = gate_xcom(dag_run)
    assert result["status"] == "pass" and result["waited_seconds"] > 2
    assert args_dag.kinds() == ["notifier:breach", "notifier:recovery"]
    # Airflow's deadline for the deferral: the gate's safety net (timeout + 2 x poke_interval + 60 s), not
    # execution_timeout
    assert seen["trigger_timeout"] is not None
    assert seen["trigger_timeout"].timestamp() - seen["checked_at"] > 60
    log = capfd.readouterr().out
    assert "execution_timeout=2s does not limit the pause" in log, log[-3000:]
    assert "timeout=30s" in log


def test_no_execution_timeout_note_when_it_is_longer_than_the_pause(args_dag: ArgsDag, capfd: Any) -> None:
    sqlite_execute(args_dag.db_path, *ORDERS)
    dag_run = args_dag.run(on_breach="pause", poke_interval=0.5, timeout=1, execution_timeout=1800)
    assert ti_states(dag_run)["gate"] == "failed"
    assert "does not limit the pause" not in capfd.readouterr().out


def test_airflow_cutting_the_pause_short_is_named_in_the_failure(args_dag: ArgsDag) -> None:
    """Should an Airflow end the deferral before the gate's ``timeout`` (Airflow 2 cut a deferral at
    ``execution_timeout``, and Airflow 3 may again: its code marks it "TODO"), the gate fails as a timed-out
    pause, without retry, and the failure names both values instead of blaming a missing triggerer.

    Real scheduler steps: the gate runs on the worker path and defers; the TI's ``trigger_timeout`` is then
    moved to the past, as such an Airflow would have set it (``start + execution_timeout``), and the
    scheduler's own ``check_trigger_timeouts`` ends the deferral; the worker path resumes the gate.
    """
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from lineage_helpers import load_dag
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    sqlite_execute(args_dag.db_path, *ORDERS)
    dag_id = args_dag.dag_id
    source = args_dag.source(on_breach="pause", poke_interval=1, timeout=3600, execution_timeout=1800)
    write_version(dag_id, source=source.replace("{", "{{").replace("}", "}}"))
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    task = load_dag(source, dag_id).task_dict["gate"]

    def gate_ti(session: Any) -> Any:
        return session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id="gate").one()

    with create_session() as session:
        scheduler()._schedule_dag_run(session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one(),
                                      session)  # fmt: skip
    with create_session() as session:
        ti = gate_ti(session)
        assert ti.state == "scheduled", ti.state
        session.expunge(ti)
    _run_task(ti=ti, task=task)  # no triggerer: the gate breaches and stays deferred
    with create_session() as session:
        ti = gate_ti(session)
        assert ti.state == "deferred", ti.state
        ti.trigger_timeout = datetime.now(timezone.utc) - timedelta(seconds=1)
    with create_session() as session:
        scheduler().check_trigger_timeouts(session=session)
    with create_session() as session:
        ti = gate_ti(session)
        assert ti.state == "scheduled" and ti.next_method == "__fail__", (ti.state, ti.next_method)
        session.expunge(ti)
    _run_task(ti=ti, task=task)
    with create_session() as session:
        ti = gate_ti(session)
        assert (ti.state, ti.try_number) == ("failed", 1)
    assert args_dag.kinds() == ["notifier:breach", "notifier:timeout", "on_failure_callback"]
    [failure] = [c for c in args_dag.calls_read() if c["kind"] == "on_failure_callback"]
    assert "before the gate's timeout=3600s" in failure["error"], failure
    assert "execution_timeout=1800s" in failure["error"], failure
    assert "no triggerer" not in failure["error"]


def test_sensor_style_default_args_timeout_and_poke_interval_reach_the_gate(args_dag: ArgsDag) -> None:
    """Airflow gives ``default_args`` to every ``__init__`` argument of that name: a DAG whose default_args
    set ``timeout`` / ``poke_interval`` for its sensors sets the gate's too (same meaning: how long to wait,
    how often to look), unless the gate sets its own. ``mode`` (a sensor's) is not the gate's: ignored."""
    from lineage_helpers import load_dag

    extra = {"timeout": 600, "poke_interval": 30, "mode": "reschedule"}
    dag = load_dag(args_dag.source(default_args=extra), args_dag.dag_id)
    gate = dag.task_dict["gate"]
    assert (gate.gate_timeout, gate.poke_interval) == (600, 30)
    assert gate.retries == 3 and gate.execution_timeout.total_seconds() == 1800
    own = load_dag(args_dag.source(default_args=extra, timeout=7200), args_dag.dag_id).task_dict["gate"]
    assert (own.gate_timeout, own.poke_interval) == (7200, 30)
