"""Holds whose task stopped waiting without releasing them (marked success or failed by hand, DAG run
deleted) are ended by the next run of the gate that releases, through a real ``airflow api-server``.

The holds are recorded as a paused gate records them (the gate's own ``VariableHoldStore`` format, with the
task instance try), for real task instances of the gate's DAG; the tests then change those task instances
by hand through the REST API, as a person would in the UI, and let a real passing run of the gate release.
The last tests force interleavings with in-memory stand-ins, as tests/operators/test_pause_ledger.py does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import test_quality_gate_pause_dags as pause_dags
from gate_helpers import gate_xcom, sqlite_execute, ti_states
from test_pause_ledger import Api as MemoryApi
from test_quality_gate_pause_dags import PASSWORD, USER, _holds, _paused, _scenario

from airflow_lineage_provider.operators import pause_ledger
from airflow_lineage_provider.operators.pause_ledger import Hold, TaskRef, VariableHoldStore

api_server = pause_dags.api_server  # a real ``airflow api-server`` (module-scoped fixture)


def _record_hold(gate_dag: Any, hold: Hold) -> None:
    """Write ``hold`` where the gate keeps it (the Variable ``VariableHoldStore.put`` writes)."""
    from airflow.models.variable import Variable

    store = VariableHoldStore(gate_dag.dag_id, "gate", None)
    value: dict[str, Any] = {"gate": store.gate, "holder": hold.holder, "dags": list(hold.dags),
                             "ended": hold.ended}  # fmt: skip
    if hold.ti is not None:
        value["ti"] = hold.ti.to_dict()
    Variable.set(store.key(hold.record), value, serialize_json=True)


def _ref(dag_run: Any) -> TaskRef:
    ti = dag_run.get_task_instance("gate")
    return TaskRef(dag_run.dag_id, "gate", dag_run.run_id, -1, int(ti.try_number))


def _by_hand(api_server: str, method: str, path: str, **kwargs: Any) -> None:
    """What a person does in the UI, through the REST API."""
    token = httpx.post(f"{api_server}/auth/token", json={"username": USER, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    response = httpx.request(method, f"{api_server}{path}", headers=headers, timeout=30, **kwargs)
    assert response.status_code < 300, response.text


def _set_state(dag_run: Any, state: str) -> None:
    """A state the REST API does not let a person set (a gate still waiting): set in the metadata DB."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id,
                                                   task_id="gate").one()  # fmt: skip
        ti.state = state


