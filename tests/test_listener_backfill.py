"""Backfill runs (Airflow 3: ``airflow backfill create``, ``POST /api/v2/backfills``): events per run.

Real parts: the backfill and its runs are created by Airflow's own ``_create_backfill`` (what the CLI and
the REST API call), the scheduler's own methods start the queued runs (honouring the backfill's
``max_active_runs``), schedule and queue their task instances and finish the runs
(``scheduler_helpers``), and each try runs through Airflow's task runner in this process
(``run_task_in_process``, talking to the in-process execution API, as ``dag.test()`` does), so the task
hooks are the real ones. The task renders the template macros (``macros.lineage_provider.*``) for its
own try, which the events' run ids must match. All events go to the ``lineage_events`` fixture's file
transport and are schema-validated there.

Reprocessing: a run with a logical date is cleared (new clear number, new tries, so new ids); a
partitioned DAG's run (no logical date) is not cleared but gets a second run alongside, with the same
``run_after``, which needs its Airflow run id in its OpenLineage ids to be told apart.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lineage_helpers import load_dag, task_events
from scheduler_helpers import scheduler, write_version

pytestmark = pytest.mark.airflow

SOURCE = """
import datetime, json, os, pathlib
from airflow.sdk import DAG, CronDataIntervalTimetable
from airflow.providers.standard.operators.python import PythonOperator


SCHEDULE = CronDataIntervalTimetable("0 0 * * *", timezone="UTC")  # daily, a day's data interval each


def record(run_id, parent_id, root_run_id, **context):
    ti = context["ti"]
    out = pathlib.Path(os.environ["BACKFILL_MARKS"]) / f"{{ti.run_id}}.{{ti.try_number}}.json"
    out.write_text(json.dumps({{"run_id": run_id, "parent_id": parent_id, "root_run_id": root_run_id}}))
    if (out.parent / f"fail-{{ti.run_id}}").exists():
        raise RuntimeError("this execution fails")


with DAG("{dag_id}", schedule=SCHEDULE, start_date=datetime.datetime(2024, 1, 1), catchup=False) as dag:
    PythonOperator(
        task_id="load",
        python_callable=record,
        op_kwargs={{
            "run_id": "{{{{ macros.lineage_provider.lineage_run_id(ti) }}}}",
            "parent_id": "{{{{ macros.lineage_provider.lineage_parent_id(ti) }}}}",
            "root_run_id": "{{{{ macros.lineage_provider.lineage_root_run_id(ti) }}}}",
        }},
    )
"""

JAN = [datetime(2024, 1, day, tzinfo=timezone.utc) for day in (1, 2, 3)]


@pytest.fixture(autouse=True)
def marks_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL", "0")
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("BACKFILL_MARKS", str(marks))
    return marks


def _dag(dag_id: str) -> Any:
    """Serialize the DAG as the DAG processor does and import it as a worker would; the SDK DAG."""
    write_version(dag_id, source=SOURCE)
    return load_dag(SOURCE.format(dag_id=dag_id), dag_id)


def _backfill(
    dag_id: str, start: datetime, end: datetime, reprocess: str = "none", max_active: int = 10
) -> int:
    from airflow.models.backfill import ReprocessBehavior, _create_backfill

    backfill = _create_backfill(
        dag_id=dag_id,
        from_date=start,
        to_date=end,
        max_active_runs=max_active,
        reverse=False,
        dag_run_conf=None,
        triggering_user_name="lineage-tests",
        reprocess_behavior=ReprocessBehavior(reprocess),
    )
    return int(backfill.id)


def _scheduler_pass(dag_id: str, dag: Any) -> list[str]:
    """What one scheduler loop does to the DAG's runs, with the executor's tries run in this process:
    start queued runs, schedule each running run's tasks, queue them, run them, then finish the runs.
    Returns the run ids it started."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.api.datamodels._generated import TaskInstance as Workload
    from airflow.sdk.execution_time.supervisor import run_task_in_process
    from airflow.utils.session import create_session

    runner = scheduler()
    with create_session() as session:
        queued = {r.run_id for r in session.query(DagRun).filter_by(dag_id=dag_id, state="queued")}
        runner._start_queued_dagruns(session)
        session.flush()  # the scheduler commits here (its session does not autoflush)
        running = session.query(DagRun).filter_by(dag_id=dag_id, state="running").all()
        started = sorted(r.run_id for r in running if r.run_id in queued)
        for run in running:
            runner._schedule_dag_run(run, session)
        session.flush()
        runner._executable_task_instances_to_queued(max_tis=32, session=session)
    with create_session() as session:
        tries = [
            Workload(
                id=ti.id,
                task_id=ti.task_id,
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                try_number=ti.try_number,
                map_index=ti.map_index,
                dag_version_id=ti.dag_version_id,
            )
            for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, state="queued")
        ]
    for workload in tries:
        result = run_task_in_process(workload, dag.task_dict[workload.task_id])
        failing = (Path(os.environ["BACKFILL_MARKS"]) / f"fail-{workload.run_id}").exists()
        assert result.state == ("failed" if failing else "success"), result.error
    with create_session() as session:
        for run in session.query(DagRun).filter_by(dag_id=dag_id, state="running").all():
            runner._schedule_dag_run(run, session)
    return started


