"""Review 8, pure units: a very small ``sample_percent`` is written exactly; three-part names are refused
where the engine has two (MySQL/MariaDB, SQLite). The same on the real servers: tests/operators/
test_quality_gate_holds.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import ColumnSpec, build_metrics_query, dialect_for, parse_table_name


@pytest.mark.parametrize(
    ("percent", "written"),
    [
        (4e-7, "0.0000004"),
        (1e-12, "0.000000000001"),
        (12.345678901, "12.345678901"),
        (5, "5"),
        (100.0, "100"),
    ],
)
def test_sample_percent_is_written_exactly(percent: float, written: str) -> None:
    query = build_metrics_query(
        dialect_for("postgres"), parse_table_name("t"), [ColumnSpec("a")], sample_percent=percent
    )
    assert query.sql.endswith(f'FROM "t" TABLESAMPLE SYSTEM ({written})')
    mssql = build_metrics_query(
        dialect_for("mssql"), parse_table_name("t"), [ColumnSpec("a")], sample_percent=percent
    )
    assert mssql.sql.endswith(f"TABLESAMPLE ({written} PERCENT)")


@pytest.mark.parametrize("conn_type", ["mysql", "mariadb", "sqlite"])
def test_three_part_names_are_refused_where_the_engine_has_two(conn_type: str) -> None:
    dialect = dialect_for(conn_type)
    dialect.check_table(parse_table_name("db.t"), "db.t")  # two parts: fine
    with pytest.raises(QualityGateError, match=r"table 'db\.sales\.t' has 3 name parts, but .* names tables"):
        dialect.check_table(parse_table_name("db.sales.t"), "db.sales.t")


@pytest.mark.parametrize("conn_type", ["postgres", "snowflake", "mssql", "bigquery", "trino", "unknown_db"])
def test_three_part_names_stay_allowed_where_the_engine_has_three(conn_type: str) -> None:
    dialect_for(conn_type).check_table(parse_table_name("db.sales.t"), "db.sales.t")
