"""The Airflow plugin: registers the lineage listener and a hook-lineage reader unless lineage is disabled,
and the template macros (``macros.lineage_provider.*``) always, so DAGs that use them never break.

Airflow imports this module in every process (scheduler, API server, task runner, CLI), so it stays cheap:
the listener module imports only pluggy at load time; everything else is imported on the first event.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)


def _enabled() -> bool:
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.exceptions import ConfigError

    try:
        return not conf.is_disabled()
    except ConfigError as exc:
        log.error("lineage is switched off in this process, tasks run as usual: %s", exc)
        return False


def _listeners() -> list[Any]:
    from airflow_lineage_provider.listener import get_listener

    return [get_listener()]


def _hook_lineage_readers() -> list[Any]:
    """Airflow's hook-lineage collector keeps SQL run through hooks only when a reader is registered."""
    from airflow_lineage_provider.extractors.hook_lineage import LineageProviderHookReader

    return [LineageProviderHookReader]


def _macros() -> list[Any]:
    from airflow_lineage_provider.macros import MACROS

    return list(MACROS)


_ENABLED = _enabled()


class LineageProviderPlugin(AirflowPlugin):
    name = "lineage_provider"
    listeners = _listeners() if _ENABLED else []
    hook_lineage_readers = _hook_lineage_readers() if _ENABLED else []
    macros = _macros()