@pytest.mark.airflow
def test_holds_of_runs_that_stopped_waiting_are_ended_by_the_next_release(
    api_server: str, sqlite_db: Any, gate_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumers = {name: f"{gate_dag.dag_id}_{name}" for name in ("ok", "failed", "deleted", "live", "old")}
    conn_id, path, api_conn = _scenario(
        api_server, sqlite_db, monkeypatch, dict.fromkeys(consumers.values(), True)
    )
    sqlite_execute(path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL")
    kwargs = dict(conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="pause",
                  pause_downstream_dags=True, airflow_api_conn_id=api_conn)  # fmt: skip
    # four runs of the gate, each left holding one consumer DAG paused (a waiting gate's record)
    runs = {name: gate_dag.run(**kwargs) for name in ("ok", "failed", "deleted", "live")}
    for name, dag_run in runs.items():
        _record_hold(gate_dag, Hold(dag_run.run_id, (consumers[name],), ti=_ref(dag_run)))
    # an earlier version's record (no try): its holder names a run the gate's DAG does not have (gone)
    _record_hold(gate_dag, Hold("manual__before_upgrade", (consumers["old"],)))
    base = f"/api/v2/dags/{gate_dag.dag_id}/dagRuns"
    # "ok": marked success by hand (its state already); "failed": marked failed by hand in the UI
    _by_hand(api_server, "PATCH", f"{base}/{runs['failed'].run_id}/taskInstances/gate",
             json={"new_state": "failed"})  # fmt: skip
    _by_hand(api_server, "DELETE", f"{base}/{runs['deleted'].run_id}")  # the DAG run deleted
    _set_state(runs["live"], "deferred")  # still waiting on its data

    passing = gate_dag.run(**kwargs)
    assert ti_states(passing) == {"gate": "success", "downstream": "success", "further": "success"}
    ended = sorted(consumers[n] for n in ("ok", "failed", "deleted", "old"))
    assert sorted(gate_xcom(passing)["unpaused_dags"]) == ended
    assert _paused(list(consumers.values())) == {**dict.fromkeys(ended, False), consumers["live"]: True}
    assert _holds(gate_dag) == {runs["live"].run_id: ((consumers["live"],), False)}

    _set_state(runs["live"], "success")  # the waiting run marked success by hand: the next release ends it
    assert gate_xcom(gate_dag.run(**kwargs))["unpaused_dags"] == [consumers["live"]]
    assert _holds(gate_dag) == {}


@pytest.mark.airflow
def test_the_api_reads_task_instance_states_and_tells_gone_from_a_wrong_dag(
    api_server: str, sqlite_db: Any, gate_dag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_lineage_provider.hooks.airflow_api import AirflowApiClient, AirflowApiError

    conn_id, _, api_conn = _scenario(api_server, sqlite_db, monkeypatch, {})
    dag_run = gate_dag.run(conn_id=conn_id, table="orders", thresholds={"email": 0.9})
    api, ref = AirflowApiClient(api_conn), _ref(dag_run)
    assert api.task_instance(ref) == ("success", ref.try_number)
    gone = TaskRef(ref.dag_id, "gate", "manual__no_such_run", -1, 1)
    assert api.task_instance(gone) is None
    with pytest.raises(AirflowApiError):  # the DAG itself unknown: not proof that the run is over
        api.task_instance(TaskRef("no_such_dag", "gate", dag_run.run_id, -1, 1))


# ---------------------------------------------------------------- interleavings (in-memory stand-ins)


class Store:
    """The ledger's store keyed by record (one per task instance try), as ``VariableHoldStore`` keys it."""

    def __init__(self) -> None:
        self.holds: dict[str, Hold] = {}
        self.during_put: Callable[[], None] | None = None

    def records(self) -> dict[str, Hold]:
        return dict(self.holds)

    def put(self, hold: Hold) -> None:
        if self.during_put is not None:
            step, self.during_put = self.during_put, None
            step()
        self.holds[hold.record] = hold

    def drop(self, record: str) -> None:
        self.holds.pop(record, None)


class Api(MemoryApi):
    """DAG pause states and task instance states: ``{(run_id, map_index): (state, try) | None}``."""

    def __init__(self, paused: dict[str, bool], tis: dict[tuple[str, int], Any]) -> None:
        super().__init__(paused)
        self.tis = tis

    def task_instance(self, ref: TaskRef) -> tuple[str | None, int] | None:
        now = self.tis[(ref.run_id, ref.map_index)]
        if isinstance(now, Exception):
            raise now
        return now  # type: ignore[no-any-return]


def _ti(run_id: str, try_number: int, map_index: int = -1) -> TaskRef:
    return TaskRef("d", "gate", run_id, map_index, try_number)


def test_a_cleared_run_keeps_what_its_new_try_holds() -> None:
    """Run A's try 1 held x and was cleared; try 2 breached again and holds x (already paused: by try 1's
    record, so by this gate). Run B passes: try 1's record is over and ended, try 2's keeps x paused."""
    store, api = Store(), Api({"x": False}, {("a", -1): ("running", 1), ("b", -1): ("running", 1)})
    assert pause_ledger.hold(store, api, "a", ["x"], ti=_ti("a", 1)) == ["x"]
    api.tis[("a", -1)] = ("deferred", 2)  # cleared, and the new try waits again
    assert pause_ledger.hold(store, api, "a", ["x"], ti=_ti("a", 2)) == ["x"]
    assert pause_ledger.release(store, api, "b", ti=_ti("b", 1)) == []
    assert api.paused == {"x": True}
    assert store.holds == {
        "a#1": Hold("a", ("x",), ended=True, ti=_ti("a", 1)),  # ended, as a timed-out hold
        "a#2": Hold("a", ("x",), ti=_ti("a", 2)),
    }
    api.tis[("a", -1)] = ("running", 2)  # try 2 recovers
    assert pause_ledger.release(store, api, "a", ti=_ti("a", 2)) == ["x"]
    assert api.paused == {"x": False} and store.holds == {}


def test_a_new_try_writing_while_a_release_ends_the_old_one_is_never_overwritten() -> None:
    """Run B's release decided that run A's try 1 is over; before B writes, A is cleared and try 2 records
    its intent and pauses: B's writes go to try 1's record only, and its second look re-pauses x."""
    store, api = Store(), Api({"x": False, "y": False}, {("a", 3): ("failed", 1), ("b", -1): ("running", 1)})
    pause_ledger.hold(store, api, "a[3]", ["x", "y"], ti=_ti("a", 1, 3))

    def try_2_breaches() -> None:
        api.tis[("a", 3)] = ("running", 2)
        pause_ledger.hold(store, api, "a[3]", ["x"], ti=_ti("a", 2, 3))

    api.during_unpause = try_2_breaches
    assert pause_ledger.release(store, api, "b", ti=_ti("b", 1)) == ["y"]
    assert api.paused == {"x": True, "y": False}
    assert store.holds == {"a[3]#2": Hold("a[3]", ("x",), ti=_ti("a", 2, 3))}


def test_a_holder_whose_state_cannot_be_read_counts_as_waiting() -> None:
    store, api = Store(), Api({"x": False}, {("a", -1): ("running", 1), ("b", -1): ("running", 1)})
    pause_ledger.hold(store, api, "a", ["x"], ti=_ti("a", 1))
    api.tis[("a", -1)] = RuntimeError("API down")
    assert pause_ledger.release(store, api, "b", ti=_ti("b", 1)) == []
    assert api.paused == {"x": True} and list(store.holds) == ["a#1"]
    api.tis[("a", -1)] = ("up_for_retry", 1)  # will run again: still waiting
    assert pause_ledger.release(store, api, "b", ti=_ti("b", 1)) == []
    api.tis[("a", -1)] = None  # its DAG run deleted
    assert pause_ledger.release(store, api, "b", ti=_ti("b", 1)) == ["x"]
    assert store.holds == {}


def test_a_timed_out_hold_from_before_records_named_their_try_is_released_by_its_own_run() -> None:
    """A record written by an earlier version (no try) is this holder's own after an upgrade."""
    store, api = Store(), Api({"x": True}, {})
    store.put(Hold("a", ("x",)))
    assert pause_ledger.release(store, api, "a", ti=_ti("a", 1)) == ["x"]
    assert store.holds == {}


def test_records_from_before_records_named_their_try_are_checked_by_their_holder() -> None:
    """A record of an earlier version names no try, but its holder is the run id (``run_id[i]`` for a map
    index) and the gate is the releasing one's: ended when that task instance finished or is gone, still
    waiting while it may be the try that wrote it (deferred since before an upgrade)."""
    tis = {("a", -1): ("success", 1), ("b", 2): None, ("c", -1): ("deferred", 1), ("r", -1): ("running", 1)}
    store, api = Store(), Api({"x": True, "y": True, "z": True}, tis)
    store.put(Hold("a", ("x",)))
    store.put(Hold("b[2]", ("y",)))
    store.put(Hold("c", ("z",)))
    assert pause_ledger.release(store, api, "r", ti=_ti("r", 1)) == ["x", "y"]
    assert api.paused == {"x": False, "y": False, "z": True}
    assert store.holds == {"c": Hold("c", ("z",))}
    api.tis[("c", -1)] = ("failed", 1)  # marked failed by hand
    assert pause_ledger.release(store, api, "r", ti=_ti("r", 1)) == ["z"]
    assert store.holds == {}


def test_an_unreadable_record_is_reported_once_naming_its_variable(caplog: pytest.LogCaptureFixture) -> None:
    """Not a JSON hold: the DAGs it names stay paused (nothing can tell which), so one warning says which
    Variable it is and what to do, however many times the ledger reads it."""

    class Listing:
        def __init__(self, values: dict[str, str]) -> None:
            self.values = values

        def variables(self, prefix: str) -> dict[str, str]:
            return {k: v for k, v in self.values.items() if k.startswith(prefix)}

    store = VariableHoldStore(f"qg_unreadable_{uuid.uuid4().hex[:6]}", "gate", None)
    key = store.key("old")
    store.api = Listing({key: '["dag_a", "dag_b"]'})
    with caplog.at_level("WARNING", logger=pause_ledger.__name__):
        for _ in range(3):
            assert store.records() == {}
    warnings = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert key in warnings[0] and '["dag_a", "dag_b"]' in warnings[0]
    assert f"airflow variables delete {key}" in warnings[0] and "Unpause them yourself" in warnings[0]


def test_a_record_names_its_try() -> None:
    """Records with a try are written as JSON the store reads back unchanged, one record per try."""
    hold = Hold("r[2]", ("x", "y"), ended=True, ti=_ti("r", 4, 2))
    assert TaskRef.from_dict(json.loads(json.dumps(hold.ti.to_dict()))) == hold.ti  # type: ignore[union-attr]
    assert hold.record == "r[2]#4"


# ---------------------------------------------------------------- on_kill: a stopped gate cancels its query


class _Code(str):
    """A gate argument written into the DAG file as this code (the file's header holds ``repr``s)."""

    def __repr__(self) -> str:
        return str(self)


def _pg_running(marker: str) -> list[str]:
    """Statements still running on the PostgreSQL server whose text contains ``marker``."""
    import psycopg2
    from gate_helpers import PG

    with psycopg2.connect(**PG) as db, db.cursor() as cur:
        cur.execute(
            "SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
            "AND query LIKE %s",
            (f"%{marker}%",),
        )
        return [row[0] for row in cur.fetchall()]


@pytest.mark.integration
@pytest.mark.airflow
def test_execution_timeout_cancels_the_measuring_query_on_postgres(pg_schema: Any, gate_dag: Any) -> None:
    """A scan that would take 30 s (a filter sleeping 1 s a row) is cancelled at the 2 s execution_timeout:
    the gate fails at once and the server runs nothing of it any more."""
    import time

    from gate_helpers import pg_execute

    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.orders (id int, email text)",
        f"INSERT INTO {schema}.orders SELECT i, NULL FROM generate_series(1, 30) AS i",
    )
    started = time.monotonic()
    dag_run = gate_dag.run(conn_id=conn_id, table=f"{schema}.orders", thresholds={"email": 0.1},
                           row_filter="pg_sleep(1) IS NOT NULL", on_breach="fail", retries=0,
                           execution_timeout=_Code("__import__('datetime').timedelta(seconds=2)"),
                           )  # fmt: skip
    elapsed = time.monotonic() - started
    assert ti_states(dag_run)["gate"] == "failed"
    assert elapsed < 20, f"the gate waited {elapsed:.0f}s for its query"
    assert _pg_running(schema) == []


@pytest.mark.integration
def test_on_kill_cancels_the_measuring_query_on_mariadb(mariadb_table: Any) -> None:
    """``on_kill`` (what Airflow calls when a person marks the task failed) from another thread: the query is
    stopped with KILL QUERY and the gate reports the database refusing it, long before the scan ends."""
    import threading
    import time

    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    conn_id, table, hook = mariadb_table
    hook.run(f"CREATE TABLE `{table}` (id INT, email TEXT)", autocommit=True)
    hook.run(f"INSERT INTO `{table}` SELECT seq, NULL FROM seq_1_to_30", autocommit=True)
    gate = QualityGateOperator(task_id="g", conn_id=conn_id, table=table, null_thresholds={"email": 0.1},
                               row_filter="SLEEP(1) = 0")  # fmt: skip
    killer = threading.Timer(1.5, gate.on_kill)
    killer.start()
    started = time.monotonic()
    with pytest.raises(Exception, match=r"measuring .* failed .*interrupted"):
        gate._measure_now()
    killer.join()
    assert time.monotonic() - started < 15
    running = hook.get_records(
        "SELECT id FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
        parameters=(f"%{table}%SLEEP%",),
    )
    assert list(running) == []


# ---------------------------------------------------------------- a user granted some columns only


@pytest.fixture
def pg_column_user(pg_schema: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A PostgreSQL role granted SELECT on ``orders (id, email)`` only; yields (conn_id, schema)."""
    import uuid

    from gate_helpers import PG, pg_execute

    _, schema = pg_schema
    role = f"qg_role_{uuid.uuid4().hex[:8]}"
    pg_execute(
        f"CREATE TABLE {schema}.orders (id int, email text, secret text)",
        f"INSERT INTO {schema}.orders VALUES (1, 'a@x', 's'), (2, NULL, 's'), (3, 'c@x', NULL)",
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT (id, email) ON {schema}.orders TO {role}",
    )
    conn_id = f"qg_pg_role_{uuid.uuid4().hex[:6]}"
    conn = {"conn_type": "postgres", "host": PG["host"], "port": PG["port"], "login": role,
            "schema": PG["dbname"]}  # fmt: skip
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    try:
        yield conn_id, schema
    finally:
        pg_execute(f"DROP OWNED BY {role}", f"DROP ROLE {role}")


@pytest.mark.integration
def test_a_user_granted_the_gated_columns_only_can_measure_them(pg_column_user: Any) -> None:
    from airflow_lineage_provider.exceptions import QualityGateError
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    conn_id, schema = pg_column_user
    gate = QualityGateOperator(task_id="g", conn_id=conn_id, table=f"{schema}.orders",
                               null_thresholds={"EMAIL": 0.5, "id": 0.0}, blank_is_null=True)  # fmt: skip
    query, _, measurement = gate._measure_now()
    assert measurement.row_count == 3
    assert {c: counts.null for c, counts in measurement.columns.items()} == {"email": 1, "id": 0}
    assert "secret" not in query.sql
    refused = QualityGateOperator(task_id="g", conn_id=conn_id, table=f"{schema}.orders",
                                  null_thresholds={"secret": 0.5})  # fmt: skip
    with pytest.raises(QualityGateError, match=r"'secret' does not exist.*grant SELECT on the others"):
        refused._measure_now()


# ---------------------------------------------------------------- a tiny sample, a three-part MySQL name


@pytest.mark.integration
def test_a_tiny_sample_percent_reaches_postgres_as_written(pg_schema: Any) -> None:
    from gate_helpers import pg_execute

    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.t (a int)", f"INSERT INTO {schema}.t SELECT 1 FROM generate_series(1, 10)"
    )
    gate = QualityGateOperator(task_id="g", conn_id=conn_id, table=f"{schema}.t", null_thresholds={"a": 0.1},
                               sample_percent=4e-7)  # fmt: skip
    query, _, measurement = gate._measure_now()
    assert query.sql.endswith("TABLESAMPLE SYSTEM (0.0000004)")
    assert measurement.row_count == 0  # sampled, not refused: 10 rows at 4e-7 % is no row


@pytest.mark.integration
def test_a_three_part_name_on_mariadb_is_refused_before_any_query(mariadb_table: Any) -> None:
    from airflow_lineage_provider.exceptions import QualityGateError
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator, _DatabaseRefused

    conn_id, table, hook = mariadb_table
    hook.run(f"CREATE TABLE `{table}` (a INT)", autocommit=True)
    gate = QualityGateOperator(task_id="g", conn_id=conn_id, table=f"test.test.{table}",
                               null_thresholds={"a": 0.1})  # fmt: skip
    with pytest.raises(
        QualityGateError, match=r"table 'test\.test\.qg_\w+' has 3 name parts.*\[database\.\]table"
    ) as info:
        gate._measure_now()
    assert not isinstance(info.value, _DatabaseRefused)  # not retried: the name is wrong, not the server
    QualityGateOperator(
        task_id="g", conn_id=conn_id, table=f"test.{table}", null_thresholds={"a": 0.1}
    )._measure_now()


# ---------------------------------------------------------------- the trigger cancels a query it leaves


def _slow_pg_trigger(conn_id: str, schema: str, timeout: float) -> Any:
    import time

    from gate_helpers import pg_execute

    from airflow_lineage_provider.quality import (
        ColumnSpec,
        GateSpec,
        NullRule,
        build_metrics_query,
        dialect_for,
        parse_table_name,
    )
    from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger

    pg_execute(
        f"CREATE TABLE {schema}.orders (email text)",
        f"INSERT INTO {schema}.orders SELECT NULL FROM generate_series(1, 30)",
    )
    table = parse_table_name(f"{schema}.orders")
    query = build_metrics_query(
        dialect_for("postgres"), table, [ColumnSpec("email")], row_filter="pg_sleep(1) IS NOT NULL"
    )
    spec = GateSpec(table=f"{schema}.orders", rules=(NullRule("email", 0.1),))
    return QualityGateTrigger(conn_id=conn_id, query=query.to_dict(), spec=spec.to_dict(), poke_interval=60,
                              deadline=time.time() + timeout)  # fmt: skip


def _until_stopped(marker: str, seconds: float = 10) -> list[str]:
    import time

    deadline = time.monotonic() + seconds
    while (running := _pg_running(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return running


@pytest.mark.integration
def test_the_trigger_cancels_a_query_still_running_at_the_gates_timeout(pg_schema: Any) -> None:
    import asyncio

    conn_id, schema = pg_schema
    trigger = _slow_pg_trigger(conn_id, schema, timeout=2)

    async def first() -> Any:
        return await anext(trigger.run())

    assert asyncio.run(first()).payload["status"] == "timeout"
    assert _until_stopped(schema) == []  # the 30 s scan is not left running


@pytest.mark.integration
def test_the_trigger_cancels_its_query_when_the_wait_is_cancelled(pg_schema: Any) -> None:
    """The triggerer cancels a trigger whose task was marked failed or success by hand."""
    import asyncio

    conn_id, schema = pg_schema
    trigger = _slow_pg_trigger(conn_id, schema, timeout=600)

    async def cancelled() -> None:
        task = asyncio.ensure_future(anext(trigger.run()))
        await asyncio.sleep(2)
        assert _pg_running(schema)  # measuring
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    assert _until_stopped(schema) == []


def test_an_unreadable_shared_variable_of_earlier_versions_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The one shared Variable of before one record per holder, holding something else than its two forms:
    the ledger goes on reading the other records (it raised before, so no release could run at all)."""
    store = VariableHoldStore(f"qg_legacy_{uuid.uuid4().hex[:6]}", "gate", None)
    monkeypatch.setenv(f"AIRFLOW_VAR_{store.legacy_key.upper()}", '"dag_a"')  # JSON, but neither form
    store.api = type("Listing", (), {"variables": lambda self, prefix: {}})()
    with caplog.at_level("WARNING", logger=pause_ledger.__name__):
        assert store.records() == {}
        assert store.records() == {}
    warnings = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(warnings) == 1 and store.legacy_key in warnings[0] and '"dag_a"' in warnings[0]
