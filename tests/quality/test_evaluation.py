"""Rules, evaluation and facets (table-driven; facets validated inside a minimal RunEvent)."""

from __future__ import annotations

import uuid
from typing import Any

import ol_schema
import pytest
from openlineage.client.serde import Serde

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import (
    ColumnCounts,
    Measurement,
    NullRule,
    evaluate,
    input_facets,
    parse_thresholds,
)
from airflow_lineage_provider.quality.rules import check_choice, check_number


def _m(rows: int, **columns: tuple[int, int | None]) -> Measurement:
    return Measurement(
        rows, {name: ColumnCounts(rows - nulls, nulls, blank) for name, (nulls, blank) in columns.items()}
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "non-empty mapping"),
        ([("a", 0.1)], "non-empty mapping"),
        ({"a": 1.5}, r"outside \[0, 1\]"),
        ({"a": -0.1}, r"outside \[0, 1\]"),
        ({"a": float("nan")}, r"outside \[0, 1\]"),
        ({"a": "0.1"}, "must be a number"),
        ({"a": True}, "must be a number"),
        ({"a": {"max_null_rate": 0.1, "severity": "fatal"}}, "unknown severity 'fatal'"),
        ({"a": {"rate": 0.1}}, "needs 'max_null_rate'"),
        ({"a": NullRule("b", 0.1)}, "rule for another column"),
        ({"": 0.1}, "non-empty strings"),
    ],
)
def test_bad_thresholds(spec: Any, message: str) -> None:
    with pytest.raises(QualityGateError, match=message):
        parse_thresholds(spec)


def test_threshold_forms_and_blank_default() -> None:
    rules = parse_thresholds(
        {
            "a": 0,
            "b": 1,
            "c": {"max_null_rate": 0.2, "severity": "warn"},
            "d": NullRule("d", 0.3, blank_is_null=False),
        },
        blank_is_null=True,
    )
    assert rules == (
        NullRule("a", 0.0, "error", True),
        NullRule("b", 1.0, "error", True),
        NullRule("c", 0.2, "warn", True),
        NullRule("d", 0.3, "error", False),
    )


def test_option_checks() -> None:
    assert check_choice("on_breach", "skip", ("pause", "skip")) == "skip"
    with pytest.raises(
        QualityGateError, match="on_breach='explode' is not a known value; use one of 'pause'"
    ):
        check_choice("on_breach", "explode", ("pause", "skip"))
    with pytest.raises(QualityGateError, match=r"sample_percent must be > 0 and <= 100, got 120"):
        check_number("sample_percent", 120, minimum=0, maximum=100, strict=True)


# fmt: off
CASES = [  # name, rows, {column: (nulls, blanks)}, rules, min_rows, on_empty -> status, per-column pass
    ("all good", 100, {"a": (5, None)}, {"a": 0.05}, 0, "breach", "pass", {"a": True}),
    ("just above", 100, {"a": (6, None)}, {"a": 0.05}, 0, "breach", "breach", {"a": False}),
    ("warn only", 100, {"a": (50, None)}, {"a": {"max_null_rate": 0.1, "severity": "warn"}}, 0, "breach",
     "warn", {"a": False}),
    ("blank counted", 10, {"a": (1, 2)}, {"a": {"max_null_rate": 0.2, "blank_is_null": True}}, 0, "breach",
     "breach", {"a": False}),
    ("blank ignored", 10, {"a": (1, 2)}, {"a": {"max_null_rate": 0.2, "blank_is_null": False}}, 0, "breach",
     "pass", {"a": True}),
    ("zero threshold", 10, {"a": (0, None)}, {"a": 0}, 0, "breach", "pass", {"a": True}),
    ("empty breach", 0, {"a": (0, None)}, {"a": 0.1}, 0, "breach", "breach", {"a": True}),
    ("empty warn", 0, {"a": (0, None)}, {"a": 0.1}, 0, "warn", "warn", {"a": True}),
    ("empty pass", 0, {"a": (0, None)}, {"a": 0.1}, 5, "pass", "pass", {"a": True}),
    ("too few rows", 3, {"a": (0, None)}, {"a": 0.1}, 5, "pass", "breach", {"a": True}),
    ("enough rows", 5, {"a": (0, None)}, {"a": 0.1}, 5, "breach", "pass", {"a": True}),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "rows", "counts", "spec", "min_rows", "on_empty", "status", "passed"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_evaluate(
    name: str, rows: int, counts: dict, spec: dict, min_rows: int, on_empty: str, status: str, passed: dict
) -> None:
    result = evaluate(
        _m(rows, **counts), parse_thresholds(spec), table="t", min_rows=min_rows, on_empty=on_empty
    )
    assert result.status == status
    assert {c.column: c.passed for c in result.columns} == passed
    if rows == 0:
        assert all(c.null_rate is None for c in result.columns)
    data = result.to_dict()
    assert data["status"] == status and set(data["columns"]) == set(passed)
    assert "t" in data["summary"]


def test_rates_are_exact_python_division() -> None:
    result = evaluate(_m(3, a=(1, None)), parse_thresholds({"a": 0.3333}), table="t")
    assert result.columns[0].null_rate == pytest.approx(1 / 3)
    assert result.status == "breach"
    assert "a: null rate 33.3333% > 33.3300% (error)" in result.summary()


def _event(facets: dict[str, Any]) -> dict[str, Any]:
    """A minimal COMPLETE RunEvent carrying the facets on one input dataset."""
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-21T07:00:00.000Z",
        "producer": "https://github.com/example/airflow-lineage-provider",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "default", "name": "dag.gate"},
        "inputs": [{"namespace": "postgres://h:5432", "name": "db.public.t", "inputFacets": facets}],
        "outputs": [],
    }


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_facets_are_valid_openlineage(name: str) -> None:
    _, rows, counts, spec, min_rows, on_empty, status, _ = next(c for c in CASES if c[0] == name)
    result = evaluate(
        _m(rows, **counts), parse_thresholds(spec), table="t", min_rows=min_rows, on_empty=on_empty
    )
    built = input_facets(result, sql="SELECT COUNT(*), COUNT(a) FROM t")
    facets = {key: Serde.to_dict(facet) for key, facet in built.items()}
    ol_schema.validate(_event(facets))
    metrics = facets["dataQualityMetrics"]
    assert metrics["rowCount"] == rows
    assert metrics["columnMetrics"]["a"]["nullCount"] == counts["a"][0]
    assertions = facets["dataQualityAssertions"]["assertions"]
    column_assertion = next(a for a in assertions if a.get("column") == "a")
    assert column_assertion["assertion"] == "max_null_rate"
    assert column_assertion["severity"] in ("error", "warn")
    assert column_assertion["contentType"] == "sql"
    if rows == 0 or min_rows:
        row_assertion = next(a for a in assertions if a["assertion"] == "row_count")
        assert row_assertion["actual"] == str(rows)
    assert all(a["success"] for a in assertions) == (status == "pass")
