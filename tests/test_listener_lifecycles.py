"""Task-try and DAG-run lifecycles as Airflow users exercise them, checked event by event.

Every scenario is a real run (``dag.test()``, or the scheduler's own methods where ``dag.test()`` takes
another path) and must obey the rules in docs/listener.md: one START and one terminal event (COMPLETE, FAIL
or ABORT) per task try and run id, a retry is a new run id, re-entries (deferral, reschedule) send no START,
every task event's parent and root is its DAG run, the DAG run has one START and one terminal event, and
nothing is logged at WARNING by the provider.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import pytest
from lineage_helpers import load_dag, run_dag, summary, task_events

pytestmark = pytest.mark.airflow

TERMINAL = ("COMPLETE", "FAIL", "ABORT")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _run_and_log(source: str, dag_id: str) -> tuple[str, list[str]]:
    """Run the DAG with ``dag.test()``; its final state and the provider's WARNING-or-worse lines."""
    handler = _Records()
    package = logging.getLogger("airflow_lineage_provider")
    level = package.level
    package.addHandler(handler)  # not caplog: Airflow's logging set-up may stop propagation to the root
    package.setLevel(logging.DEBUG)
    try:
        state = str(run_dag(source, dag_id).state)
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
    return state, [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING]


def broken_lifecycles(events: list[dict[str, Any]], dag_id: str) -> list[Any]:
    """What breaks the rules in ``events`` of the runs of ``dag_id`` (empty: nothing)."""
    problems: list[Any] = []
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        (runs if event["job"]["name"] == dag_id else tries)[event["run"]["runId"]].append(event)
    for run_id, run_events in [*runs.items(), *tries.items()]:
        types = [e["eventType"] for e in run_events]
        if (
            types[0] != "START"
            or types.count("START") != 1
            or [t in TERMINAL for t in types][1:] != [False] * (len(types) - 2) + [True]
        ):
            problems.append((run_events[0]["job"]["name"], run_id, types))
    for run_events in tries.values():
        for event in run_events:
            parent = event["run"]["facets"]["parent"]
            if parent["run"]["runId"] not in runs or parent["job"]["name"] != dag_id:
                problems.append(("parent", event["job"]["name"], parent["run"]["runId"]))
            elif parent["root"]["run"] != parent["run"] or parent["root"]["job"] != parent["job"]:
                problems.append(("root", event["job"]["name"], parent["root"]))
    return problems


def lifecycles(events: list[dict[str, Any]], dag_id: str) -> dict[str, list[str]]:
    """``{task: ["try/map_index EVENT EVENT final-state", ...]}`` for the task events of ``dag_id``."""
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event["job"]["name"] != dag_id:
            by_run[event["run"]["runId"]].append(event)
    found: dict[str, list[str]] = defaultdict(list)
    for run_events in by_run.values():
        ti = run_events[-1]["run"]["facets"]["airflow"]["taskInstance"]
        types = " ".join(e["eventType"] for e in run_events)
        task = run_events[0]["job"]["name"][len(dag_id) + 1 :]
        found[task].append(f"{ti['try_number']}/{ti['map_index']} {types} {ti['state']}")
    return {task: sorted(lines) for task, lines in sorted(found.items())}


HEAD = """
import datetime, sys, time
from airflow.sdk import DAG, BaseOperator, TaskGroup, task, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

D = dict(schedule=None, start_date=datetime.datetime(2024, 1, 1))
NOW = datetime.timedelta(0)
"""

