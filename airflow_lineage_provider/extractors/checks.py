"""Results of common.sql's check operators as OpenLineage data-quality facets.

``SQLColumnCheckOperator``, ``SQLTableCheckOperator``, ``SQLCheckOperator``, ``SQLValueCheckOperator``,
``SQLIntervalCheckOperator``, ``SQLThresholdCheckOperator`` and ``BranchSQLOperator`` keep what they found
in ``check_results`` (older common.sql releases only in the ``column_mapping``/``checks`` dicts of the column
and table checks, which are read instead). On the COMPLETE and FAIL events of such a task (a failed check
fails the task after the results are kept) the SQL extractor adds:

- ``dataQualityAssertions`` on the checked table's input dataset, one assertion per check, when the check
  names its table or the SQL read exactly one table (a table the SQL analysis missed is added as an input);
- ``dataQualityMetrics`` there too for column checks that measure a count or a bound: ``null_check`` ->
  ``nullCount``, ``distinct_check`` -> ``distinctCount``, numeric ``min``/``max`` (only checks without a
  partition clause of their own, so every metric describes the same rows);
- the ``test`` run facet with every check, attributed or not (it does not depend on dataset attribution).

Check SQL is redacted as the ``sql`` facet is; bind parameter values are left out (names only); observed
values are cut to 200 characters.
"""

from __future__ import annotations

import dataclasses
import decimal
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_lineage_provider.extractors.base import OperatorLineage
    from airflow_lineage_provider.naming import DatasetId

log = logging.getLogger(__name__)

#: longest observed value (``actual``) kept in a facet: a first row can hold anything
_MAX_ACTUAL_CHARS = 200
_METRIC_OF_CHECK = {"null_check": "nullCount", "distinct_check": "distinctCount", "min": "min", "max": "max"}


@dataclasses.dataclass(frozen=True)
class CheckOutcome:
    """One check's result, whichever common.sql release produced it."""

    name: str
    check_type: str
    success: bool
    severity: str = "error"
    column: str | None = None
    table: str | None = None
    expected: str | None = None
    actual: str | None = None
    content: str | None = None
    description: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: the column check's own name (``null_check``, ``min`` ...) and raw result, for metrics
    column_check: str | None = None
    raw_result: Any = None


def outcomes(operator: Any) -> list[CheckOutcome]:
    """The checks ``operator`` ran, newest form first; [] before it ran or when it is no check operator."""
    try:
        results = getattr(operator, "check_results", None)
        if results:
            return [_from_result(r, operator) for r in results]
        return _from_dicts(operator)
    except Exception as exc:  # lineage only: a changed common.sql must not break the event
        log.debug("lineage: cannot read the check results of %s: %s", getattr(operator, "task_id", "?"), exc)
        return []


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= _MAX_ACTUAL_CHARS else text[: _MAX_ACTUAL_CHARS - 1] + "…"


