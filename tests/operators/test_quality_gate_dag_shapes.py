"""Gates in the DAG shapes authors write: mapped over partitions, inside a TaskGroup, with trigger rules.

Each runs a real ``dag.test()``; OpenLineage events are schema-validated by the ``lineage_events`` fixture.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from gate_helpers import ORDERS, pg_execute, sqlite_execute

pytestmark = pytest.mark.airflow

#: partition 0 (ids 1, 4) has no null email, partition 1 (ids 2, 3) only nulls
PARTITIONS = ["id IN (1, 4)", "id IN (2, 3)"]

MAPPED_DAG = """
import datetime
from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1),
         default_args={"retries": 2, "retry_delay": datetime.timedelta(seconds=1)}) as dag:
    with TaskGroup("checks"):
        gate = QualityGateOperator.partial(
            task_id="gate", conn_id=CONN_ID, table=TABLE, null_thresholds={"email": 0.1}, on_breach=MODE,
            poke_interval=0.5, timeout=1.5,
        ).expand(row_filter=PARTITIONS)
    per_partition = EmptyOperator.partial(task_id="per_partition").expand(doc=["p0", "p1"])
    publish = EmptyOperator(task_id="publish")
    report = EmptyOperator(task_id="report")
    gate >> per_partition
    gate >> publish >> report
"""


def _run_mapped(conn_id: str, table: str, mode: str, partitions: list[str] = PARTITIONS) -> tuple[str, Any]:
    from lineage_helpers import run_dag

    dag_id = f"qg_mapped_{mode}_{uuid.uuid4().hex[:6]}"
    header = f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nTABLE = {table!r}\nMODE = {mode!r}\n"
    return dag_id, run_dag(header + f"PARTITIONS = {partitions!r}\n" + MAPPED_DAG, dag_id)


def _states(dag_run: Any) -> dict[tuple[str, int], tuple[str | None, int]]:
    return {
        (ti.task_id, ti.map_index): (str(ti.state) if ti.state else None, ti.try_number)
        for ti in dag_run.get_task_instances()
    }


def _xcom(dag_run: Any, task_id: str, map_index: int) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(
                dag_id=dag_run.dag_id,
                run_id=dag_run.run_id,
                task_id=task_id,
                map_index=map_index,
                key="return_value",
            )
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


#: what each mode does to the breached partition (map index 1) and to what follows the gate
EXPECTED = {
    "skip": {
        ("checks.gate", 1): ("success", 1),
        ("per_partition", 0): ("success", 1),  # partition 0 passed: its own work goes on
        ("per_partition", 1): ("skipped", 0),
        ("publish", -1): ("skipped", 0),  # needs every partition
        ("report", -1): ("skipped", 0),
    },
    "fail": {
        ("checks.gate", 1): ("failed", 1),  # retries=2 in default_args, a breach is not retried
        ("publish", -1): ("upstream_failed", 0),
        ("report", -1): ("upstream_failed", 0),
    },
    "warn": {
        ("checks.gate", 1): ("success", 1),
        ("per_partition", 0): ("success", 1),
        ("per_partition", 1): ("success", 1),
        ("publish", -1): ("success", 1),
        ("report", -1): ("success", 1),
    },
    "pause": {  # never repaired: the pause times out
        ("checks.gate", 1): ("failed", 1),
        ("publish", -1): ("upstream_failed", 0),
        ("report", -1): ("upstream_failed", 0),
    },
}


@pytest.mark.parametrize("mode", ["skip", "fail", "warn", "pause"])
def test_mapped_gate_over_partitions_in_a_task_group(sqlite_db, lineage_events, mode: str) -> None:
    from airflow.sdk import BaseHook

    from airflow_lineage_provider.naming import dataset_for_table

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_id, dag_run = _run_mapped(conn_id, "orders", mode)
    states = _states(dag_run)
    assert states[("checks.gate", 0)] == ("success", 1)
    assert {key: states.get(key) for key in EXPECTED[mode]} == EXPECTED[mode]
    results = {i: _xcom(dag_run, "checks.gate", i) for i in (0, 1)}
    assert (results[0]["status"], results[0]["row_filter"]) == ("pass", PARTITIONS[0])
    assert (results[1]["status"], results[1]["row_filter"]) == ("breach", PARTITIONS[1])
    assert results[1]["columns"]["email"]["null_count"] == 2

    # each map index reports its own measurement of the same dataset
    dataset = dataset_for_table(BaseHook.get_connection(conn_id), "orders")
    ends = [e for e in lineage_events() if e["job"]["name"] == f"{dag_id}.checks.gate"
            and e["eventType"] in ("COMPLETE", "FAIL")]  # fmt: skip
    by_index = {e["run"]["facets"]["airflow"]["taskInstance"]["map_index"]: e for e in ends}
    assert sorted(by_index) == [0, 1]
    for index, null_count in ((0, 0), (1, 2)):
        [data] = by_index[index]["inputs"]
        assert (data["namespace"], data["name"]) == (dataset.namespace, dataset.name)
        metrics = data["inputFacets"]["dataQualityMetrics"]
        assert (metrics["rowCount"], metrics["columnMetrics"]["email"]["nullCount"]) == (2, null_count)
        [assertion] = data["inputFacets"]["dataQualityAssertions"]["assertions"]
        assert assertion["success"] is (index == 0)


@pytest.mark.integration
def test_mapped_gate_in_skip_mode_on_postgres(pg_schema) -> None:
    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.orders (id int, email text, amount real)",
        f"INSERT INTO {schema}.orders VALUES (1, 'a@x', 1), (2, NULL, 2), (3, NULL, NULL), (4, 'd@x', 4)",
    )
    _, dag_run = _run_mapped(conn_id, f"{schema}.orders", "skip")
    states = _states(dag_run)
    assert {key: states.get(key) for key in EXPECTED["skip"]} == EXPECTED["skip"]


@pytest.mark.parametrize(
    ("mode", "partitions", "message"),
    [
        ("skip", ["id = 1", "id = 2; DELETE FROM orders"], "row_filter .* is refused"),
        ("explode", PARTITIONS, "on_breach='explode' is not a known value"),
    ],
)
def test_bad_input_to_a_mapped_gate_fails_without_retry(sqlite_db, capfd, mode, partitions, message) -> None:
    """A mapped gate is built when each map index starts, so its arguments are checked then: bad input
    must fail at once, as for an unmapped gate, not be retried (default_args: retries=2)."""
    import re

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    _, dag_run = _run_mapped(conn_id, "orders", mode, partitions)
    states = _states(dag_run)
    assert states[("checks.gate", 1)] == ("failed", 1)
    assert states[("publish", -1)] == ("upstream_failed", 0)
    assert re.search(f"checks.gate: {message}", capfd.readouterr().out)


GROUP_DAG = """
import datetime
from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1), params={"region": "eu"}) as dag:
    with TaskGroup("checks"):
        gate = QualityGateOperator(
            task_id="gate", conn_id=CONN_ID, table="{{ params.table }}", params={"table": "orders"},
            null_thresholds={"email": 0.1}, on_breach=MODE, retries=2,
            row_filter="'{{ params.region }}' = 'eu' AND '{{ ds }}' > '2000-01-01'",
        )
    after = EmptyOperator(task_id="after")
    cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
    tolerant = EmptyOperator(task_id="tolerant", trigger_rule="none_failed")
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    gate >> after >> [cleanup, tolerant]
    gate >> branch >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
