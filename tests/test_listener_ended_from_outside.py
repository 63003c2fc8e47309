"""Tries that Airflow ends from outside while their task process runs: one terminal event each.

Real parts: the DAG runs are created and started by the scheduler's own code (tests/scheduler_helpers.py),
each try runs in a task process forked by Airflow's task supervisor (``supervise_task``, talking to the
in-process execution API, heartbeat every second), and the outside end is Airflow's own code path: the
``fail_fast`` stop the execution API runs when another task fails, the scheduler's ``dagrun_timeout`` pass,
and marking by hand through the REST API. The supervisor's next heartbeat is refused (the try is no longer
running), so it sends SIGTERM (the runner calls the operator's ``on_kill``) and SIGKILL 5 s later. Another
try gets a SIGTERM from elsewhere (a worker shutting down) while Airflow still has it running.

The supervisor runs in a subprocess (this file run as a script), the tries one after the other; the test
acts when each try's ``execute`` has started. All events (task process, scheduler, API server) go to the one
file transport of the ``lineage_events`` fixture, and are schema-validated there.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import Any

import pytest
from lineage_helpers import task_events

pytestmark = pytest.mark.airflow

SOURCE = """
import datetime, os, pathlib, time
from airflow.sdk import DAG, BaseOperator


class Work(BaseOperator):
    def __init__(self, *, stops_on_kill=False, **kwargs):
        super().__init__(**kwargs)
        self.stops_on_kill = stops_on_kill
        self.killed = False

    def execute(self, context):
        pathlib.Path(os.environ["OUTSIDE_MARKS"], context["dag"].dag_id).write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.killed:
            time.sleep(0.02)
        time.sleep({linger})
        return "done" if self.killed else "timed out"

    def on_kill(self):
        self.killed = self.stops_on_kill  # else it goes on until SIGKILL, as a task that ignores it


with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1), {dag_args}) as dag:
    Work(task_id="work", stops_on_kill={stops_on_kill})
    Work(task_id="other")
"""

#: dag_id -> (DAG arguments, does the task end by itself once on_kill ran, seconds it lingers then)
SCENARIOS = {
    "lp_outside_fail_fast": ("fail_fast=True", False, 0),  # killed outright (SIGKILL)
    # ends itself right after SIGTERM
    "lp_outside_timeout": ("dagrun_timeout=datetime.timedelta(hours=1)", True, 0),
    # marked failed through the REST API, then ends itself once the state was read: a task that reports its
    # own end first may have sent the state read (``_check_outside_end``), so its own event goes out too
    "lp_outside_by_hand": ("", True, 1.0),
    # the same in a fail_fast DAG: no other try failed, so not fail_fast's stop (the hand mark's event stands)
    "lp_outside_by_hand_fail_fast": ("fail_fast=True", True, 1.0),
    # SIGTERM from elsewhere (a worker shutting down): still running as far as Airflow knows
    "lp_outside_sigterm_only": ("", True, 0),
}


def _prepare(dag_id: str, dag_args: str, stops_on_kill: bool, linger: float) -> dict[str, str]:
    """A running DAG run (started by the scheduler) whose ``work`` try 1 is queued for a worker."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from scheduler_helpers import start_run, trigger_run, write_version

    source = SOURCE.replace("{dag_args}", dag_args).replace("{stops_on_kill}", str(stops_on_kill))
    source = source.replace("{linger}", str(linger))
    write_version(dag_id, source=source.replace("{dag_id}", dag_id).replace("{", "{{").replace("}", "}}"))
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        ti = run.get_task_instance("work", session=session)
        ti.try_number, ti.state = 1, "queued"
        return {"id": str(ti.id), "dag_id": dag_id, "run_id": run_id, "version": str(ti.dag_version_id)}


def _api_client(monkeypatch: Any) -> Any:
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "lineage-tests-" + "x" * 64)
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app(apps="core"))


