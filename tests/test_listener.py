"""The listener on real DAGs (dag.test() in the isolated AIRFLOW_HOME), events captured by a file transport.

Every scenario asserts the exact event sequence: one START and one terminal event per task try, the DAG run
framed by its own START and terminal event, run ids recomputable from the documented inputs.
"""

from __future__ import annotations

import json
import logging
import os

import pytest
from lineage_helpers import (
    TRANSPORT_ENV,
    ensure_listener_registered,
    reset_lineage,
    run_dag,
    summary,
    task_events,
)

from airflow_lineage_provider.emission import events as ev

pytestmark = pytest.mark.airflow

THREE_TASKS = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator

with DAG("lp_three_tasks", schedule=None, start_date=datetime.datetime(2024, 1, 1), tags=["lineage", "demo"],
         doc_md="Three tasks in a row.", default_args={"owner": "data-team"}) as dag:
    a = EmptyOperator(task_id="a")
    b = PythonOperator(task_id="b", python_callable=lambda: 1, doc_md="Returns one.")
    c = EmptyOperator(task_id="c")
    a >> b >> c
"""


def _run_id_inputs(event: dict) -> dict:
    return event["run"]["facets"]["airflow"]


def test_three_task_dag(lineage_events):
    dag_run = run_dag(THREE_TASKS, "lp_three_tasks")
    assert dag_run.state == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_three_tasks"),
        ("START", "lp_three_tasks.a"),
        ("COMPLETE", "lp_three_tasks.a"),
        ("START", "lp_three_tasks.b"),
        ("COMPLETE", "lp_three_tasks.b"),
        ("START", "lp_three_tasks.c"),
        ("COMPLETE", "lp_three_tasks.c"),
        ("COMPLETE", "lp_three_tasks"),
    ]
    assert {e["job"]["namespace"] for e in events} == {"default"}

    # run ids: recomputable from logical date, namespace, dag_id, task_id, try_number, map_index (clear no.)
    info = ev.DagRunInfo(dag_id="lp_three_tasks", run_id=dag_run.run_id, logical_date=dag_run.logical_date)
    dag_run_id = ev.dag_run_uuid("default", info)
    assert events[0]["run"]["runId"] == events[-1]["run"]["runId"] == dag_run_id
    for event in events[1:-1]:
        task_id = event["job"]["name"].split(".")[-1]
        assert event["run"]["runId"] == ev.task_run_uuid(
            "default", info, ev.TaskInfo(task_id=task_id, try_number=1)
        )
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == dag_run_id and parent["job"]["name"] == "lp_three_tasks"
        assert parent["root"]["run"]["runId"] == dag_run_id
    assert events[1]["run"]["runId"] == events[2]["run"]["runId"]
    assert int(dag_run_id[14]) == 7  # UUIDv7

    start_b = events[3]
    job_facets = start_b["job"]["facets"]
    assert job_facets["jobType"]["jobType"] == "TASK" and job_facets["jobType"]["integration"] == "AIRFLOW"
    assert job_facets["ownership"]["owners"] == [{"name": "data-team"}]
    assert [t["key"] for t in job_facets["tags"]["tags"]] == ["demo", "lineage"]
    assert job_facets["documentation"]["description"] == "Returns one."
    run_facets = start_b["run"]["facets"]
    assert run_facets["processing_engine"]["name"] == "Airflow"
    assert run_facets["nominalTime"]["nominalStartTime"]
    airflow = run_facets["airflow"]
    assert airflow["task"]["operator"] == "airflow.providers.standard.operators.python.PythonOperator"
    assert airflow["taskInstance"]["try_number"] == 1 and airflow["dagRun"]["run_id"] == dag_run.run_id
    assert "python_callable" not in json.dumps(airflow)  # no source code
    assert events[0]["job"]["facets"]["jobType"]["jobType"] == "DAG"
    assert events[0]["job"]["facets"]["documentation"]["description"] == "Three tasks in a row."
    assert events[0]["job"]["facets"]["documentation"]["contentType"] == "text/markdown"  # doc_md


PLAIN_DOCS = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("lp_plain_docs", schedule=None, start_date=datetime.datetime(2024, 1, 1),
         description="Loads orders.") as dag:
    EmptyOperator(task_id="plain", doc="Does nothing.") >> EmptyOperator(task_id="rst", doc_rst="*Nothing*")
"""


