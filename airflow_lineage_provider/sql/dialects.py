"""Dialect names: what users and Airflow call them -> the sqlglot dialect the engine parses with."""

from __future__ import annotations

#: accepted dialect names (lower-case) -> sqlglot dialect ("" = sqlglot's generic dialect)
DIALECT_ALIASES: dict[str, str] = {
    "generic": "",
    "ansi": "",
    "postgres": "postgres",
    "postgresql": "postgres",
    "greenplum": "postgres",
    "materialize": "materialize",
    "vertica": "postgres",
    "redshift": "redshift",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "tsql": "tsql",
    "mssql": "tsql",
    "sqlserver": "tsql",
    "azuresql": "tsql",
    "trino": "trino",
    "presto": "presto",
    "athena": "athena",
    "hive": "hive",
    "spark": "spark",
    "sparksql": "spark",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "oracle": "oracle",
    "teradata": "teradata",
    "db2": "",
    "exasol": "exasol",
    "clickhouse": "clickhouse",
    "doris": "doris",
    "starrocks": "starrocks",
    "dremio": "dremio",
}

#: Airflow connection type -> engine dialect name
CONN_TYPE_DIALECTS: dict[str, str] = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "redshift": "redshift",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "snowflake": "snowflake",
    "google_cloud_platform": "bigquery",
    "gcpbigquery": "bigquery",
    "bigquery": "bigquery",
    "mssql": "tsql",
    "odbc": "tsql",
    "trino": "trino",
    "presto": "presto",
    "athena": "athena",
    "aws": "athena",
    "hive_cli": "hive",
    "hiveserver2": "hive",
    "hive_metastore": "hive",
    "spark": "spark",
    "spark_sql": "spark",
    "spark_connect": "spark",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "oracle": "oracle",
    "teradata": "teradata",
    "vertica": "postgres",
    "exasol": "exasol",
    "clickhouse": "clickhouse",
    "impala": "hive",
}


def dialect_for_conn_type(conn_type: str | None) -> str | None:
    """Airflow ``conn_type`` -> engine dialect name, or None when unknown (generic parsing)."""
    if not conn_type:
        return None
    return CONN_TYPE_DIALECTS.get(conn_type.strip().lower().replace("-", "_"))


def sqlglot_dialect(dialect: str | None) -> str:
    """Engine dialect name -> sqlglot dialect name ("" = generic); unknown names fall back to generic."""
    if not dialect:
        return ""
    return DIALECT_ALIASES.get(dialect.strip().lower(), "")