def _end_from_outside(dag_id: str, run_id: str, pid: int, api: Any) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    if dag_id == "lp_outside_fail_fast":  # "other" fails: the execution API stops the rest (fail_fast)
        from airflow.models.taskinstance import _stop_remaining_tasks

        with create_session() as session:
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
            other = run.get_task_instance("other", session=session)
            other.state = "failed"
            session.flush()
            _stop_remaining_tasks(
                task_instance=other, task_teardown_map={"work": False, "other": False}, session=session
            )
    elif dag_id == "lp_outside_timeout":  # the scheduler's pass over a run past its dagrun_timeout
        from datetime import timedelta

        from scheduler_helpers import scheduler

        with create_session() as session:
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
            run.start_date -= timedelta(hours=2)
            session.flush()
            scheduler()._schedule_dag_run(run, session)
            assert run.state == "failed"
    elif dag_id.startswith("lp_outside_by_hand"):
        url = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/work"
        response = api.patch(url, json={"new_state": "failed"})
        assert response.status_code == 200, response.text
    else:  # the try still runs as far as Airflow knows
        os.kill(pid, signal.SIGTERM)


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


@pytest.mark.slow  # ~6 s of it is Airflow's: a heartbeat, then SIGKILL 5 s after SIGTERM
def test_a_try_ended_from_outside_gets_one_terminal_event(lineage_events, monkeypatch, tmp_path):
    """Before: ``fail_fast`` + SIGKILL left START alone, ``dagrun_timeout`` gave START + COMPLETE (the task
    ended by itself after SIGTERM) and marking by hand START + FAIL + COMPLETE."""
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "OUTSIDE_MARKS": str(marks), "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"}
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    proc = subprocess.Popen(  # warms up (imports, execution API) while the runs are prepared
        [sys.executable, __file__],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(tmp_path),
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
    seen: list[str] = []
    results: dict[str, Any] = {}
    try:
        tries = [_prepare(dag_id, *scenario) for dag_id, scenario in SCENARIOS.items()]
        before = lineage_events()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(tries) + "\n")
        proc.stdin.close()
        api = _api_client(monkeypatch)  # built while the first task process starts
        for ti in tries:
            deadline = time.monotonic() + 120
            while not (marks / ti["dag_id"]).exists() or not (marks / ti["dag_id"]).read_text():
                assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
                time.sleep(0.05)
            _end_from_outside(ti["dag_id"], ti["run_id"], int((marks / ti["dag_id"]).read_text()), api)
            while ti["dag_id"] not in results:
                line = output.get(timeout=120)
                seen.append(line)
                if line.startswith("{"):
                    results.update(json.loads(line))
        assert proc.wait(60) == 0, "".join(seen)
        print({dag_id: result["seconds"] for dag_id, result in results.items()})
    finally:
        if proc.poll() is None:
            proc.kill()
    # SIGKILL (5 s after SIGTERM) for the task that ignores SIGTERM; the others ended by themselves
    assert {dag_id: result["code"] for dag_id, result in results.items()} == {
        "lp_outside_fail_fast": -9,
        "lp_outside_timeout": 0,
        "lp_outside_by_hand": 0,
        "lp_outside_by_hand_fail_fast": 0,
        "lp_outside_sigterm_only": 0,
    }, "".join(seen)
    events = lineage_events()[len(before) :]
    # events of one try come from two processes (the task's START, the REST API's FAIL for a hand mark), each
    # sent by its own background sender: the file holds them in arrival order, their eventTime orders them
    tries = {
        dag_id: sorted(
            task_events(events, f"{dag_id}.work"), key=lambda e: datetime.fromisoformat(e["eventTime"])
        )
        for dag_id in SCENARIOS
    }
    found = {dag_id: [e["eventType"] for e in tries[dag_id]] for dag_id in SCENARIOS}
    assert found == {
        "lp_outside_fail_fast": ["START", "ABORT"],
        "lp_outside_timeout": ["START", "ABORT"],
        "lp_outside_by_hand": ["START", "FAIL"],  # the REST API's hook sent it; the task process adds none
        "lp_outside_by_hand_fail_fast": ["START", "FAIL"],  # before: START, FAIL, ABORT
        "lp_outside_sigterm_only": ["START", "COMPLETE"],  # not ended from outside: its own end stands
    }, "".join(seen)
    for dag_id in SCENARIOS:
        start, end = tries[dag_id]
        assert start["run"]["runId"] == end["run"]["runId"]
    states = {
        dag_id: tries[dag_id][1]["run"]["facets"]["airflow"]["taskInstance"]["state"] for dag_id in SCENARIOS
    }
    assert states == {
        "lp_outside_fail_fast": "failed",
        "lp_outside_timeout": "skipped",
        "lp_outside_by_hand": "failed",
        "lp_outside_by_hand_fail_fast": "failed",
        "lp_outside_sigterm_only": "success",
    }