def test_documentation_keeps_its_media_type(lineage_events):
    """A DAG's ``description`` and a task's ``doc`` are plain text, ``doc_rst`` is reStructuredText: the
    documentation facet says so instead of calling everything markdown."""
    assert run_dag(PLAIN_DOCS, "lp_plain_docs").state == "success"
    docs = {
        e["job"]["name"]: (
            e["job"]["facets"]["documentation"]["description"],
            e["job"]["facets"]["documentation"]["contentType"],
        )
        for e in lineage_events()
        if e["eventType"] == "START"
    }
    assert docs == {
        "lp_plain_docs": ("Loads orders.", "text/plain"),
        "lp_plain_docs.plain": ("Does nothing.", "text/plain"),
        "lp_plain_docs.rst": ("*Nothing*", "text/x-rst"),
    }


RETRY = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

calls = []

def flaky():
    calls.append(1)
    if len(calls) == 1:
        raise ValueError("first try fails")

with DAG("lp_retry", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="flaky", python_callable=flaky, retries=1, retry_delay=datetime.timedelta(0))
"""


def test_fail_once_then_succeed_on_retry(lineage_events):
    dag_run = run_dag(RETRY, "lp_retry")
    assert dag_run.state == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_retry"),
        ("START", "lp_retry.flaky"),
        ("FAIL", "lp_retry.flaky"),
        ("START", "lp_retry.flaky"),
        ("COMPLETE", "lp_retry.flaky"),
        ("COMPLETE", "lp_retry"),
    ]
    first, fail, second, complete = events[1:5]
    assert first["run"]["runId"] == fail["run"]["runId"] != second["run"]["runId"] == complete["run"]["runId"]
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"] == "ValueError: first try fails" and error["programmingLanguage"] == "python"
    assert "first try fails" in error["stackTrace"]
    assert fail["run"]["facets"]["airflow"]["taskInstance"]["state"] == "up_for_retry"
    assert [e["run"]["facets"]["airflow"]["taskInstance"]["try_number"] for e in events[1:5]] == [1, 1, 2, 2]
    assert "errorMessage" not in complete["run"]["facets"]


MAPPED = """
import datetime
from airflow.sdk import DAG, task

with DAG("lp_mapped", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def double(x):
        return 2 * x

    double.expand(x=[1, 2, 3])
"""


def test_mapped_task_each_map_index(lineage_events):
    assert run_dag(MAPPED, "lp_mapped").state == "success"
    events = lineage_events()
    tasks = task_events(events, "lp_mapped.double")
    assert summary(events)[0] == ("START", "lp_mapped") and summary(events)[-1] == ("COMPLETE", "lp_mapped")
    assert len(events) == 2 + 6
    by_index: dict[int, list[str]] = {}
    for event in tasks:
        by_index.setdefault(event["run"]["facets"]["airflow"]["taskInstance"]["map_index"], []).append(
            event["eventType"]
        )
    assert by_index == {0: ["START", "COMPLETE"], 1: ["START", "COMPLETE"], 2: ["START", "COMPLETE"]}
    assert len({e["run"]["runId"] for e in tasks}) == 3


DEFERRABLE = """
import datetime
from airflow.sdk import DAG, BaseOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

class WaitABit(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(seconds=0.2)), method_name="resume")

    def resume(self, context, event=None):
        return "resumed"

