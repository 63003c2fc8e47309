"""Helpers for the quality-gate tests: a gate DAG with a recording notifier, states, XCom, SQL, a repairer."""

from __future__ import annotations

import json
import logging
import sqlite3
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}

GATE_DAG = '''
import datetime, json, time
from airflow.sdk import DAG, BaseNotifier
from airflow.providers.standard.operators.python import PythonOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


class Recorder(BaseNotifier):
    """A real notifier that appends what it was told to a JSON-lines file."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def notify(self, context):
        gate = context["quality_gate"]
        keep = ("event", "table", "status", "breaches", "summary", "dag_id", "task_id", "run_id", "link",
                "paused_dags")
        record = {k: gate.get(k) for k in keep}
        record["rates"] = {c: v["null_rate"] for c, v in gate["columns"].items()}
        record["thresholds"] = {c: v["max_null_rate"] for c, v in gate["columns"].items()}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\\n")


def mark(name):
    with open(MARKS, "a") as f:
        f.write(json.dumps({"task": name, "at": time.time()}) + "\\n")


with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1),
         default_args={"retries": 2, "retry_delay": datetime.timedelta(seconds=1)}) as dag:
    gate = QualityGateOperator(task_id="gate", conn_id=CONN_ID, table=TABLE, null_thresholds=THRESHOLDS,
                               notifiers=[Recorder(NOTES)], **GATE_KWARGS)
    downstream = PythonOperator(task_id="downstream", python_callable=mark, op_args=["downstream"])
    further = PythonOperator(task_id="further", python_callable=mark, op_args=["further"])
    gate >> downstream >> further
'''


class GateDag:
    """Writes a gate DAG (gate >> downstream >> further) with a recording notifier; reads what happened."""

    def __init__(self, tmp_path: Path, dag_id: str) -> None:
        self.dag_id = dag_id
        self.notes = tmp_path / f"{dag_id}.notes.jsonl"
        self.marks = tmp_path / f"{dag_id}.marks.jsonl"

    def source(self, *, conn_id: str, table: str, thresholds: Any, **gate_kwargs: Any) -> str:
        header = "\n".join(
            f"{name} = {value!r}"
            for name, value in {
                "DAG_ID": self.dag_id,
                "CONN_ID": conn_id,
                "TABLE": table,
                "THRESHOLDS": thresholds,
                "GATE_KWARGS": gate_kwargs,
                "NOTES": str(self.notes),
                "MARKS": str(self.marks),
            }.items()
        )
        return header + "\n" + textwrap.dedent(GATE_DAG)

    def run(self, **kwargs: Any) -> Any:
        from lineage_helpers import run_dag

        return run_dag(self.source(**kwargs), self.dag_id)

    def notes_read(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.notes.read_text().splitlines()] if self.notes.exists() else []

    def marks_read(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.marks.read_text().splitlines()] if self.marks.exists() else []


def ti_states(dag_run: Any) -> dict[str, str | None]:
    return {ti.task_id: (str(ti.state) if ti.state else None) for ti in dag_run.get_task_instances()}


def gate_xcom(dag_run: Any, task_id: str = "gate") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def pg_execute(*statements: str) -> None:
    import psycopg2

    with psycopg2.connect(**PG) as db, db.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def sqlite_execute(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)


log = logging.getLogger(__name__)

ORDERS = (
    "CREATE TABLE orders (id INTEGER, email TEXT, amount REAL)",
    "INSERT INTO orders VALUES (1, 'a@x', 1.0), (2, NULL, 2.0), (3, NULL, NULL), (4, 'd@x', 4.0)",
)


def _gate_state(dag_id: str) -> dict[str, str | None]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(TaskInstance.task_id, TaskInstance.state)
            .filter(TaskInstance.dag_id == dag_id)
            .all()
        )
        return {task_id: (str(state) if state else None) for task_id, state in rows}


class Repairer(threading.Thread):
    """Waits for the breach alert, checks downstream is still waiting a few polls later, then repairs."""

    def __init__(self, gate_dag: Any, repair: Any, *, wait_polls: float, poke_interval: float) -> None:
        super().__init__(daemon=True)
        self.gate_dag, self.repair = gate_dag, repair
        self.wait = wait_polls * poke_interval
        self.seen_while_paused: dict[str, str | None] = {}
        self.repaired_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 60
            while not self.gate_dag.notes_read():
                if time.monotonic() > deadline:
                    raise TimeoutError("the gate never reported a breach")
                time.sleep(0.1)
            time.sleep(self.wait)  # the trigger re-measures (and still sees the breach) meanwhile
            self.seen_while_paused = _gate_state(self.gate_dag.dag_id)
            self.repair()
            self.repaired_at = time.time()
            log.warning(
                "test: data repaired while the gate waits (downstream state: %s)",
                self.seen_while_paused.get("downstream"),
            )
        except BaseException as exc:
            self.error = exc


class MemoryHoldStore:
    """The pause ledger's store in memory (``operators.pause_ledger.HoldStore``), for protocol tests."""

    def __init__(self) -> None:
        from airflow_lineage_provider.operators.pause_ledger import Hold

        self.holds: dict[str, Hold] = {}

    def records(self) -> dict[str, Any]:
        return dict(self.holds)

    def put(self, hold: Any) -> None:
        self.holds[hold.holder] = hold

    def drop(self, holder: str) -> None:
        self.holds.pop(holder, None)
