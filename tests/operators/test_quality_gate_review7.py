"""Review 7: what an Airflow data-platform user runs into with the gate, each found broken before its fix.

* a connection whose type has no hook installed (a typo, a provider package missing) is bad input: it must
  fail at once with a message naming the connection, not be retried as an unexplained ``AirflowException``;
* option types: ``blank_is_null="false"`` must not silently mean True, ``table=None`` must name the option,
  ``notifiers=None`` / one notifier (as for Airflow's own callbacks) must work;
* ``blank_is_null`` on a MariaDB/MySQL spatial column (``GEOMETRY``, ``POINT``): ``CAST(.. AS CHAR)`` is an
  error there, so the whole gate could not measure;
* more counters than the engine allows in one result row (PostgreSQL 1664, SQLite 2000): fail at once naming
  the options, not a database error retried as if it were an outage;
* a refused measuring query says what to check: not ``row_filter`` when there is none;
* while paused on SQLite/MySQL, the trigger must not log the unmasked query at every poll;
* skip mode must not skip teardown tasks (as ShortCircuitOperator);
* a notifier that hangs must not hold the gate (``notifier_timeout``);
* a gate mapped over its thresholds pauses one map index until repaired (coverage, it worked).

Real SQLite files, the local PostgreSQL and MariaDB servers, real Airflow (``dag.test()``); no mocks.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from typing import Any

import pytest
from gate_helpers import ORDERS, gate_xcom, pg_execute, sqlite_execute, ti_states

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


def _gate(**kwargs: Any) -> QualityGateOperator:
    defaults: dict[str, Any] = {"task_id": "g", "conn_id": "c", "table": "t", "null_thresholds": {"a": 0.1}}
    return QualityGateOperator(**{**defaults, **kwargs})


# ---------------------------------------------------------------- a connection type with no hook installed


@pytest.fixture
def snowflake_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection of a type whose provider package is not installed here (as on a fresh worker image)."""
    conn_id = f"qg_snow_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "snowflake", "host": "acme"})
    )
    return conn_id


def test_a_connection_type_without_a_hook_is_bad_input_naming_the_connection(
    snowflake_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=snowflake_conn)._measure_now()
    message = str(info.value)
    assert f"connection {snowflake_conn!r} (type 'snowflake')" in message
    assert "provider package" in message
    typo = f"qg_typo_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{typo.upper()}", json.dumps({"conn_type": "postgress", "host": "h"}))
    with pytest.raises(QualityGateError, match=r"\(type 'postgress'\)"):
        _gate(conn_id=typo)._measure_now()


@pytest.mark.airflow
def test_a_connection_type_without_a_hook_fails_the_gate_without_retry(
    snowflake_conn, gate_dag, capfd
) -> None:
    """default_args has retries=2: a missing provider will not appear between two tries."""
    dag_run = gate_dag.run(
        conn_id=snowflake_conn, table="orders", thresholds={"email": 0.1}, on_breach="fail"
    )
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert gate_ti.try_number == 1
    assert f"gate: connection {snowflake_conn!r} (type 'snowflake') has no hook" in capfd.readouterr().out


# ---------------------------------------------------------------- option types


@pytest.mark.parametrize("value", ["false", "no", 0, 1, None])
def test_blank_is_null_must_be_true_or_false(value: Any) -> None:
    """``bool("false")`` is True: a flag read from a config file or an env var would count blanks silently."""
    with pytest.raises(
        QualityGateError, match=rf"^g: blank_is_null must be True or False, got {re.escape(repr(value))}"
    ):
        _gate(blank_is_null=value)


@pytest.mark.parametrize("table", [None, 5, ["t"]])
def test_a_table_that_is_not_a_string_names_the_option(table: Any) -> None:
    with pytest.raises(
        QualityGateError, match=r"^g: table must be a table name string such as 'schema.table'"
    ):
        _gate(table=table)


def test_a_rendered_table_that_is_not_a_string_is_bad_input(sqlite_db) -> None:
    """``render_template_as_native_obj=True`` can render ``{{ params.table }}`` to a number or None."""
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    gate = _gate(conn_id=conn_id, table="{{ params.table }}", null_thresholds={"email": 0.1})
    gate.table = None  # as rendered
    with pytest.raises(QualityGateError, match=r"table must be a table name string .*got None"):
        gate._measure_now()


class _Note:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, context: Any) -> None:
        self.seen.append(context["quality_gate"]["event"])


