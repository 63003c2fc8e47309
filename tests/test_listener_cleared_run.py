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


def test_marking_a_run_cleared_mid_run_again_does_not_switch_attempts_twice(lineage_events, monkeypatch):
    """The REST API marks the finished run failed: the first finish closed the old attempt already."""
    from test_listener_marking import _client, _patch

    dag_id = "lp_clear_mid_run_remarked"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    assert _clear(dag_id, run_id, "c") == (1, "running")
    assert finish_run(dag_id, run_id, {}) == "success"
    before = len([e for e in lineage_events() if e["job"]["name"] == dag_id])
    _patch(_client(monkeypatch), f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", {"state": "failed"})
    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events[before:]) == [("FAIL", dag_id)]  # no second ABORT of attempt 0, no second START
    assert events[-1]["run"]["runId"] == events[before - 1]["run"]["runId"]


def test_reading_the_clear_off_a_run_with_odd_dates_never_raises():
    from datetime import datetime, timezone

    from airflow.models.dagrun import DagRun

    from airflow_lineage_provider.listener import _attempt_started_elsewhere

    aware = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    naive = datetime(2026, 1, 1, 13)
    for queued_at, start_date in (
        (naive, aware),
        (aware, naive),
        (None, aware),
        (aware, None),
        (aware, aware),
    ):
        run = DagRun(dag_id="d", run_id="r", queued_at=queued_at, start_date=start_date)
        run.clear_number = 1
        assert _attempt_started_elsewhere(run, 1) is None
    run = DagRun(dag_id="d", run_id="r", queued_at=naive, start_date=naive.replace(hour=12))
    assert _attempt_started_elsewhere(run, 1) == 0  # both naive: still compared


def test_a_start_this_scheduler_sent_is_not_trusted_after_the_run_restarted_elsewhere(lineage_events):
    """HA: scheduler A starts the run, B ends it; cleared, B starts it again and A ends it.

    A still holds the attempt its own START named, but the run restarted since (a new ``start_date``): A's
    record is stale, and the attempt B started is the one that ends.
    """
    from airflow_lineage_provider.listener import get_listener

    listener = get_listener()
    dag_id = "lp_clear_restarted_elsewhere"
    write_version(dag_id)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)  # scheduler A
    scheduler_a = dict(listener._attempts)
    listener._attempts.clear()  # scheduler B from here
    assert finish_run(dag_id, run_id, {"c": "failed"}) == "failed"
    assert _clear(dag_id, run_id, "c") == (1, "queued")
    start_run(dag_id, run_id)
    listener._attempts.clear()
    listener._attempts.update(scheduler_a)  # scheduler A ends the run
    assert finish_run(dag_id, run_id, {}) == "success"

    events = [e for e in lineage_events() if e["job"]["name"] == dag_id]
    assert summary(events) == [("START", dag_id), ("FAIL", dag_id), ("START", dag_id), ("COMPLETE", dag_id)]
    ids = _run_ids(events, dag_id)
    assert ids[0][1] == ids[1][1] != ids[2][1] == ids[3][1]
