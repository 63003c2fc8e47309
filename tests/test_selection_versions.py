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
from lineage_helpers import dags_folder, load_dag, reset_lineage, summary, task_events

from airflow_lineage_provider import listener as listener_module

pytestmark = pytest.mark.airflow

SOURCE = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow_lineage_provider import disable_lineage, enable_lineage

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    a = PythonOperator(task_id="a", python_callable=lambda: None)
    b = PythonOperator(task_id="b", python_callable=lambda: None)
    c = PythonOperator(task_id="c", python_callable=lambda: None)
{marks}
"""


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
    """The versions the listener reads from the serialized DAG table (a spy on its one reading function)."""
    seen: list[Any] = []
    real = listener_module._read_serialized_dag

    def spy(row: Any, version_id: Any) -> Any:
        seen.append(version_id)
        return real(row, version_id)

    monkeypatch.setattr(listener_module, "_read_serialized_dag", spy)
    yield seen


def _write_version(dag_id: str, marks: str = "") -> Any:
    """Write the DAG file and serialize it as the DAG processor does; returns the latest version's id."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.models.dag_version import DagVersion
    from airflow.utils.session import create_session

    path = dags_folder() / f"{dag_id}.py"
    path.write_text(SOURCE.format(dag_id=dag_id, marks=marks))
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    bag = BundleDagBag(dag_folder=path, bundle_path=dags_folder(), bundle_name="dags-folder")
    assert dag_id in bag.dags, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = False
        version = DagVersion.get_latest_version(dag_id, session=session)
        assert version is not None
        return version.id


def _trigger(dag_id: str) -> str:
    """A queued manual run on the latest serialized version, as the REST API's trigger creates it."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = datetime.now(timezone.utc) - timedelta(minutes=1)  # due: the scheduler takes run_after <= now
    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        assert dag is not None
        run = dag.create_dagrun(
            run_id=f"manual__{now.isoformat()}",
            logical_date=now,
            data_interval=(now, now),
            run_after=now,
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.REST_API,
            state=DagRunState.QUEUED,
            session=session,
        )
        return run.run_id


def _scheduler() -> Any:
    from airflow.executors.local_executor import LocalExecutor
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    return SchedulerJobRunner(job=Job(), executors=[LocalExecutor()])  # never started: no processes


def _start(dag_id: str, run_id: str) -> Any:
    """The scheduler moves the queued run to running (``on_dag_run_running``); returns its created version."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        _scheduler()._start_queued_dagruns(session)
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        assert run.state == "running"
        return run.created_dag_version_id


def _finish(dag_id: str, run_id: str, states: dict[str, str]) -> str:
    """Give the tasks ``states`` (as workers would), then one scheduler pass over the run; its state."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        for ti in run.get_task_instances(session=session):
            ti.state = states.get(ti.task_id, "success")
            if ti.state == "success":
                ti.try_number, ti.start_date, ti.end_date = 1, run.start_date, run.start_date
        session.flush()
        _scheduler()._schedule_dag_run(run, session)
        return str(run.state)


def _dag_events(events: list[dict], dag_id: str) -> list[dict]:
    return [e for e in events if e["job"]["name"].split(".")[0] == dag_id]


def test_a_run_switched_off_mid_run_still_gets_its_complete(lineage_events, reads):
    v1 = _write_version("lp_ver_off_mid_run")
    run_id = _trigger("lp_ver_off_mid_run")
    assert _start("lp_ver_off_mid_run", run_id) == v1
    v2 = _write_version("lp_ver_off_mid_run", "disable_lineage(dag)")
    assert v2 != v1
    assert _finish("lp_ver_off_mid_run", run_id, {}) == "success"
    events = _dag_events(lineage_events(), "lp_ver_off_mid_run")
    assert summary(events) == [("START", "lp_ver_off_mid_run"), ("COMPLETE", "lp_ver_off_mid_run")]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
    assert reads == [v1]  # the run's version read once, for both events

    # a second run, created on the new version, is off from START to end
    second = _trigger("lp_ver_off_mid_run")
    assert _start("lp_ver_off_mid_run", second) == v2
    assert _finish("lp_ver_off_mid_run", second, {}) == "success"
    assert len(_dag_events(lineage_events(), "lp_ver_off_mid_run")) == 2
    assert reads == [v1, v2]


def test_a_run_switched_on_mid_run_gets_no_complete_without_its_start(lineage_events):
    v1 = _write_version("lp_ver_on_mid_run", "disable_lineage(dag)")
    run_id = _trigger("lp_ver_on_mid_run")
    assert _start("lp_ver_on_mid_run", run_id) == v1
    assert _write_version("lp_ver_on_mid_run") != v1
    assert _finish("lp_ver_on_mid_run", run_id, {"c": "failed"}) == "failed"
    assert _dag_events(lineage_events(), "lp_ver_on_mid_run") == []


def test_selective_marks_changed_mid_run_keep_the_runs_decision_and_its_never_ran_tasks(
    lineage_events, selective
):
    """The tasks the run's end reports as never run follow the run's version too, not the latest."""
    dag_id = "lp_ver_selective"
    v1 = _write_version(dag_id, "enable_lineage(dag)\ndisable_lineage(a)")
    run_id = _trigger(dag_id)
    assert _start(dag_id, run_id) == v1
    _write_version(dag_id, "disable_lineage(dag)\nenable_lineage(a)")  # the opposite everywhere
    assert _finish(dag_id, run_id, {"a": "skipped", "b": "skipped"}) == "success"
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
    v1 = _write_version(dag_id)
    run_id = _trigger(dag_id)
    _start(dag_id, run_id)
    v2 = _write_version(dag_id, "disable_lineage(dag)")
    with create_session() as session:  # two scheduler passes: tasks scheduled, then moved to the latest
        for _ in range(2):
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
            _scheduler()._schedule_dag_run(run, session)
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
