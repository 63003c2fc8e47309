"""DAG shapes that tests/test_listener_lifecycles.py does not run, held to the same rules (docs/listener.md).

Each shape is a real ``dag.test()`` run on the SQLite metadata DB, and again a triggered run the scheduler's
own methods start, schedule and end, with its tries run as a worker runs them. The rules: one START and one
terminal event per task try and run id, a retry is a new run id, every task event's parent and root is its
DAG run, the DAG run has one START and one terminal event, nothing is logged at WARNING by the provider. On
top of that: each task run id is the documented one for its try and map index, tasks that never ran
(skipped by the scheduler, ``upstream_failed``) carry ``try_number`` 0 and their task instance's dates, and
every event of a run is dated between its DAG run's START and end. Also: the runs TriggerDagRunOperator
creates, and LatestOnlyOperator in a scheduled run of a past interval.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from lineage_helpers import run_dag, task_events
from test_listener_lifecycles import HEAD, _Records, broken_lifecycles, lifecycles

pytestmark = pytest.mark.airflow

NAMESPACE = "default"


def _run_and_log(source: str, dag_id: str) -> tuple[Any, list[str]]:
    """Run the DAG with ``dag.test()``; the DagRun and the provider's WARNING-or-worse lines."""
    handler = _Records()
    package = logging.getLogger("airflow_lineage_provider")
    level = package.level
    package.addHandler(handler)  # not caplog: Airflow's logging set-up may stop propagation to the root
    package.setLevel(logging.DEBUG)
    try:
        dag_run = run_dag(source, dag_id)
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
    return dag_run, [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING]


def wrong_run_ids(events: list[dict[str, Any]], dag_id: str, instant: Any) -> list[Any]:
    """Task events whose run id is not the documented one for their try and map index."""
    from airflow_lineage_provider.emission.events import task_try_uuid

    wrong = []
    for event in events:
        if event["job"]["name"] == dag_id:
            continue
        ti = event["run"]["facets"]["airflow"]["taskInstance"]
        task_id = event["job"]["name"][len(dag_id) + 1 :]
        expected = task_try_uuid(NAMESPACE, dag_id, instant, task_id, ti["try_number"], ti["map_index"])
        if event["run"]["runId"] != expected:
            wrong.append((event["eventType"], task_id, ti["try_number"], ti["map_index"]))
    return wrong