def test_notifiers_none_or_a_single_notifier() -> None:
    assert _gate(notifiers=None).notifiers == []
    note = _Note()
    assert _gate(notifiers=note).notifiers == [note]  # as on_failure_callback takes one callable or a list
    with pytest.raises(
        QualityGateError, match=r"notifiers must be one BaseNotifier .*or a list of them, got 42"
    ):
        _gate(notifiers=42)
    with pytest.raises(QualityGateError, match="notifiers must be BaseNotifier instances or callables"):
        _gate(notifiers=[note, "not callable"])


# ---------------------------------------------------------------- spatial columns on MariaDB


@pytest.mark.integration
def test_mariadb_blank_rule_on_spatial_and_other_columns(mariadb_table) -> None:
    """``blank_is_null=True`` for the whole gate, a table with a POINT and a GEOMETRY column: MariaDB refuses
    ``CAST(point AS CHAR)`` ("Illegal parameter data type"), so no rule of the gate could be measured."""
    conn_id, table, hook = mariadb_table
    hook.run(
        f"CREATE TABLE `{table}` (id INT, `Place` POINT, shape GEOMETRY, name VARCHAR(20), d DATE, j JSON)",
        autocommit=True,
    )
    hook.run(
        f"INSERT INTO `{table}` VALUES (1, POINT(1, 2), POINT(0, 0), '  ', '2024-01-01', '{{}}'), "
        "(2, NULL, NULL, 'x', NULL, NULL)",
        autocommit=True,
    )
    names = ["id", "place", "shape", "name", "d", "j"]
    gate = _gate(conn_id=conn_id, table=f"test.{table}", null_thresholds=dict.fromkeys(names, 0.5),
                 blank_is_null=True)  # fmt: skip
    query, spec, measurement = gate._measure_now()
    assert query.sql.count("SELECT") == 1 and "CAST(`name` AS CHAR)" in query.sql  # text columns unchanged
    counts = {name: (c.null, c.blank) for name, c in measurement.columns.items()}
    assert counts == {
        "id": (0, 0),
        "Place": (1, 0),
        "shape": (1, 0),
        "name": (0, 1),
        "d": (1, 0),
        "j": (1, 0),
    }
    result = gate._evaluate(spec, measurement)
    assert result.status == "pass" and result.columns[3].null_rate == 0.5


@pytest.mark.integration
@pytest.mark.airflow
def test_mariadb_spatial_blank_rule_through_a_pause(mariadb_table, gate_dag) -> None:
    """The trigger re-runs the gate's query: a pause on a spatial column measures and recovers."""
    import threading
    import time

    conn_id, table, hook = mariadb_table
    hook.run(f"CREATE TABLE `{table}` (id INT, place POINT)", autocommit=True)
    hook.run(f"INSERT INTO `{table}` VALUES (1, POINT(1, 2)), (2, NULL)", autocommit=True)

    def repair() -> None:
        deadline = time.monotonic() + 60
        while not gate_dag.notes_read() and time.monotonic() < deadline:
            time.sleep(0.1)
        hook.run(f"UPDATE `{table}` SET place = POINT(0, 0) WHERE place IS NULL", autocommit=True)

    threading.Thread(target=repair, daemon=True).start()
    dag_run = gate_dag.run(conn_id=conn_id, table=table, thresholds={"place": 0.1}, blank_is_null=True,
                           poke_interval=0.5, timeout=60)  # fmt: skip
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach", "recovery"]
    assert gate_xcom(dag_run)["columns"]["place"]["blank_count"] == 0


# ---------------------------------------------------------------- more counters than a result row holds


def test_sqlite_too_many_counters_fail_at_once_naming_the_options(sqlite_db) -> None:
    conn_id, path = sqlite_db
    columns_sql = ", ".join(f"c{i} TEXT" for i in range(1200))
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE wide ({columns_sql})")
    columns = {f"c{i}": 0.1 for i in range(1200)}
    _gate(conn_id=conn_id, table="wide", null_thresholds=columns)._measure_now()  # 1201 counters: fine
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=conn_id, table="wide", null_thresholds=columns, blank_is_null=True)._measure_now()
    message = str(info.value)
    assert "2401 counters" in message and "sqlite allows at most 2000" in message
    assert "null_thresholds" in message and "blank_is_null" in message


