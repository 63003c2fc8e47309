"""RunEvent building: run ids other tools can recompute, job names, facets; every event schema-validated."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import ol_schema
import pytest
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_static_uuid

from airflow_lineage_provider.emission import events as ev

LOGICAL = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
DAG_RUN = ev.DagRunInfo(
    dag_id="sales",
    run_id="scheduled__2024-05-01T06:00:00+00:00",
    logical_date=LOGICAL,
    run_after=LOGICAL + timedelta(days=1),
    data_interval_start=LOGICAL,
    data_interval_end=LOGICAL + timedelta(days=1),
    owners=("ann", "bob"),
    tags=("finance",),
    doc="Daily sales.",
    dag_attributes={"dag_id": "sales"},
    run_attributes={"run_id": "scheduled__2024-05-01T06:00:00+00:00"},
)
TASK = ev.TaskInfo(task_id="load", try_number=2, map_index=-1, owners=("ann",), doc="Loads.")


def wire(event) -> dict:
    data = Serde.to_dict(event)
    ol_schema.validate(data)
    return data


def test_run_ids_follow_the_generate_static_uuid_convention():
    expected_dag = generate_static_uuid(instant=LOGICAL, data=b"ns.sales.0")
    expected_task = generate_static_uuid(instant=LOGICAL, data=b"ns.sales.load.2.-1")
    assert ev.dag_run_uuid("ns", DAG_RUN) == str(expected_dag)
    assert ev.task_run_uuid("ns", DAG_RUN, TASK) == str(expected_task)
    assert uuid.UUID(ev.task_run_uuid("ns", DAG_RUN, TASK)).version == 7
    # deterministic, and every input matters
    assert ev.task_run_uuid("ns", DAG_RUN, TASK) == ev.task_run_uuid("ns", DAG_RUN, TASK)
    others = {
        ev.task_run_uuid("other", DAG_RUN, TASK),
        ev.task_run_uuid("ns", DAG_RUN, ev.TaskInfo(task_id="load", try_number=3)),
        ev.task_run_uuid("ns", DAG_RUN, ev.TaskInfo(task_id="load", try_number=2, map_index=0)),
        ev.dag_run_uuid(
            "ns", ev.DagRunInfo(dag_id="sales", run_id="x", logical_date=LOGICAL, clear_number=1)
        ),
    }
    assert str(expected_task) not in others and len(others) == 4


def test_run_after_is_the_instant_without_a_logical_date():
    run = ev.DagRunInfo(dag_id="d", run_id="r", logical_date=None, run_after=LOGICAL)
    assert ev.dag_run_uuid("ns", run) == str(generate_static_uuid(instant=LOGICAL, data=b"ns.d.0"))
    with pytest.raises(ValueError, match="neither a logical date nor run_after"):
        ev.dag_run_uuid("ns", ev.DagRunInfo(dag_id="d", run_id="r"))


def test_task_event_facets():
    event = wire(ev.build_task_event("START", DAG_RUN, TASK, namespace="ns", event_time=LOGICAL))
    assert event["eventType"] == "START" and event["eventTime"] == "2024-05-01T06:00:00+00:00"
    assert event["job"] == {**event["job"], "namespace": "ns", "name": "sales.load"}
    run = event["run"]["facets"]
    assert run["parent"]["run"]["runId"] == ev.dag_run_uuid("ns", DAG_RUN)
    assert run["parent"]["job"] == {"namespace": "ns", "name": "sales", "facets": {}}
    assert run["parent"]["root"]["run"]["runId"] == ev.dag_run_uuid("ns", DAG_RUN)
    assert run["nominalTime"]["nominalStartTime"] == "2024-05-01T06:00:00+00:00"
    assert run["nominalTime"]["nominalEndTime"] == "2024-05-02T06:00:00+00:00"
    assert run["processing_engine"]["name"] == "Airflow" and run["processing_engine"]["version"]
    assert run["airflow"]["dag"] == {"dag_id": "sales"}
    assert "errorMessage" not in run
    job = event["job"]["facets"]
    assert job["jobType"]["jobType"] == "TASK" and job["jobType"]["integration"] == "AIRFLOW"
    assert job["ownership"]["owners"] == [{"name": "ann"}]  # the task owner wins over the DAG's owners
    assert job["tags"]["tags"] == [{"key": "finance", "value": "finance", "source": "AIRFLOW"}]
    assert job["documentation"]["description"] == "Loads."


def test_fail_event_carries_the_error_and_its_stack():
    try:
        raise KeyError("missing column")
    except KeyError as exc:
        error = exc
    event = wire(ev.build_task_event("FAIL", DAG_RUN, TASK, namespace="ns", error=error))
    facet = event["run"]["facets"]["errorMessage"]
    assert facet["message"] == "KeyError: 'missing column'" and facet["programmingLanguage"] == "python"
    assert "test_fail_event_carries_the_error_and_its_stack" in facet["stackTrace"]
    text = wire(ev.build_task_event("FAIL", DAG_RUN, TASK, namespace="ns", error="marked failed"))
    assert text["run"]["facets"]["errorMessage"]["message"] == "marked failed"
    complete = wire(ev.build_task_event("COMPLETE", DAG_RUN, TASK, namespace="ns", error="ignored"))
    assert "errorMessage" not in complete["run"]["facets"]


def test_airflow_facet_can_be_left_out():
    event = wire(ev.build_task_event("COMPLETE", DAG_RUN, TASK, namespace="ns", include_airflow_facet=False))
    assert "airflow" not in event["run"]["facets"]


def test_dag_run_event_and_parent_from_conf():
    parent_id, root_id = str(uuid.uuid4()), str(uuid.uuid4())
    conf = {
        "openlineage": {
            "parentRunId": parent_id,
            "parentJobNamespace": "upstream",
            "parentJobName": "orchestrator.trigger",
            "rootParentRunId": root_id,
            "rootParentJobNamespace": "upstream",
            "rootParentJobName": "orchestrator",
        }
    }
    run = ev.DagRunInfo(dag_id="sales", run_id="r", logical_date=LOGICAL, conf=conf, owners=("ann",))
    event = wire(ev.build_dag_run_event("COMPLETE", run, namespace="ns"))
    assert event["job"]["name"] == "sales" and event["job"]["facets"]["jobType"]["jobType"] == "DAG"
    parent = event["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == parent_id and parent["job"]["name"] == "orchestrator.trigger"
    assert parent["root"]["run"]["runId"] == root_id and parent["root"]["job"]["name"] == "orchestrator"
    # the tasks of that DAG run keep the DAG run as parent and inherit the root
    task = wire(ev.build_task_event("START", run, TASK, namespace="ns"))
    assert task["run"]["facets"]["parent"]["run"]["runId"] == ev.dag_run_uuid("ns", run)
    assert task["run"]["facets"]["parent"]["root"]["run"]["runId"] == root_id


def test_parent_without_root_is_its_own_root_and_bad_ids_are_ignored():
    parent_id = str(uuid.uuid4())
    block = {"parentRunId": parent_id, "parentJobNamespace": "u", "parentJobName": "j"}
    run = ev.DagRunInfo(dag_id="d", run_id="r", logical_date=LOGICAL, conf={"openlineage": block})
    parent = wire(ev.build_dag_run_event("START", run, namespace="ns"))["run"]["facets"]["parent"]
    assert parent["root"]["run"]["runId"] == parent_id
    bad = ev.DagRunInfo(
        dag_id="d", run_id="r", logical_date=LOGICAL, conf={"openlineage": {**block, "parentRunId": "nope"}}
    )
    assert "parent" not in wire(ev.build_dag_run_event("START", bad, namespace="ns"))["run"]["facets"]
    no_conf = ev.DagRunInfo(dag_id="d", run_id="r", logical_date=LOGICAL, conf={"other": 1})
    assert "parent" not in wire(ev.build_dag_run_event("START", no_conf, namespace="ns"))["run"]["facets"]


def test_dag_run_fail_message():
    run = ev.DagRunInfo(dag_id="d", run_id="r", run_after=LOGICAL)
    event = wire(ev.build_dag_run_event("FAIL", run, namespace="ns", error="task_failure"))
    assert event["run"]["facets"]["errorMessage"]["message"] == "task_failure"
    assert event["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2024-05-01T06:00:00+00:00"
