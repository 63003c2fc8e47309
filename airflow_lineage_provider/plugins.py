"""The Airflow plugin: registers the lineage listener when lineage is enabled (placeholder, see listener)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class LineageProviderPlugin(AirflowPlugin):
    name = "lineage_provider"
    listeners: list = []
