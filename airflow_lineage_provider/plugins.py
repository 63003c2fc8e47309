"""The Airflow plugin: registers the lineage listener unless ``[lineage_provider] disabled`` is set.

Airflow imports this module in every process (scheduler, API server, task runner, CLI), so it stays cheap:
the listener module imports only pluggy at load time; everything else is imported on the first event.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)


def _listeners() -> list[Any]:
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.exceptions import ConfigError

    try:
        if conf.is_disabled():
            return []
    except ConfigError as exc:
        log.error("lineage is switched off in this process, tasks run as usual: %s", exc)
        return []
    from airflow_lineage_provider.listener import get_listener

    return [get_listener()]


class LineageProviderPlugin(AirflowPlugin):
    name = "lineage_provider"
    listeners = _listeners()