@pytest.mark.integration
@pytest.mark.airflow
def test_postgres_too_many_counters_fail_at_once_without_retry(pg_schema, gate_dag, capfd) -> None:
    """900 columns with blank_is_null: 1801 counters, above PostgreSQL's 1664 result columns. Measured, that
    is a database error the gate retried (retries=2) and blamed on ``row_filter``."""
    conn_id, schema = pg_schema
    columns_sql = ", ".join(f"c{i} text" for i in range(900))
    pg_execute(f"CREATE TABLE {schema}.wide ({columns_sql})")
    dag_run = gate_dag.run(conn_id=conn_id, table=f"{schema}.wide",
                           thresholds={f"c{i}": 0.1 for i in range(900)}, blank_is_null=True)  # fmt: skip
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert (gate_ti.state, gate_ti.try_number) == ("failed", 1)
    out = capfd.readouterr().out
    assert "1801 counters" in out and "postgres allows at most 1664" in out


# ---------------------------------------------------------------- what a refused measuring query names


@pytest.mark.integration
def test_a_refused_measuring_query_names_the_options_it_used(pg_schema) -> None:
    """TABLESAMPLE on a view is refused by PostgreSQL: the message must point at sample_percent, not at a
    row_filter the gate does not have."""
    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.orders (id int, email text)",
        f"CREATE VIEW {schema}.orders_v AS SELECT * FROM {schema}.orders",
    )
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=conn_id, table=f"{schema}.orders_v", null_thresholds={"email": 0.1},
              sample_percent=10)._measure_now()  # fmt: skip
    message = str(info.value)
    assert "TABLESAMPLE clause can only be applied to tables" in message
    assert "check sample_percent" in message and "row_filter" not in message
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=conn_id, table=f"{schema}.orders_v", null_thresholds={"email": 0.1},
              row_filter="nope = 1")._measure_now()  # fmt: skip
    assert "check row_filter" in str(info.value) and "sample_percent" not in str(info.value)


# ---------------------------------------------------------------- the trigger's polls and the SQL they log


def test_a_pause_does_not_log_the_unmasked_query_at_every_poll(sqlite_db, capfd, caplog, monkeypatch) -> None:
    """The gate shows its SQL masked (``mask_sql_literals``) in logs, XCom and alerts. While paused on SQLite
    or MySQL, the trigger ran it through ``DbApiHook.get_first``, which logs "Running statement: <sql>" at
    INFO on every poll: the filter's literals, unmasked, in the triggerer log every ``poke_interval``."""
    import asyncio
    import logging
    import time

    from lineage_helpers import reset_lineage

    from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    gate = _gate(conn_id=conn_id, table="orders", null_thresholds={"email": 0.1},
                 row_filter="email IS NULL OR email <> 'vip.customer@example.com'")  # fmt: skip
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS", "True")
    reset_lineage()
    try:
        query, spec, _ = gate._measure_now()
    finally:  # the option is cached: later tests must not see it
        monkeypatch.delenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS")
        reset_lineage()
    trigger = QualityGateTrigger(conn_id=conn_id, query=query.to_dict(), spec=spec.to_dict(),
                                 poke_interval=0.2, deadline=time.time() + 0.5)  # fmt: skip

    async def first_event() -> Any:
        return await anext(trigger.run())

    with caplog.at_level(logging.DEBUG):
        event = asyncio.run(first_event()).payload
    assert event["status"] == "timeout" and event["polls"] >= 2 and event["error"] is None
    logged = capfd.readouterr().out + capfd.readouterr().err + caplog.text
    assert "quality gate on orders still breached" in logged
    assert "vip.customer@example.com" not in logged


# ---------------------------------------------------------------- skip mode and teardown tasks

TEARDOWN_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    create_cluster = EmptyOperator(task_id="create_cluster")
    gate = QualityGateOperator.partial(
        task_id="gate", conn_id=CONN_ID, table="orders", null_thresholds={"email": 0.1}, on_breach="skip",
        **GATE_KWARGS,
    ).expand(row_filter=PARTITIONS) if MAPPED else QualityGateOperator(
        task_id="gate", conn_id=CONN_ID, table="orders", null_thresholds={"email": 0.1}, on_breach="skip",
        row_filter=PARTITIONS[1], **GATE_KWARGS,
    )
    publish = EmptyOperator(task_id="publish")
    delete_cluster = EmptyOperator(task_id="delete_cluster").as_teardown(setups=create_cluster)
    create_cluster >> gate >> publish >> delete_cluster