"""


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("skip", {"checks.gate": ("success", 1), "after": ("skipped", 0), "cleanup": ("skipped", 0),
                  "tolerant": ("skipped", 0), "branch": ("skipped", 0), "left": ("skipped", 0)}),
        ("fail", {"checks.gate": ("failed", 1), "after": ("upstream_failed", 0), "cleanup": ("success", 1),
                  "tolerant": ("upstream_failed", 0), "branch": ("upstream_failed", 0),
                  "left": ("upstream_failed", 0)}),
    ],
)  # fmt: skip
def test_gate_in_a_task_group_with_trigger_rules_and_a_branch(sqlite_db, mode, expected) -> None:
    """skip: everything downstream is skipped whatever its trigger rule (as documented); fail: retries=2 on
    the task is not used for a breach, and an ``all_done`` task still runs."""
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_id = f"qg_group_{mode}_{uuid.uuid4().hex[:6]}"
    dag_run = run_dag(f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nMODE = {mode!r}\n" + GROUP_DAG, dag_id)
    states = {task_id: state for (task_id, _), state in _states(dag_run).items()}
    assert {task_id: states[task_id] for task_id in expected} == expected
    result = _xcom(dag_run, "checks.gate", -1)
    assert result["status"] == "breach" and result["table"] == "orders"
    assert result["row_filter"].startswith("'eu' = 'eu' AND '") and "{{" not in result["sql"]


class _FakeApi:
    """Airflow's REST API as far as the gate uses it: which DAGs are paused."""

    def __init__(self, paused: dict[str, bool]) -> None:
        self.paused = paused

    def check(self) -> None:
        pass

    def pause(self, dag_ids: list[str]) -> list[str]:
        running = [d for d in dag_ids if not self.paused[d]]
        self.paused.update(dict.fromkeys(running, True))
        return running

    def unpause(self, dag_ids: list[str]) -> tuple[list[str], list[str]]:
        self.paused.update(dict.fromkeys(dag_ids, False))
        return list(dag_ids), []


