"""Opt-in (``[lineage_provider] emit_asset_events``): publish tables written by SQL as Airflow asset events.

Airflow records a task's asset events from what the task reports when it succeeds, and that report is sent
BEFORE the listener's success hook runs, so events added there would be lost. The outputs are therefore
registered on the START event (templates are already rendered then): the ``lineage_provider_sql_outputs``
:class:`AssetAlias` is appended to the task's outlets and each output table is added to the alias's outlet
events. Airflow turns them into asset events only if the task succeeds (creating the assets if needed).

Airflow identifies an asset by its name AND its URI, and DAGs are scheduled on that pair: a table whose URI
is already an active asset (``Asset(name="daily_totals", uri=...)``, or ``Asset("postgres://db/...")`` whose
name is the URI as typed, before Airflow adds the default port) is published under that asset's name;
otherwise Airflow creates ``Asset(uri=...)`` on the first event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger(__name__)

ALIAS_NAME = "lineage_provider_sql_outputs"


def _outlet_events(context: Any) -> Any:
    if isinstance(context, Mapping) and "outlet_events" in context:
        return context["outlet_events"]
    getter = getattr(context, "get_template_context", None)  # a RuntimeTaskInstance
    if callable(getter):
        return getter().get("outlet_events")
    return None


def publish_outputs(operator: Any, context: Any, outputs: Iterable[Any]) -> int:
    """Add ``outputs`` (OpenLineage datasets) as asset events of the alias; return how many were added."""
    from airflow.sdk import Asset, AssetAlias

    from airflow_lineage_provider.naming import DatasetId, asset_uri, dataset_from_uri

    events = _outlet_events(context)
    if events is None:
        log.warning(
            "emit_asset_events: no outlet events in the task context of %s; nothing published",
            getattr(operator, "task_id", "?"),
        )
        return 0
    alias = AssetAlias(name=ALIAS_NAME)
    outlets = list(getattr(operator, "outlets", None) or [])
    if not any(isinstance(o, AssetAlias) and o.name == ALIAS_NAME for o in outlets):
        operator.outlets = [*outlets, alias]
    added = 0
    for dataset in outputs:
        ident = DatasetId(dataset.namespace, dataset.name)
        uri = asset_uri(ident)
        if uri is None:
            continue
        try:
            asset = Asset(uri=uri)
            problem = None if dataset_from_uri(asset.uri) == ident else f"it would read back as {asset.uri!r}"
        except ValueError as exc:
            problem = str(exc)
        if problem is not None:  # a table name no asset URI can carry ('/', '?', '#', '%'): skip it only
            log.warning(
                "emit_asset_events: no asset event for %s/%s: the table name cannot be written as an Airflow "
                "asset URI (%s); declare an outlet for it if a DAG needs it",
                dataset.namespace,
                dataset.name,
                problem,
            )
            continue
        events[alias].add(_registered(asset), extra={"source": "airflow-lineage-provider"})
        added += 1
    return added


def _registered(asset: Any) -> Any:
    """The active Airflow asset with ``asset``'s URI (whatever its name) when there is one, else ``asset``.

    Airflow matches asset events on (name, uri): an event for ``Asset(uri=u)`` would create a second,
    inactive asset named ``u`` instead of reaching the DAGs scheduled on ``Asset(name="x", uri=u)``.
    """
    from airflow.sdk import Asset

    try:
        from airflow.sdk.execution_time.comms import AssetResult, GetAssetByUri
        from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

        found = SUPERVISOR_COMMS.send(GetAssetByUri(uri=asset.uri))
    except Exception as exc:  # not in a task process, or the API is unreachable: Airflow creates the asset
        log.debug("emit_asset_events: cannot look up the asset %s: %s", asset.uri, exc)
        return asset
    if not isinstance(found, AssetResult) or found.uri != asset.uri:  # not registered yet (404)
        return asset
    return Asset(name=found.name, uri=found.uri, group=found.group, extra=found.extra or {})
