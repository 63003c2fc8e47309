"""Build OpenLineage RunEvents for task tries and DAG runs: run ids, job names and facets.

The builders take plain value objects (:class:`DagRunInfo`, :class:`TaskInfo`) that the listener fills from
Airflow's objects, so this module needs no Airflow import and is easy to test.

Run ids are deterministic UUIDv7 values computed with openlineage-python's ``generate_static_uuid`` from the
same inputs every Airflow integration uses, so other tools can recompute them:

* DAG run:  instant = logical date (or run_after when there is none),
  data = ``"{namespace}.{dag_id}.{clear_number}"``
* task try: same instant, data = ``"{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}"``
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar

import attrs
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    BaseFacet,
    RunFacet,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_job,
    parent_run,
    processing_engine_run,
    tags_job,
)
from openlineage.client.uuid import generate_static_uuid

from airflow_lineage_provider import PRODUCER, __version__

log = logging.getLogger(__name__)

AIRFLOW_FACET_SCHEMA = f"{PRODUCER}/schemas/AirflowRunFacet.json#/$defs/AirflowRunFacet"

#: the key in ``dag_run.conf`` a triggering system uses to name the parent (and root) of a DAG run
CONF_KEY = "openlineage"
#: error messages and stack traces are cut to this many characters
MAX_ERROR_CHARS = 8192


@attrs.frozen
class DagRunInfo:
    """What the events need to know about a DAG run and its DAG."""

    dag_id: str
    run_id: str
    logical_date: datetime | None = None
    run_after: datetime | None = None
    clear_number: int = 0
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    conf: Mapping[str, Any] | None = None
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    doc: str | None = None
    #: attributes for the ``airflow`` run facet (plain JSON values, no source code, no secrets)
    dag_attributes: Mapping[str, Any] = attrs.field(factory=dict)
    run_attributes: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def instant(self) -> datetime:
        """The instant the run ids are computed from: logical date, else run_after."""
        instant = self.logical_date or self.run_after
        if instant is None:
            msg = f"DAG run {self.dag_id}/{self.run_id} has neither a logical date nor run_after"
            raise ValueError(msg)
        return instant


@attrs.frozen
class TaskInfo:
    """What the events need to know about one task try."""

    task_id: str
    try_number: int
    map_index: int = -1
    owners: tuple[str, ...] = ()
    doc: str | None = None
    task_attributes: Mapping[str, Any] = attrs.field(factory=dict)
    ti_attributes: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.define
class AirflowRunFacet(RunFacet):
    """The ``airflow`` run facet: DAG, DAG-run, task and task-instance attributes a user needs."""

    dag: dict[str, Any] = attrs.field(factory=dict)
    dagRun: dict[str, Any] = attrs.field(factory=dict)
    task: dict[str, Any] | None = None
    taskInstance: dict[str, Any] | None = None
    _additional_skip_redact: ClassVar[list[str]] = ["dag", "dagRun", "task", "taskInstance"]

    @staticmethod
    def _get_schema() -> str:
        return AIRFLOW_FACET_SCHEMA


# --- run ids -----------------------------------------------------------------------------------------


def dag_run_uuid(namespace: str, dag_run: DagRunInfo) -> str:
    """The OpenLineage run id of a DAG run."""
    data = f"{namespace}.{dag_run.dag_id}.{dag_run.clear_number}"
    return str(generate_static_uuid(instant=dag_run.instant, data=data.encode()))


def task_run_uuid(namespace: str, dag_run: DagRunInfo, task: TaskInfo) -> str:
    """The OpenLineage run id of one task try."""
    data = f"{namespace}.{dag_run.dag_id}.{task.task_id}.{task.try_number}.{task.map_index}"
    return str(generate_static_uuid(instant=dag_run.instant, data=data.encode()))


def child_run_uuid(namespace: str, dag_run: DagRunInfo, task: TaskInfo, suffix: str) -> str:
    """Run id of a child job of a task try (e.g. a query run through a hook): the task's data + suffix."""
    data = f"{namespace}.{dag_run.dag_id}.{task.task_id}.{task.try_number}.{task.map_index}.{suffix}"
    return str(generate_static_uuid(instant=dag_run.instant, data=data.encode()))