def test_a_passing_map_index_leaves_dags_another_map_index_of_the_run_holds_paused(monkeypatch) -> None:
    """A mapped gate: every map index shares the run id. Partition 1 breaches and pauses the consumer;
    partition 0 passes meanwhile (a real scheduler runs them side by side): the consumer must stay paused
    until partition 1 recovers."""
    from types import SimpleNamespace

    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    gate = QualityGateOperator(task_id="gate", conn_id="c", table="orders", null_thresholds={"email": 0.1},
                               pause_downstream_dags=["consumer"], airflow_api_conn_id="api")  # fmt: skip
    from gate_helpers import MemoryHoldStore

    api = _FakeApi({"consumer": False})
    store = MemoryHoldStore()
    monkeypatch.setattr(gate, "_api", lambda: api)
    monkeypatch.setattr(gate, "_store", lambda context, api: store)

    def context(map_index: int) -> Any:
        ti = SimpleNamespace(dag_id="producer", task_id="gate", run_id="manual__1", map_index=map_index)
        return {"ti": ti}

    assert gate._pause_dags(context(1)) == ["consumer"]  # partition 1 breached
    assert gate._release_dags(context(0), []) == []  # partition 0 passed
    assert api.paused == {"consumer": True}
    assert gate._release_dags(context(1), ["consumer"]) == ["consumer"]  # partition 1 recovered
    assert api.paused == {"consumer": False} and store.holds == {}


TRIGGER_RULE_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    gate = QualityGateOperator(
        task_id="gate", conn_id=CONN_ID, table="orders", null_thresholds={"email": 0.1}, on_breach="skip",
        **GATE_KWARGS,
    )
    load = EmptyOperator(task_id="load")
    publish = EmptyOperator(task_id="publish")
    cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
    gate >> load >> [publish, cleanup]
"""


@pytest.mark.parametrize(
    ("gate_kwargs", "cleanup"),
    [({}, "skipped"), ({"ignore_downstream_trigger_rules": False}, "success")],
    ids=["every-task-downstream", "direct-only-then-trigger-rules"],
)
def test_skip_mode_and_downstream_trigger_rules(sqlite_db, gate_kwargs, cleanup) -> None:
    """As with ShortCircuitOperator: by default a breach skips all that follows, an ``all_done`` clean-up
    too; with ``ignore_downstream_trigger_rules=False`` only the direct downstream task is skipped and the
    trigger rules of the rest decide."""
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_id = f"qg_rules_{uuid.uuid4().hex[:6]}"
    header = f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nGATE_KWARGS = {gate_kwargs!r}\n"
    states = _states(run_dag(header + TRIGGER_RULE_DAG, dag_id))
    assert {task: states[(task, -1)][0] for task in ("gate", "load", "publish", "cleanup")} == {
        "gate": "success",
        "load": "skipped",
        "publish": "skipped",
        "cleanup": cleanup,
    }


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


# ---------------------------------------------------------------- thresholds computed by an upstream task

THRESHOLDS_FROM_A_TASK_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    rules = PythonOperator(task_id="rules", python_callable=lambda: {"email": 0.5, "amount": 0.1})
    gate = QualityGateOperator(task_id="gate", conn_id=CONN_ID, table="orders", null_thresholds=rules.output,
                               on_breach="fail")
"""


def test_thresholds_from_an_upstream_task_output(sqlite_db) -> None:
    """``null_thresholds=task.output``: the gate runs after that task, with the rules it returned."""
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)  # email 50% null, amount 25%
    dag_id = f"qg_xcom_rules_{uuid.uuid4().hex[:6]}"
    dag_run = run_dag(f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\n" + THRESHOLDS_FROM_A_TASK_DAG, dag_id)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states == {"rules": "success", "gate": "failed"}
    from gate_helpers import gate_xcom

    result = gate_xcom(dag_run)
    assert result["breaches"] == ["amount"]
    assert {c: v["max_null_rate"] for c, v in result["columns"].items()} == {"email": 0.5, "amount": 0.1}


TEMPLATED_MAPPED_DAG = """
import datetime
from airflow.sdk import DAG
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

PARAMS = {"conn": CONN_ID, "rate": 0.1}
with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1), params=PARAMS) as dag:
    QualityGateOperator.partial(
        task_id="gate", conn_id="{{ params.conn }}", table="orders",
        null_thresholds='{"email": {{ params.rate }}}', on_breach="fail",
    ).expand(row_filter=PARTITIONS)
"""


def test_a_mapped_gate_renders_conn_id_and_thresholds_per_map_index(sqlite_db) -> None:
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_id = f"qg_mapped_templated_{uuid.uuid4().hex[:6]}"
    header = f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nPARTITIONS = {PARTITIONS!r}\n"
    dag_run = run_dag(header + TEMPLATED_MAPPED_DAG, dag_id)
    assert _states(dag_run) == {("gate", 0): ("success", 1), ("gate", 1): ("failed", 1)}
    for index in (0, 1):
        result = _xcom(dag_run, "gate", index)
        assert result["conn_id"] == conn_id and result["columns"]["email"]["max_null_rate"] == 0.1
