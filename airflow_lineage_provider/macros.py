"""Template macros: the OpenLineage ids of the running task, for jobs it starts elsewhere.

A Spark application, a dbt run or another DAG started by a task can name that task as its OpenLineage
parent, so the lineage backend shows one tree instead of unconnected jobs. The ids are the ones the
listener puts in the task's own events (computed, not looked up: they are deterministic, see
:mod:`emission.events`), so they are right even before the task's START event is sent.

In templates they are ``macros.lineage_provider.<name>``::

    SparkSubmitOperator(
        ...,
        conf={
            "spark.openlineage.parentJobNamespace": "{{ macros.lineage_provider.lineage_job_namespace() }}",
            "spark.openlineage.parentJobName": "{{ macros.lineage_provider.lineage_job_name(ti) }}",
            "spark.openlineage.parentRunId": "{{ macros.lineage_provider.lineage_run_id(ti) }}",
        },
    )

In Python (a ``@task``), import them: ``from airflow_lineage_provider.macros import spark_lineage_conf``.
They work whether or not lineage is switched on (``disabled``, ``selective_enable``): a DAG that uses
them never breaks because an admin turned events off; its ids then name runs that have no events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_lineage_provider.child_jobs import MacroError as MacroError  # raised by every macro here

__all__ = [
    "lineage_job_name",
    "lineage_job_namespace",
    "lineage_parent_id",
    "lineage_root_job_name",
    "lineage_root_job_namespace",
    "lineage_root_parent_id",
    "lineage_root_run_id",
    "lineage_run_id",
    "spark_lineage_conf",
    "trigger_lineage_conf",
]


def _refs(task_instance: Any, caller: str) -> tuple[dict[str, str], dict[str, str]]:
    """(the task try's own ref, its root's ref): each ``{"namespace", "name", "run_id"}``."""
    from airflow_lineage_provider.child_jobs import task_refs_of

    return task_refs_of(task_instance, caller)


def _id(ref: Mapping[str, str]) -> str:
    return f"{ref['namespace']}/{ref['name']}/{ref['run_id']}"


def lineage_job_namespace() -> str:
    """The namespace of this deployment's jobs (``[lineage_provider] namespace``)."""
    from airflow_lineage_provider import conf

    return conf.namespace()


def lineage_job_name(task_instance: Any) -> str:
    """The task's job name, ``dag_id.task_id``."""
    return _refs(task_instance, "lineage_job_name")[0]["name"]


def lineage_run_id(task_instance: Any) -> str:
    """The run id (a UUID) of this task try in its OpenLineage events."""
    return _refs(task_instance, "lineage_run_id")[0]["run_id"]


def lineage_parent_id(task_instance: Any) -> str:
    """``namespace/job_name/run_id`` of this task try: what a child job names as its parent."""
    return _id(_refs(task_instance, "lineage_parent_id")[0])


def lineage_root_job_namespace(task_instance: Any) -> str:
    """Namespace of the root of this task's tree (its DAG run, or what triggered that run)."""
    return _refs(task_instance, "lineage_root_job_namespace")[1]["namespace"]


def lineage_root_job_name(task_instance: Any) -> str:
    """Job name of the root: the DAG id, or the job that triggered the DAG run with an OpenLineage parent."""
    return _refs(task_instance, "lineage_root_job_name")[1]["name"]


def lineage_root_run_id(task_instance: Any) -> str:
    """Run id of the root (the DAG run's, unless the run's conf named a root of its own)."""
    return _refs(task_instance, "lineage_root_run_id")[1]["run_id"]


def lineage_root_parent_id(task_instance: Any) -> str:
    """``namespace/job_name/run_id`` of the root."""
    return _id(_refs(task_instance, "lineage_root_parent_id")[1])


def spark_lineage_conf(task_instance: Any) -> dict[str, str]:
    """The ``spark.openlineage.*`` properties that make a Spark application a child of this task try.

    Merge them into the application's conf; the OpenLineage Spark integration reads them. (Or have them
    added to every Spark operator's properties: ``[lineage_provider] spark_inject_parent_job_info``.)
    """
    from airflow_lineage_provider.child_jobs import spark_parent_properties

    return spark_parent_properties(task_instance)


def trigger_lineage_conf(task_instance: Any) -> dict[str, dict[str, str]]:
    """A DAG-run ``conf`` that makes a DAG run triggered by this task its child.

    ``TriggerDagRunOperator(conf=trigger_lineage_conf(ti) | {...})`` in a ``@task``, or the REST API's
    ``conf``: the triggered run's events then carry this task try as parent and keep the same root.
    """
    from airflow_lineage_provider.emission.events import CONF_KEY

    own, root = _refs(task_instance, "trigger_lineage_conf")
    return {
        CONF_KEY: {
            "parentRunId": own["run_id"],
            "parentJobNamespace": own["namespace"],
            "parentJobName": own["name"],
            "rootParentRunId": root["run_id"],
            "rootParentJobNamespace": root["namespace"],
            "rootParentJobName": root["name"],
        }
    }


#: what the plugin registers as ``macros.lineage_provider``
MACROS = [globals()[name] for name in __all__]
