"""What alerts, XCom and lineage events carry: every documented key, JSON, the link, and never a secret."""

from __future__ import annotations

import json

import pytest
from gate_helpers import gate_xcom, sqlite_execute, ti_states

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