def _run_backfill(dag_id: str, dag: Any, passes: int = 5) -> list[list[str]]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    rounds = []
    for _ in range(passes):
        rounds.append(_scheduler_pass(dag_id, dag))
        with create_session() as session:
            if (
                not session.query(DagRun)
                .filter(DagRun.dag_id == dag_id, DagRun.state.in_(("queued", "running")))
                .count()
            ):
                return rounds
    raise AssertionError(f"the backfill of {dag_id} did not end in {passes} scheduler passes: {rounds}")


def _runs(dag_id: str) -> dict[str, Any]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter_by(dag_id=dag_id).all()
        session.expunge_all()
        return {r.run_id: r for r in runs}


def test_backfill_runs_get_their_own_events(lineage_events, marks_dir):
    """Three logical dates, at most two runs at a time: each run one START and one COMPLETE, its task try
    under it, its data interval as nominal time, ids from its logical date as the macros render them."""
    from openlineage.client.uuid import generate_static_uuid

    from airflow_lineage_provider.emission.events import DagRunInfo, TaskInfo, dag_run_uuid, task_run_uuid

    dag_id = "lp_backfill"
    dag = _dag(dag_id)
    _backfill(dag_id, JAN[0], JAN[2], max_active=2)
    rounds = _run_backfill(dag_id, dag)
    assert [len(r) for r in rounds][:2] == [2, 1]  # the backfill's max_active_runs held the third back
    events = lineage_events()
    runs = _runs(dag_id)
    assert len(runs) == 3
    dag_events = task_events(events, dag_id)
    load_events = task_events(events, f"{dag_id}.load")
    assert sorted(e["eventType"] for e in dag_events) == ["COMPLETE"] * 3 + ["START"] * 3
    assert sorted(e["eventType"] for e in load_events) == ["COMPLETE"] * 3 + ["START"] * 3
    for run_id, run in runs.items():
        assert str(run.run_type) == "backfill"
        info = DagRunInfo(dag_id=dag_id, run_id=run_id, logical_date=run.logical_date)
        dag_run_id = dag_run_uuid("default", info)
        own = [e for e in dag_events if e["run"]["facets"]["airflow"]["dagRun"]["run_id"] == run_id]
        assert [e["eventType"] for e in own] == ["START", "COMPLETE"]
        assert {e["run"]["runId"] for e in own} == {dag_run_id}
        tasks = [e for e in load_events if e["run"]["facets"]["airflow"]["dagRun"]["run_id"] == run_id]
        assert [e["eventType"] for e in tasks] == ["START", "COMPLETE"]
        task_id = task_run_uuid("default", info, TaskInfo(task_id="load", try_number=1))
        # a backfill run with a logical date: the usual inputs, nothing added
        assert dag_run_id == str(generate_static_uuid(run.logical_date, f"default.{dag_id}.0".encode()))
        assert task_id == str(generate_static_uuid(run.logical_date, f"default.{dag_id}.load.1.-1".encode()))
        rendered = json.loads((marks_dir / f"{run_id}.1.json").read_text())
        assert rendered["run_id"] == task_id
        assert rendered["parent_id"] == f"default/{dag_id}.load/{task_id}"
        assert rendered["root_run_id"] == dag_run_id
        for event in own + tasks:
            assert event["run"]["facets"]["airflow"]["dagRun"]["run_type"] == "backfill"
            nominal = event["run"]["facets"]["nominalTime"]
            assert datetime.fromisoformat(nominal["nominalStartTime"]) == run.logical_date
            assert datetime.fromisoformat(nominal["nominalEndTime"]) == run.logical_date + timedelta(days=1)
        for event in tasks:
            assert event["run"]["runId"] == task_id
            assert event["run"]["facets"]["parent"]["run"]["runId"] == dag_run_id
            assert event["run"]["facets"]["parent"]["job"]["name"] == dag_id
    assert len({e["run"]["runId"] for e in dag_events}) == 3


