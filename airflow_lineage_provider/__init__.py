"""airflow-lineage-provider: OpenLineage lineage and quality gates for Apache Airflow 3.

Importing this package must stay cheap: Airflow imports providers and plugins in every process.
"""

from __future__ import annotations

from airflow_lineage_provider.selection import disable_lineage, enable_lineage

__all__ = ["__version__", "disable_lineage", "enable_lineage"]

__version__ = "0.1.0"

MIN_AIRFLOW_VERSION = "3.1.0"

#: the ``producer`` of every OpenLineage event and facet this package creates
PRODUCER = f"https://github.com/airflow-lineage-provider/airflow-lineage-provider/tree/{__version__}"
