"""Opt-in (``[lineage_provider] emit_asset_events``): publish tables written by SQL as Airflow asset events.

Airflow records a task's asset events from what the task reports when it succeeds, and that report is sent
BEFORE the listener's success hook runs, so events added there would be lost. The outputs are therefore
registered on the START event (templates are already rendered then): the ``lineage_provider_sql_outputs``
:class:`AssetAlias` is appended to the task's outlets and each output table is added to the alias's outlet
events. Airflow turns them into asset events only if the task succeeds (creating the assets if needed).
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

    from airflow_lineage_provider.naming import DatasetId, asset_uri

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
        uri = asset_uri(DatasetId(dataset.namespace, dataset.name))
        if uri is None:
            continue
        events[alias].add(Asset(uri=uri), extra={"source": "airflow-lineage-provider"})
        added += 1
    return added