"""


@pytest.mark.airflow
@pytest.mark.parametrize("mapped", [False, True], ids=["gate", "mapped-gate"])
@pytest.mark.parametrize(
    "gate_kwargs", [{}, {"ignore_downstream_trigger_rules": False}], ids=["all-downstream", "direct-only"]
)
def test_skip_mode_never_skips_a_teardown_task(sqlite_db, mapped: bool, gate_kwargs: dict[str, Any]) -> None:
    """As ShortCircuitOperator (whose behaviour the docs promise): a breach skips the work after the gate, not
    the teardown that deletes what a setup task created (a cluster, a staging table), which must run."""
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_id = f"qg_teardown_{uuid.uuid4().hex[:6]}"
    header = (
        f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nMAPPED = {mapped!r}\nGATE_KWARGS = {gate_kwargs!r}\n"
        f"PARTITIONS = {['id IN (1, 4)', 'id IN (2, 3)']!r}\n"
    )
    dag_run = run_dag(header + TEARDOWN_DAG, dag_id)
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
    assert states[("publish", -1)] == "skipped"
    assert states[("delete_cluster", -1)] == "success"


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


def test_notifier_timeout_is_checked() -> None:
    import datetime as dt

    assert _gate(notifier_timeout=dt.timedelta(minutes=2)).notifier_timeout == 120.0
    with pytest.raises(QualityGateError, match=r"^g: notifier_timeout must be > 0"):
        _gate(notifier_timeout=0)


# ---------------------------------------------------------------- a gate mapped over its thresholds

MAPPED_THRESHOLDS_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator


def breached(context):
    with open(NOTES, "a") as f:
        f.write(context["quality_gate"]["event"] + "\\n")


with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    gate = QualityGateOperator.partial(
        task_id="gate", conn_id=CONN_ID, table="orders", poke_interval=datetime.timedelta(seconds=0.5),
        timeout=datetime.timedelta(seconds=60), notifiers=breached,
    ).expand(null_thresholds=[{"email": 0.6}, {"email": 0.1}, {"amount": {"max_null_rate": 0.5}}])
    per_rule = EmptyOperator.partial(task_id="per_rule").expand(doc=["a", "b", "c"])
    gate >> per_rule
    gate >> EmptyOperator(task_id="publish")
"""


@pytest.mark.airflow
def test_a_gate_mapped_over_thresholds_pauses_one_map_index_until_repaired(sqlite_db, tmp_path) -> None:
    """Map index 1 (email <= 10%) breaches and defers; the others pass. Repaired, it resumes, and what
    follows the gate runs once every map index passed."""
    import threading
    import time

    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_id = f"qg_mapped_rules_{uuid.uuid4().hex[:6]}"

    notes = tmp_path / "notes.txt"

    def repair() -> None:
        deadline = time.monotonic() + 120
        while not notes.exists() and time.monotonic() < deadline:  # map index 1 breached: it waits
            time.sleep(0.1)
        time.sleep(1.5)  # a few polls still see the breach
        sqlite_execute(path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL")

    threading.Thread(target=repair, daemon=True).start()
    header = f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nNOTES = {str(notes)!r}\n"
    dag_run = run_dag(header + MAPPED_THRESHOLDS_DAG, dag_id)
    states = {
        (ti.task_id, ti.map_index): (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()
    }
    assert states == {
        **{("gate", i): ("success", 1) for i in range(3)},
        **{("per_rule", i): ("success", 1) for i in range(3)},
        ("publish", -1): ("success", 1),
    }
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_id, task_id="gate", key="return_value").all()
        results = {row.map_index: XComModel.deserialize_value(row) for row in rows}
    assert sorted(results[1]["columns"]) == ["email"] and results[1]["columns"]["email"]["null_rate"] == 0.0
    assert results[1]["waited_seconds"] >= 1.5 and "waited_seconds" not in results[0]
    assert notes.read_text().split() == ["breach", "recovery"]
    assert sorted(results[2]["columns"]) == ["amount"]


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

    gate = _gate(notifiers=[notifier])
    token = probe.set("set by the task")
    try:
        ti = SimpleNamespace(dag_id="d", task_id="g", run_id="r", log_url=None)
        gate._notify({"ti": ti}, "breach", None)
    finally:
        probe.reset(token)
    assert seen == [("set by the task", "quality-gate-notifier g")]
