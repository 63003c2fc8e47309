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


def _asset_triggered_run(dag_id: str, producer: str, source_run_id: str | None = None) -> str:
    """A queued asset-triggered run consuming the producer's asset events, as the scheduler creates it."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    with create_session() as session:
        events = session.query(AssetEvent).filter_by(source_dag_id=producer).all()
        events = [e for e in events if source_run_id in (None, e.source_run_id)]
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


MAPPED_PRODUCER = """
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator.partial(
        task_id="publish", python_callable=lambda n: n, outlets=[Asset("s3://lp-bucket/lp_asset_producer")]
    ).expand(op_args=[[n] for n in range({count})])
"""


def test_mapped_producers_are_traced_in_a_few_queries_whatever_the_number_of_events(lineage_events):
    """Each mapped try that emitted an event is named, read by the scheduler in a few queries."""
    from airflow.models.dagrun import DagRun
    from airflow.settings import engine
    from airflow.utils.session import create_session
    from sqlalchemy import event

    from airflow_lineage_provider.listener import _asset_upstream

    producer, consumer, count = "lp_asset_producer_mapped", "lp_asset_consumer_mapped", 12
    run = run_dag(MAPPED_PRODUCER.format(dag_id=producer, count=count), producer)
    assert str(run.state) == "success"
    published = {
        e["run"]["facets"]["airflow"]["taskInstance"]["map_index"]: e["run"]["runId"]
        for e in task_events(lineage_events(), f"{producer}.publish")
        if e["eventType"] == "COMPLETE"
    }
    assert sorted(published) == list(range(count))

    write_version(consumer, source=CONSUMER)
    run_id = _asset_triggered_run(consumer, producer, run.run_id)
    statements: list[str] = []

    def count_statement(*args: object) -> None:
        statements.append(str(args[2]))

    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id=consumer, run_id=run_id).one()
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            upstream = _asset_upstream(dag_run)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        assert sorted(u.map_index for u in upstream) == list(range(count))
        assert len(statements) <= 5, len(statements)  # not a few per event
        assert len(dag_run.consumed_asset_events) == count  # loaded now: read from memory, same answer
        assert set(_asset_upstream(dag_run)) == set(upstream)

    start_run(consumer, run_id)
    [start] = [e for e in lineage_events() if e["job"]["name"] == consumer]
    named = {d["run"]["runId"] for d in start["run"]["facets"]["jobDependencies"]["upstream"]}
    assert named == set(published.values())


def test_at_most_max_upstream_events_are_traced_the_earliest_first(lineage_events, monkeypatch):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from airflow_lineage_provider import listener

    producer, consumer = "lp_asset_producer_capped", "lp_asset_consumer_capped"
    run = run_dag(MAPPED_PRODUCER.format(dag_id=producer, count=6), producer)
    write_version(consumer, source=CONSUMER)
    run_id = _asset_triggered_run(consumer, producer, run.run_id)
    monkeypatch.setattr(listener, "_MAX_UPSTREAM", 4)
    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id=consumer, run_id=run_id).one()
        upstream = listener._asset_upstream(dag_run)
        earliest = sorted(dag_run.consumed_asset_events, key=lambda e: (e.timestamp, e.id))[:4]
    assert [u.map_index for u in upstream] == [e.source_map_index for e in earliest]


def test_a_database_error_costs_the_facet_only(lineage_events, caplog):
    import logging

    from airflow.models.dagrun import DagRun
    from airflow.settings import Session

    from airflow_lineage_provider.listener import _asset_upstream

    producer, consumer = "lp_asset_producer_db_error", "lp_asset_consumer_db_error"
    run = run_dag(MAPPED_PRODUCER.format(dag_id=producer, count=2), producer)
    write_version(consumer, source=CONSUMER)
    run_id = _asset_triggered_run(consumer, producer, run.run_id)
    caplog.set_level(logging.WARNING)
    session = Session()
    try:
        dag_run = session.query(DagRun).filter_by(dag_id=consumer, run_id=run_id).one()
        session.connection().invalidate()  # the connection is gone mid-transaction
        assert _asset_upstream(dag_run) == ()
    finally:
        session.rollback()
        session.close()
    assert "cannot trace the asset events" in caplog.text
