"""A DAG file changed during a run: the run is decided on the DAG version it was created with.

Real Airflow on the test metadata DB: the DAG file is parsed and written to the serialized DAG table as
the DAG processor does (one new version per change), runs are created queued as a trigger does, and the
scheduler's own methods start and finish them (``SchedulerJobRunner._start_queued_dagruns`` and
``_schedule_dag_run``, which attach the *latest* version to the run, the one that differs here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lineage_helpers import load_dag, reset_lineage, summary, task_events
from scheduler_helpers import SOURCE, finish_run, scheduler, start_run, trigger_run, write_version

from airflow_lineage_provider import listener as listener_module

pytestmark = pytest.mark.airflow


@pytest.fixture(autouse=True)
def new_version_at_once(monkeypatch):
    """The DAG processor writes a changed DAG at most every 30 s by default; these files change at once."""
    monkeypatch.setenv("AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL", "0")


@pytest.fixture
def selective(monkeypatch):
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SELECTIVE_ENABLE", "True")
    reset_lineage()
    yield
    monkeypatch.delenv("AIRFLOW__LINEAGE_PROVIDER__SELECTIVE_ENABLE")
    reset_lineage()


@pytest.fixture
def reads(monkeypatch) -> Iterator[list[Any]]:
    """The versions of this file's DAGs the listener reads from the serialized DAG table (a spy on its one
    reading function; a scheduler pass also ends runs earlier tests in the same process left running)."""
    seen: list[Any] = []
    real = listener_module._read_serialized_dag

    def spy(row: Any, version_id: Any) -> Any:
        if str(getattr(row, "dag_id", "")).startswith("lp_ver_"):
            seen.append(version_id)
        return real(row, version_id)

    monkeypatch.setattr(listener_module, "_read_serialized_dag", spy)
    yield seen


def _dag_events(events: list[dict], dag_id: str) -> list[dict]:
    return [e for e in events if e["job"]["name"].split(".")[0] == dag_id]


def test_a_run_switched_off_mid_run_still_gets_its_complete(lineage_events, reads):
    v1 = write_version("lp_ver_off_mid_run")
    run_id = trigger_run("lp_ver_off_mid_run")
    assert start_run("lp_ver_off_mid_run", run_id) == v1
    v2 = write_version("lp_ver_off_mid_run", "disable_lineage(dag)")
    assert v2 != v1
    assert finish_run("lp_ver_off_mid_run", run_id, {}) == "success"
    events = _dag_events(lineage_events(), "lp_ver_off_mid_run")
    assert summary(events) == [("START", "lp_ver_off_mid_run"), ("COMPLETE", "lp_ver_off_mid_run")]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
    assert reads == [v1]  # the run's version read once, for both events

    # a second run, created on the new version, is off from START to end
    second = trigger_run("lp_ver_off_mid_run")
    assert start_run("lp_ver_off_mid_run", second) == v2
    assert finish_run("lp_ver_off_mid_run", second, {}) == "success"
    assert len(_dag_events(lineage_events(), "lp_ver_off_mid_run")) == 2
    assert reads == [v1, v2]


def test_a_run_switched_on_mid_run_gets_no_complete_without_itsstart_run(lineage_events):
    v1 = write_version("lp_ver_on_mid_run", "disable_lineage(dag)")
    run_id = trigger_run("lp_ver_on_mid_run")
    assert start_run("lp_ver_on_mid_run", run_id) == v1
    assert write_version("lp_ver_on_mid_run") != v1
    assert finish_run("lp_ver_on_mid_run", run_id, {"c": "failed"}) == "failed"
    assert _dag_events(lineage_events(), "lp_ver_on_mid_run") == []


def test_selective_marks_changed_mid_run_keep_the_runs_decision_and_its_never_ran_tasks(
    lineage_events, selective
):
    """The tasks the run's end reports as never run follow the run's version too, not the latest."""
    dag_id = "lp_ver_selective"
    v1 = write_version(dag_id, "enable_lineage(dag)\ndisable_lineage(a)")
    run_id = trigger_run(dag_id)
    assert start_run(dag_id, run_id) == v1
    write_version(dag_id, "disable_lineage(dag)\nenable_lineage(a)")  # the opposite everywhere
    assert finish_run(dag_id, run_id, {"a": "skipped", "b": "skipped"}) == "success"
    events = _dag_events(lineage_events(), dag_id)
    assert summary(events) == [
        ("START", dag_id),
        ("START", f"{dag_id}.b"),
        ("COMPLETE", f"{dag_id}.b"),
        ("COMPLETE", dag_id),
    ]
    skipped = task_events(events, f"{dag_id}.b")
    assert skipped[0]["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    assert skipped[1]["run"]["facets"]["airflow"]["taskInstance"]["state"] == "skipped"


def test_marking_by_hand_decides_a_try_that_ran_on_its_version_and_the_rest_on_the_runs(
    lineage_events, monkeypatch
):
    """The API server: a try that ran keeps the decision its START had (its own version, which the
    scheduler moved to the latest); a try that never ran, and the run itself, follow the run's version."""
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "lineage-tests-" + "x" * 64)
    from airflow.api_fastapi.app import create_app
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from fastapi.testclient import TestClient

    dag_id = "lp_ver_by_hand"
    v1 = write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    v2 = write_version(dag_id, "disable_lineage(dag)")
    with create_session() as session:  # two scheduler passes: tasks scheduled, then moved to the latest
        for _ in range(2):
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
            scheduler()._schedule_dag_run(run, session)
            session.flush()
        session.expire_all()  # the scheduler moves the task instances with a bulk UPDATE
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        assert {ti.dag_version_id for ti in tis.values()} == {v2} and run.created_dag_version_id == v1
        tis["b"].state, tis["b"].try_number, tis["b"].start_date = "running", 1, run.start_date  # a worker
    client = TestClient(create_app(apps="core"))
    base = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"
    for url, body in (
        (f"{base}/taskInstances/a", {"new_state": "failed"}),  # never ran: the run's version, on
        (f"{base}/taskInstances/b", {"new_state": "success"}),  # ran on v2 (no START): off
        (base, {"state": "failed"}),  # c never ran: skipped and reported with the run, on v1
    ):
        response = client.patch(url, json=body)
        assert response.status_code == 200, response.text
    assert summary(_dag_events(lineage_events(), dag_id)) == [
        ("START", dag_id),
        ("START", f"{dag_id}.a"),
        ("FAIL", f"{dag_id}.a"),
        ("START", f"{dag_id}.c"),
        ("COMPLETE", f"{dag_id}.c"),
        ("FAIL", dag_id),
    ]


def test_dag_test_runs_are_decided_on_the_dag_object_being_tested(lineage_events):
    """dag.test() runs the DAG object in memory (its START is decided there), not the file's version."""
    from airflow_lineage_provider import disable_lineage

    dag = load_dag(SOURCE.format(dag_id="lp_ver_dag_test", marks=""), "lp_ver_dag_test")
    disable_lineage(dag)  # in memory only: the version dag.test() serializes from the file has no mark
    assert dag.test().state == "success"
    assert _dag_events(lineage_events(), "lp_ver_dag_test") == []
