"""What alerts, XCom and lineage events carry: every documented key, JSON, the link, and never a secret."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from gate_helpers import ORDERS, gate_xcom, sqlite_execute, ti_states

from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

pytestmark = pytest.mark.airflow


SABOTEUR = """
class Saboteur(BaseNotifier):
    \"\"\"Drops the gated table when told of the breach: every later measurement fails.\"\"\"

    def notify(self, context):
        import sqlite3

        if context["quality_gate"]["event"] == "breach":
            with sqlite3.connect(DB_PATH) as db:
                db.execute("DROP TABLE t")
"""


def test_a_pause_that_never_measures_again_still_alerts_its_timeout_with_every_key(
    sqlite_db, gate_dag
) -> None:
    """The table disappears while the gate waits: every poll fails, the gate times out with no measurement.
    The ``timeout`` alert still carries the documented keys (``columns`` with the thresholds, ``breaches``,
    ``summary``, the link ...): a notifier written for the others must not break on this one."""
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, "CREATE TABLE t (a TEXT, b INTEGER)", "INSERT INTO t VALUES (NULL, 1), ('x', NULL)")
    source = gate_dag.source(
        conn_id=conn_id, table="t", thresholds={"a": 0.1, "b": 0.9}, on_breach="pause", poke_interval=0.5,
        timeout=2,
    )  # fmt: skip
    source = source.replace("notifiers=[Recorder(NOTES)]", "notifiers=[Recorder(NOTES), Saboteur()]")
    source = source.replace("\nwith DAG(", f"\nDB_PATH = {str(path)!r}\n{SABOTEUR}\nwith DAG(", 1)
    dag_run = run_dag(source, gate_dag.dag_id)
    assert ti_states(dag_run)["gate"] == "failed"
    notes = gate_dag.notes_read()
    assert [n["event"] for n in notes] == ["breach", "timeout"]
    timeout = notes[1]
    assert timeout["table"] == "t" and timeout["status"] == "breach" and timeout["link"]
    assert timeout["thresholds"] == {"a": 0.1, "b": 0.9}
    assert timeout["rates"] == {"a": None, "b": None}  # not measured
    assert timeout["breaches"] == [] and "no such table: t" in timeout["summary"]
    assert (timeout["dag_id"], timeout["task_id"]) == (gate_dag.dag_id, "gate")


@pytest.mark.integration
def test_the_connection_password_appears_nowhere(
    pg_schema, gate_dag, lineage_events, capfd, monkeypatch
) -> None:
    """A breach in fail mode goes to the log, XCom, the alerts and the lineage events: none holds the
    connection's password (PostgreSQL trusts the local user, so any password connects)."""
    import uuid

    from gate_helpers import PG, pg_execute

    _, schema = pg_schema
    secret = f"pw-{uuid.uuid4().hex}"
    conn_id = f"qg_secret_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "postgres", "host": PG["host"], "port": PG["port"], "login": PG["user"],
                    "password": secret, "schema": PG["dbname"]}),
    )  # fmt: skip
    pg_execute(f"CREATE TABLE {schema}.t (a text)", f"INSERT INTO {schema}.t VALUES (NULL), ('x')")
    dag_run = gate_dag.run(conn_id=conn_id, table=f"{schema}.t", thresholds={"a": 0.1}, on_breach="fail")
    assert ti_states(dag_run)["gate"] == "failed"
    notes = gate_dag.notes_read()
    assert notes and notes[0]["link"]
    xcom = gate_xcom(dag_run)
    events = lineage_events()
    assert xcom["conn_id"] == conn_id and events
    out, err = capfd.readouterr()
    for where, text in {"notes": json.dumps(notes), "xcom": json.dumps(xcom), "events": json.dumps(events),
                        "log": out + err}.items():  # fmt: skip
        assert secret not in text, f"the password leaks into {where}"


# ---------------------------------------------------------------- a notifier that hangs

HANGING_NOTIFIER_DAG = """
import datetime, json, threading, time
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


def hang(context):
    # an alert posted with requests.post(url) and no timeout, to an endpoint that never answers
    threading.Event().wait(120)


def record(context):
    with open(NOTES, "a") as f:
        f.write(json.dumps({"event": context["quality_gate"]["event"], "at": time.time()}) + "\\n")


with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    gate = QualityGateOperator(task_id="gate", conn_id=CONN_ID, table="orders",
                               null_thresholds={"email": 0.1}, on_breach="fail", notifiers=[hang, record],
                               notifier_timeout=1)
    gate >> EmptyOperator(task_id="after")
"""


@pytest.mark.airflow
def test_a_hanging_notifier_does_not_hold_the_gate(sqlite_db, tmp_path, capfd) -> None:
    """Unbounded, a notifier that never returns held the gate's worker slot forever: no failure, no skip, no
    pause (its timeout never starts), downstream waiting, and the next notifiers never called."""
    import time

    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    notes = tmp_path / "notes.jsonl"
    dag_id = f"qg_hang_{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    dag_run = run_dag(f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nNOTES = {str(notes)!r}\n"
                      + HANGING_NOTIFIER_DAG, dag_id)  # fmt: skip
    assert time.monotonic() - started < 60
    assert ti_states(dag_run) == {"gate": "failed", "after": "upstream_failed"}
    assert [json.loads(line)["event"] for line in notes.read_text().splitlines()] == ["breach"]
    assert "quality gate notifier" in capfd.readouterr().out


def test_notifiers_run_with_the_tasks_context_variables() -> None:
    """A notifier runs in a thread of its own now: it must still see the task's context variables (the SDK
    keeps some there, e.g. the operator-execution safeguard and connections preset for a hook)."""
    import contextvars
    import threading
    from types import SimpleNamespace

    probe: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")
    seen: list[tuple[str, str]] = []

    def notifier(context: Any) -> None:
        seen.append((probe.get(), threading.current_thread().name))

    gate = QualityGateOperator(
        task_id="g", conn_id="c", table="t", null_thresholds={"a": 0.1}, notifiers=[notifier]
    )
    token = probe.set("set by the task")
    try:
        ti = SimpleNamespace(dag_id="d", task_id="g", run_id="r", log_url=None)
        gate._notify({"ti": ti}, "breach", None)
    finally:
        probe.reset(token)
    assert seen == [("set by the task", "quality-gate-notifier g")]
