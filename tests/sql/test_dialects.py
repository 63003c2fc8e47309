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