# --- facets ------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def _conf_parent(conf: Mapping[str, Any] | None) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """Parent and root named in ``dag_run.conf["openlineage"]``; (None, None) when absent or invalid."""
    block = (conf or {}).get(CONF_KEY) if isinstance(conf, Mapping) else None
    if not isinstance(block, Mapping):
        return None, None

    def pick(prefix: str) -> dict[str, str] | None:
        keys = {"run_id": f"{prefix}RunId", "namespace": f"{prefix}JobNamespace", "name": f"{prefix}JobName"}
        found = {field: block.get(key) for field, key in keys.items()}
        if not all(isinstance(v, str) and v for v in found.values()):
            return None
        try:
            uuid.UUID(str(found["run_id"]))
        except ValueError:
            log.warning("dag_run.conf[%r] %sRunId is not a UUID; parent ignored", CONF_KEY, prefix)
            return None
        return found  # type: ignore[return-value]

    parent = pick("parent")
    root = pick("rootParent") if parent else None
    return parent, root or parent


def _parent_facet(parent: Mapping[str, str], root: Mapping[str, str] | None) -> parent_run.ParentRunFacet:
    root_value = None
    if root is not None:
        root_value = parent_run.Root(
            run=parent_run.RootRun(runId=root["run_id"]),
            job=parent_run.RootJob(namespace=root["namespace"], name=root["name"]),
        )
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent["run_id"]),
        job=parent_run.Job(namespace=parent["namespace"], name=parent["name"]),
        root=root_value,
        producer=PRODUCER,
    )


def _nominal_time(dag_run: DagRunInfo) -> nominal_time_run.NominalTimeRunFacet | None:
    start = dag_run.data_interval_start or dag_run.logical_date or dag_run.run_after
    if start is None:
        return None
    end = dag_run.data_interval_end if dag_run.data_interval_start else None
    return nominal_time_run.NominalTimeRunFacet(
        nominalStartTime=_iso(start),  # type: ignore[arg-type]
        nominalEndTime=_iso(end),
        producer=PRODUCER,
    )


def _processing_engine() -> processing_engine_run.ProcessingEngineRunFacet:
    try:
        from airflow import __version__ as airflow_version
    except Exception:  # pragma: no cover - Airflow is a dependency
        airflow_version = "unknown"
    return processing_engine_run.ProcessingEngineRunFacet(
        version=airflow_version, name="Airflow", openlineageAdapterVersion=__version__, producer=PRODUCER
    )


def _error_facet(error: BaseException | str) -> error_message_run.ErrorMessageRunFacet:
    if isinstance(error, BaseException):
        message = f"{type(error).__name__}: {error}"
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        stack = trace[-MAX_ERROR_CHARS:] if error.__traceback__ is not None else None
    else:
        message, stack = str(error), None
    return error_message_run.ErrorMessageRunFacet(
        message=message[:MAX_ERROR_CHARS], programmingLanguage="python", stackTrace=stack, producer=PRODUCER
    )


def _job_facets(kind: str, owners: tuple[str, ...], tags: tuple[str, ...], doc: str | None) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="AIRFLOW", jobType=kind, producer=PRODUCER
        )
    }
    if owners:
        facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=owner) for owner in owners], producer=PRODUCER
        )
    if tags:
        facets["tags"] = tags_job.TagsJobFacet(
            tags=[tags_job.TagsJobFacetFields(key=tag, value=tag, source="AIRFLOW") for tag in tags],
            producer=PRODUCER,
        )
    if doc:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=doc, contentType="text/markdown", producer=PRODUCER
        )
    return facets


def _add_run_facets(
    facets: dict[str, Any],
    event_type: str | RunState,
    dag_run: DagRunInfo,
    airflow: AirflowRunFacet | None,
    error: BaseException | str | None,
) -> None:
    """The run facets task and DAG-run events share: nominal time, engine, airflow, error on FAIL."""
    nominal = _nominal_time(dag_run)
    if nominal is not None:
        facets["nominalTime"] = nominal
    facets["processing_engine"] = _processing_engine()
    if airflow is not None:
        facets["airflow"] = airflow
    if error is not None and _event_type(event_type) == RunState.FAIL:
        facets["errorMessage"] = _error_facet(error)


def _event_type(event_type: str | RunState) -> RunState:
    return event_type if isinstance(event_type, RunState) else RunState(event_type.upper())


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- events ------------------------------------------------------------------------------------------


