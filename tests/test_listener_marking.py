"""Hand-marking through the REST API (the API server calls the task and DAG-run hooks with ORM objects)."""

from __future__ import annotations

import pytest
from lineage_helpers import run_dag, summary, task_events

pytestmark = pytest.mark.airflow

BRANCH = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1), tags=["sales"],
         doc_md="Branching.", default_args={{"owner": "data-team"}}) as dag:
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    left = PythonOperator(task_id="left", python_callable=lambda: 1, doc_md="Left side.", owner="ann")
    right = EmptyOperator(task_id="right")
    branch >> [left, right]
"""


def _client(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "lineage-tests-" + "x" * 64)
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    return TestClient(create_app(apps="core"))


def _patch(client, url: str, body: dict) -> None:
    response = client.patch(url, json=body)
    assert response.status_code == 200, response.text


def test_marking_a_finished_run_again_does_not_report_its_skipped_tasks_twice(lineage_events, monkeypatch):
    dag_run = run_dag(BRANCH.format(dag_id="lp_remark"), "lp_remark")
    assert dag_run.state == "success"
    events = lineage_events()
    assert [e["eventType"] for e in task_events(events, "lp_remark.right")] == ["START", "COMPLETE"]
    client = _client(monkeypatch)
    _patch(client, f"/api/v2/dags/lp_remark/dagRuns/{dag_run.run_id}", {"state": "failed"})
    again = lineage_events()[len(events) :]
    assert summary(again) == [("FAIL", "lp_remark")]  # not START + COMPLETE of "right" a second time
    assert again[0]["run"]["runId"] == events[-1]["run"]["runId"]


RUNNING_RUN = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("lp_mark_running", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


def test_marking_a_running_run_reports_the_tasks_it_skips(lineage_events, monkeypatch):
    """The other side of the re-marking rule: a run that had not finished still gets its never-ran tasks."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    dag_run = run_dag(RUNNING_RUN, "lp_mark_running")
    with create_session() as session:  # put the run back to "running" with b not run yet
        orm = session.get(DagRun, dag_run.id)
        orm.state = "running"
        for ti in orm.get_task_instances(session=session):
            if ti.task_id == "b":
                ti.state, ti.start_date, ti.end_date, ti.try_number = None, None, None, 0
    before = len(lineage_events())
    _patch(
        _client(monkeypatch), f"/api/v2/dags/lp_mark_running/dagRuns/{dag_run.run_id}", {"state": "failed"}
    )
    new = lineage_events()[before:]
    assert summary(new) == [
        ("START", "lp_mark_running.b"),
        ("COMPLETE", "lp_mark_running.b"),
        ("FAIL", "lp_mark_running"),
    ]


def test_a_task_marked_by_hand_keeps_its_job_facets(lineage_events, monkeypatch):
    """The API server's ORM TaskInstance has no task: the listener reads it from the serialized DAG."""
    dag_run = run_dag(BRANCH.format(dag_id="lp_mark_facets"), "lp_mark_facets")
    events = lineage_events()
    ran = task_events(events, "lp_mark_facets.left")[-1]
    base = f"/api/v2/dags/lp_mark_facets/dagRuns/{dag_run.run_id}/taskInstances"
    _patch(_client(monkeypatch), f"{base}/left", {"new_state": "failed"})
    (marked,) = lineage_events()[len(events) :]
    assert (marked["eventType"], marked["run"]["runId"]) == ("FAIL", ran["run"]["runId"])
    job = marked["job"]["facets"]
    assert job["ownership"]["owners"] == [{"name": "ann"}]
    assert job["documentation"]["description"] == "Left side."
    assert [t["key"] for t in job["tags"]["tags"]] == ["sales"]
    airflow = marked["run"]["facets"]["airflow"]
    assert airflow["task"]["operator"] == "airflow.providers.standard.operators.python.PythonOperator"
    assert job == ran["job"]["facets"]
    ran_airflow = ran["run"]["facets"]["airflow"]
    assert airflow["task"] == ran_airflow["task"]
    assert {k: v for k, v in airflow["dag"].items() if k != "schedule"} == ran_airflow["dag"]


def test_disabled_operators_send_nothing_when_marked_by_hand(lineage_events, monkeypatch):
    from airflow_lineage_provider import conf

    dag_run = run_dag(BRANCH.format(dag_id="lp_mark_disabled"), "lp_mark_disabled")
    before = len(lineage_events())
    monkeypatch.setenv(
        "AIRFLOW__LINEAGE_PROVIDER__DISABLED_FOR_OPERATORS",
        "airflow.providers.standard.operators.empty.EmptyOperator",
    )
    conf.clear_cache()
    base = f"/api/v2/dags/lp_mark_disabled/dagRuns/{dag_run.run_id}/taskInstances"
    client = _client(monkeypatch)
    _patch(client, f"{base}/right", {"new_state": "success"})  # an EmptyOperator: lineage off for it
    _patch(client, f"{base}/left", {"new_state": "failed"})
    assert summary(lineage_events()[before:]) == [("FAIL", "lp_mark_disabled.left")]
