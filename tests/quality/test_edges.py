"""Edge cases of rules and of the SQL built for engines without a local server (table-driven, pure)."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import (
    ColumnCounts,
    ColumnSpec,
    Measurement,
    NullRule,
    build_metrics_query,
    dialect_for,
    evaluate,
    parse_table_name,
    parse_thresholds,
)


@pytest.mark.parametrize(
    ("rows", "nulls", "blanks", "threshold", "passed"),
    [
        (4, 1, None, 0.25, True),  # exactly at the threshold passes
        (10, 3, None, 0.3, True),
        (100, 7, None, 0.07, True),
        (3, 1, None, 1 / 3, True),
        (100, 8, None, 0.07, False),
        (5, 0, None, 0.0, True),
        (5, 1, None, 0.0, False),
        (5, 5, None, 1.0, True),  # 1 accepts a column of nulls only
        (4, 1, 1, 0.5, True),  # blanks count: 2 / 4
        (4, 2, 1, 0.5, False),  # 3 / 4
    ],
)
def test_rate_against_threshold_boundaries(
    rows: int, nulls: int, blanks: int | None, threshold: float, passed: bool
) -> None:
    measurement = Measurement(rows, {"c": ColumnCounts(rows - nulls, nulls, blanks)})
    rule = NullRule("c", threshold, blank_is_null=blanks is not None)
    [column] = evaluate(measurement, [rule], table="t").columns
    assert column.passed is passed
    assert column.null_rate == (nulls + (blanks or 0)) / rows


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.05"), 0.05),
        (Fraction(1, 4), 0.25),
        (0, 0.0),
        (1, 1.0),
        ({"max_null_rate": Decimal("1")}, 1.0),
    ],
)
def test_any_real_number_is_a_rate_and_serialises_as_a_float(value: Any, expected: float) -> None:
    [rule] = parse_thresholds({"c": value})
    assert rule.max_null_rate == expected and type(rule.max_null_rate) is float
    json.dumps(rule.to_dict())  # rules travel to the trigger and XCom as JSON
    assert NullRule("c", Decimal("0.5")).max_null_rate == 0.5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("inf"), r"outside \[0, 1\]"),
        (float("-inf"), r"outside \[0, 1\]"),
        (Decimal("NaN"), r"outside \[0, 1\]"),
        (Decimal("1.01"), r"outside \[0, 1\]"),
        (False, "must be a number"),
        ("0.5", "must be a number"),
        (None, "must be a number"),
        (1j, "must be a number"),
        ({"max_null_rate": "0.5"}, "must be a number"),
        ({"max_null_rate": True}, "must be a number"),
    ],
)
def test_bad_rates_name_the_column(value: Any, message: str) -> None:
    with pytest.raises(QualityGateError, match=rf"null_thresholds\['c'\].*{message}"):
        parse_thresholds({"c": value})


@pytest.mark.parametrize(
    ("conn_type", "sql"),
    [
        (
            "snowflake",
            'SELECT COUNT(*), COUNT("ORDER"), COUNT("Mixed"), '
            "COUNT(CASE WHEN TRIM(CAST(\"Mixed\" AS VARCHAR)) = '' THEN 1 END) "
            'FROM "DB"."SALES"."Orders" SAMPLE SYSTEM (10) WHERE (ds = \'2024-01-01\')',
        ),
        (
            "bigquery",
            "SELECT COUNT(*), COUNT(`ORDER`), COUNT(`Mixed`), "
            "COUNT(CASE WHEN TRIM(CAST(`Mixed` AS STRING)) = '' THEN 1 END) "
            "FROM `db`.`sales`.`Orders` TABLESAMPLE SYSTEM (10 PERCENT) WHERE (ds = '2024-01-01')",
        ),
        (
            # Oracle stores '' as NULL and TRIM('  ') is NULL: "= ''" would never be true there
            "oracle",
            'SELECT COUNT(*), COUNT("ORDER"), COUNT("Mixed"), '
            'COUNT(CASE WHEN "Mixed" IS NOT NULL AND TRIM(TO_CHAR("Mixed")) IS NULL THEN 1 END) '
            'FROM "DB"."SALES"."Orders" SAMPLE BLOCK (10) WHERE (ds = \'2024-01-01\')',
        ),
    ],
)
def test_generated_sql_for_engines_without_a_local_server(conn_type: str, sql: str) -> None:
    query = build_metrics_query(
        dialect_for(conn_type),
        parse_table_name('db.sales."Orders"'),
        [ColumnSpec("ORDER"), ColumnSpec("Mixed", count_blank=True)],  # catalog names, as resolved
        row_filter=" ds = '2024-01-01' ",
        sample_percent=10,
    )
    assert query.sql == sql
    assert not query.counts_nulls and query.setup == ()
    assert query.parse((10, 9, 7, 2)).columns["Mixed"] == ColumnCounts(non_null=7, null=3, blank=2)
