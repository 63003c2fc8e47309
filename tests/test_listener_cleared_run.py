"""Tasks cleared while their DAG run goes on: every DAG-run attempt that started also ends.

A clear raises the run's ``clear_number`` (part of the DAG-run run id) but leaves a running run running, so
Airflow calls no DAG-run hook for it. Real scheduler steps on the test metadata DB (``scheduler_helpers``).
"""

from __future__ import annotations

import pytest
from lineage_helpers import summary
from scheduler_helpers import finish_run, start_run, trigger_run, write_version

pytestmark = pytest.mark.airflow


@pytest.fixture(autouse=True)
def new_version_at_once(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL", "0")


def _clear(dag_id: str, run_id: str, task_id: str) -> tuple[int, str]:
    """Clear one task of the run, as the UI's Clear does; the run's clear_number and state after it."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import clear_task_instances
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        [ti] = [ti for ti in run.get_task_instances(session=session) if ti.task_id == task_id]
        ti.state = "failed"
        session.flush()
        clear_task_instances([ti], session)
        session.flush()
        return run.clear_number, str(run.state)


def _run_ids(events: list[dict], dag_id: str) -> list[tuple[str, str]]:
    return [(e["eventType"], e["run"]["runId"]) for e in events if e["job"]["name"] == dag_id]


def test_a_clear_during_the_run_ends_the_first_attempt_and_starts_the_next(lineage_events):
    from openlineage.client.uuid import generate_static_uuid

    dag_id = "lp_clear_mid_run"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    assert _clear(dag_id, run_id, "c") == (1, "running")  # still running: no DAG-run hook is called
    assert finish_run(dag_id, run_id, {}) == "success"

    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events) == [
        ("START", dag_id),
        ("ABORT", dag_id),
        ("START", dag_id),
        ("COMPLETE", dag_id),
    ]
    (_, first), (_, aborted), (_, second), (_, completed) = _run_ids(events, dag_id)
    assert first == aborted and second == completed and first != second
    instant = events[0]["run"]["facets"]["airflow"]["dagRun"]["logical_date"]
    from datetime import datetime

    when = datetime.fromisoformat(instant)
    assert first == str(generate_static_uuid(when, f"default.{dag_id}.0".encode()))
    assert second == str(generate_static_uuid(when, f"default.{dag_id}.1".encode()))
    # the attempt switch is dated at the clear, between the run's START and its end
    times = [e["eventTime"] for e in events]
    assert times[1] == times[2] and times[0] <= times[1] <= times[3]


def test_a_run_cleared_after_it_ended_is_a_new_attempt_with_its_own_start(lineage_events):
    dag_id = "lp_clear_after_end"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    assert finish_run(dag_id, run_id, {"c": "failed"}) == "failed"
    assert _clear(dag_id, run_id, "c") == (1, "queued")  # a finished run is queued again
    start_run(dag_id, run_id)
    assert finish_run(dag_id, run_id, {}) == "success"
    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events) == [("START", dag_id), ("FAIL", dag_id), ("START", dag_id), ("COMPLETE", dag_id)]
    ids = _run_ids(events, dag_id)
    assert ids[0][1] == ids[1][1] != ids[2][1] == ids[3][1]


def test_a_scheduler_that_did_not_send_the_start_reads_the_clear_off_the_run(lineage_events):
    """HA schedulers, or one restarted mid-run: the process that ends the run has no record of the START."""
    from airflow_lineage_provider.listener import get_listener

    dag_id = "lp_clear_mid_run_elsewhere"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    assert _clear(dag_id, run_id, "c") == (1, "running")
    get_listener()._attempts.clear()  # what another scheduler process knows of the START: nothing
    assert finish_run(dag_id, run_id, {}) == "success"

    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events) == [("START", dag_id), ("ABORT", dag_id), ("START", dag_id), ("COMPLETE", dag_id)]
    (_, first), (_, aborted), (_, second), (_, completed) = _run_ids(events, dag_id)
    assert first == aborted and second == completed and first != second


def test_a_run_that_was_not_cleared_ends_once_in_any_process(lineage_events):
    from airflow_lineage_provider.listener import get_listener

    dag_id = "lp_not_cleared_elsewhere"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    get_listener()._attempts.clear()
    assert finish_run(dag_id, run_id, {}) == "success"
    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events) == [("START", dag_id), ("COMPLETE", dag_id)]


def test_a_run_cleared_after_it_ended_needs_no_abort_in_another_process(lineage_events):
    from airflow_lineage_provider.listener import get_listener

    dag_id = "lp_clear_after_end_elsewhere"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    assert finish_run(dag_id, run_id, {"c": "failed"}) == "failed"
    assert _clear(dag_id, run_id, "c") == (1, "queued")
    start_run(dag_id, run_id)
    get_listener()._attempts.clear()
    assert finish_run(dag_id, run_id, {}) == "success"
    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events) == [("START", dag_id), ("FAIL", dag_id), ("START", dag_id), ("COMPLETE", dag_id)]
