"""Pure quality-gate logic (no Airflow import): the one-scan metrics query, rules, evaluation, facets."""

from __future__ import annotations

from airflow_lineage_provider.quality.dialects import (
    NamePart,
    QualityDialect,
    dialect_for,
    parse_table_name,
    quoting_probe,
)
from airflow_lineage_provider.quality.evaluation import (
    ColumnResult,
    GateResult,
    GateSpec,
    RowCountResult,
    evaluate,
)
from airflow_lineage_provider.quality.facets import input_facets, run_facets
from airflow_lineage_provider.quality.filters import validate_row_filter
from airflow_lineage_provider.quality.metrics import (
    ColumnCounts,
    ColumnSpec,
    Measurement,
    MetricsQuery,
    build_metrics_query,
    probe_query,
    resolve_columns,
)
from airflow_lineage_provider.quality.rules import (
    ON_BREACH_MODES,
    ON_EMPTY_POLICIES,
    NullRule,
    parse_thresholds,
    read_thresholds,
)

__all__ = [
    "ON_BREACH_MODES",
    "ON_EMPTY_POLICIES",
    "ColumnCounts",
    "ColumnResult",
    "ColumnSpec",
    "GateResult",
    "GateSpec",
    "Measurement",
    "MetricsQuery",
    "NamePart",
    "NullRule",
    "QualityDialect",
    "RowCountResult",
    "build_metrics_query",
    "dialect_for",
    "evaluate",
    "input_facets",
    "parse_table_name",
    "parse_thresholds",
    "probe_query",
    "quoting_probe",
    "read_thresholds",
    "resolve_columns",
    "run_facets",
    "validate_row_filter",
]
