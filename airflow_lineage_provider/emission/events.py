"""Build OpenLineage run events for task tries and DAG runs: run ids, job names and facets.

The builders take plain value objects (:class:`DagRunInfo`, :class:`TaskInfo`) that the listener fills from
Airflow's objects and return the event as a plain dict in OpenLineage wire format (what
``Serde.to_dict(RunEvent(...))`` gives, facets with their ``_producer`` and ``_schemaURL``). They import
neither Airflow nor openlineage-python: they run on the task's thread, and importing openlineage.client
costs a fresh task process up to a second. Datasets and facets an extractor returned as openlineage-python
objects are converted with its ``Serde`` (already imported by whoever built them).

Run ids are deterministic UUIDv7 values computed exactly as openlineage-python's ``generate_static_uuid``
does (:func:`static_uuid`; a test compares both), from the same inputs every Airflow integration uses, so
other tools can recompute them:

* DAG run:  instant = logical date (or run_after when there is none),
  data = ``"{namespace}.{dag_id}.{clear_number}"``
* task try: same instant, data = ``"{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}"``

A backfill run without a logical date (a partitioned DAG's) adds ``".{airflow_run_id}"`` to both: to
reprocess a partition a backfill creates another run alongside the first, with the same ``run_after``,
clear number 0 and first tries, which would otherwise get the first run's ids (:func:`distinct_run_id`).
"""

from __future__ import annotations

import hashlib
import logging
import traceback
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from airflow_lineage_provider import PRODUCER, __version__

log = logging.getLogger(__name__)

_SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA = f"{_SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
#: ``_schemaURL`` of each standard facet the builders write (the versions openlineage-python's classes use)
FACET_SCHEMAS = {
    "parent": f"{_SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "nominalTime": f"{_SPEC}/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
    "processing_engine": (
        f"{_SPEC}/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
    ),
    "errorMessage": f"{_SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "jobType": f"{_SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "ownership": f"{_SPEC}/facets/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet",
    "tags": f"{_SPEC}/facets/1-0-0/TagsJobFacet.json#/$defs/TagsJobFacet",
    "documentation": f"{_SPEC}/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet",
    "jobDependencies": (f"{_SPEC}/facets/1-0-1/JobDependenciesRunFacet.json#/$defs/JobDependenciesRunFacet"),
}
AIRFLOW_FACET_SCHEMA = f"{PRODUCER}/schemas/AirflowRunFacet.json#/$defs/AirflowRunFacet"
EVENT_TYPES = frozenset({"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"})

#: the key in ``dag_run.conf`` a triggering system uses to name the parent (and root) of a DAG run
CONF_KEY = "openlineage"
#: error messages and stack traces are cut to this many characters
MAX_ERROR_CHARS = 8192
#: at most this many characters of them are redacted (before the cut): a bound on the time a huge error
#: message costs the task; a secret cut at this bound could only show if redaction shortened the rest by
#: more than ``_REDACTED_CHARS - MAX_ERROR_CHARS`` characters
_REDACTED_CHARS = 64 * MAX_ERROR_CHARS


@attrs.frozen
class UpstreamTry:
    """A task try of another DAG run whose asset event started this one (an asset-triggered run)."""

    dag_id: str
    task_id: str
    try_number: int
    map_index: int
    #: its DAG run's logical date, else run_after: the instant its run ids are computed from
    instant: datetime
    asset_uri: str
    #: its DAG run's Airflow run id when that is part of its run ids (:func:`distinct_run_id`)
    distinct: str | None = None


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
    #: media type of ``doc`` (``doc_md`` is markdown, a DAG's ``description`` plain text)
    doc_type: str = "text/markdown"
    #: attributes for the ``airflow`` run facet (plain JSON values, no source code, no secrets)
    dag_attributes: Mapping[str, Any] = attrs.field(factory=dict)
    run_attributes: Mapping[str, Any] = attrs.field(factory=dict)
    #: the task tries whose asset events triggered the run (``jobDependencies`` of its events)
    upstream: tuple[UpstreamTry, ...] = ()

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
    doc_type: str = "text/markdown"
    task_attributes: Mapping[str, Any] = attrs.field(factory=dict)
    ti_attributes: Mapping[str, Any] = attrs.field(factory=dict)


# --- run ids -----------------------------------------------------------------------------------------


def static_uuid(instant: datetime, data: bytes) -> str:
    """The UUIDv7 openlineage-python's ``generate_static_uuid(instant, data)`` returns, as a string.

    Bits: the instant's Unix milliseconds (48), version 7 (4), then the leading 76 bits of
    SHA-1(instant's UTC ISO text + data), of which the two at the variant's place are set to ``10``.
    """
    utc = instant.astimezone(timezone.utc)
    millis = int(utc.timestamp() * 1000) & ((1 << 48) - 1)
    digest = hashlib.sha1(utc.isoformat().encode("utf-8") + data).digest()  # an id, not a secret
    hashed = int.from_bytes(digest[:10], "big") >> 4  # the leading 76 bits
    variant_mask = 0b11 << 62
    value = (millis << 80) | (7 << 76) | (hashed & ~variant_mask) | (0b10 << 62)
    return str(uuid.UUID(int=value))


#: how Airflow's run ids of backfill runs begin (``DagRunType.BACKFILL_JOB``)
_BACKFILL_RUN_PREFIX = "backfill__"


def distinct_run_id(logical_date: datetime | None, run_id: str) -> str | None:
    """The Airflow run id when it must be part of a run's OpenLineage ids, else None.

    That is a backfill run without a logical date (a partitioned DAG's): a backfill reprocessing a partition
    does not clear the partition's run but creates another one with the same ``run_after``, clear number 0
    and first tries, so the usual inputs would give it the first run's ids. Read off the run id (Airflow
    prefixes a backfill's own), which the task side, the scheduler and the macros all have.
    """
    if logical_date is None and run_id.startswith(_BACKFILL_RUN_PREFIX):
        return run_id
    return None


def _run_suffix(dag_run: DagRunInfo) -> str:
    distinct = distinct_run_id(dag_run.logical_date, dag_run.run_id)
    return "" if distinct is None else f".{distinct}"


def dag_run_uuid(namespace: str, dag_run: DagRunInfo) -> str:
    """The OpenLineage run id of a DAG run."""
    data = f"{namespace}.{dag_run.dag_id}.{dag_run.clear_number}{_run_suffix(dag_run)}"
    return static_uuid(dag_run.instant, data.encode())


def task_run_uuid(namespace: str, dag_run: DagRunInfo, task: TaskInfo) -> str:
    """The OpenLineage run id of one task try."""
    return task_try_uuid(
        namespace,
        dag_run.dag_id,
        dag_run.instant,
        task.task_id,
        task.try_number,
        task.map_index,
        distinct_run_id(dag_run.logical_date, dag_run.run_id),
    )


def task_try_uuid(
    namespace: str,
    dag_id: str,
    instant: datetime,
    task_id: str,
    try_number: int,
    map_index: int,
    distinct: str | None = None,
) -> str:
    """The OpenLineage run id of try ``try_number`` of a task in the DAG run at ``instant``.

    ``distinct``: what :func:`distinct_run_id` says for that run.
    """
    data = f"{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}"
    if distinct is not None:
        data = f"{data}.{distinct}"
    return static_uuid(instant, data.encode())


def child_run_uuid(namespace: str, dag_run: DagRunInfo, task: TaskInfo, suffix: str) -> str:
    """Run id of a child job of a task try (e.g. a query run through a hook): the task's data + suffix."""
    data = (
        f"{namespace}.{dag_run.dag_id}.{task.task_id}.{task.try_number}.{task.map_index}"
        f"{_run_suffix(dag_run)}.{suffix}"
    )
    return static_uuid(dag_run.instant, data.encode())


# --- facets ------------------------------------------------------------------------------------------


def _facet(key: str, schema_url: str | None = None, /, **fields: Any) -> dict[str, Any]:
    """Facet ``key`` in wire format; None fields are left out (as openlineage-python's Serde does)."""
    facet = {"_producer": PRODUCER, "_schemaURL": schema_url or FACET_SCHEMAS[key]}
    facet.update((key, value) for key, value in fields.items() if value is not None)
    return facet


def _wire(value: Any) -> Any:
    """An extractor's dataset or facet in wire format (openlineage-python objects go through its Serde)."""
    if isinstance(value, Mapping):
        return dict(value)
    from openlineage.client.serde import Serde  # loaded already: whoever built ``value`` imported it

    return Serde.to_dict(value)


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


def _run_job(ref: Mapping[str, str]) -> dict[str, Any]:
    return {
        "run": {"runId": ref["run_id"], "facets": {}},
        "job": {"namespace": ref["namespace"], "name": ref["name"], "facets": {}},
    }


def task_refs(
    namespace: str, dag_run: DagRunInfo, task: TaskInfo
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(the task try, its parent: the DAG run, its root) as ``{"run_id", "namespace", "name"}`` each.

    The root is the DAG run, unless the run's ``conf["openlineage"]`` named a parent (and maybe a root).
    The events and the template macros both take the ids from here.
    """
    own = {
        "run_id": task_run_uuid(namespace, dag_run, task),
        "namespace": namespace,
        "name": f"{dag_run.dag_id}.{task.task_id}",
    }
    parent = {"run_id": dag_run_uuid(namespace, dag_run), "namespace": namespace, "name": dag_run.dag_id}
    _, conf_root = _conf_parent(dag_run.conf)
    return own, parent, conf_root or parent


def _parent_facet(parent: Mapping[str, str], root: Mapping[str, str] | None) -> dict[str, Any]:
    return _facet("parent", **_run_job(parent), root=_run_job(root) if root is not None else None)


def _nominal_time(dag_run: DagRunInfo) -> dict[str, Any] | None:
    start = dag_run.data_interval_start or dag_run.logical_date or dag_run.run_after
    if start is None:
        return None
    end = dag_run.data_interval_end if dag_run.data_interval_start else None
    return _facet("nominalTime", nominalStartTime=_iso(start), nominalEndTime=_iso(end))


def _airflow_version() -> str:
    try:
        from airflow import __version__ as airflow_version
    except Exception:  # pragma: no cover - Airflow is a dependency
        return "unknown"
    return str(airflow_version)


def _processing_engine() -> dict[str, Any]:
    return _facet(
        "processing_engine", version=_airflow_version(), name="Airflow", openlineageAdapterVersion=__version__
    )


def _exception_text(error: BaseException) -> str:
    """``str(error)``; Python's own placeholder when the exception's ``__str__`` raises (as tracebacks do)."""
    try:
        return str(error)
    except Exception:
        return "<exception str() failed>"


def _error_facet(error: BaseException | str) -> dict[str, Any]:
    # redacted before they are cut: a cut can leave a secret's start where no rule recognises it
    # (``postgresql://etl:Sup3`` is no longer a URI with a password)
    from airflow_lineage_provider.emission.redaction import redact_error_text

    if isinstance(error, BaseException):
        message = f"{type(error).__name__}: {_exception_text(error)}"
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        tail = trace[-_REDACTED_CHARS:]
        stack = redact_error_text(tail)[-MAX_ERROR_CHARS:] if error.__traceback__ is not None else None
    else:
        message, stack = str(error), None
    return _facet(
        "errorMessage",
        message=redact_error_text(message[:_REDACTED_CHARS])[:MAX_ERROR_CHARS],
        programmingLanguage="python",
        stackTrace=stack,
    )


def _job_facets(
    kind: str,
    owners: tuple[str, ...],
    tags: tuple[str, ...],
    doc: str | None,
    doc_type: str = "text/markdown",
) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "jobType": _facet("jobType", processingType="BATCH", integration="AIRFLOW", jobType=kind)
    }
    if owners:
        facets["ownership"] = _facet("ownership", owners=[{"name": owner} for owner in owners])
    if tags:
        facets["tags"] = _facet(
            "tags", tags=[{"key": tag, "value": tag, "source": "AIRFLOW"} for tag in tags]
        )
    if doc:
        facets["documentation"] = _facet("documentation", description=doc, contentType=doc_type)
    return facets


def _airflow_facet(dag_run: DagRunInfo, task: TaskInfo | None) -> dict[str, Any]:
    """The ``airflow`` run facet: DAG, DAG-run, task and task-instance attributes a user needs."""
    fields: dict[str, Any] = {
        "dag": {"dag_id": dag_run.dag_id, **dag_run.dag_attributes},
        "dagRun": {"run_id": dag_run.run_id, **dag_run.run_attributes},
    }
    if task is not None:
        fields["task"] = {"task_id": task.task_id, **task.task_attributes}
        fields["taskInstance"] = dict(task.ti_attributes)
    return _facet("airflow", AIRFLOW_FACET_SCHEMA, **fields)


def _add_run_facets(
    facets: dict[str, Any],
    event_type: str,
    dag_run: DagRunInfo,
    airflow: dict[str, Any] | None,
    error: BaseException | str | None,
) -> None:
    """The run facets task and DAG-run events share: nominal time, engine, airflow, error on FAIL."""
    nominal = _nominal_time(dag_run)
    if nominal is not None:
        facets["nominalTime"] = nominal
    facets["processing_engine"] = _processing_engine()
    if airflow is not None:
        facets["airflow"] = airflow
    if error is not None and event_type == "FAIL":
        facets["errorMessage"] = _error_facet(error)


def _job_dependencies(namespace: str, upstream: tuple[UpstreamTry, ...]) -> dict[str, Any]:
    """``jobDependencies``: each task try whose asset event triggered the run, once, with the assets."""
    tries: dict[tuple[str, str], dict[str, Any]] = {}
    for source in upstream:
        job = {"namespace": namespace, "name": f"{source.dag_id}.{source.task_id}"}
        run_id = task_try_uuid(
            namespace,
            source.dag_id,
            source.instant,
            source.task_id,
            source.try_number,
            source.map_index,
            source.distinct,
        )
        dependency = tries.setdefault(
            (job["name"], run_id),
            {
                "job": job,
                "run": {"runId": run_id},
                "dependency_type": "IMPLICIT_DEPENDENCY",  # through an asset, not a direct call
                "sequence_trigger_rule": "FINISH_TO_START",
                "status_trigger_rule": "EXECUTE_ON_SUCCESS",
                "airflow_assets": [],
            },
        )
        if source.asset_uri not in dependency["airflow_assets"]:
            dependency["airflow_assets"].append(source.asset_uri)
    return _facet("jobDependencies", upstream=list(tries.values()))


def _event_type(event_type: Any) -> str:
    """``"START"``, ``"complete"`` or an openlineage-python ``RunState`` -> the wire value."""
    value = str(getattr(event_type, "value", event_type)).upper()
    if value not in EVENT_TYPES:
        msg = f"unknown OpenLineage event type {event_type!r}: use one of {', '.join(sorted(EVENT_TYPES))}"
        raise ValueError(msg)
    return value


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _event(
    event_type: str,
    event_time: datetime | None,
    run_id: str,
    run_facets: dict[str, Any],
    namespace: str,
    job_name: str,
    job_facets: dict[str, Any],
    inputs: list[Any] | None,
    outputs: list[Any] | None,
) -> dict[str, Any]:
    return {
        "eventTime": _iso(event_time or _now()),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id, "facets": run_facets},
        "job": {"namespace": namespace, "name": job_name, "facets": job_facets},
        "eventType": event_type,
        "inputs": [_wire(dataset) for dataset in inputs or ()],
        "outputs": [_wire(dataset) for dataset in outputs or ()],
    }


def _wire_facets(facets: Mapping[str, Any] | None) -> dict[str, Any]:
    return {name: _wire(facet) for name, facet in (facets or {}).items()}


# --- events ------------------------------------------------------------------------------------------


def build_task_event(
    event_type: Any,
    dag_run: DagRunInfo,
    task: TaskInfo,
    *,
    namespace: str,
    event_time: datetime | None = None,
    inputs: list[Any] | None = None,
    outputs: list[Any] | None = None,
    run_facets: Mapping[str, Any] | None = None,
    job_facets: Mapping[str, Any] | None = None,
    error: BaseException | str | None = None,
    include_airflow_facet: bool = True,
) -> dict[str, Any]:
    """A START/COMPLETE/FAIL event of one task try; job ``dag_id.task_id``, parent the DAG run."""
    kind = _event_type(event_type)
    facets = _wire_facets(run_facets)
    own, parent, root = task_refs(namespace, dag_run, task)
    facets["parent"] = _parent_facet(parent, root)
    airflow = _airflow_facet(dag_run, task) if include_airflow_facet else None
    _add_run_facets(facets, kind, dag_run, airflow, error)
    job = {
        **_job_facets("TASK", task.owners or dag_run.owners, dag_run.tags, task.doc, task.doc_type),
        **_wire_facets(job_facets),
    }
    return _event(
        kind,
        event_time,
        own["run_id"],
        facets,
        namespace,
        own["name"],
        job,
        inputs,
        outputs,
    )


def build_child_event(
    event_type: Any,
    dag_run: DagRunInfo,
    task: TaskInfo,
    suffix: str,
    *,
    namespace: str,
    event_time: datetime | None = None,
    inputs: list[Any] | None = None,
    outputs: list[Any] | None = None,
    run_facets: Mapping[str, Any] | None = None,
    job_facets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An event of a child job ``dag_id.task_id.suffix``; parent: the task try, root: the DAG run's root."""
    kind = _event_type(event_type)
    facets = _wire_facets(run_facets)
    task_parent = {
        "run_id": task_run_uuid(namespace, dag_run, task),
        "namespace": namespace,
        "name": f"{dag_run.dag_id}.{task.task_id}",
    }
    dag_parent = {"run_id": dag_run_uuid(namespace, dag_run), "namespace": namespace, "name": dag_run.dag_id}
    _, conf_root = _conf_parent(dag_run.conf)
    facets["parent"] = _parent_facet(task_parent, conf_root or dag_parent)
    _add_run_facets(facets, kind, dag_run, None, None)
    job = {
        **_job_facets("QUERY", task.owners or dag_run.owners, dag_run.tags, None),
        **_wire_facets(job_facets),
    }
    return _event(
        kind,
        event_time,
        child_run_uuid(namespace, dag_run, task, suffix),
        facets,
        namespace,
        f"{dag_run.dag_id}.{task.task_id}.{suffix}",
        job,
        inputs,
        outputs,
    )


def build_dag_run_event(
    event_type: Any,
    dag_run: DagRunInfo,
    *,
    namespace: str,
    event_time: datetime | None = None,
    error: BaseException | str | None = None,
    include_airflow_facet: bool = True,
) -> dict[str, Any]:
    """A START/COMPLETE/FAIL event of a DAG run; job ``dag_id``, parent from ``conf["openlineage"]``."""
    kind = _event_type(event_type)
    facets: dict[str, Any] = {}
    conf_parent, conf_root = _conf_parent(dag_run.conf)
    if conf_parent is not None:
        facets["parent"] = _parent_facet(conf_parent, conf_root)
    airflow = _airflow_facet(dag_run, None) if include_airflow_facet else None
    _add_run_facets(facets, kind, dag_run, airflow, error)
    if dag_run.upstream:
        facets["jobDependencies"] = _job_dependencies(namespace, dag_run.upstream)
    return _event(
        kind,
        event_time,
        dag_run_uuid(namespace, dag_run),
        facets,
        namespace,
        dag_run.dag_id,
        _job_facets("DAG", dag_run.owners, dag_run.tags, dag_run.doc, dag_run.doc_type),
        None,
        None,
    )