def _scheduled_run(dag_id: str, logical_date: datetime) -> str:
    """A queued scheduled run of the day from ``logical_date`` (as the scheduler's ``_create_dag_runs``
    creates it: run after the day's end)."""
    from airflow.models.dagbag import DBDagBag
    from airflow.timetables.base import DataInterval
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        assert dag is not None
        interval = DataInterval(logical_date, logical_date + timedelta(days=1))
        run = dag.create_dagrun(
            run_id=f"scheduled__{logical_date.isoformat()}",
            logical_date=logical_date,
            data_interval=interval,
            run_after=interval.end,
            run_type=DagRunType.SCHEDULED,
            triggered_by=DagRunTriggeredByType.TIMETABLE,
            state=DagRunState.QUEUED,
            session=session,
        )
        return run.run_id


@pytest.mark.parametrize("reprocess", ["completed", "failed"])
def test_a_backfill_that_reprocesses_an_ended_run_gives_it_new_run_ids(lineage_events, marks_dir, reprocess):
    """``reprocess_behavior=completed`` (or ``failed``, for a run that failed) clears the existing run
    (``clear_number`` 1, its task's next try is 2): the second execution is a new DAG-run attempt and a new
    task try, with ids of their own, and the first execution's events stay as they were (no ABORT: it had
    ended)."""
    from airflow_lineage_provider.emission.events import DagRunInfo, TaskInfo, dag_run_uuid, task_run_uuid

    dag_id = f"lp_backfill_reprocess_{reprocess}"
    ended, end_event = ("failed", "FAIL") if reprocess == "failed" else ("success", "COMPLETE")
    dag = _dag(dag_id)
    first_run = _scheduled_run(dag_id, JAN[0])
    if reprocess == "failed":
        (marks_dir / f"fail-{first_run}").touch()
    _run_backfill(dag_id, dag)  # the scheduler runs it to its end
    (marks_dir / f"fail-{first_run}").unlink(missing_ok=True)
    assert {r.run_id: str(r.state) for r in _runs(dag_id).values()} == {first_run: ended}
    first = lineage_events()
    _backfill(dag_id, JAN[0], JAN[1], reprocess=reprocess, max_active=1)
    assert _runs(dag_id)[first_run].clear_number == 1  # cleared, not created anew
    _run_backfill(dag_id, dag)
    runs = _runs(dag_id)
    assert len(runs) == 2 and {str(r.state) for r in runs.values()} == {"success"}
    events = lineage_events()
    new = events[len(first) :]

    reprocessed = runs[first_run]
    assert str(reprocessed.run_type) == "backfill"
    attempt = {
        n: DagRunInfo(dag_id=dag_id, run_id=first_run, logical_date=JAN[0], clear_number=n) for n in (0, 1)
    }
    old_dag_id, new_dag_id = (dag_run_uuid("default", attempt[n]) for n in (0, 1))
    old_task_id = task_run_uuid("default", attempt[0], TaskInfo(task_id="load", try_number=1))
    new_task_id = task_run_uuid("default", attempt[1], TaskInfo(task_id="load", try_number=2))
    assert len({old_dag_id, new_dag_id, old_task_id, new_task_id}) == 4

    def of_run(evs: list[dict[str, Any]], job: str) -> list[tuple[str, str]]:
        return [
            (e["eventType"], e["run"]["runId"])
            for e in task_events(evs, job)
            if e["run"]["facets"]["airflow"]["dagRun"]["run_id"] == first_run
        ]

    assert of_run(first, dag_id) == [("START", old_dag_id), (end_event, old_dag_id)]
    assert of_run(first, f"{dag_id}.load") == [("START", old_task_id), (end_event, old_task_id)]
    # the second execution: a new attempt, no ABORT of the first (it had ended before the clear)
    assert of_run(new, dag_id) == [("START", new_dag_id), ("COMPLETE", new_dag_id)]
    assert of_run(new, f"{dag_id}.load") == [("START", new_task_id), ("COMPLETE", new_task_id)]
    for event in task_events(new, f"{dag_id}.load"):
        if event["run"]["runId"] == new_task_id:
            assert event["run"]["facets"]["parent"]["run"]["runId"] == new_dag_id
            assert event["run"]["facets"]["parent"]["root"]["run"]["runId"] == new_dag_id
            assert event["run"]["facets"]["airflow"]["taskInstance"]["try_number"] == 2
    for event in new:
        facet = event["run"]["facets"]["airflow"]["dagRun"]
        if facet["run_id"] == first_run:
            assert (facet["run_type"], facet["clear_number"]) == ("backfill", 1)
            nominal = event["run"]["facets"]["nominalTime"]
            assert datetime.fromisoformat(nominal["nominalStartTime"]) == reprocessed.data_interval_start
            assert datetime.fromisoformat(nominal["nominalEndTime"]) == reprocessed.data_interval_end
    for event in first:
        assert event["run"]["facets"]["airflow"]["dagRun"]["run_type"] == "scheduled"
    rendered = json.loads((marks_dir / f"{first_run}.2.json").read_text())
    assert (rendered["run_id"], rendered["root_run_id"]) == (new_task_id, new_dag_id)
    assert json.loads((marks_dir / f"{first_run}.1.json").read_text())["run_id"] == old_task_id
    # the date the backfill added runs once, as in a plain backfill
    [other] = [run_id for run_id in runs if run_id != first_run]
    assert [
        e["eventType"]
        for e in task_events(new, dag_id)
        if e["run"]["facets"]["airflow"]["dagRun"]["run_id"] == other
    ] == ["START", "COMPLETE"]


