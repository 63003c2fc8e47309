"""conn_type -> dialect map."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import dialect_for_conn_type
from airflow_lineage_provider.sql.dialects import sqlglot_dialect


@pytest.mark.parametrize(
    ("conn_type", "dialect"),
    [
        ("postgres", "postgres"),
        ("redshift", "redshift"),
        ("mysql", "mysql"),
        ("sqlite", "sqlite"),
        ("snowflake", "snowflake"),
        ("google_cloud_platform", "bigquery"),
        ("mssql", "tsql"),
        ("trino", "trino"),
        ("presto", "presto"),
        ("hiveserver2", "hive"),
        ("spark", "spark"),
        ("databricks", "databricks"),
        ("duckdb", "duckdb"),
        ("oracle", "oracle"),
        ("Postgres", "postgres"),
        ("http", None),
        ("", None),
        (None, None),
    ],
)
def test_dialect_for_conn_type(conn_type: str | None, dialect: str | None) -> None:
    assert dialect_for_conn_type(conn_type) == dialect


def test_every_mapped_dialect_is_known_to_sqlglot() -> None:
    from sqlglot.dialects.dialect import Dialect

    from airflow_lineage_provider.sql.dialects import CONN_TYPE_DIALECTS, DIALECT_ALIASES

    for name in set(DIALECT_ALIASES) | set(CONN_TYPE_DIALECTS.values()):
        read = sqlglot_dialect(name)
        if read:
            assert Dialect.get(read) is not None, name


def test_bigquery_table_names_keep_their_case() -> None:
    """BigQuery dataset and table names are case-sensitive even unquoted; CTE names, aliases and columns are
    not, and other dialects still fold unquoted names."""
    from airflow_lineage_provider.sql import analyze

    def tables(sql: str, dialect: str) -> tuple[list[str], list[str]]:
        result = analyze(sql, dialect, default_database="proj")
        return [t.qualified for t in result.inputs], [t.qualified for t in result.outputs]

    sql = (
        "INSERT INTO Reporting.Daily (region, total) WITH Recent AS (SELECT * FROM Sales.Orders) "
        "SELECT r.Region, SUM(R.amount) FROM recent AS R JOIN `Ref.Regions` AS x USING (region) GROUP BY 1"
    )
    assert tables(sql, "bigquery") == (["proj.Ref.Regions", "proj.Sales.Orders"], ["proj.Reporting.Daily"])
    assert tables(sql.replace("`Ref.Regions`", "Ref.Regions"), "postgres") == (
        ["proj.ref.regions", "proj.sales.orders"],
        ["proj.reporting.daily"],
    )
    script = "CREATE TEMP TABLE Stage AS SELECT a FROM ds.Src; INSERT INTO ds.Dst SELECT a FROM Stage"
    result = analyze(script, "bigquery", default_database="proj")
    assert [t.qualified for t in result.inputs] == ["proj.ds.Src"]
    assert [str(e.output) for e in result.column_lineage] == ["proj.ds.Dst.a"]
