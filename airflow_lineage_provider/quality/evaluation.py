"""Evaluate a measurement against the gate's rules: value objects for per-column and overall results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from airflow_lineage_provider.quality.metrics import Measurement
from airflow_lineage_provider.quality.rules import NullRule

PASS = "pass"
WARN = "warn"
BREACH = "breach"


@attrs.frozen
class ColumnResult:
    """One column's verdict. ``null_rate`` is ``None`` when no row was evaluated."""

    column: str
    rows: int
    null_count: int
    blank_count: int | None
    counted_as_null: int
    null_rate: float | None
    max_null_rate: float
    severity: str
    blank_is_null: bool
    passed: bool

    def describe(self) -> str:
        rate = "n/a (no rows)" if self.null_rate is None else f"{self.null_rate:.4%}"
        return f"{self.column}: null rate {rate} > {self.max_null_rate:.4%} ({self.severity})"


@attrs.frozen
class RowCountResult:
    """The row-count check (``min_rows``) and the empty-table policy."""

    rows: int
    min_rows: int
    on_empty: str
    passed: bool
    severity: str


@attrs.frozen
class GateResult:
    """Everything one evaluation decided.

    ``status`` is ``pass``, ``warn`` (warn-level breaches only) or ``breach`` (an error-level breach).
    """

    table: str
    status: str
    row_count: int
    columns: tuple[ColumnResult, ...]
    row_check: RowCountResult
    sampled_percent: float | None = None
    row_filter: str | None = None

    @property
    def breaches(self) -> tuple[ColumnResult, ...]:
        return tuple(c for c in self.columns if not c.passed)

    @property
    def error_breaches(self) -> tuple[ColumnResult, ...]:
        return tuple(c for c in self.columns if not c.passed and c.severity == "error")

    def summary(self) -> str:
        """One line naming the table and what breached (for logs and alerts)."""
        parts = [c.describe() for c in self.breaches]
        if not self.row_check.passed:
            if self.row_count == 0:
                parts.insert(0, f"no rows to evaluate (on_empty={self.row_check.on_empty!r})")
            else:
                parts.insert(0, f"{self.row_count} rows < min_rows={self.row_check.min_rows}")
        scope = f" where {self.row_filter}" if self.row_filter else ""
        return f"{self.table}{scope}: {self.status}" + (f" ({'; '.join(parts)})" if parts else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (XCom, trigger events, notifier context)."""
        data = attrs.asdict(self, recurse=True)
        data["columns"] = {c["column"]: c for c in data["columns"]}
        data["breaches"] = [c.column for c in self.breaches]
        data["summary"] = self.summary()
        return data


def evaluate(
    measurement: Measurement,
    rules: Sequence[NullRule],
    *,
    table: str,
    min_rows: int = 0,
    on_empty: str = "breach",
    sampled_percent: float | None = None,
    row_filter: str | None = None,
) -> GateResult:
    """Apply ``rules`` (whose columns are the measured, catalog names) to ``measurement``.

    With no row evaluated, rates are undefined: columns pass and ``on_empty`` decides (``breach`` = an
    error-level breach, ``warn``, ``pass``); otherwise fewer than ``min_rows`` rows is an error-level breach.
    """
    rows = measurement.row_count
    results = []
    for rule in rules:
        name = rule.column
        counts = measurement.columns[name]
        blank = counts.blank if rule.blank_is_null else None
        counted = counts.null + (blank or 0)
        rate = counted / rows if rows else None
        passed = rate is None or rate <= rule.max_null_rate
        results.append(
            ColumnResult(
                column=name,
                rows=rows,
                null_count=counts.null,
                blank_count=counts.blank,
                counted_as_null=counted,
                null_rate=rate,
                max_null_rate=rule.max_null_rate,
                severity=rule.severity,
                blank_is_null=bool(rule.blank_is_null),
                passed=passed,
            )
        )
    if rows == 0:
        row_check = RowCountResult(
            rows,
            min_rows,
            on_empty,
            passed=on_empty == "pass",
            severity="warn" if on_empty == "warn" else "error",
        )
    else:
        row_check = RowCountResult(rows, min_rows, on_empty, passed=rows >= min_rows, severity="error")
    failed = [(c.severity, c.passed) for c in results] + [(row_check.severity, row_check.passed)]
    if any(not ok and severity == "error" for severity, ok in failed):
        status = BREACH
    elif any(not ok for _, ok in failed):
        status = WARN
    else:
        status = PASS
    return GateResult(
        table=table,
        status=status,
        row_count=rows,
        columns=tuple(results),
        row_check=row_check,
        sampled_percent=sampled_percent,
        row_filter=row_filter,
    )


@attrs.frozen
class GateSpec:
    """What a gate checks, once its columns are resolved: the operator and its trigger share it."""

    table: str
    rules: tuple[NullRule, ...]
    min_rows: int = 0
    on_empty: str = "breach"
    sampled_percent: float | None = None
    row_filter: str | None = None

    def evaluate(self, measurement: Measurement) -> GateResult:
        return evaluate(
            measurement,
            self.rules,
            table=self.table,
            min_rows=self.min_rows,
            on_empty=self.on_empty,
            sampled_percent=self.sampled_percent,
            row_filter=self.row_filter,
        )

    def to_dict(self) -> dict[str, Any]:
        return {**attrs.asdict(self, recurse=False), "rules": [rule.to_dict() for rule in self.rules]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateSpec:
        return cls(**{**data, "rules": tuple(NullRule(**rule) for rule in data["rules"])})