def test_an_abort_the_backend_does_not_take_in_time_is_spooled_before_the_kill(tmp_path, monkeypatch):
    """The ABORT is queued once the try's state is read; what the backend has not taken by
    ``_ABORT_DELIVERY_SECONDS`` after the SIGTERM is spooled, ahead of the SIGKILL 5 s after it, for the
    next process on the machine to replay."""
    from emission.receiver import Receiver
    from lineage_helpers import SPOOL_ENV, TRANSPORT_ENV

    from airflow_lineage_provider import conf, listener
    from airflow_lineage_provider.emission.emitter import get_emitter, reset_emitter
    from airflow_lineage_provider.emission.spool import Spool

    backend = Receiver("hang")  # takes the connection, never answers
    try:
        url = backend.url
        monkeypatch.setenv(
            TRANSPORT_ENV, json.dumps({"type": "http", "url": url, "endpoint": "api/v1/lineage"})
        )
        monkeypatch.setenv(SPOOL_ENV, str(tmp_path / "spool"))
        monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SEND_TIMEOUT", "5")
        conf.clear_cache()
        reset_emitter()
        event = {
            "eventType": "ABORT",
            "eventTime": "2024-01-01T00:00:00+00:00",
            "producer": "https://example.com/test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": "01900000-0000-7000-8000-000000000001"},
            "job": {"namespace": "test", "name": "killed.task"},
        }
        get_emitter().emit(event)
        signalled = time.monotonic() - 2.0  # the SIGTERM came 2 s ago: 0.5 s of the delivery bound left
        listener._deliver_before_kill(signalled)
        spooled_after = time.monotonic() - signalled
        assert spooled_after < 5.0  # before the SIGKILL (2.5 s bound + 1 s for the sender to let go)
        spool = Spool(str(tmp_path / "spool"), 64 << 20)
        assert [spool.read(name)["eventType"] for name in spool.names()] == ["ABORT"]
    finally:
        conf.clear_cache()
        reset_emitter()
        backend.stop()


DEFERRED = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1),
         dagrun_timeout=datetime.timedelta(hours=1)) as dag:
    DateTimeSensorAsync(task_id="waits", target_time=datetime.datetime(2999, 1, 1))
    DateTimeSensorAsync(task_id="from_trigger", start_from_trigger=True,
                        target_time=datetime.datetime(2999, 1, 1))
    PythonOperator(task_id="never", python_callable=lambda: None)
