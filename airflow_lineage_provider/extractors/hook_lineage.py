"""Lineage of SQL a task runs through a ``DbApiHook`` inside a @task (via the hook-lineage collector).

Stub: returns None until the implementation lands (contract in notes/INTERFACES.md).
"""

from __future__ import annotations

from typing import Any

from airflow_lineage_provider.extractors.base import OperatorLineage


def collect(context: Any, task_instance: Any) -> OperatorLineage | None:
    """Lineage collected from hooks the task used, attributed to the task; None when there is none."""
    return None