def build_task_event(
    event_type: str | RunState,
    dag_run: DagRunInfo,
    task: TaskInfo,
    *,
    namespace: str,
    event_time: datetime | None = None,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
    run_facets: Mapping[str, BaseFacet] | None = None,
    job_facets: Mapping[str, BaseFacet] | None = None,
    error: BaseException | str | None = None,
    include_airflow_facet: bool = True,
) -> RunEvent:
    """A START/COMPLETE/FAIL event of one task try; job ``dag_id.task_id``, parent the DAG run."""
    facets: dict[str, Any] = dict(run_facets or {})
    dag_parent = {"run_id": dag_run_uuid(namespace, dag_run), "namespace": namespace, "name": dag_run.dag_id}
    _, conf_root = _conf_parent(dag_run.conf)
    facets["parent"] = _parent_facet(dag_parent, conf_root or dag_parent)
    airflow = None
    if include_airflow_facet:
        airflow = AirflowRunFacet(
            dag=dict(dag_run.dag_attributes),
            dagRun=dict(dag_run.run_attributes),
            task=dict(task.task_attributes),
            taskInstance=dict(task.ti_attributes),
            producer=PRODUCER,
        )
    _add_run_facets(facets, event_type, dag_run, airflow, error)
    job = {**_job_facets("TASK", task.owners or dag_run.owners, dag_run.tags, task.doc), **(job_facets or {})}
    return RunEvent(
        eventType=_event_type(event_type),
        eventTime=_iso(event_time or _now()),  # type: ignore[arg-type]
        run=Run(runId=task_run_uuid(namespace, dag_run, task), facets=facets),
        job=Job(namespace=namespace, name=f"{dag_run.dag_id}.{task.task_id}", facets=job),
        inputs=list(inputs or []),
        outputs=list(outputs or []),
        producer=PRODUCER,
    )


def build_child_event(
    event_type: str | RunState,
    dag_run: DagRunInfo,
    task: TaskInfo,
    suffix: str,
    *,
    namespace: str,
    event_time: datetime | None = None,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
    run_facets: Mapping[str, BaseFacet] | None = None,
    job_facets: Mapping[str, BaseFacet] | None = None,
) -> RunEvent:
    """An event of a child job ``dag_id.task_id.suffix``; parent: the task try, root: the DAG run's root."""
    facets: dict[str, Any] = dict(run_facets or {})
    task_parent = {
        "run_id": task_run_uuid(namespace, dag_run, task),
        "namespace": namespace,
        "name": f"{dag_run.dag_id}.{task.task_id}",
    }
    dag_parent = {"run_id": dag_run_uuid(namespace, dag_run), "namespace": namespace, "name": dag_run.dag_id}
    _, conf_root = _conf_parent(dag_run.conf)
    facets["parent"] = _parent_facet(task_parent, conf_root or dag_parent)
    _add_run_facets(facets, event_type, dag_run, None, None)
    job = {**_job_facets("QUERY", task.owners or dag_run.owners, dag_run.tags, None), **(job_facets or {})}
    return RunEvent(
        eventType=_event_type(event_type),
        eventTime=_iso(event_time or _now()),  # type: ignore[arg-type]
        run=Run(runId=child_run_uuid(namespace, dag_run, task, suffix), facets=facets),
        job=Job(namespace=namespace, name=f"{dag_run.dag_id}.{task.task_id}.{suffix}", facets=job),
        inputs=list(inputs or []),
        outputs=list(outputs or []),
        producer=PRODUCER,
    )


def build_dag_run_event(
    event_type: str | RunState,
    dag_run: DagRunInfo,
    *,
    namespace: str,
    event_time: datetime | None = None,
    error: BaseException | str | None = None,
    include_airflow_facet: bool = True,
) -> RunEvent:
    """A START/COMPLETE/FAIL event of a DAG run; job ``dag_id``, parent from ``conf["openlineage"]``."""
    facets: dict[str, Any] = {}
    conf_parent, conf_root = _conf_parent(dag_run.conf)
    if conf_parent is not None:
        facets["parent"] = _parent_facet(conf_parent, conf_root)
    airflow = None
    if include_airflow_facet:
        airflow = AirflowRunFacet(
            dag=dict(dag_run.dag_attributes), dagRun=dict(dag_run.run_attributes), producer=PRODUCER
        )
    _add_run_facets(facets, event_type, dag_run, airflow, error)
    return RunEvent(
        eventType=_event_type(event_type),
        eventTime=_iso(event_time or _now()),  # type: ignore[arg-type]
        run=Run(runId=dag_run_uuid(namespace, dag_run), facets=facets),
        job=Job(
            namespace=namespace,
            name=dag_run.dag_id,
            facets=_job_facets("DAG", dag_run.owners, dag_run.tags, dag_run.doc),
        ),
        producer=PRODUCER,
    )