PARTITIONED = SOURCE.replace("CronDataIntervalTimetable", "CronPartitionTimetable")


def test_a_partitioned_backfill_that_reprocesses_a_partition_gives_the_new_run_its_own_ids(
    lineage_events, marks_dir
):
    """A partitioned DAG's runs have no logical date, so their ids are computed from ``run_after``. To
    reprocess a partition a backfill does not clear its run: it creates another one alongside it, with the
    same ``run_after``, clear number 0 and a first try of each task. Before: that run sent START and
    COMPLETE under the first run's ids, and its task under the first run's task try's ids (one run id for
    two Airflow runs); now a backfill run without a logical date adds its Airflow run id to the ids' data,
    and the macros render the same ids."""
    from airflow.utils.session import create_session
    from openlineage.client.uuid import generate_static_uuid

    from airflow_lineage_provider.emission.events import DagRunInfo, TaskInfo, dag_run_uuid, task_run_uuid

    dag_id = "lp_backfill_partitioned"
    write_version(dag_id, source=PARTITIONED)
    dag = load_dag(PARTITIONED.format(dag_id=dag_id), dag_id)
    _backfill(dag_id, JAN[0], JAN[1])
    _run_backfill(dag_id, dag)
    with create_session() as session:
        scheduler()._mark_backfills_complete(session=session)  # one backfill per DAG at a time
    first_runs = set(_runs(dag_id))
    _backfill(dag_id, JAN[0], JAN[1], reprocess="completed")
    _run_backfill(dag_id, dag)
    runs = _runs(dag_id)
    assert len(runs) == 4 and {str(r.state) for r in runs.values()} == {"success"}
    assert {r.logical_date for r in runs.values()} == {None}
    assert sorted(r.run_after for r in runs.values()) == [JAN[0], JAN[0], JAN[1], JAN[1]]
    events = lineage_events()
    ids: dict[str, tuple[str, str]] = {}
    for run_id, run in runs.items():
        info = DagRunInfo(dag_id=dag_id, run_id=run_id, run_after=run.run_after)
        dag_run_id = dag_run_uuid("default", info)
        task_id = task_run_uuid("default", info, TaskInfo(task_id="load", try_number=1))
        ids[run_id] = (dag_run_id, task_id)
        own = [e for e in events if e["run"]["facets"]["airflow"]["dagRun"]["run_id"] == run_id]
        assert [(e["eventType"], e["job"]["name"], e["run"]["runId"]) for e in own] == [
            ("START", dag_id, dag_run_id),
            ("START", f"{dag_id}.load", task_id),
            ("COMPLETE", f"{dag_id}.load", task_id),
            ("COMPLETE", dag_id, dag_run_id),
        ]
        assert own[1]["run"]["facets"]["parent"]["run"]["runId"] == dag_run_id
        rendered = json.loads((marks_dir / f"{run_id}.1.json").read_text())
        assert (rendered["run_id"], rendered["root_run_id"]) == (task_id, dag_run_id)
        nominal = own[0]["run"]["facets"]["nominalTime"]
        assert datetime.fromisoformat(nominal["nominalStartTime"]) == run.run_after
        # what any tool can recompute: the documented inputs plus the Airflow run id
        assert dag_run_id == str(generate_static_uuid(run.run_after, f"default.{dag_id}.0.{run_id}".encode()))
        data = f"default.{dag_id}.load.1.-1.{run_id}".encode()
        assert task_id == str(generate_static_uuid(run.run_after, data))
    # four Airflow runs, four DAG-run ids and four task try ids: the reprocessed partitions' are new
    assert len({pair[0] for pair in ids.values()}) == len({pair[1] for pair in ids.values()}) == 4
    assert len(first_runs) == 2