#: name -> (DAG body, the run's final state, the lifecycles of its tasks)
SHAPES: dict[str, tuple[str, str, dict[str, list[str]]]] = {
    "short_circuit_operator_skips_all_downstream": (
        # the default ignore_downstream_trigger_rules=True skips even an all_done task further down
        """
from airflow.providers.standard.operators.python import ShortCircuitOperator
with DAG(DAG_ID, **D) as dag:
    a = EmptyOperator(task_id="a")
    ShortCircuitOperator(task_id="gate", python_callable=lambda: False) >> a >> EmptyOperator(task_id="b")
    a >> EmptyOperator(task_id="cleanup", trigger_rule="all_done")
""",
        "success",
        {
            "a": ["0/-1 START COMPLETE skipped"],
            "b": ["0/-1 START COMPLETE skipped"],
            "cleanup": ["0/-1 START COMPLETE skipped"],
            "gate": ["1/-1 START COMPLETE success"],
        },
    ),
    "short_circuit_operator_skips_direct_downstream_only": (
        """
from airflow.providers.standard.operators.python import ShortCircuitOperator
with DAG(DAG_ID, **D) as dag:
    a = EmptyOperator(task_id="a")
    ShortCircuitOperator(task_id="gate", python_callable=lambda: False,
                         ignore_downstream_trigger_rules=False) >> a >> EmptyOperator(task_id="b")
    a >> EmptyOperator(task_id="cleanup", trigger_rule="all_done")
""",
        "success",
        {
            "a": ["0/-1 START COMPLETE skipped"],
            "b": ["0/-1 START COMPLETE skipped"],
            "cleanup": ["1/-1 START COMPLETE success"],
            "gate": ["1/-1 START COMPLETE success"],
        },
    ),
    "branch_operator_inside_a_task_group": (
        """
from airflow.providers.standard.operators.python import BranchPythonOperator
with DAG(DAG_ID, **D) as dag:
    with TaskGroup("g") as g:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "g.left")
        right = EmptyOperator(task_id="right")
        pick >> [EmptyOperator(task_id="left"), right]
        right >> EmptyOperator(task_id="after_right")
    g >> EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
""",
        "success",
        {
            "g.after_right": ["0/-1 START COMPLETE skipped"],
            "g.left": ["1/-1 START COMPLETE success"],
            "g.pick": ["1/-1 START COMPLETE success"],
            "g.right": ["0/-1 START COMPLETE skipped"],
            "join": ["1/-1 START COMPLETE success"],
        },
    ),
    "task_branch_to_a_group_and_to_nothing": (
        # a branch may name a task group (its roots run); one that returns None skips all it points to
        """
with DAG(DAG_ID, **D) as dag:
    @task.branch
    def to_group(): return "g"
    @task.branch
    def to_nothing(): return None
    with TaskGroup("g") as g:
        EmptyOperator(task_id="x") >> EmptyOperator(task_id="y")
    to_group() >> [g, EmptyOperator(task_id="other")]
    to_nothing() >> [EmptyOperator(task_id="n1"), EmptyOperator(task_id="n2")]
""",
        "success",
        {
            "g.x": ["1/-1 START COMPLETE success"],
            "g.y": ["1/-1 START COMPLETE success"],
            "n1": ["0/-1 START COMPLETE skipped"],
            "n2": ["0/-1 START COMPLETE skipped"],
            "other": ["0/-1 START COMPLETE skipped"],
            "to_group": ["1/-1 START COMPLETE success"],
            "to_nothing": ["1/-1 START COMPLETE success"],
        },
    ),
    "latest_only_in_a_manual_run": (
        # dag.test() makes a manual run, for which LatestOnlyOperator lets everything downstream run
        """
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
with DAG(DAG_ID, schedule="@daily", start_date=datetime.datetime(2024, 1, 1), catchup=False) as dag:
    LatestOnlyOperator(task_id="latest") >> EmptyOperator(task_id="work")
""",
        "success",
        {"latest": ["1/-1 START COMPLETE success"], "work": ["1/-1 START COMPLETE success"]},
    ),
    "expand_kwargs_literal_and_from_xcom": (
        """
def add(a, b):
    if a + b == 5:
        raise ValueError("five")
    return a + b
with DAG(DAG_ID, **D) as dag:
    PythonOperator.partial(task_id="classic", python_callable=add).expand_kwargs(
        [{"op_args": [1, 1]}, {"op_kwargs": {"a": 2, "b": 3}}])
    @task
    def pairs(): return [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    @task
    def plus(a, b): return a + b
    plus.expand_kwargs(pairs())
""",
        "failed",
        {
            "classic": ["1/0 START COMPLETE success", "1/1 START FAIL failed"],
            "pairs": ["1/-1 START COMPLETE success"],
            "plus": [
                "1/0 START COMPLETE success",
                "1/1 START COMPLETE success",
                "1/2 START COMPLETE success",
            ],
        },
    ),
    "mapped_task_group_with_a_failing_index": (
        # the index whose first task fails leaves its own second task upstream_failed, the others run
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def first(x):
        if x == 2:
            raise ValueError("two")
        return x
    @task
    def second(x): return x
    @task_group
    def g(x):
        second(first(x))
    g.expand(x=[1, 2, 3])
""",
        "failed",
        {
            "g.first": ["1/0 START COMPLETE success", "1/1 START FAIL failed", "1/2 START COMPLETE success"],
            "g.second": [
                "0/1 START FAIL upstream_failed",
                "1/0 START COMPLETE success",
                "1/2 START COMPLETE success",
            ],
        },
    ),
    "mapped_task_skipping_some_indexes": (
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def m(x):
        if x == 2:
            raise AirflowSkipException("not this one")
        return x
    @task
    def collect(xs): return list(xs)
    @task(trigger_rule="none_failed")
    def tolerant(xs): return list(xs)
    done = m.expand(x=[1, 2, 3])
    collect(done)
    tolerant(done)
""",
        "success",
        {
            "collect": ["0/-1 START COMPLETE skipped"],
            "m": ["1/0 START COMPLETE success", "1/1 START COMPLETE skipped", "1/2 START COMPLETE success"],
            "tolerant": ["1/-1 START COMPLETE success"],
        },
    ),
    "retries_exhausted_plain_and_mapped": (
        """
def boom(): raise ValueError("always")
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="t", python_callable=boom, retries=1, retry_delay=NOW) >> EmptyOperator(
        task_id="after")
    @task(retries=1, retry_delay=NOW)
    def m(x):
        if x == 1:
            raise ValueError("one")
    m.expand(x=[0, 1])
""",
        "failed",
        {
            "after": ["0/-1 START FAIL upstream_failed"],
            "m": ["1/0 START COMPLETE success", "1/1 START FAIL up_for_retry", "2/1 START FAIL failed"],
            "t": ["1/-1 START FAIL up_for_retry", "2/-1 START FAIL failed"],
        },
    ),
    "failing_teardown_after_a_good_body": (
        # a teardown's failure does not fail the run (on_failure_fail_dagrun is False by default)
        """
def boom(): raise RuntimeError("teardown broke")
with DAG(DAG_ID, **D) as dag:
    s = EmptyOperator(task_id="setup").as_setup()
    teardown = PythonOperator(task_id="teardown", python_callable=boom).as_teardown(setups=s)
    s >> EmptyOperator(task_id="work") >> teardown
""",
        "success",
        {
            "setup": ["1/-1 START COMPLETE success"],
            "teardown": ["1/-1 START FAIL failed"],
            "work": ["1/-1 START COMPLETE success"],
        },
    ),
    "decorated_setup_teardown_in_a_group_with_a_failing_body": (
        """
from airflow.sdk import setup, teardown
with DAG(DAG_ID, **D) as dag:
    @setup
    def create(): return "resource"
    @teardown
    def delete(r): return None
    @task
    def body(r): raise RuntimeError("body broke")
    with TaskGroup("g"):
        r = create()
        body(r) >> delete(r)
    EmptyOperator(task_id="after")
""",
        "failed",
        {
            "after": ["1/-1 START COMPLETE success"],
            "g.body": ["1/-1 START FAIL failed"],
            "g.create": ["1/-1 START COMPLETE success"],
            "g.delete": ["1/-1 START COMPLETE success"],
        },
    ),
    "trigger_rules_after_a_failure_and_a_skip": (
        """
def boom(): raise RuntimeError("upstream broke")
def skip(): raise AirflowSkipException("skip")
with DAG(DAG_ID, **D) as dag:
    a = PythonOperator(task_id="a", python_callable=boom)
    s = PythonOperator(task_id="s", python_callable=skip)
    ok = EmptyOperator(task_id="ok")
    a >> EmptyOperator(task_id="all_failed", trigger_rule="all_failed")
    a >> EmptyOperator(task_id="one_done", trigger_rule="one_done")
    ok >> EmptyOperator(task_id="all_failed_not", trigger_rule="all_failed")
    s >> EmptyOperator(task_id="all_skipped", trigger_rule="all_skipped")
    s >> EmptyOperator(task_id="none_failed", trigger_rule="none_failed")
    [a, s] >> EmptyOperator(task_id="always", trigger_rule="always")
    [s, ok] >> EmptyOperator(task_id="none_skipped", trigger_rule="none_skipped")
    [a, ok] >> EmptyOperator(task_id="one_failed", trigger_rule="one_failed") >> EmptyOperator(
        task_id="after_one_failed")
""",
        "success",  # every leaf succeeded or was skipped: a failure above them does not fail the run
        {
            "a": ["1/-1 START FAIL failed"],
            "after_one_failed": ["1/-1 START COMPLETE success"],
            "all_failed": ["1/-1 START COMPLETE success"],
            "all_failed_not": ["0/-1 START COMPLETE skipped"],
            "all_skipped": ["1/-1 START COMPLETE success"],
            "always": ["1/-1 START COMPLETE success"],
            "none_failed": ["1/-1 START COMPLETE success"],
            "none_skipped": ["0/-1 START COMPLETE skipped"],
            "ok": ["1/-1 START COMPLETE success"],
            "one_done": ["1/-1 START COMPLETE success"],
            "one_failed": ["1/-1 START COMPLETE success"],
            "s": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "soft_fail_reschedule_sensor_with_retries_and_an_all_done_cleanup": (
        """
with DAG(DAG_ID, **D) as dag:
    PythonSensor(task_id="wait", python_callable=lambda: False, mode="reschedule", poke_interval=0.1,
                 timeout=0.4, soft_fail=True, retries=2, retry_delay=NOW) >> [
        EmptyOperator(task_id="work"), EmptyOperator(task_id="cleanup", trigger_rule="all_done")]
""",
        "success",
        {
            "cleanup": ["1/-1 START COMPLETE success"],
            "wait": ["1/-1 START COMPLETE skipped"],
            "work": ["0/-1 START COMPLETE skipped"],
        },
    ),
    "mapping_over_the_output_of_a_skipped_or_empty_upstream": (
        # zero expansion from an upstream's XCom (a task and a task group), and from a skipped upstream
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def nothing(): return []
    @task
    def skipped(): raise AirflowSkipException("no input today")
    @task
    def m(x): return x
    @task_group
    def g(x):
        m.override(task_id="inner")(x) >> m.override(task_id="inner_after")(x)
    empty = nothing()
    m.override(task_id="over_empty").expand(x=empty)
    g.expand(x=empty)
    m.override(task_id="over_skipped").expand(x=skipped())
""",
        "success",
        {
            "g.inner": ["0/-1 START COMPLETE skipped"],
            "g.inner_after": ["0/-1 START COMPLETE skipped"],
            "nothing": ["1/-1 START COMPLETE success"],
            "over_empty": ["0/-1 START COMPLETE skipped"],
            "over_skipped": ["0/-1 START COMPLETE skipped"],
            "skipped": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "mapped_sensor_in_reschedule_mode": (
        # every map index pokes in its own task processes: one START per index and try, not per poke
        """
pokes = {}
def ready(n):
    pokes[n] = pokes.get(n, 0) + 1
    return pokes[n] >= n
with DAG(DAG_ID, **D) as dag:
    PythonSensor.partial(task_id="s", python_callable=ready, mode="reschedule", poke_interval=0.1).expand(
        op_kwargs=[{"n": 1}, {"n": 2}, {"n": 3}])
""",
        "success",
        {"s": ["1/0 START COMPLETE success", "1/1 START COMPLETE success", "1/2 START COMPLETE success"]},
    ),
    "mapped_deferrable_task_with_a_failing_resume_and_a_retry": (
        # each map index defers and resumes: one START per index and try; index 1's first resume fails
        """
calls = []
class Wait(BaseOperator):
    def __init__(self, x, **kwargs):
        super().__init__(**kwargs)
        self.x = x
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(seconds=0.1)), method_name="resume")
    def resume(self, context, event=None):
        if self.x == 1:
            calls.append(1)
            if len(calls) == 1:
                raise ValueError("resume broke")
        return self.x
with DAG(DAG_ID, **D) as dag:
    Wait.partial(task_id="w", retries=1, retry_delay=NOW).expand(x=[0, 1])
""",
        "success",
        {"w": ["1/0 START COMPLETE success", "1/1 START FAIL up_for_retry", "2/1 START COMPLETE success"]},
    ),
    "bash_exit_code_skips_and_fails": (
        """
from airflow.providers.standard.operators.bash import BashOperator
with DAG(DAG_ID, **D) as dag:
    BashOperator(task_id="skip99", bash_command="exit 99") >> EmptyOperator(task_id="after_skip")
    BashOperator(task_id="fail3", bash_command="exit 3", retries=1, retry_delay=NOW) >> EmptyOperator(
        task_id="after_fail")
""",
        "failed",
        {
            "after_fail": ["0/-1 START FAIL upstream_failed"],
            "after_skip": ["0/-1 START COMPLETE skipped"],
            "fail3": ["1/-1 START FAIL up_for_retry", "2/-1 START FAIL failed"],
            "skip99": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "failing_teardown_that_fails_the_run": (
        """
def boom(): raise RuntimeError("teardown broke")
with DAG(DAG_ID, **D) as dag:
    s = EmptyOperator(task_id="setup").as_setup()
    teardown = PythonOperator(task_id="teardown", python_callable=boom).as_teardown(
        setups=s, on_failure_fail_dagrun=True)
    s >> EmptyOperator(task_id="work") >> teardown
""",
        "failed",
        {
            "setup": ["1/-1 START COMPLETE success"],
            "teardown": ["1/-1 START FAIL failed"],
            "work": ["1/-1 START COMPLETE success"],
        },
    ),
    "mapped_group_failure_and_skip_reaching_a_reduce": (
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def inner(x):
        if x == 2:
            raise ValueError("two")
        if x == 3:
            raise AirflowSkipException("three")
        return x
    @task_group
    def g(x):
        return inner(x)
    @task
    def total(xs): return sum(x for x in xs if x)
    out = g.expand(x=[1, 2, 3])
    total(out)
    out >> PythonOperator(task_id="all_done", python_callable=lambda: 1, trigger_rule="all_done")
""",
        "failed",
        {
            "g.inner": ["1/0 START COMPLETE success", "1/1 START FAIL failed", "1/2 START COMPLETE skipped"],
            "all_done": ["1/-1 START COMPLETE success"],
            "total": ["0/-1 START FAIL upstream_failed"],
        },
    ),
    "skip_if_and_run_if": (
        # the condition is checked in the task process before execute: a skip of its own, after its START
        """
with DAG(DAG_ID, **D) as dag:
    @task.skip_if(lambda context: True)
    @task
    def skipped_by_condition(): return 1
    @task.run_if(lambda context: True)
    @task
    def run_by_condition(): return 1
    skipped_by_condition() >> EmptyOperator(task_id="after")
    run_by_condition()
""",
        "success",
        {
            "after": ["0/-1 START COMPLETE skipped"],
            "run_by_condition": ["1/-1 START COMPLETE success"],
            "skipped_by_condition": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "soft_fail_sensor_inside_a_mapped_task_group": (
        # the index whose sensor gives up skips its own next task (trigger rule), per map index
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def then(x): return x
    @task_group
    def g(x):
        s = PythonSensor(task_id="wait", python_callable=lambda x: x != 2, op_kwargs={"x": x},
                         mode="reschedule", poke_interval=0.1, timeout=0.3, soft_fail=True)
        s >> then(x)
    g.expand(x=[1, 2])
""",
        "success",
        {
            "g.then": ["0/1 START COMPLETE skipped", "1/0 START COMPLETE success"],
            "g.wait": ["1/0 START COMPLETE success", "1/1 START COMPLETE skipped"],
        },
    ),
    "short_circuit_before_a_group_with_mapped_tasks": (
        """
with DAG(DAG_ID, **D) as dag:
    @task.short_circuit
    def go(): return False
    @task
    def m(x): return x
    @task
    def src(): return [1, 2]
    with TaskGroup("g") as g:
        m.expand(x=[1, 2]) >> m.override(task_id="m_over_xcom").expand(x=src())
    go() >> g
""",
        "success",
        {
            "g.m": ["0/0 START COMPLETE skipped", "0/1 START COMPLETE skipped"],
            "g.m_over_xcom": ["0/-1 START COMPLETE skipped"],
            "g.src": ["0/-1 START COMPLETE skipped"],
            "go": ["1/-1 START COMPLETE success"],
        },
    ),
    "cross_product_dict_and_group_expand_kwargs": (
        # map indexes from a cross product, from a dict's items, and from a group's expand_kwargs
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def pair(a, b): return f"{a}{b}"
    @task
    def item(kv): return kv
    @task
    def inner(x, y): return x + y
    @task_group
    def g(x, y):
        inner(x, y)
    pair.expand(a=[1, 2], b=["x", "y", "z"])
    item.expand(kv={"k1": 1, "k2": 2})
    g.expand_kwargs([{"x": 1, "y": 2}, {"x": 3, "y": 4}])
""",
        "success",
        {
            "g.inner": ["1/0 START COMPLETE success", "1/1 START COMPLETE success"],
            "item": ["1/0 START COMPLETE success", "1/1 START COMPLETE success"],
            "pair": [f"1/{i} START COMPLETE success" for i in range(6)],
        },
    ),
    "return_value_that_cannot_be_stored": (
        # execute() ends well, pushing its XCom fails: the try fails after its code ran
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def unstorable(): return object()
    unstorable() >> EmptyOperator(task_id="after")
""",
        "failed",
        {"after": ["0/-1 START FAIL upstream_failed"], "unstorable": ["1/-1 START FAIL failed"]},
    ),
    "decorated_sensor_in_reschedule_mode": (
        """
from airflow.sdk import PokeReturnValue
pokes = []
with DAG(DAG_ID, **D) as dag:
    @task.sensor(mode="reschedule", poke_interval=0.1, timeout=30)
    def ready():
        pokes.append(1)
        return PokeReturnValue(is_done=len(pokes) >= 3, xcom_value=len(pokes))
    @task
    def use(n): return n
    use(ready())
""",
        "success",
        {"ready": ["1/-1 START COMPLETE success"], "use": ["1/-1 START COMPLETE success"]},
    ),
    "no_task_runs_at_all": (
        # every task is expanded over nothing: the DAG run's START is sent from its end, yet must come first
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def m(x): return x
    @task_group
    def g(x):
        m.override(task_id="inner")(x)
    m.expand(x=[]) >> g.expand(x=[])
""",
        "success",
        {"g.inner": ["0/-1 START COMPLETE skipped"], "m": ["0/-1 START COMPLETE skipped"]},
    ),
    "a_root_expanded_over_nothing_beside_a_task_that_runs": (
        # the empty expansion is skipped in the run's first scheduling pass, before any task starts
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def m(x): return x
    @task
    def work(): return 1
    m.expand(x=[])
    work()
""",
        "success",
        {"m": ["0/-1 START COMPLETE skipped"], "work": ["1/-1 START COMPLETE success"]},
    ),
    "huge_xcom_returned_and_consumed": (
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def big(): return "x" * (10 * 1024 * 1024)
    @task
    def size(s): return len(s)
    size(big())
""",
        "success",
        {"big": ["1/-1 START COMPLETE success"], "size": ["1/-1 START COMPLETE success"]},
    ),
}


def _task_instance_dates(dag_run: Any) -> dict[tuple[str, int], tuple[Any, Any]]:
    """``{(task_id, map_index): (start_date, end_date)}`` of the run's task instances, as Airflow set them."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        return {(ti.task_id, ti.map_index): (ti.start_date, ti.end_date) for ti in rows}


def wrong_never_ran(
    events: list[dict[str, Any]], dag_id: str, dates: dict[Any, tuple[Any, Any]]
) -> list[Any]:
    """Tries reported from the run's end (try 0) whose events do not carry the task instance's dates (the
    run's end when Airflow gave it none: a task expanded over nothing), or whose FAIL has no error."""
    from datetime import datetime

    problems: list[Any] = []
    by_run: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event["job"]["name"] != dag_id:
            by_run.setdefault(event["run"]["runId"], []).append(event)
    run_end = datetime.fromisoformat(task_events(events, dag_id)[-1]["eventTime"])
    for run_events in by_run.values():
        ti = run_events[-1]["run"]["facets"]["airflow"]["taskInstance"]
        if ti["try_number"] != 0:
            continue
        key = (run_events[0]["job"]["name"][len(dag_id) + 1 :], ti["map_index"])
        start, end = run_events
        times = (datetime.fromisoformat(start["eventTime"]), datetime.fromisoformat(end["eventTime"]))
        expected = dates[key] if dates[key] != (None, None) else (run_end, run_end)
        if times != expected:
            problems.append(("times", key, start["eventTime"], end["eventTime"], expected))
        if end["eventType"] == "FAIL" and "errorMessage" not in end["run"]["facets"]:
            problems.append(("no errorMessage", key))
    return problems


def misordered(events: list[dict[str, Any]], dag_id: str) -> list[Any]:
    """Events of the run dated before its DAG-run START, or after its DAG-run terminal event."""
    from datetime import datetime

    start, end = (datetime.fromisoformat(e["eventTime"]) for e in task_events(events, dag_id))
    return [
        (e["eventType"], e["job"]["name"], e["eventTime"])
        for e in events
        if not start <= datetime.fromisoformat(e["eventTime"]) <= end
    ]


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape(name, lineage_events):
    body, dag_state, expected = SHAPES[name]
    dag_id = f"sh_{name}"
    dag_run, warnings = _run_and_log(HEAD + body.replace("DAG_ID", repr(dag_id)), dag_id)
    assert str(dag_run.state) == dag_state
    events = lineage_events()
    assert broken_lifecycles(events, dag_id) == []
    assert lifecycles(events, dag_id) == expected
    dag_events = task_events(events, dag_id)
    assert [e["eventType"] for e in dag_events] == ["START", "COMPLETE" if dag_state == "success" else "FAIL"]
    assert wrong_run_ids(events, dag_id, dag_run.logical_date) == []
    assert wrong_never_ran(events, dag_id, _task_instance_dates(dag_run)) == []
    assert warnings == []
    if name == "huge_xcom_returned_and_consumed":  # the XCom value reaches no event
        import json

        assert max(len(json.dumps(e)) for e in events) < 200_000
    assert misordered(events, dag_id) == []


# --- runs the scheduler starts (not dag.test()): a triggered run, a scheduled run --------------------------


def _drive(dag_id: str, run_id: str, dag: Any) -> str:
    """Scheduler passes over a running run, each followed by the tries it scheduled (run in this process, as
    a worker would); a deferred try's trigger fires at once (as a triggerer would, then the try is scheduled
    to resume). The run's final state."""
    from airflow.models.dagrun import DagRun
    from airflow.models.trigger import Trigger
    from airflow.sdk.definitions.dag import _run_task
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from scheduler_helpers import scheduler

    for _ in range(60):
        with create_session() as session:
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
            scheduler()._schedule_dag_run(run, session)
            if str(run.state) != "running":
                return str(run.state)
            for ti in run.get_task_instances(session=session):
                if ti.state == "deferred" and ti.trigger_id is not None:
                    Trigger.submit_event(ti.trigger_id, TriggerEvent(None), session=session)
            session.flush()
            scheduled = [ti for ti in run.get_task_instances(session=session) if ti.state == "scheduled"]
            for ti in scheduled:
                session.expunge(ti)
        for ti in scheduled:
            _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        if not scheduled:
            time.sleep(0.1)  # a sensor in reschedule mode waits for its next poke
    raise AssertionError(f"{dag_id} {run_id} did not end")


def _own(events: list[dict[str, Any]], dag_id: str) -> list[dict[str, Any]]:
    """The events of ``dag_id``'s runs and tasks (a scheduler pass may start other tests' queued runs)."""
    return [e for e in events if e["job"]["name"] == dag_id or e["job"]["name"].startswith(f"{dag_id}.")]


def _queued_scheduled_run(dag_id: str, source: str, logical: Any) -> str:
    """Serialize ``source`` as the DAG processor does and create the queued scheduled run of the daily
    interval starting at ``logical``, as the scheduler does; its run id."""
    from datetime import timedelta

    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from scheduler_helpers import write_version

    write_version(dag_id, source=source)
    with create_session() as session:
        serialized = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        assert serialized is not None
        return str(
            serialized.create_dagrun(
                run_id=f"scheduled__{logical.isoformat()}",
                logical_date=logical,
                data_interval=(logical, logical + timedelta(days=1)),
                run_after=logical + timedelta(days=1),
                run_type=DagRunType.SCHEDULED,
                triggered_by=DagRunTriggeredByType.TIMETABLE,
                state=DagRunState.QUEUED,
                session=session,
            ).run_id
        )


CHILD = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="work", python_callable=lambda: 1)
"""

TRIGGERING = """
import datetime
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("sh_triggering", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def lineage_conf(**context):
        from airflow_lineage_provider.macros import trigger_lineage_conf

        return trigger_lineage_conf(context["ti"])
    TriggerDagRunOperator(task_id="as_child", trigger_dag_id="sh_triggered", trigger_run_id="as_child",
                          conf=lineage_conf(), wait_for_completion=False)
    TriggerDagRunOperator(task_id="plain", trigger_dag_id="sh_triggered", trigger_run_id="plain",
                          wait_for_completion=False)
"""


def test_runs_a_trigger_dag_run_operator_started_without_waiting(lineage_events):
    """The triggering task ends at once (START, COMPLETE); the runs it created are queued, started by the
    scheduler later and reported then, each with its own START and end. One triggered with
    ``trigger_lineage_conf`` names the triggering task as its parent and the triggering DAG run as the root
    of its tasks; the other is a run of its own (parent and root of its tasks: itself)."""
    from lineage_helpers import load_dag
    from scheduler_helpers import start_run, write_version

    write_version("sh_triggered", source=CHILD)
    dag_run, warnings = _run_and_log(TRIGGERING, "sh_triggering")
    assert str(dag_run.state) == "success" and warnings == []
    parent_events = _own(lineage_events(), "sh_triggering")
    assert broken_lifecycles(parent_events, "sh_triggering") == []
    assert lifecycles(parent_events, "sh_triggering") == {
        "as_child": ["1/-1 START COMPLETE success"],
        "lineage_conf": ["1/-1 START COMPLETE success"],
        "plain": ["1/-1 START COMPLETE success"],
    }
    assert _own(lineage_events(), "sh_triggered") == []  # queued, not started: nothing yet

    # the scheduler takes a queued run once its run_after (now, at the trigger) is before SQLite's now(),
    # which has whole seconds
    time.sleep(1.5)
    child = load_dag(CHILD.format(dag_id="sh_triggered"), "sh_triggered")
    handler = _Records()
    logging.getLogger("airflow_lineage_provider").addHandler(handler)
    try:
        for run_id in ("as_child", "plain"):
            start_run("sh_triggered", run_id)
            assert _drive("sh_triggered", run_id, child) == "success"
    finally:
        logging.getLogger("airflow_lineage_provider").removeHandler(handler)
    assert [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING] == []

    events = lineage_events()
    trigger_task = task_events(events, "sh_triggering.lineage_conf")[0]  # the task that built the conf
    triggering_run = task_events(events, "sh_triggering")[0]
    child_events = _own(events, "sh_triggered")
    by_airflow_run: dict[str, list[dict[str, Any]]] = {}
    for event in child_events:
        by_airflow_run.setdefault(event["run"]["facets"]["airflow"]["dagRun"]["run_id"], []).append(event)
    assert sorted(by_airflow_run) == ["as_child", "plain"]
    for run_id, run_events in by_airflow_run.items():
        assert [(e["eventType"], e["job"]["name"]) for e in run_events] == [
            ("START", "sh_triggered"),
            ("START", "sh_triggered.work"),
            ("COMPLETE", "sh_triggered.work"),
            ("COMPLETE", "sh_triggered"),
        ], run_id
        dag_start, task_start, task_end, dag_end = run_events
        assert dag_start["run"]["facets"]["airflow"]["dagRun"]["run_type"] == "operator_triggered"
        assert dag_start["run"]["runId"] == dag_end["run"]["runId"] != task_start["run"]["runId"]
        assert task_start["run"]["runId"] == task_end["run"]["runId"]
        for event in (task_start, task_end):
            assert event["run"]["facets"]["parent"]["run"]["runId"] == dag_start["run"]["runId"]
        root = task_start["run"]["facets"]["parent"]["root"]
        if run_id == "as_child":
            parent = dag_start["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == trigger_task["run"]["runId"]
            assert parent["job"]["name"] == "sh_triggering.lineage_conf"
            assert parent["root"]["run"]["runId"] == triggering_run["run"]["runId"]
            assert root["run"]["runId"] == triggering_run["run"]["runId"]
            assert root["job"]["name"] == "sh_triggering"
        else:
            assert "parent" not in dag_start["run"]["facets"]
            assert root["run"]["runId"] == dag_start["run"]["runId"]
            assert root["job"]["name"] == "sh_triggered"
    assert by_airflow_run["as_child"][0]["run"]["runId"] != by_airflow_run["plain"][0]["run"]["runId"]


LATEST_ONLY = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.python import PythonOperator

with DAG("{dag_id}", schedule="@daily", start_date=datetime.datetime(2024, 1, 1), catchup=True) as dag:
    work = PythonOperator(task_id="work", python_callable=lambda: 1)
    LatestOnlyOperator(task_id="latest") >> work >> PythonOperator(task_id="below", python_callable=lambda: 1)
    work >> PythonOperator(task_id="cleanup", python_callable=lambda: 1, trigger_rule="all_done")
"""


def test_latest_only_in_a_scheduled_run_that_is_not_the_latest(lineage_events):
    """A scheduled run of a past interval: LatestOnlyOperator skips what follows it; the skipped tasks are
    reported from the run's end (try 0), the ``all_done`` task runs, and ids come from the logical date."""
    from datetime import datetime, timezone

    from airflow.utils.session import create_session
    from lineage_helpers import load_dag
    from scheduler_helpers import start_run

    dag_id = "sh_latest_only_past_interval"
    logical = datetime(2024, 1, 1, tzinfo=timezone.utc)
    run_id = _queued_scheduled_run(dag_id, LATEST_ONLY, logical)
    handler = _Records()
    logging.getLogger("airflow_lineage_provider").addHandler(handler)
    try:
        start_run(dag_id, run_id)
        state = _drive(dag_id, run_id, load_dag(LATEST_ONLY.format(dag_id=dag_id), dag_id))
    finally:
        logging.getLogger("airflow_lineage_provider").removeHandler(handler)
    assert state == "success"
    assert [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING] == []
    events = _own(lineage_events(), dag_id)
    assert broken_lifecycles(events, dag_id) == []
    assert lifecycles(events, dag_id) == {
        "below": ["0/-1 START COMPLETE skipped"],
        "cleanup": ["1/-1 START COMPLETE success"],
        "latest": ["1/-1 START COMPLETE success"],
        "work": ["0/-1 START COMPLETE skipped"],
    }
    assert [e["eventType"] for e in task_events(events, dag_id)] == ["START", "COMPLETE"]
    assert wrong_run_ids(events, dag_id, logical) == []
    with create_session() as session:
        from airflow.models.dagrun import DagRun

        dag_run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        session.expunge(dag_run)
    assert wrong_never_ran(events, dag_id, _task_instance_dates(dag_run)) == []
    assert task_events(events, dag_id)[0]["run"]["facets"]["airflow"]["dagRun"]["run_type"] == "scheduled"


EMPTY_JOIN = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator

with DAG("{dag_id}", schedule="@daily", start_date=datetime.datetime(2024, 1, 1), catchup=True) as dag:
    PythonOperator(task_id="work", python_callable=lambda: 1) >> EmptyOperator(task_id="join")
"""


def test_an_empty_operator_the_scheduler_finishes_itself_is_reported(lineage_events):
    """Airflow's scheduler sets an EmptyOperator without callbacks, inlets or outlets straight to success
    (try 1, start = end), without a worker and without any task hook. ``dag.test()`` runs it instead, so its
    events there (START + COMPLETE) must be the same in a scheduled run (docs/listener.md: every task try is
    reported, and ``dag.test()``'s task events are identical to a worker's)."""
    from datetime import datetime, timezone

    from lineage_helpers import load_dag
    from scheduler_helpers import start_run

    dag_id = "sh_empty_join_scheduled"
    logical = datetime(2024, 1, 1, tzinfo=timezone.utc)
    run_id = _queued_scheduled_run(dag_id, EMPTY_JOIN, logical)
    start_run(dag_id, run_id)
    assert _drive(dag_id, run_id, load_dag(EMPTY_JOIN.format(dag_id=dag_id), dag_id)) == "success"
    events = _own(lineage_events(), dag_id)
    assert broken_lifecycles(events, dag_id) == []
    assert lifecycles(events, dag_id) == {
        "join": ["1/-1 START COMPLETE success"],
        "work": ["1/-1 START COMPLETE success"],
    }


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_in_a_run_the_scheduler_drives(name, lineage_events):
    """The same shapes in a triggered run the scheduler starts, schedules and ends (its own session, its own
    hooks: ``on_dag_run_running``, the run's end), with the tries run as a worker runs them: same events."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from lineage_helpers import load_dag
    from scheduler_helpers import start_run, trigger_run, write_version

    body, dag_state, expected = SHAPES[name]
    dag_id = f"shs_{name}"
    source = HEAD + body.replace("DAG_ID", repr(dag_id))  # EmptyOperators: the scheduler finishes them
    write_version(dag_id, source=source.replace("{", "{{").replace("}", "}}"))
    run_id = trigger_run(dag_id)
    handler = _Records()
    logging.getLogger("airflow_lineage_provider").addHandler(handler)
    try:
        start_run(dag_id, run_id)
        state = _drive(dag_id, run_id, load_dag(source, dag_id))
    finally:
        logging.getLogger("airflow_lineage_provider").removeHandler(handler)
    assert state == dag_state
    assert [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING] == []
    events = _own(lineage_events(), dag_id)
    assert broken_lifecycles(events, dag_id) == []
    assert lifecycles(events, dag_id) == expected
    assert [e["eventType"] for e in task_events(events, dag_id)] == [
        "START",
        "COMPLETE" if dag_state == "success" else "FAIL",
    ]
    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        session.expunge(dag_run)
    assert wrong_run_ids(events, dag_id, dag_run.logical_date) == []
    assert wrong_never_ran(events, dag_id, _task_instance_dates(dag_run)) == []
    assert misordered(events, dag_id) == []


RETRIGGERING = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("sh_retriggering", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    TriggerDagRunOperator(task_id="trigger", trigger_dag_id="sh_retriggered", trigger_run_id="fixed",
                          reset_dag_run=True, wait_for_completion=False)
"""


def test_a_finished_run_triggered_again_with_reset_dag_run(lineage_events):
    """``reset_dag_run=True`` with a run id that exists clears that run (it had ended): the scheduler runs it
    again under a new DAG-run id (clear number 1) with new task tries, and its first execution's events stay
    as they were."""
    from lineage_helpers import load_dag
    from scheduler_helpers import start_run, write_version

    write_version("sh_retriggered", source=CHILD)
    child = load_dag(CHILD.format(dag_id="sh_retriggered"), "sh_retriggered")
    handler = _Records()
    logging.getLogger("airflow_lineage_provider").addHandler(handler)
    try:
        for _ in range(2):
            dag_run = run_dag(RETRIGGERING, "sh_retriggering")
            assert str(dag_run.state) == "success"
            time.sleep(1.5)  # run_after must be before SQLite's now(), which has whole seconds
            start_run("sh_retriggered", "fixed")
            assert _drive("sh_retriggered", "fixed", child) == "success"
    finally:
        logging.getLogger("airflow_lineage_provider").removeHandler(handler)
    assert [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING] == []
    events = _own(lineage_events(), "sh_retriggered")
    assert broken_lifecycles(events, "sh_retriggered") == []
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        ("START", "sh_retriggered"),
        ("START", "sh_retriggered.work"),
        ("COMPLETE", "sh_retriggered.work"),
        ("COMPLETE", "sh_retriggered"),
    ] * 2
    assert events[0]["run"]["runId"] != events[4]["run"]["runId"]
    assert [e["run"]["facets"]["airflow"]["dagRun"]["clear_number"] for e in (events[0], events[4])] == [0, 1]
    assert lifecycles(events, "sh_retriggered") == {
        "work": ["1/-1 START COMPLETE success", "2/-1 START COMPLETE success"]
    }
