"""Lineage of SQL a task runs through a ``DbApiHook`` in a @task or PythonOperator (hook-lineage collector).

common.sql's ``DbApiHook.run``/``get_records``/``get_df``/``insert_rows`` report every statement to Airflow's
hook-lineage collector (an ``sql_job`` extra with the SQL text and the hook as context); ObjectStoragePath
and some hooks report assets directly. Airflow only keeps these when a plugin registers a hook-lineage
reader, so the provider's plugin registers :class:`LineageProviderHookReader`.

On the task's terminal event :func:`collect` analyses the collected SQL per hook (the same path as
:class:`~airflow_lineage_provider.extractors.sql.SqlExtractor`: one schema round trip per connection at
most, the extraction budget, the ``sqlExtraction`` status facet) and attributes the datasets to the task.
The collector lives as long as the process: :func:`reset` empties it when a task starts, so a task never
inherits another task's lineage (``dag.test()`` runs every task in one process).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import attrs
from airflow.sdk.lineage import HookLineageReader

from airflow_lineage_provider._openlineage import ensure_imported
from airflow_lineage_provider.extractors.base import OperatorLineage

log = logging.getLogger(__name__)

_SQL_JOB_KEY = "sql_job"


def _collector() -> Any:
    from airflow.sdk.lineage import get_hook_lineage_collector

    return get_hook_lineage_collector()


class LineageProviderHookReader(HookLineageReader):
    """Registered by the plugin so that Airflow's hook-lineage collector records (it is a no-op otherwise)."""


def reset() -> None:
    """Forget everything collected so far in this process (call when a task starts)."""
    _CHILDREN.clear()
    collector = _collector()
    for name in ("_inputs", "_outputs", "_extra", "_input_counts", "_output_counts", "_extra_counts"):
        store: Any = getattr(collector, name, None)
        if store is not None and hasattr(store, "clear"):
            store.clear()


def collect(context: Any, task_instance: Any) -> OperatorLineage | None:
    """Lineage collected from hooks the task used, attributed to the task; None when there is none."""
    collector = _collector()
    if not collector.has_collected:
        return None
    ensure_imported()  # the SQL extractor and the datasets below use openlineage-python
    collected = collector.collected_assets
    reset()
    per_hook: dict[int, tuple[Any, list[str]]] = {}
    for extra in collected.extra:
        value = extra.value if isinstance(extra.value, dict) else {}
        sql = value.get("sql")
        if extra.key != _SQL_JOB_KEY or not isinstance(sql, str) or not sql.strip():
            continue
        hook, statements = per_hook.setdefault(id(extra.context), (extra.context, []))
        statements.append(sql.strip().rstrip(";"))
    lineage = OperatorLineage()
    for hook, statements in per_hook.values():
        _merge_into(lineage, _from_hook(hook, statements))
    _merge_into(lineage, _from_assets(collected))
    if not (lineage.inputs or lineage.outputs or lineage.job_facets):
        return None
    _mark_capped(lineage, len(collected.extra))
    from airflow_lineage_provider import conf

    if conf.hook_lineage_child_jobs():
        _CHILDREN[:] = _child_jobs(per_hook.values())
    return lineage


def _mark_capped(lineage: OperatorLineage, collected: int) -> None:
    """``partial`` status when Airflow's collector may have dropped statements (it keeps a task's first
    ``[lineage] max_extras_per_collector`` distinct ones, then only logs a line)."""
    from airflow.sdk import lineage as sdk_lineage

    cap = getattr(sdk_lineage, "MAX_COLLECTED_EXTRA", None)
    facet: Any = lineage.run_facets.get("sqlExtraction")
    if not isinstance(cap, int) or collected < cap or facet is None or not hasattr(facet, "reasons"):
        return
    reason = (
        f"Airflow's hook-lineage collector keeps the first {cap} distinct statements of a task "
        "([lineage] max_extras_per_collector): the ones after them are not in this lineage"
    )
    status = "partial" if facet.status == "ok" else facet.status
    lineage.run_facets["sqlExtraction"] = attrs.evolve(
        facet, status=status, reasons=[reason, *facet.reasons][:20]
    )


@attrs.frozen
class ChildJob:
    """One query run through a hook as its own job ``{dag_id}.{task_id}.{suffix}``, child of the task run."""

    suffix: str
    lineage: OperatorLineage


_CHILDREN: list[ChildJob] = []


def take_child_jobs() -> list[ChildJob]:
    """Per-query child jobs prepared by the last :func:`collect` (only with ``hook_lineage_child_jobs``)."""
    children = list(_CHILDREN)
    _CHILDREN.clear()
    return children