#: name -> (DAG body, the run's final state, the lifecycles of its tasks)
SCENARIOS: dict[str, tuple[str, str, dict[str, list[str]]]] = {
    "reschedule_sensor_times_out": (
        """
with DAG(DAG_ID, **D) as dag:
    PythonSensor(task_id="s", python_callable=lambda: False, mode="reschedule", poke_interval=0.1,
                 timeout=0.5, retries=2, retry_delay=NOW)  # a sensor timeout is not retried
""",
        "failed",
        {"s": ["1/-1 START FAIL failed"]},
    ),
    "soft_fail_sensors_in_both_modes": (
        """
with DAG(DAG_ID, **D) as dag:
    for mode in ("poke", "reschedule"):
        s = PythonSensor(task_id=mode, python_callable=lambda: False, mode=mode, poke_interval=0.1,
                         timeout=0.3, soft_fail=True)
        s >> EmptyOperator(task_id=f"after_{mode}")
""",
        "success",
        {
            "after_poke": ["0/-1 START COMPLETE skipped"],
            "after_reschedule": ["0/-1 START COMPLETE skipped"],
            "poke": ["1/-1 START COMPLETE skipped"],
            "reschedule": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "reschedule_sensor_fails_mid_try_then_retries": (
        """
pokes = []
def poke():
    pokes.append(1)
    if len(pokes) == 2:
        raise ValueError("poke broke")
    return len(pokes) >= 4
with DAG(DAG_ID, **D) as dag:
    PythonSensor(task_id="s", python_callable=poke, mode="reschedule", poke_interval=0.1, retries=1,
                 retry_delay=NOW)
""",
        "success",
        {"s": ["1/-1 START FAIL up_for_retry", "2/-1 START COMPLETE success"]},
    ),
    "skip_and_fail_exceptions": (
        """
def skip(): raise AirflowSkipException("nothing to do")
def fail(): raise AirflowFailException("no retry")
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="skip", python_callable=skip, retries=3) >> EmptyOperator(task_id="after_skip")
    PythonOperator(task_id="fail", python_callable=fail, retries=3, retry_delay=NOW) >> EmptyOperator(
        task_id="after_fail")
""",
        "failed",
        {
            "after_fail": ["0/-1 START FAIL upstream_failed"],
            "after_skip": ["0/-1 START COMPLETE skipped"],
            "fail": ["1/-1 START FAIL failed"],
            "skip": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "retry_that_skips_itself": (
        # the skipped try ran (its dates are its own, not the failed try's): reported once, by its own hook
        """
calls = []
def fail_then_skip():
    calls.append(1)
    if len(calls) == 1:
        raise ValueError("first try")
    raise AirflowSkipException("nothing left to do")
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="t", python_callable=fail_then_skip, retries=1, retry_delay=NOW)
""",
        "success",
        {"t": ["1/-1 START FAIL up_for_retry", "2/-1 START COMPLETE skipped"]},
    ),
    "deferral_resumed_to_fail_then_retried": (
        """
calls = []
class Wait(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(seconds=0.1)), method_name="resume")
    def resume(self, context, event=None):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("resume broke")
with DAG(DAG_ID, **D) as dag:
    Wait(task_id="w", retries=1, retry_delay=NOW)
""",
        "success",
        {"w": ["1/-1 START FAIL up_for_retry", "2/-1 START COMPLETE success"]},
    ),
    "trigger_timeout_each_try": (
        # what the scheduler does when a trigger times out: resume the try with next_method "__fail__"
        """
from airflow.triggers.base import BaseTrigger
class Silent(BaseTrigger):
    def serialize(self):
        return (f"{__name__}.Silent", {})
    async def run(self):
        return
        yield
class Wait(BaseOperator):
    def execute(self, context):
        self.defer(trigger=Silent(), method_name="__fail__", kwargs={"error": "Trigger timeout"})
with DAG(DAG_ID, **D) as dag:
    Wait(task_id="w", retries=1, retry_delay=NOW)
""",
        "failed",
        {"w": ["1/-1 START FAIL up_for_retry", "2/-1 START FAIL failed"]},
    ),
    "exponential_backoff": (
        """
calls = []
def flaky():
    calls.append(1)
    if len(calls) < 3:
        raise ValueError("not yet")
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="f", python_callable=flaky, retries=3, retry_exponential_backoff=2.0,
                   retry_delay=datetime.timedelta(seconds=0.01),
                   max_retry_delay=datetime.timedelta(seconds=0.05))
""",
        "success",
        {
            "f": [
                "1/-1 START FAIL up_for_retry",
                "2/-1 START FAIL up_for_retry",
                "3/-1 START COMPLETE success",
            ]
        },
    ),
    "branch_and_short_circuit_skip_mapped_tasks": (
        """
with DAG(DAG_ID, **D) as dag:
    @task.branch
    def branch(): return "left"
    @task
    def left(): return 1
    @task
    def mapped(x): return x
    @task.short_circuit
    def stop(): return False
    branch() >> [left(), mapped.expand(x=[1, 2])]
    stop() >> mapped.override(task_id="mapped_after_stop").expand(x=[1, 2])
""",
        "success",
        {
            "branch": ["1/-1 START COMPLETE success"],
            "left": ["1/-1 START COMPLETE success"],
            "mapped": ["0/0 START COMPLETE skipped", "0/1 START COMPLETE skipped"],
            "mapped_after_stop": ["0/0 START COMPLETE skipped", "0/1 START COMPLETE skipped"],
            "stop": ["1/-1 START COMPLETE success"],
        },
    ),
    "mapping_over_nothing_and_over_xcom": (
        # zero map indexes: the task (and a mapped group) is skipped unexpanded, reported as map index -1
        """
with DAG(DAG_ID, **D) as dag:
    @task
    def source(): return [1, 2]
    @task
    def nothing(): return []
    @task
    def m(x):
        if x == 2:
            raise ValueError("two")
        return x
    @task
    def collect(xs): return list(xs)
    @task_group
    def group(x):
        return m.override(task_id="inner")(x)
    m.expand(x=source())
    collect(m.override(task_id="over_nothing").expand(x=nothing()))
    group.override(group_id="g").expand(x=[])
""",
        "failed",
        {
            "collect": ["0/-1 START COMPLETE skipped"],
            "g.inner": ["0/-1 START COMPLETE skipped"],
            "m": ["1/0 START COMPLETE success", "1/1 START FAIL failed"],
            "nothing": ["1/-1 START COMPLETE success"],
            "over_nothing": ["0/-1 START COMPLETE skipped"],
            "source": ["1/-1 START COMPLETE success"],
        },
    ),
    "mapped_upstream_failed_and_fail_without_retry": (
        """
with DAG(DAG_ID, **D) as dag:
    @task(retries=2, retry_delay=NOW)
    def m(x):
        if x == 1:
            raise AirflowFailException("no retry")
    @task
    def source(): raise RuntimeError("no source")
    m.expand(x=[1, 2])
    m.override(task_id="m2").expand(x=source())
""",
        "failed",
        {
            "m": ["1/0 START FAIL failed", "1/1 START COMPLETE success"],
            "m2": ["0/-1 START FAIL upstream_failed"],
            "source": ["1/-1 START FAIL failed"],
        },
    ),
    "failing_setup": (
        """
def boom(): raise RuntimeError("setup broke")
with DAG(DAG_ID, **D) as dag:
    s = PythonOperator(task_id="setup", python_callable=boom)
    s >> EmptyOperator(task_id="work") >> EmptyOperator(task_id="teardown").as_teardown(setups=s)
""",
        "failed",
        {
            "setup": ["1/-1 START FAIL failed"],
            "teardown": ["0/-1 START FAIL upstream_failed"],
            "work": ["0/-1 START FAIL upstream_failed"],
        },
    ),
    "failing_work_between_setup_and_teardown": (
        """
def boom(): raise RuntimeError("work broke")
with DAG(DAG_ID, **D) as dag:
    s = EmptyOperator(task_id="setup").as_setup()
    s >> PythonOperator(task_id="work", python_callable=boom) >> EmptyOperator(
        task_id="teardown").as_teardown(setups=s)
""",
        "failed",
        {
            "setup": ["1/-1 START COMPLETE success"],
            "teardown": ["1/-1 START COMPLETE success"],
            "work": ["1/-1 START FAIL failed"],
        },
    ),
    "task_group_default_args": (
        """
calls = []
def flaky():
    calls.append(1)
    if len(calls) == 1:
        raise ValueError("first try")
with DAG(DAG_ID, **D) as dag:
    with TaskGroup("g", default_args={"owner": "group-owner", "retries": 1, "retry_delay": NOW}):
        PythonOperator(task_id="a", python_callable=flaky) >> EmptyOperator(task_id="b")
""",
        "success",
        {
            "g.a": ["1/-1 START FAIL up_for_retry", "2/-1 START COMPLETE success"],
            "g.b": ["1/-1 START COMPLETE success"],
        },
    ),
    "execution_timeout": (
        """
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="slow", python_callable=lambda: time.sleep(60),
                   execution_timeout=datetime.timedelta(seconds=1))
""",
        "failed",
        {"slow": ["1/-1 START FAIL failed"]},
    ),
    "callbacks_that_raise": (
        """
def callback(context): raise RuntimeError("callback broke")
def boom(): raise RuntimeError("task broke")
def skip(): raise AirflowSkipException("skip")
calls = []
def flaky():
    calls.append(1)
    if len(calls) == 1:
        raise ValueError("first try")
with DAG(DAG_ID, on_success_callback=callback, on_failure_callback=callback, **D) as dag:
    PythonOperator(task_id="ok", python_callable=lambda: 1, on_success_callback=callback,
                   on_execute_callback=callback)
    PythonOperator(task_id="bad", python_callable=boom, on_failure_callback=callback)
    PythonOperator(task_id="retried", python_callable=flaky, on_retry_callback=callback, retries=1,
                   retry_delay=NOW)
    PythonOperator(task_id="skipped", python_callable=skip, on_skipped_callback=callback)
""",
        "failed",
        {
            "bad": ["1/-1 START FAIL failed"],
            "ok": ["1/-1 START COMPLETE success"],
            "retried": ["1/-1 START FAIL up_for_retry", "2/-1 START COMPLETE success"],
            "skipped": ["1/-1 START COMPLETE skipped"],
        },
    ),
    "exits_and_interrupts": (
        """
def exit0(): sys.exit(0)
def exit1(): sys.exit(1)
def interrupt(): raise KeyboardInterrupt()
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="exit0", python_callable=exit0)
    PythonOperator(task_id="exit1", python_callable=exit1)
    PythonOperator(task_id="interrupt", python_callable=interrupt)
""",
        "failed",
        {
            "exit0": ["1/-1 START FAIL failed"],
            "exit1": ["1/-1 START FAIL failed"],
            "interrupt": ["1/-1 START FAIL failed"],
        },
    ),
    "ten_megabytes_out_and_in_an_error": (
        """
def shout(): print("x" * (10 * 1024 * 1024))
def huge(): raise ValueError("y" * (10 * 1024 * 1024))
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="shout", python_callable=shout)
    PythonOperator(task_id="huge", python_callable=huge)
""",
        "failed",
        {"huge": ["1/-1 START FAIL failed"], "shout": ["1/-1 START COMPLETE success"]},
    ),
    "trigger_rules_after_a_failure": (
        """
def boom(): raise RuntimeError("upstream broke")
with DAG(DAG_ID, **D) as dag:
    a = PythonOperator(task_id="a", python_callable=boom)
    ok = EmptyOperator(task_id="ok")
    [a, ok] >> EmptyOperator(task_id="all_done", trigger_rule="all_done")
    [a, ok] >> EmptyOperator(task_id="one_failed", trigger_rule="one_failed")
    [a, ok] >> EmptyOperator(task_id="nfmos", trigger_rule="none_failed_min_one_success") >> EmptyOperator(
        task_id="below")
    a >> EmptyOperator(task_id="one_success", trigger_rule="one_success")
""",
        "failed",
        {
            "a": ["1/-1 START FAIL failed"],
            "all_done": ["1/-1 START COMPLETE success"],
            "below": ["0/-1 START FAIL upstream_failed"],
            "nfmos": ["0/-1 START FAIL upstream_failed"],
            "ok": ["1/-1 START COMPLETE success"],
            "one_failed": ["1/-1 START COMPLETE success"],
            "one_success": ["0/-1 START FAIL upstream_failed"],
        },
    ),
    "external_python": (
        """
with DAG(DAG_ID, **D) as dag:
    @task.external_python(python=sys.executable)
    def outside(): return 1
    outside()
""",
        "success",
        {"outside": ["1/-1 START COMPLETE success"]},
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_lifecycle(name, lineage_events):
    body, dag_state, expected = SCENARIOS[name]
    dag_id = f"lc_{name}"
    state, warnings = _run_and_log(HEAD + body.replace("DAG_ID", repr(dag_id)), dag_id)
    assert state == dag_state
    events = lineage_events()
    assert broken_lifecycles(events, dag_id) == []
    assert lifecycles(events, dag_id) == expected
    dag_events = task_events(events, dag_id)
    assert [e["eventType"] for e in dag_events] == ["START", "COMPLETE" if state == "success" else "FAIL"]
    assert warnings == []
    if name == "task_group_default_args":  # the group's default_args reach the events
        for event in task_events(events, f"{dag_id}.g.a"):
            assert event["job"]["facets"]["ownership"]["owners"] == [{"name": "group-owner"}]
            assert event["run"]["facets"]["airflow"]["task"]["task_group"] == "g"
            assert event["run"]["facets"]["airflow"]["task"]["retries"] == 1
    if name == "ten_megabytes_out_and_in_an_error":  # the error is cut, not the event dropped
        from airflow_lineage_provider.emission.events import MAX_ERROR_CHARS

        error = task_events(events, f"{dag_id}.huge")[1]["run"]["facets"]["errorMessage"]
        assert error["message"].startswith("ValueError: yyy") and len(error["message"]) <= MAX_ERROR_CHARS
        assert len(error["stackTrace"]) <= MAX_ERROR_CHARS


UNPRINTABLE = (
    HEAD
    + """
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no text for this one")

def unprintable():
    raise Unprintable()

with DAG("lc_unprintable_error", **D) as dag:
    PythonOperator(task_id="t", python_callable=unprintable)
"""
)


def test_an_exception_that_cannot_be_printed_still_ends_its_try(lineage_events):
    """``str(error)`` raising must not cost the FAIL (a START left open, and a warning)."""
    state, warnings = _run_and_log(UNPRINTABLE, "lc_unprintable_error")
    assert state == "failed"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lc_unprintable_error"),
        ("START", "lc_unprintable_error.t"),
        ("FAIL", "lc_unprintable_error.t"),
        ("FAIL", "lc_unprintable_error"),
    ]
    error = events[2]["run"]["facets"]["errorMessage"]
    assert error["message"] == "Unprintable: <exception str() failed>"
    assert "raise Unprintable()" in error["stackTrace"]
    assert warnings == []


def test_a_hook_whose_failure_cannot_be_printed_still_does_not_raise():
    from airflow_lineage_provider.listener import get_listener

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text for this one")

    def body() -> None:
        raise Unprintable()

    handler = _Records()
    logging.getLogger("airflow_lineage_provider").addHandler(handler)
    try:
        get_listener()._safely("on_task_instance_running", object(), body)
    finally:
        logging.getLogger("airflow_lineage_provider").removeHandler(handler)
    assert [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING] == [
        "lineage: on_task_instance_running failed for ?, no event sent: Unprintable"
    ]


BROKEN_TRIGGER = (
    HEAD
    + """
from airflow.triggers.base import BaseTrigger

class Broken(BaseTrigger):
    def serialize(self):
        return (f"{__name__}.Broken", {})

    async def run(self):
        raise RuntimeError("trigger broke")
        yield

class Wait(BaseOperator):
    def execute(self, context):
        self.defer(trigger=Broken(), method_name="resume")

    def resume(self, context, event=None):
        return 1

with DAG("lc_broken_trigger", **D) as dag:
    Wait(task_id="w")
"""
)


def test_a_try_dag_test_fails_outside_the_task_still_ends(lineage_events):
    """``dag.test()`` runs triggers inline and fails the try itself when one raises, with no task hook
    (a triggerer would resume the task to fail it): the DAG run's end closes the try it left open."""
    state, warnings = _run_and_log(BROKEN_TRIGGER, "lc_broken_trigger")
    assert state == "failed" and warnings == []
    events = lineage_events()
    assert summary(events) == [
        ("START", "lc_broken_trigger"),
        ("START", "lc_broken_trigger.w"),
        ("FAIL", "lc_broken_trigger.w"),
        ("FAIL", "lc_broken_trigger"),
    ]
    assert broken_lifecycles(events, "lc_broken_trigger") == []
    assert events[2]["run"]["facets"]["airflow"]["taskInstance"]["state"] == "failed"
    assert "without a task hook" in events[2]["run"]["facets"]["errorMessage"]["message"]


# --- the scheduler's side ------------------------------------------------------------------------------


def _executor_reports_failed(
    dag_id: str, run_id: str, task_id: str, state: str, next_method: str | None, poked: bool = False
) -> str:
    """The executor reports the first try of ``task_id`` (in ``state`` in the DB) failed: one pass of
    ``process_executor_events`` as the scheduler runs it; the task instance's state after it."""
    from airflow.executors.local_executor import LocalExecutor
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).one()
        ti.state, ti.try_number, ti.queued_by_job_id, ti.next_method = state, 1, None, next_method
        key = ti.key
        if poked:  # a sensor in reschedule mode poked once already in this try
            from datetime import datetime, timedelta, timezone

            from airflow.models.taskreschedule import TaskReschedule

            now = datetime.now(timezone.utc)
            session.add(TaskReschedule(ti.id, now - timedelta(seconds=2), now - timedelta(seconds=1), now))
    executor = LocalExecutor()  # never started: only its event buffer is used
    executor.event_buffer[key] = (TaskInstanceState.FAILED, None)
    with create_session() as session:
        SchedulerJobRunner.process_executor_events(
            executor=executor, job_id=None, scheduler_dag_bag=DBDagBag(), session=session
        )
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).one()
        return str(ti.state)


@pytest.mark.parametrize(
    ("state", "next_method", "poked", "expected"),
    [
        (
            "queued",
            None,
            False,
            ["START", "FAIL"],
        ),  # the worker never started it: no task process sent a START
        (
            "running",
            None,
            False,
            ["FAIL"],
        ),  # killed mid-try (OOM, heartbeat timeout): its process sent the START
        ("queued", "resume", False, ["FAIL"]),  # queued again to resume after a deferral: started long ago
        ("queued", None, True, ["FAIL"]),  # queued for a later poke of a reschedule sensor: started long ago
    ],
)
def test_a_try_the_executor_lost_gets_one_start_and_one_fail(
    state, next_method, poked, expected, lineage_events
):
    from scheduler_helpers import start_run, trigger_run, write_version

    dag_id = f"lc_executor_lost_{state}_{next_method}_{poked}"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    before = lineage_events()
    assert summary(before) == [("START", dag_id)]
    handler = _Records()
    logging.getLogger("airflow_lineage_provider").addHandler(handler)
    try:
        assert _executor_reports_failed(dag_id, run_id, "a", state, next_method, poked) == "failed"
    finally:
        logging.getLogger("airflow_lineage_provider").removeHandler(handler)
    assert [r.getMessage() for r in handler.records if r.levelno >= logging.WARNING] == []
    new = lineage_events()[len(before) :]
    assert [e["eventType"] for e in new] == expected
    assert {e["job"]["name"] for e in new} == {f"{dag_id}.a"}
    assert len({e["run"]["runId"] for e in new}) == 1
    for event in new:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == parent["root"]["run"]["runId"] == before[0]["run"]["runId"]
    assert "reported that the task instance" in new[-1]["run"]["facets"]["errorMessage"]["message"]
    if len(new) == 2:
        assert new[0]["eventTime"] <= new[1]["eventTime"]


START_FROM_TRIGGER = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    DateTimeSensorAsync(task_id="wait", start_from_trigger=True,
                        target_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
"""


def _run_started_from_the_triggerer(dag_id: str, *, timeout: bool) -> None:
    """The scheduler defers ``wait`` itself (no worker, no task hook), the trigger fires (or times out),
    then a worker runs the try for the first time, resuming it."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.sdk.definitions.dag import _run_task
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    write_version(dag_id, source=START_FROM_TRIGGER)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        scheduler()._schedule_dag_run(run, session)
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id="wait").one()
        assert ti.state == "deferred"
        trigger_id = ti.trigger_id
        if timeout:
            ti.trigger_timeout = datetime.now(timezone.utc) - timedelta(seconds=1)
    with create_session() as session:
        if timeout:
            scheduler().check_trigger_timeouts(session=session)
        else:
            Trigger.submit_event(trigger_id, TriggerEvent(True), session=session)
    task = load_dag(START_FROM_TRIGGER.format(dag_id=dag_id), dag_id).task_dict["wait"]
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id="wait").one()
        assert ti.state == "scheduled" and ti.next_method
        session.expunge(ti)
    _run_task(ti=ti, task=task)


@pytest.mark.parametrize(("timeout", "end"), [(False, "COMPLETE"), (True, "FAIL")])
def test_a_task_started_from_the_triggerer_gets_its_start_on_the_worker(timeout, end, lineage_events):
    dag_id = f"lc_start_from_trigger_{end.lower()}"
    _run_started_from_the_triggerer(dag_id, timeout=timeout)
    events = lineage_events()
    assert summary(events) == [("START", dag_id), ("START", f"{dag_id}.wait"), (end, f"{dag_id}.wait")]
    assert events[1]["run"]["runId"] == events[2]["run"]["runId"]
    assert events[1]["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]


def test_a_task_meant_to_start_from_the_triggerer_run_by_dag_test_has_one_start(lineage_events):
    """``dag.test()`` runs it on the worker from the start; its resumption is a re-entry there."""
    dag_id = "lc_start_from_trigger_dag_test"
    state, warnings = _run_and_log(START_FROM_TRIGGER.format(dag_id=dag_id), dag_id)
    assert state == "success" and warnings == []
    assert summary(lineage_events()) == [
        ("START", dag_id),
        ("START", f"{dag_id}.wait"),
        ("COMPLETE", f"{dag_id}.wait"),
        ("COMPLETE", dag_id),
    ]


TIMED_OUT = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1),
         dagrun_timeout=datetime.timedelta(seconds=1)) as dag:
    for task_id in ("running", "queued", "none", "waiting_for_retry", "retry_scheduled"):
        PythonOperator(task_id=task_id, python_callable=lambda: None, retries=2)
"""


def test_a_timed_out_run_reports_the_tries_it_skipped_before_they_ran(lineage_events):
    """``dagrun_timeout``: the scheduler fails the run and skips its unfinished task instances. A retry
    that was scheduled but never ran still carries the dates of the try before it; it is a try that never
    ran (START + COMPLETE skipped), while a try that ran and waits for its retry was reported already."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    dag_id = "lc_dagrun_timeout"
    write_version(dag_id, source=TIMED_OUT)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    now = datetime.now(timezone.utc)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        run.start_date = now - timedelta(minutes=5)
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        tis["running"].state, tis["running"].try_number = "running", 1  # its task process reports it
        tis["running"].start_date = now - timedelta(minutes=1)
        tis["queued"].state, tis["queued"].try_number = "queued", 1
        for task_id in ("waiting_for_retry", "retry_scheduled"):  # try 1 ran and failed, as workers leave it
            ti = tis[task_id]
            ti.state, ti.try_number = "up_for_retry", 1
            ti.start_date, ti.end_date = now - timedelta(minutes=4), now - timedelta(minutes=3)
            session.flush()
            ti.prepare_db_for_next_try(session)
        tis["retry_scheduled"].state, tis["retry_scheduled"].try_number = "scheduled", 2
        session.flush()
        scheduler()._schedule_dag_run(run, session)
        assert run.state == "failed"
    events = lineage_events()
    assert broken_lifecycles(events, dag_id) == []
    assert lifecycles(events, dag_id) == {
        "none": ["0/-1 START COMPLETE skipped"],
        "queued": ["1/-1 START COMPLETE skipped"],
        "retry_scheduled": ["2/-1 START COMPLETE skipped"],
    }
    retry_start, retry_end = task_events(events, f"{dag_id}.retry_scheduled")
    assert retry_start["eventTime"] == retry_end["eventTime"] == events[-1]["eventTime"]  # not try 1's dates