"""


def test_a_deferred_try_the_run_times_out_gets_an_abort(lineage_events):
    """No task process runs a deferred try: the scheduler skips it (``dagrun_timeout``) without a hook, and
    the run's end is the one place that can end it. Before: nothing (it looked like a try that ran and
    skipped itself). A try the scheduler deferred itself (``start_from_trigger``) never had a START."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from lineage_helpers import summary
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    dag_id = "lp_outside_deferred"
    write_version(dag_id, source=DEFERRED)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    before = lineage_events()
    now = datetime.now(timezone.utc)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        trigger = Trigger(classpath="airflow.providers.standard.triggers.temporal.DateTimeTrigger", kwargs={})
        session.add(trigger)
        session.flush()
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        for task_id, method in (("waits", "execute_complete"), ("from_trigger", "execute_complete")):
            ti = tis[task_id]  # deferred as the worker (or the scheduler) leaves it
            ti.state, ti.try_number, ti.start_date = "deferred", 1, now - timedelta(minutes=1)
            ti.trigger_id, ti.next_method = trigger.id, method
        run.start_date = now - timedelta(hours=2)
        session.flush()
        scheduler()._schedule_dag_run(run, session)
        assert run.state == "failed"
    new = lineage_events()[len(before) :]
    assert summary(new) == [
        ("START", f"{dag_id}.from_trigger"),  # no worker ran it: no START before
        ("ABORT", f"{dag_id}.from_trigger"),
        ("START", f"{dag_id}.never"),
        ("COMPLETE", f"{dag_id}.never"),
        ("ABORT", f"{dag_id}.waits"),  # its START came from the worker that deferred it
        ("FAIL", dag_id),
    ]
    states = [
        e["run"]["facets"]["airflow"]["taskInstance"]["state"] for e in new if e["eventType"] == "ABORT"
    ]
    assert states == ["skipped", "skipped"]
    assert new[0]["run"]["runId"] == new[1]["run"]["runId"]


FAIL_FAST_DEFERRED = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1), fail_fast=True) as dag:
    DateTimeSensorAsync(task_id="waits", target_time=datetime.datetime(2999, 1, 1))
    PythonOperator(task_id="breaks", python_callable=lambda: None)
"""


@pytest.mark.parametrize("how", ["fail_fast", "by_hand"])
def test_a_deferred_try_fail_fast_skips_gets_an_abort(lineage_events, how):
    """``fail_fast`` skips a deferred try with an end date, as marking it skipped by hand does; only the
    first (another try of the run failed) is taken for an outside end: the hand mark's hook reported it.
    Before: nothing for the try ``fail_fast`` skipped."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import _stop_remaining_tasks
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from lineage_helpers import summary
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    dag_id = f"lp_outside_deferred_{how}"
    write_version(dag_id, source=FAIL_FAST_DEFERRED.replace("{dag_id}", dag_id))
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    before = lineage_events()
    now = datetime.now(timezone.utc)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        trigger = Trigger(classpath="airflow.providers.standard.triggers.temporal.DateTimeTrigger", kwargs={})
        session.add(trigger)
        session.flush()
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        waits, breaks = tis["waits"], tis["breaks"]
        waits.state, waits.try_number, waits.start_date = "deferred", 1, now - timedelta(minutes=1)
        waits.trigger_id, waits.next_method = trigger.id, "execute_complete"
        breaks.try_number, breaks.start_date, breaks.end_date = 1, now, now
        if how == "fail_fast":  # breaks failed for good: the execution API stops the rest
            breaks.state = "failed"
            session.flush()
            _stop_remaining_tasks(
                task_instance=breaks, task_teardown_map={"waits": False, "breaks": False}, session=session
            )
        else:  # breaks succeeded; waits marked skipped by hand (its hook is the API server's)
            breaks.state = "success"
            waits.set_state("skipped", session=session)
        session.flush()
        assert (waits.state, waits.end_date is not None) == ("skipped", True)
        scheduler()._schedule_dag_run(run, session)
    new = [e for e in lineage_events()[len(before) :] if e["job"]["name"] == f"{dag_id}.waits"]
    assert summary(new) == ([("ABORT", f"{dag_id}.waits")] if how == "fail_fast" else [])


RESCHEDULED = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensor

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1), {dag_args}) as dag:
    DateTimeSensor(task_id="pokes", mode="reschedule", target_time=datetime.datetime(2999, 1, 1))
    PythonOperator(task_id="breaks", python_callable=lambda: None)
