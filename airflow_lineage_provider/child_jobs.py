"""Jobs a task starts (a Spark application, a DAG run it triggers), named as children of the task's run.

The ids are the ones the task try's own events carry (:func:`emission.events.task_refs`), so a lineage
backend joins the child's events to the task's. :mod:`macros` hands them to templates; the listener adds
them to the Spark properties of the Spark operators below when ``[lineage_provider]
spark_inject_parent_job_info`` is on, before the task's ``execute`` builds its ``spark-submit``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow_lineage_provider.exceptions import LineageProviderError

log = logging.getLogger(__name__)

#: the properties the OpenLineage Spark integration reads to name its parent and root run
SPARK_PARENT_PREFIXES = ("spark.openlineage.parent", "spark.openlineage.rootParent")

#: Spark operators (this class or a subclass of it) and the attribute holding the properties they submit:
#: a dict, or for ``SparkSqlOperator`` also the ``"key=value,key=value"`` string it accepts
SPARK_CONF_ATTRIBUTES = {
    "airflow.providers.apache.spark.operators.spark_submit.SparkSubmitOperator": "conf",
    "airflow.providers.apache.spark.operators.spark_pipelines.SparkPipelinesOperator": "conf",
    "airflow.providers.apache.spark.operators.spark_sql.SparkSqlOperator": "_conf",
    "airflow.providers.apache.spark.operators.spark_pyspark.PySparkOperator": "config_kwargs",
}


class MacroError(LineageProviderError, TypeError):
    """A lineage macro was given something other than the running task instance."""


def task_refs_of(task_instance: Any, caller: str) -> tuple[dict[str, str], dict[str, str]]:
    """(the task try's own ref, its root's ref): each ``{"namespace", "name", "run_id"}``.

    ``caller`` names the macro in the error raised when ``task_instance`` is not a running task instance.
    """
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.emission.events import DagRunInfo, TaskInfo, task_refs

    context = getattr(task_instance, "_ti_context_from_server", None)
    dag_run = context.dag_run if context is not None else getattr(task_instance, "dag_run", None)
    if dag_run is None or not getattr(task_instance, "task_id", None):
        msg = (
            f"{caller}() takes the running task instance, got {type(task_instance).__name__}; "
            f"in a template write {{{{ macros.lineage_provider.{caller}(ti) }}}}"
        )
        raise MacroError(msg)
    run_conf = getattr(dag_run, "conf", None)
    info = DagRunInfo(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        logical_date=getattr(dag_run, "logical_date", None),
        run_after=getattr(dag_run, "run_after", None),
        clear_number=int(getattr(dag_run, "clear_number", 0) or 0),
        conf=run_conf if isinstance(run_conf, Mapping) else None,
    )
    map_index = getattr(task_instance, "map_index", -1)
    task = TaskInfo(
        task_id=task_instance.task_id,
        try_number=int(getattr(task_instance, "try_number", 0) or 0),
        map_index=-1 if map_index is None else int(map_index),
    )
    own, _parent, root = task_refs(conf.namespace(), info, task)
    return own, root


def spark_parent_properties(task_instance: Any, caller: str = "spark_lineage_conf") -> dict[str, str]:
    """The ``spark.openlineage.*`` properties that make a Spark application a child of this task try."""
    own, root = task_refs_of(task_instance, caller)
    return {
        "spark.openlineage.parentJobNamespace": own["namespace"],
        "spark.openlineage.parentJobName": own["name"],
        "spark.openlineage.parentRunId": own["run_id"],
        "spark.openlineage.rootParentJobNamespace": root["namespace"],
        "spark.openlineage.rootParentJobName": root["name"],
        "spark.openlineage.rootParentRunId": root["run_id"],
    }


def spark_conf_attribute(operator: Any) -> str | None:
    """The attribute holding the Spark properties ``operator`` submits (None: not a Spark operator)."""
    for cls in type(operator).__mro__:
        attribute = SPARK_CONF_ATTRIBUTES.get(f"{cls.__module__}.{cls.__qualname__}")
        if attribute is not None:
            return attribute
    return None


def inject_spark_parent(operator: Any, task_instance: Any) -> bool:
    """Add the parent and root properties of this task try to a Spark operator's properties.

    Properties the DAG author set are the author's: if any ``spark.openlineage.parent*`` or
    ``rootParent*`` property is there already (and was not put there by this function for an earlier try
    of the same operator object), nothing is changed. True when the properties were added.
    """
    attribute = spark_conf_attribute(operator)
    if attribute is None:
        return False
    current = getattr(operator, attribute, None)
    ours = _injected.get(id(operator))
    if isinstance(current, str):  # SparkSqlOperator: "key=value,key=value"
        pairs = [p for p in current.split(",") if p.strip()]
        given = dict(_pair(p) for p in pairs)
    elif current is None or isinstance(current, Mapping):
        given = dict(current or {})
    else:
        log.debug("lineage: %s.%s is a %s, not Spark properties: nothing injected", type(operator).__name__,
                  attribute, type(current).__name__)  # fmt: skip
        return False
    parent_keys = {k: v for k, v in given.items() if str(k).startswith(SPARK_PARENT_PREFIXES)}
    if parent_keys and parent_keys != ours:
        return False  # the author's own
    properties = spark_parent_properties(task_instance, "spark_inject_parent_job_info")
    merged = {k: v for k, v in given.items() if k not in parent_keys} | properties
    if isinstance(current, str):
        setattr(operator, attribute, ",".join(f"{k}={v}" for k, v in merged.items()))
    else:
        setattr(operator, attribute, merged)
    _injected.pop(id(operator), None)
    while len(_injected) >= _INJECTED_SIZE:
        _injected.pop(next(iter(_injected)))
    _injected[id(operator)] = properties
    return True


def _pair(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key, value


#: what was injected into which operator object (by id) in this process: a retry of the same object
#: (``dag.test()`` runs every try in one process) gets its new run id instead of keeping the old one
_injected: dict[int, dict[str, str]] = {}
_INJECTED_SIZE = 256