def _child_jobs(hooks: Iterable[tuple[Any, list[str]]]) -> list[ChildJob]:
    """One child per distinct query; schemas come from the cache the task-level extraction just filled."""
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.extractors.budget import Budget
    from airflow_lineage_provider.extractors.sql import Extraction, Status, source_for_hook

    children: list[ChildJob] = []
    for hook, statements in hooks:
        source = source_for_hook(hook)
        for sql in dict.fromkeys(statements):
            budget = Budget(conf.extraction_timeout())
            child = Extraction(source, sql, budget, Status(), terminal=False).run()
            children.append(ChildJob(f"query_{len(children) + 1}", child))
    return children


def _from_hook(hook: Any, statements: list[str]) -> OperatorLineage:
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.extractors.budget import Budget
    from airflow_lineage_provider.extractors.sql import (
        FACET_KEY,
        Extraction,
        Status,
        load_engine,
        source_for_hook,
    )

    load_engine()
    budget = Budget(conf.extraction_timeout())
    status = Status()
    try:
        source = source_for_hook(hook)
    except Exception as exc:
        status.fail(f"cannot resolve the hook's connection: {type(exc).__name__}: {str(exc)[:200]}")
        return OperatorLineage(run_facets={FACET_KEY: status.facet(budget, None)})
    script = ";\n".join(dict.fromkeys(statements))  # a statement run N times counts once
    return Extraction(source, script, budget, status, terminal=True).run()


def _from_assets(collected: Any) -> OperatorLineage:
    """Assets reported directly (ObjectStoragePath, hooks with asset support) as datasets."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset

    lineage = OperatorLineage()
    for info in collected.inputs:
        ident = _asset_id(info.asset.uri)
        if ident is not None:
            lineage.inputs.append(InputDataset(namespace=ident.namespace, name=ident.name))
    for info in collected.outputs:
        ident = _asset_id(info.asset.uri)
        if ident is not None:
            lineage.outputs.append(OutputDataset(namespace=ident.namespace, name=ident.name))
    return lineage


def _asset_id(uri: str) -> Any:
    from airflow_lineage_provider.naming import dataset_from_uri

    try:
        return dataset_from_uri(uri)
    except ValueError:
        return None


def _merge_into(into: OperatorLineage, other: OperatorLineage) -> None:
    """Add ``other`` to ``into``: datasets de-duplicated by (namespace, name), SQL facets concatenated."""
    seen = {(d.namespace, d.name) for d in into.inputs}
    into.inputs.extend(d for d in other.inputs if (d.namespace, d.name) not in seen)
    seen = {(d.namespace, d.name) for d in into.outputs}
    into.outputs.extend(d for d in other.outputs if (d.namespace, d.name) not in seen)
    for key, job_facet in other.job_facets.items():
        existing: Any = into.job_facets.get(key)
        if key == "sql" and existing is not None:
            existing.query = f"{existing.query};\n{getattr(job_facet, 'query', '')}"
            if getattr(existing, "dialect", None) != getattr(job_facet, "dialect", None):
                existing.dialect = None  # the SQL of several engines: no one dialect describes it
        else:
            into.job_facets[key] = job_facet
    for key, facet in other.run_facets.items():
        run_facet: Any = facet
        existing_run: Any = into.run_facets.get(key)
        if existing_run is None:
            into.run_facets[key] = run_facet
        elif key == "sqlExtraction":  # one hook's "ok" must not hide another hook's partial/failed
            into.run_facets[key] = _combined_status(existing_run, run_facet)
        elif key == "extractionError" and hasattr(existing_run, "errors") and hasattr(run_facet, "errors"):
            into.run_facets[key] = attrs.evolve(
                existing_run,
                errors=[*existing_run.errors, *run_facet.errors],
                totalTasks=existing_run.totalTasks + run_facet.totalTasks,
                failedTasks=existing_run.failedTasks + run_facet.failedTasks,
            )


_SCHEMA_SOURCES = ("database", "cache", "disabled", "none")  # most to least informative


def _combined_status(first: Any, second: Any) -> Any:
    """One ``sqlExtraction`` facet for the SQL of several hooks (connections) of one task.

    ``ok`` only when every hook's extraction was; ``failed`` only when every one failed; else ``partial``.
    """
    statuses = {first.status, second.status}
    status = statuses.pop() if len(statuses) == 1 else "partial"
    dialects = list(dict.fromkeys(d for d in (first.dialect, second.dialect) if d))
    sources = [s for s in _SCHEMA_SOURCES if s in (first.schemaSource, second.schemaSource)]
    return attrs.evolve(
        first,
        status=status,
        reasons=[*first.reasons, *second.reasons][:20],
        dialect=",".join(dialects) or None,
        statements=first.statements + second.statements,
        schemaSource=sources[0] if sources else first.schemaSource,
        metadataRoundTrips=first.metadataRoundTrips + second.metadataRoundTrips,
        durationMs=round(first.durationMs + second.durationMs, 3),
    )