"""


@pytest.mark.parametrize(
    ("how", "aborted"),
    [
        ("dagrun_timeout", True),  # skipped between two pokes by the scheduler's timeout pass
        ("fail_fast", True),  # skipped between two pokes when another try failed
        ("skipped_itself", False),  # a later poke skipped itself (soft_fail): its own hook reported it
        ("by_hand", False),  # marked skipped by hand between pokes, the run succeeds: its hook reported it
    ],
)
def test_a_sensor_skipped_between_two_pokes_gets_an_abort(lineage_events, how, aborted):
    """A reschedule-mode sensor between two pokes has no task process, and ``dagrun_timeout`` and
    ``fail_fast`` skip it without a hook: the run's end sends its ABORT. Before: its START stayed open."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import _stop_remaining_tasks
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from lineage_helpers import summary
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    dag_id = f"lp_outside_rescheduled_{how}"
    dag_args = {"dagrun_timeout": "dagrun_timeout=datetime.timedelta(hours=1)", "fail_fast": "fail_fast=True"}
    source = RESCHEDULED.replace("{dag_id}", dag_id).replace("{dag_args}", dag_args.get(how, ""))
    write_version(dag_id, source=source)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    before = lineage_events()
    now = datetime.now(timezone.utc)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        pokes, breaks = tis["pokes"], tis["breaks"]
        poked = now - timedelta(seconds=30)  # the first poke's end: rescheduled, as the execution API does
        pokes.state, pokes.try_number = "up_for_reschedule", 1
        pokes.start_date, pokes.end_date = now - timedelta(minutes=1), poked
        session.add(TaskReschedule(pokes.id, now - timedelta(minutes=1), poked, now + timedelta(hours=1)))
        breaks.try_number, breaks.start_date, breaks.end_date = 1, now, now
        breaks.state = "failed" if how == "fail_fast" else "success"
        session.flush()
        if how == "dagrun_timeout":
            run.start_date = now - timedelta(hours=2)
        elif how == "fail_fast":
            _stop_remaining_tasks(
                task_instance=breaks, task_teardown_map={"pokes": False, "breaks": False}, session=session
            )
        elif how == "skipped_itself":
            pokes.state, pokes.end_date = "skipped", now
        else:
            pokes.set_state("skipped", session=session)
        session.flush()
        scheduler()._schedule_dag_run(run, session)
        assert pokes.state == "skipped"
    new = [e for e in lineage_events()[len(before) :] if e["job"]["name"] == f"{dag_id}.pokes"]
    assert summary(new) == ([("ABORT", f"{dag_id}.pokes")] if aborted else [])
    if aborted:
        assert new[0]["run"]["facets"]["airflow"]["taskInstance"]["state"] == "skipped"


# --- the supervisor side (this file run as a script) ---------------------------------------------------


def _supervise() -> None:
    """Run each try read from stdin (once warmed up) through Airflow's task supervisor; one JSON line per
    try: its exit code and seconds."""
    from uuid import UUID

    import airflow.sdk.execution_time.task_runner  # noqa: F401 - what a worker has loaded: forked tries
    from airflow.executors.workloads import BundleInfo
    from airflow.sdk.api.datamodels._generated import TaskInstance
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise_task

    import airflow_lineage_provider.emission.events
    import airflow_lineage_provider.listener  # noqa: F401

    client = InProcessTestSupervisor._api_client()
    client.get("health")  # warm the in-process execution API up
    for spec in json.loads(sys.stdin.readline()):
        ti = TaskInstance(
            id=UUID(spec["id"]),
            task_id="work",
            dag_id=spec["dag_id"],
            run_id=spec["run_id"],
            try_number=1,
            map_index=-1,
            dag_version_id=UUID(spec["version"]),
        )
        started = time.monotonic()
        code = supervise_task(
            ti=ti,
            bundle_info=BundleInfo(name="dags-folder"),
            dag_rel_path=f"{spec['dag_id']}.py",
            token="",
            client=client,
        )
        result = {"code": code, "seconds": round(time.monotonic() - started, 2)}
        print(json.dumps({spec["dag_id"]: result}), flush=True)


if __name__ == "__main__":
    _supervise()
