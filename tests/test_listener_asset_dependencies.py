"""Asset-triggered DAG runs name the task tries whose asset events started them (``jobDependencies``).

The producer runs with ``dag.test()`` and records a real asset event; the consumer's run is created as the
scheduler creates an asset-triggered run (queued, with the events it consumes attached) and is started and
finished by the scheduler's own methods (``scheduler_helpers``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lineage_helpers import run_dag, task_events
from scheduler_helpers import finish_run, start_run, write_version

pytestmark = pytest.mark.airflow

PRODUCER = """
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(task_id="publish", python_callable=lambda: None, outlets=[Asset("s3://lp-bucket/{dag_id}")])
"""

CONSUMER = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.python import PythonOperator

SOURCE = Asset("s3://lp-bucket/lp_asset_producer")
with DAG("{dag_id}", schedule=[SOURCE], start_date=datetime.datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="a", python_callable=lambda: None)
    PythonOperator(task_id="b", python_callable=lambda: None)
    PythonOperator(task_id="c", python_callable=lambda: None)
{marks}
"""


def _asset_triggered_run(dag_id: str, producer: str) -> str:
    """A queued asset-triggered run consuming the producer's asset events, as the scheduler creates it."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    with create_session() as session:
        events = session.query(AssetEvent).filter_by(source_dag_id=producer).all()
        assert events, "the producer recorded no asset event"
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        run = dag.create_dagrun(
            run_id=f"asset_triggered__{now.isoformat()}",
            logical_date=None,
            data_interval=None,
            run_after=now,
            run_type=DagRunType.ASSET_TRIGGERED,
            triggered_by=DagRunTriggeredByType.ASSET,
            state=DagRunState.QUEUED,
            session=session,
        )
        run.consumed_asset_events.extend(events)
        return run.run_id


def _next_try_after_the_event(producer: str) -> None:
    """The producer's task is cleared and runs again (try 2) after it emitted the event."""
    from airflow.models.taskinstance import TaskInstance, clear_task_instances
    from airflow.utils.session import create_session

    with create_session() as session:
        [ti] = session.query(TaskInstance).filter_by(dag_id=producer, task_id="publish").all()
        clear_task_instances([ti], session)  # keeps try 1 in the task instance history
        session.flush()
        ti.try_number, ti.state = 2, "success"  # as the scheduler and the worker would set them
        ti.start_date = ti.end_date = datetime.now(timezone.utc)


def test_an_asset_triggered_run_names_the_task_try_that_emitted_its_event(lineage_events):
    producer, consumer = "lp_asset_producer", "lp_asset_consumer"
    assert str(run_dag(PRODUCER.format(dag_id=producer), producer).state) == "success"
    [published] = [
        e for e in task_events(lineage_events(), f"{producer}.publish") if e["eventType"] == "COMPLETE"
    ]

    write_version(consumer, source=CONSUMER)
    run_id = _asset_triggered_run(consumer, producer)
    start_run(consumer, run_id)
    assert finish_run(consumer, run_id, {}) == "success"

    events = [e for e in lineage_events() if e["job"]["name"] == consumer]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        [dependency] = event["run"]["facets"]["jobDependencies"]["upstream"]
        assert dependency["job"] == {"namespace": "default", "name": f"{producer}.publish"}
        assert dependency["run"]["runId"] == published["run"]["runId"]
        assert dependency["dependency_type"] == "IMPLICIT_DEPENDENCY"
        assert dependency["airflow_assets"] == [f"s3://lp-bucket/{producer}"]

    # the producer's task runs again after the event: a new run consuming the same event still names try 1
    _next_try_after_the_event(producer)
    run_id = _asset_triggered_run(consumer, producer)
    start_run(consumer, run_id)
    assert finish_run(consumer, run_id, {}) == "success"
    later = [e for e in lineage_events() if e["job"]["name"] == consumer][2:]
    assert [e["eventType"] for e in later] == ["START", "COMPLETE"]
    for event in later:
        [dependency] = event["run"]["facets"]["jobDependencies"]["upstream"]
        assert dependency["run"]["runId"] == published["run"]["runId"]


def test_other_runs_have_no_dependencies_facet(lineage_events):
    from scheduler_helpers import trigger_run

    dag_id = "lp_asset_manual"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    assert finish_run(dag_id, run_id, {}) == "success"
    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert len(events) == 2 and all("jobDependencies" not in e["run"]["facets"] for e in events)
