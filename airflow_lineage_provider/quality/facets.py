"""OpenLineage input-dataset facets of a gate result: ``dataQualityMetrics``, ``dataQualityAssertions``."""

from __future__ import annotations

from typing import Any

from airflow_lineage_provider import PRODUCER
from airflow_lineage_provider.quality.evaluation import GateResult


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def input_facets(result: GateResult, *, sql: str | None = None) -> dict[str, Any]:
    """The two facets for the measured table (openlineage-python objects, keyed by facet name).

    ``nullCount`` is the SQL NULL count and ``count`` the number of non-null values; when blank strings
    count as nulls, the assertion's ``actual`` rate includes them and ``params`` carries ``blankCount``.
    """
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )
    from openlineage.client.generated.data_quality_metrics_input_dataset import (
        ColumnMetrics,
        DataQualityMetricsInputDatasetFacet,
    )

    metrics = DataQualityMetricsInputDatasetFacet(
        rowCount=result.row_count,
        columnMetrics={
            c.column: ColumnMetrics(nullCount=c.null_count, count=c.rows - c.null_count, quantiles=None)
            for c in result.columns
        },
        producer=PRODUCER,
    )
    assertions = [
        Assertion(
            assertion="max_null_rate",
            success=c.passed,
            column=c.column,
            severity=c.severity,
            name=f"{c.column}_max_null_rate",
            description=f"at most {c.max_null_rate:.6g} of the rows are null"
            + (" or blank" if c.blank_is_null else ""),
            expected=_rate(c.max_null_rate),
            actual=_rate(c.null_rate),
            content=sql,
            contentType="sql" if sql else None,
            params={
                "rows": c.rows,
                "nullCount": c.null_count,
                "countedAsNull": c.counted_as_null,
                **({"blankCount": c.blank_count} if c.blank_count is not None else {}),
                "blankIsNull": c.blank_is_null,
            },
        )
        for c in result.columns
    ]
    check = result.row_check
    if check.min_rows or result.row_count == 0:
        assertions.append(
            Assertion(
                assertion="row_count",
                success=check.passed,
                severity=check.severity,
                name="min_rows" if result.row_count else "not_empty",
                expected=f">= {max(check.min_rows, 1)}",
                actual=str(result.row_count),
                params={"onEmpty": check.on_empty, "minRows": check.min_rows},
            )
        )
    return {
        "dataQualityMetrics": metrics,
        "dataQualityAssertions": DataQualityAssertionsDatasetFacet(assertions=assertions, producer=PRODUCER),
    }


def run_facets(result: GateResult, *, sql: str | None = None) -> dict[str, Any]:
    """The ``test`` run facet: the same checks as the assertions, for consumers that read run-level tests."""
    from openlineage.client.generated.test_run import TestExecution, TestRunFacet

    assertions = input_facets(result, sql=sql)["dataQualityAssertions"].assertions
    tests = [
        TestExecution(
            name=a.name or a.assertion,
            status="pass" if a.success else "fail",
            severity=a.severity,
            type=a.assertion,
            description=a.description,
            expected=a.expected,
            actual=a.actual,
            content=a.content,
            contentType=a.contentType,
            params={**({"column": a.column} if a.column else {}), **(a.params or {})} or None,
        )
        for a in assertions
    ]
    return {"test": TestRunFacet(tests=tests, producer=PRODUCER)}