with DAG("lp_deferrable", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    WaitABit(task_id="wait")
"""


def test_deferrable_task_resume_is_not_a_new_start(lineage_events):
    assert run_dag(DEFERRABLE, "lp_deferrable").state == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_deferrable"),
        ("START", "lp_deferrable.wait"),
        ("COMPLETE", "lp_deferrable.wait"),
        ("COMPLETE", "lp_deferrable"),
    ]
    assert events[1]["run"]["runId"] == events[2]["run"]["runId"]


RESCHEDULE = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.sensors.python import PythonSensor

pokes = []

def third_time_lucky():
    pokes.append(1)
    return len(pokes) >= 3

with DAG("lp_reschedule", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    PythonSensor(task_id="sensor", python_callable=third_time_lucky, mode="reschedule", poke_interval=0.1)
"""


def test_reschedule_sensor_one_start_per_try(lineage_events):
    assert run_dag(RESCHEDULE, "lp_reschedule").state == "success"
    import sys

    assert len(sys.modules["_test_dag_lp_reschedule"].pokes) == 3
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_reschedule"),
        ("START", "lp_reschedule.sensor"),
        ("COMPLETE", "lp_reschedule.sensor"),
        ("COMPLETE", "lp_reschedule"),
    ]
    assert events[2]["run"]["facets"]["airflow"]["task"]["mode"] == "reschedule"


BRANCH = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk.exceptions import AirflowSkipException

def skip_myself():
    raise AirflowSkipException("nothing to do")

with DAG("lp_branch", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    left = EmptyOperator(task_id="left")
    right = EmptyOperator(task_id="right")
    after_right = EmptyOperator(task_id="after_right")
    self_skip = PythonOperator(task_id="self_skip", python_callable=skip_myself)
    branch >> [left, right]
    right >> after_right
    left >> self_skip
"""


def test_skipped_branch_tasks_get_events(lineage_events):
    assert run_dag(BRANCH, "lp_branch").state == "success"
    events = lineage_events()
    seq = summary(events)
    assert seq[0] == ("START", "lp_branch") and seq[-1] == ("COMPLETE", "lp_branch")
    assert seq[1:6] == [
        ("START", "lp_branch.branch"),
        ("COMPLETE", "lp_branch.branch"),
        ("START", "lp_branch.left"),
        ("COMPLETE", "lp_branch.left"),
        ("START", "lp_branch.self_skip"),
    ]
    assert seq[6] == ("COMPLETE", "lp_branch.self_skip")  # self-skip: on_task_instance_skipped
    # skipped by the branch, never ran: START + COMPLETE from the DAG-run terminal hook
    assert sorted(seq[7:-1]) == sorted(
        [
            ("START", "lp_branch.right"),
            ("COMPLETE", "lp_branch.right"),
            ("START", "lp_branch.after_right"),
            ("COMPLETE", "lp_branch.after_right"),
        ]
    )
    for name in ("lp_branch.self_skip", "lp_branch.right", "lp_branch.after_right"):
        start, end = task_events(events, name)
        assert start["run"]["runId"] == end["run"]["runId"]
        assert end["run"]["facets"]["airflow"]["taskInstance"]["state"] == "skipped"
    assert (
        task_events(events, "lp_branch.right")[1]["run"]["facets"]["airflow"]["taskInstance"]["try_number"]
        == 0
    )


FAILING = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator

def boom():
    raise RuntimeError("broken on purpose")

with DAG("lp_failing", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    a = PythonOperator(task_id="a", python_callable=boom)
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> c
"""


def test_failed_dag_run_and_marking_by_hand_through_the_api(lineage_events, monkeypatch):
    dag_run = run_dag(FAILING, "lp_failing")
    assert dag_run.state == "failed"
    events = lineage_events()
    seq = summary(events)
    assert seq[0] == ("START", "lp_failing") and seq[-1] == ("FAIL", "lp_failing")
    assert sorted(seq[1:-1]) == sorted(
        [
            ("START", "lp_failing.a"),
            ("FAIL", "lp_failing.a"),
            ("START", "lp_failing.b"),
            ("COMPLETE", "lp_failing.b"),
            # c never ran (upstream failed): START + FAIL from the DAG-run terminal hook
            ("START", "lp_failing.c"),
            ("FAIL", "lp_failing.c"),
        ]
    )
    assert "errorMessage" in events[-1]["run"]["facets"]
    c_start, c_fail = task_events(events, "lp_failing.c")
    assert c_start["run"]["runId"] == c_fail["run"]["runId"]
    assert c_fail["run"]["facets"]["airflow"]["taskInstance"]["state"] == "upstream_failed"
    assert "upstream task failed" in c_fail["run"]["facets"]["errorMessage"]["message"]
    assert summary(events).index(("FAIL", "lp_failing.c")) < len(events) - 1  # before the DAG run's FAIL

    # the API server's PATCH calls the hooks with an ORM TaskInstance and previous_state None
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "lineage-tests-" + "x" * 64)
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app(apps="core"))
    base = f"/api/v2/dags/lp_failing/dagRuns/{dag_run.run_id}/taskInstances"
    for task_id, state in (("c", "success"), ("b", "failed"), ("a", "success")):
        response = client.patch(f"{base}/{task_id}", json={"new_state": state})
        assert response.status_code == 200, response.text
    marked = lineage_events()[len(events) :]
    assert summary(marked) == [
        ("START", "lp_failing.c"),  # that try never ran: marked by hand, it gets a START again
        ("COMPLETE", "lp_failing.c"),
        ("FAIL", "lp_failing.b"),
        ("COMPLETE", "lp_failing.a"),
    ]
    b_start = task_events(events, "lp_failing.b")[0]
    assert marked[2]["run"]["runId"] == b_start["run"]["runId"]
    assert "manually set" in marked[2]["run"]["facets"]["errorMessage"]["message"]

    # marking the DAG run itself: its terminal event again, same run id
    response = client.patch(f"/api/v2/dags/lp_failing/dagRuns/{dag_run.run_id}", json={"state": "success"})
    assert response.status_code == 200, response.text
    again = lineage_events()[len(events) + len(marked) :]
    assert summary(again) == [("COMPLETE", "lp_failing")]
    assert again[0]["run"]["runId"] == events[-1]["run"]["runId"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (TRANSPORT_ENV, '{"type": "http"}', ("[lineage_provider] transport", '"url"')),
        # an option only extraction reads: still one line for the process, not a warning per task
        ("AIRFLOW__LINEAGE_PROVIDER__SCHEMA_CACHE_TTL", "-1", ("[lineage_provider] schema_cache_ttl", "0")),
    ],
)
def test_bad_option_logs_one_line_and_tasks_keep_running(variable, value, expected):
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    package = logging.getLogger("airflow_lineage_provider")
    level = package.level
    package.addHandler(handler)  # not caplog: Airflow's logging set-up may stop propagation to the root
    package.setLevel(logging.INFO)
    os.environ[variable] = value
    reset_lineage()
    ensure_listener_registered()
    try:
        dag_run = run_dag(THREE_TASKS.replace("lp_three_tasks", "lp_bad_config"), "lp_bad_config")
    finally:
        del os.environ[variable]
        reset_lineage()
        package.removeHandler(handler)
        package.setLevel(level)
    assert dag_run.state == "success"
    ours = [r for r in records if r.levelno >= logging.INFO]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    message = ours[0].getMessage()
    assert ours[0].levelno == logging.ERROR
    assert all(part in message for part in expected) and "switched off" in message


