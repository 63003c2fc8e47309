"""RunEvent building: run ids other tools can recompute, job names, facets; every event schema-validated."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import ol_schema
import pytest
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import (
    documentation_job,
    error_message_run,
    job_dependencies_run,
    job_type_job,
    nominal_time_run,
    ownership_job,
    parent_run,
    processing_engine_run,
    tags_job,
)
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
    assert isinstance(event, dict)  # the builders return wire-format dicts
    ol_schema.validate(event)
    return event


def test_static_uuid_is_generate_static_uuid_for_many_inputs():
    rng = random.Random(20240501)
    zones = [timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for index in range(3000):
        instant = (epoch + timedelta(microseconds=rng.randrange(0, 4_000_000_000_000_000))).astimezone(
            rng.choice(zones)
        )
        data = rng.randbytes(rng.randrange(0, 80)) if index % 2 else f"ns.dag_{index}.task.1.-1".encode()
        assert ev.static_uuid(instant, data) == str(generate_static_uuid(instant=instant, data=data))


def test_schema_urls_are_those_of_openlineage_python():
    classes = {
        "parent": parent_run.ParentRunFacet,
        "nominalTime": nominal_time_run.NominalTimeRunFacet,
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "jobType": job_type_job.JobTypeJobFacet,
        "ownership": ownership_job.OwnershipJobFacet,
        "tags": tags_job.TagsJobFacet,
        "documentation": documentation_job.DocumentationJobFacet,
        "jobDependencies": job_dependencies_run.JobDependenciesRunFacet,
    }
    assert set(classes) == set(ev.FACET_SCHEMAS)
    for key, cls in classes.items():
        assert ev.FACET_SCHEMAS[key] == cls._get_schema(), key
    assert ev.RUN_EVENT_SCHEMA == RunEvent._get_schema()


def test_building_events_imports_no_openlineage():
    code = (
        "import sys, datetime\n"
        "from airflow_lineage_provider.emission import events as ev\n"
        "now = datetime.datetime.now(datetime.timezone.utc)\n"
        "run = ev.DagRunInfo(dag_id='d', run_id='r', logical_date=now)\n"
        "ev.build_dag_run_event('START', run, namespace='ns')\n"
        "task = ev.TaskInfo(task_id='t', try_number=1)\n"
        "ev.build_task_event('FAIL', run, task, namespace='ns', error='x')\n"
        "print([m for m in sys.modules if m.startswith('openlineage')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_extractor_objects_become_wire_format():
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.facet_v2 import schema_dataset
    from openlineage.client.serde import Serde

    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id")])
    dataset = InputDataset(namespace="postgres://h:5432", name="db.s.t", facets={"schema": schema})
    custom = {"_producer": "p", "_schemaURL": "https://example.com/C.json#/$defs/C", "k": 1}
    event = wire(
        ev.build_task_event(
            "START", DAG_RUN, TASK, namespace="ns", inputs=[dataset], run_facets={"custom": custom}
        )
    )
    assert event["inputs"] == [Serde.to_dict(dataset)]
    assert event["inputs"][0]["facets"]["schema"]["fields"][0]["name"] == "id"
    assert event["run"]["facets"]["custom"]["k"] == 1


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


def test_error_text_is_redacted_before_it_is_cut():
    """A cut through a password would leave ``postgresql://etl:Sup3`` where no redaction rule matches."""
    url = "postgresql://etl:Sup3rS3cretPw@db/x"
    password_at = len("RuntimeError: postgresql://etl:")
    head_cut = "x" * (ev.MAX_ERROR_CHARS - password_at - 4)  # message[:MAX] would end inside the password
    as_text = f"RuntimeError: {head_cut}{url}"
    text = wire(ev.build_task_event("FAIL", DAG_RUN, TASK, namespace="ns", error=as_text))
    assert "Sup3" not in text["run"]["facets"]["errorMessage"]["message"]
    try:
        raise RuntimeError(f"{head_cut}{url}")
    except RuntimeError as exc:
        error = exc
    facet = wire(ev.build_task_event("FAIL", DAG_RUN, TASK, namespace="ns", error=error))["run"]["facets"]
    assert "Sup3" not in facet["errorMessage"]["message"]
    assert facet["errorMessage"]["message"].endswith("postgresql://etl:***@")  # cut after redaction
    tail_cut = "y" * (ev.MAX_ERROR_CHARS - len("rS3cretPw@db/x") - 1)  # the stack's tail: inside it
    try:
        raise RuntimeError(f"{url}{tail_cut}")
    except RuntimeError as exc:
        error = exc
    stack = wire(ev.build_task_event("FAIL", DAG_RUN, TASK, namespace="ns", error=error))["run"]["facets"][
        "errorMessage"
    ]["stackTrace"]
    assert len(stack) == ev.MAX_ERROR_CHARS and "S3cretPw" not in stack and "etl:***@db/x" in stack


def test_job_dependencies_name_each_upstream_try_once_with_its_assets():
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    upstream = (
        ev.UpstreamTry("producer", "publish", 1, -1, now, "s3://b/orders"),
        ev.UpstreamTry("producer", "publish", 1, -1, now, "s3://b/customers"),
        ev.UpstreamTry("producer", "publish", 1, -1, now, "s3://b/orders"),
        ev.UpstreamTry("other", "load", 3, 2, now, "s3://b/orders"),
    )
    run = ev.DagRunInfo(dag_id="consumer", run_id="asset_triggered__x", run_after=now, upstream=upstream)
    event = ev.build_dag_run_event("START", run, namespace="ns")
    ol_schema.validate(event)
    first, second = event["run"]["facets"]["jobDependencies"]["upstream"]
    assert first["job"] == {"namespace": "ns", "name": "producer.publish"}
    assert first["airflow_assets"] == ["s3://b/orders", "s3://b/customers"]
    assert first["run"]["runId"] == str(generate_static_uuid(now, b"ns.producer.publish.1.-1"))
    assert second["run"]["runId"] == str(generate_static_uuid(now, b"ns.other.load.3.2"))