def _params(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-safe parameters; bind parameters by name only (their values may be anything, secrets too)."""
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if value is None:
            continue
        if key == "parameters":
            names = list(value) if isinstance(value, Mapping) else None
            out["parameterNames" if names is not None else "parameterCount"] = (
                [str(n) for n in names] if names is not None else len(value)
            )
        elif isinstance(value, (bool, int, float, str)):
            out[key] = value
        else:
            out[key] = _text(value)
    return out


def _column_check(name: str, column: str | None) -> str | None:
    """``null_check`` from a column check's name ``<column>.null_check``."""
    if column and name.startswith(f"{column}."):
        return name[len(column) + 1 :]
    return None


def _from_result(result: Any, operator: Any) -> CheckOutcome:
    name = str(getattr(result, "name", "") or getattr(operator, "task_id", "check"))
    column = getattr(result, "column", None)
    column_check = _column_check(name, column)
    raw = None
    if column_check is not None:
        raw = getattr(operator, "column_mapping", {}).get(column, {}).get(column_check, {}).get("result")
    params = _params(getattr(result, "params", None))
    return CheckOutcome(
        name=name,
        check_type=str(getattr(result, "check_type", None) or "custom_sql"),
        success=bool(getattr(result, "success", False)),
        severity=str(getattr(result, "severity", None) or "error"),
        column=column,
        table=getattr(result, "table", None),
        expected=_text(getattr(result, "expected", None)),
        actual=_text(getattr(result, "actual", None)),
        content=getattr(result, "content", None),
        description=getattr(result, "description", None),
        params=params,
        column_check=column_check if "check_partition_clause" not in params else None,
        raw_result=raw,
    )


def _from_dicts(operator: Any) -> list[CheckOutcome]:
    """Older common.sql: results only in ``column_mapping`` (column checks) or ``checks`` (table checks)."""
    table = getattr(operator, "table", None)
    found: list[CheckOutcome] = []
    column_mapping = getattr(operator, "column_mapping", None)
    if isinstance(column_mapping, Mapping):
        for column, checks in column_mapping.items():
            for check, values in checks.items():
                if isinstance(values, Mapping) and "success" in values:
                    found.append(_from_dict(f"{column}.{check}", check, values, table, column))
    checks = getattr(operator, "checks", None)
    if isinstance(checks, Mapping):
        for check_name, values in checks.items():
            if isinstance(values, Mapping) and "success" in values:
                found.append(_from_dict(check_name, "expression_is_true", values, table, None))
    return found


def _from_dict(
    name: str, check: str, values: Mapping[str, Any], table: Any, column: str | None
) -> CheckOutcome:
    ops = {"equal_to": "", "greater_than": ">", "geq_to": ">=", "less_than": "<", "leq_to": "<="}
    expected = ", ".join(f"{op}{values[key]}" for key, op in ops.items() if values.get(key) is not None)
    if values.get("tolerance") is not None:
        expected += f" (tolerance {values['tolerance']})"
    return CheckOutcome(
        name=name,
        check_type=_old_check_type(check, values) if column else "expression_is_true",
        success=bool(values.get("success")),
        column=column,
        table=table if isinstance(table, str) else None,
        expected=expected or None,
        actual=_text(values.get("result")),
        content=values.get("check_statement"),
        params=_params({"check_partition_clause": values.get("partition_clause")}),
        column_check=check if column and "partition_clause" not in values else None,
        raw_result=values.get("result"),
    )


def _old_check_type(check: str, values: Mapping[str, Any]) -> str:
    """The newer releases' classification, where it is plain: nulls or duplicates that must be none."""
    if values.get("equal_to") == 0 and not values.get("tolerance"):
        return {"null_check": "not_null", "unique_check": "unique"}.get(check, check)
    return check


def attach(
    lineage: OperatorLineage,
    found: Iterable[CheckOutcome],
    resolve: Callable[[str], DatasetId | None],
    *,
    redact: Callable[[str], str],
    producer: str,
) -> None:
    """Add the facets for ``found`` to ``lineage`` (in place); ``resolve`` names a check's table."""
    from openlineage.client.event_v2 import InputDataset

    found = [_redacted(c, redact) for c in found]
    if not found:
        return
    by_dataset: dict[tuple[str, str], list[CheckOutcome]] = {}
    for outcome in found:
        target = _target(lineage, outcome, resolve)
        if target is not None:
            by_dataset.setdefault(target, []).append(outcome)
    for (namespace, name), checks in by_dataset.items():
        dataset = next((d for d in lineage.inputs if (d.namespace, d.name) == (namespace, name)), None)
        if dataset is None:  # the check read it, whatever the SQL analysis made of the generated SQL
            dataset = InputDataset(namespace=namespace, name=name, facets={})
            lineage.inputs.append(dataset)
        # both are input-dataset facets in the spec (they describe the data as this run read it)
        dataset.inputFacets = {**(dataset.inputFacets or {}), **_input_facets(checks, producer)}
    lineage.run_facets["test"] = _test_facet(found, producer)


def _redacted(outcome: CheckOutcome, redact: Callable[[str], str]) -> CheckOutcome:
    """The check's SQL and the SQL pieces in its parameters (partition clauses, ratio formulas) redacted."""
    params = {
        key: redact(value) if isinstance(value, str) and key.endswith(("clause", "formula")) else value
        for key, value in outcome.params.items()
    }
    content = redact(outcome.content) if outcome.content else None
    return dataclasses.replace(outcome, content=content, params=params)


def _target(
    lineage: OperatorLineage, outcome: CheckOutcome, resolve: Callable[[str], DatasetId | None]
) -> tuple[str, str] | None:
    if outcome.table:
        ident = resolve(outcome.table)
        if ident is not None:
            for dataset in lineage.inputs:  # the name as the analysis (and the search path) found it
                if dataset.namespace == ident.namespace and dataset.name.lower() == ident.name.lower():
                    return dataset.namespace, dataset.name
            if len(lineage.inputs) != 1:
                return ident.namespace, ident.name
    if len(lineage.inputs) == 1:  # a check's SQL that read one table checked that table
        only = lineage.inputs[0]
        return only.namespace, only.name
    return None


def _number(value: Any) -> float | int | None:
    """A metric value fit for JSON: ints as they are, floats and decimals finite only (a ``min`` over a
    float column can be NaN or infinite in PostgreSQL, which JSON cannot carry)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return None
    if isinstance(value, int):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def _input_facets(checks: list[CheckOutcome], producer: str) -> dict[str, Any]:
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )

    assertions = [
        Assertion(
            assertion=c.check_type,
            success=c.success,
            column=c.column,
            severity=c.severity,
            name=c.name,
            description=c.description,
            expected=c.expected,
            actual=c.actual,
            content=c.content,
            contentType="sql" if c.content else None,
            params=c.params or None,
        )
        for c in checks
    ]
    facets: dict[str, Any] = {
        "dataQualityAssertions": DataQualityAssertionsDatasetFacet(assertions=assertions, producer=producer)
    }
    metrics = _column_metrics(checks)
    if metrics:
        from openlineage.client.generated.data_quality_metrics_input_dataset import (
            ColumnMetrics,
            DataQualityMetricsInputDatasetFacet,
        )

        facets["dataQualityMetrics"] = DataQualityMetricsInputDatasetFacet(
            columnMetrics={
                column: ColumnMetrics(**values, quantiles=None) for column, values in metrics.items()
            },
            producer=producer,
        )
    return facets


def _column_metrics(checks: list[CheckOutcome]) -> dict[str, dict[str, Any]]:
    """``{column: {nullCount: ..., ...}}`` from the column checks that measured a count or a bound."""
    metrics: dict[str, dict[str, Any]] = {}
    for c in checks:
        metric = _METRIC_OF_CHECK.get(c.column_check or "")
        value = _number(c.raw_result)
        if metric is None or value is None or c.column is None:
            continue
        if metric in ("nullCount", "distinctCount"):
            if value != int(value) or value < 0:
                continue
            value = int(value)
        metrics.setdefault(c.column, {})[metric] = value
    return metrics


def _test_facet(found: list[CheckOutcome], producer: str) -> Any:
    from openlineage.client.generated.test_run import TestExecution, TestRunFacet

    return TestRunFacet(
        tests=[
            TestExecution(
                name=c.name,
                status="pass" if c.success else "fail",
                severity=c.severity,
                type=c.check_type,
                description=c.description,
                expected=c.expected,
                actual=c.actual,
                content=c.content,
                contentType="sql" if c.content else None,
                params={
                    **({"column": c.column} if c.column else {}),
                    **({"table": c.table} if c.table else {}),
                    **c.params,
                }
                or None,
            )
            for c in found
        ],
        producer=producer,
    )