def test_disabled_for_operators_and_disabled(lineage_events, monkeypatch):
    from airflow_lineage_provider import conf

    monkeypatch.setenv(
        "AIRFLOW__LINEAGE_PROVIDER__DISABLED_FOR_OPERATORS",
        "airflow.providers.standard.operators.empty.EmptyOperator",
    )
    conf.clear_cache()
    run_dag(THREE_TASKS.replace("lp_three_tasks", "lp_some_ops_off"), "lp_some_ops_off")
    assert summary(lineage_events()) == [
        ("START", "lp_some_ops_off"),
        ("START", "lp_some_ops_off.b"),
        ("COMPLETE", "lp_some_ops_off.b"),
        ("COMPLETE", "lp_some_ops_off"),
    ]
    before = len(lineage_events())
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__DISABLED", "true")
    conf.clear_cache()
    assert run_dag(THREE_TASKS.replace("lp_three_tasks", "lp_all_off"), "lp_all_off").state == "success"
    assert len(lineage_events()) == before


def test_embedded_default_announced_once(caplog, airflow_home):
    os.environ.pop(TRANSPORT_ENV, None)
    reset_lineage()
    ensure_listener_registered()
    from airflow_lineage_provider import listener

    listener._notices.discard("embedded-default")
    try:
        with caplog.at_level(logging.INFO, logger="airflow_lineage_provider"):
            assert (
                run_dag(MAPPED.replace("lp_mapped", "lp_default_file"), "lp_default_file").state == "success"
            )
            from airflow_lineage_provider.emission.emitter import get_emitter

            get_emitter().flush(10)
    finally:
        reset_lineage()
    lines = [r.getMessage() for r in caplog.records if "no transport configured" in r.getMessage()]
    assert len(lines) == 1 and str(airflow_home / "lineage" / "events.jsonl") in lines[0]
    import ol_schema

    captured = [
        e
        for e in ol_schema.read_events(airflow_home / "lineage" / "events.jsonl")
        if e["job"]["name"].startswith("lp_default_file")
    ]
    assert len(captured) == 8


TEMPLATE_ERROR = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("lp_template_error", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    BashOperator(task_id="render", bash_command="echo {{ no_such_variable.attribute }}")
"""


def test_failure_before_the_running_hook_still_gets_a_start(lineage_events):
    """A template error fails the try before Airflow calls on_task_instance_running."""
    assert run_dag(TEMPLATE_ERROR, "lp_template_error").state == "failed"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_template_error"),
        ("START", "lp_template_error.render"),
        ("FAIL", "lp_template_error.render"),
        ("FAIL", "lp_template_error"),
    ]
    assert events[1]["run"]["runId"] == events[2]["run"]["runId"]
    assert "no_such_variable" in events[2]["run"]["facets"]["errorMessage"]["message"]


def test_scheduler_dag_run_running_hook_sends_the_start(lineage_events):
    """The scheduler announces a run through DagRun.notify_dagrun_state_changed (not used by dag.test())."""
    from airflow.utils.session import create_session

    dag_run = run_dag(THREE_TASKS.replace("lp_three_tasks", "lp_sched_start"), "lp_sched_start")
    before = len(lineage_events())
    from airflow.models.dagrun import DagRun

    with create_session() as session:
        orm_run = session.get(DagRun, dag_run.id)
        orm_run.state = "running"
        orm_run.notify_dagrun_state_changed(msg="started")
        session.rollback()
    new = lineage_events()[before:]
    assert summary(new) == [("START", "lp_sched_start")]
    info = ev.DagRunInfo(dag_id="lp_sched_start", run_id=dag_run.run_id, logical_date=dag_run.logical_date)
    assert new[0]["run"]["runId"] == ev.dag_run_uuid("default", info)


def test_a_hook_never_raises(caplog):
    from airflow_lineage_provider.listener import get_listener

    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        get_listener().on_task_instance_running(previous_state=None, task_instance=object())
        get_listener().on_dag_run_failed(dag_run=object(), msg="boom")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all("no event sent" in m for m in messages), messages


def test_dag_run_parent_from_conf(lineage_events):
    parent_id, root_id = "01890000-0000-7000-8000-00000000a001", "01890000-0000-7000-8000-00000000a002"
    conf = {
        "openlineage": {
            "parentRunId": parent_id,
            "parentJobNamespace": "upstream",
            "parentJobName": "orchestrator.trigger_sales",
            "rootParentRunId": root_id,
            "rootParentJobNamespace": "upstream",
            "rootParentJobName": "orchestrator",
        }
    }
    source = THREE_TASKS.replace("lp_three_tasks", "lp_with_parent")
    assert run_dag(source, "lp_with_parent", run_conf=conf).state == "success"
    events = lineage_events()
    dag_events = task_events(events, "lp_with_parent")
    assert [e["eventType"] for e in dag_events] == ["START", "COMPLETE"]
    for event in dag_events:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == parent_id and parent["job"]["name"] == "orchestrator.trigger_sales"
        assert parent["root"]["run"]["runId"] == root_id
    for event in events:
        if event["job"]["name"] != "lp_with_parent":
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == dag_events[0]["run"]["runId"]
            assert (
                parent["root"]["run"]["runId"] == root_id and parent["root"]["job"]["name"] == "orchestrator"
            )
    assert "conf" not in json.dumps([e["run"]["facets"]["airflow"] for e in events])


HOOK_SQL = """
import datetime
from airflow.sdk import DAG, task

with DAG("lp_hook_children", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def load():
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        hook = SqliteHook(sqlite_conn_id="lp_children_db")
        hook.run("INSERT INTO totals SELECT name, SUM(amount) FROM orders GROUP BY name")
        hook.get_records("SELECT COUNT(*) FROM totals")

    load()
"""


def test_queries_run_through_hooks_as_child_jobs(lineage_events, monkeypatch, tmp_path):
    import sqlite3

    db = tmp_path / "children.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE orders (name TEXT, amount INTEGER)")
        connection.execute("CREATE TABLE totals (name TEXT, total INTEGER)")
        connection.execute("INSERT INTO orders VALUES ('ann', 3), ('bob', 4)")
    monkeypatch.setenv("AIRFLOW_CONN_LP_CHILDREN_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__HOOK_LINEAGE_CHILD_JOBS", "True")
    from airflow_lineage_provider import conf

    conf.clear_cache()
    assert run_dag(HOOK_SQL, "lp_hook_children").state == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_hook_children"),
        ("START", "lp_hook_children.load"),
        ("START", "lp_hook_children.load.query_1"),
        ("COMPLETE", "lp_hook_children.load.query_1"),
        ("START", "lp_hook_children.load.query_2"),
        ("COMPLETE", "lp_hook_children.load.query_2"),
        ("COMPLETE", "lp_hook_children.load"),
        ("COMPLETE", "lp_hook_children"),
    ]
    task_run = events[1]["run"]["runId"]
    child = events[3]
    assert child["run"]["facets"]["parent"]["run"]["runId"] == task_run
    assert child["run"]["facets"]["parent"]["job"]["name"] == "lp_hook_children.load"
    assert child["run"]["facets"]["parent"]["root"]["run"]["runId"] == events[0]["run"]["runId"]
    assert child["job"]["facets"]["jobType"]["jobType"] == "QUERY"
    assert [d["name"] for d in child["outputs"]] == ["totals"]
    # the task keeps the lineage attributed to it
    assert [d["name"] for d in events[6]["outputs"]] == ["totals"]


def test_operator_path_for_sdk_and_serialized_tasks():
    import datetime

    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_lineage_provider.listener import operator_path

    with DAG("lp_paths", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        EmptyOperator(task_id="e")
    serialized = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    expected = "airflow.providers.standard.operators.empty.EmptyOperator"
    assert operator_path(dag.task_dict["e"]) == operator_path(serialized.task_dict["e"]) == expected


DEFER_THEN_FAIL = """
import datetime
from airflow.sdk import DAG, BaseOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.providers.standard.sensors.python import PythonSensor

class WaitThenBreak(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(seconds=0.1)), method_name="resume")

    def resume(self, context, event=None):
        raise ValueError("broke after the deferral")

with DAG("lp_defer_fail", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    WaitThenBreak(task_id="wait")
    PythonSensor(task_id="never", python_callable=lambda: False, mode="reschedule", poke_interval=0.1,
                 timeout=1.5, soft_fail=False)
"""


def test_failure_after_a_deferral_or_a_sensor_timeout_is_one_fail(lineage_events):
    assert run_dag(DEFER_THEN_FAIL, "lp_defer_fail").state == "failed"
    events = lineage_events()
    for task in ("wait", "never"):
        tries = task_events(events, f"lp_defer_fail.{task}")
        assert [e["eventType"] for e in tries] == ["START", "FAIL"], task
        assert tries[0]["run"]["runId"] == tries[1]["run"]["runId"]
    assert (
        "broke after the deferral"
        in task_events(events, "lp_defer_fail.wait")[1]["run"]["facets"]["errorMessage"]["message"]
    )
    assert summary(events)[-1] == ("FAIL", "lp_defer_fail")
