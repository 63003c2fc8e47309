"""Dataset namespaces and names per the OpenLineage naming spec (table-driven)."""

from __future__ import annotations

import json
import os

import pytest
from airflow.models.connection import Connection

from airflow_lineage_provider.naming import (
    DatasetId,
    asset_uri,
    dataset_for_location,
    dataset_for_table,
    dataset_from_uri,
    default_database_schema,
    namespace_for_connection,
)
from airflow_lineage_provider.sql import TableRef


def conn(
    conn_type: str,
    host: str | None = None,
    port: int | None = None,
    schema: str | None = None,
    extra: dict | None = None,
    login: str | None = None,
    password: str | None = None,
) -> Connection:
    return Connection(
        conn_id="c",
        conn_type=conn_type,
        host=host,
        port=port,
        schema=schema,
        login=login,
        password=password,
        extra=json.dumps(extra) if extra else None,
    )


@pytest.mark.parametrize(
    ("connection", "table", "expected"),
    [
        (
            conn("postgres", "DB.example.com", None, "sales"),
            "orders",
            ("postgres://db.example.com:5432", "sales.public.orders"),
        ),
        (
            conn("postgres", "h", 5433, "sales"),
            TableRef("orders", "mart", "sales"),
            ("postgres://h:5433", "sales.mart.orders"),
        ),
        (
            conn("postgres", "h", 5432, "sales", {"options": "-c search_path=stage,public"}),
            "orders",
            ("postgres://h:5432", "sales.stage.orders"),
        ),
        (conn("postgres", "h", 5432, "sales"), 'x."MixedCase".t', ("postgres://h:5432", "x.MixedCase.t")),
        (conn("mysql", "127.0.0.1", 3306, "shop"), "orders", ("mysql://127.0.0.1:3306", "shop.orders")),
        (
            conn("mysql", "127.0.0.1", None, "shop"),
            TableRef("orders", "other"),
            ("mysql://127.0.0.1:3306", "other.orders"),
        ),
        (conn("mariadb", "m", 3307, "shop"), "t", ("mysql://m:3307", "shop.t")),
        (
            conn("redshift", "cl1.abc123.us-west-2.redshift.amazonaws.com", None, "dev"),
            "t",
            ("redshift://cl1.us-west-2:5439", "dev.public.t"),
        ),
        (
            conn("postgres", "cl1.abc123.eu-west-1.redshift.amazonaws.com", 5439, "dev"),
            "t",
            ("redshift://cl1.eu-west-1:5439", "dev.public.t"),
        ),
        (conn("mssql", "sql.local", None, "dw"), "t", ("mssql://sql.local:1433", "dw.dbo.t")),
        (
            conn("snowflake", None, None, "PUBLIC", {"account": "myorg_acct1", "database": "DB"}),
            "t",
            ("snowflake://myorg-acct1", "DB.PUBLIC.T"),
        ),
        (conn("google_cloud_platform", extra={"project": "proj"}), "ds.t", ("bigquery", "proj.ds.t")),
        (
            conn("trino", "trino.local", None, "sch", {"catalog": "hive"}),
            "t",
            ("trino://trino.local:8080", "hive.sch.t"),
        ),
        (
            conn("databricks", "adb-1.azuredatabricks.net", None, "sch", {"catalog": "main"}),
            "t",
            ("databricks://adb-1.azuredatabricks.net", "main.sch.t"),
        ),
    ],
)
def test_dataset_for_table(connection: Connection, table: TableRef | str, expected: tuple[str, str]) -> None:
    assert dataset_for_table(connection, table) == DatasetId(*expected)


def test_sqlite_namespace_is_the_resolved_file(tmp_path) -> None:
    real = tmp_path / "data" / "w.db"
    real.parent.mkdir()
    real.touch()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    relative = os.path.relpath(real)
    for host in (str(real), str(link), relative, f"file:{real}?mode=ro"):
        assert dataset_for_table(conn("sqlite", host), "Orders") == DatasetId(f"sqlite://{real}", "Orders")
    assert dataset_for_table(conn("sqlite", str(real)), TableRef("t", "main")).name == "t"
    assert dataset_for_table(conn("sqlite", str(real)), TableRef("t", "aux")).name == "aux.t"


def test_namespace_never_carries_credentials() -> None:
    c = conn("postgres", "user:secret@db.local", 5432, "x", login="u", password="pw-secret")
    assert namespace_for_connection(c) == "postgres://db.local:5432"


def test_defaults_per_source() -> None:
    assert default_database_schema(conn("postgres", "h", schema="db")) == ("db", "public")
    assert default_database_schema(conn("mysql", "h", schema="db")) == (None, "db")
    assert default_database_schema(conn("sqlite", "/x.db")) == (None, None)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgres://h/db/sch/t", ("postgres://h:5432", "db.sch.t")),
        ("postgresql://h:5433/db/sch/t", ("postgres://h:5433", "db.sch.t")),
        ("mysql://h:3307/db/t", ("mysql://h:3307", "db.t")),
        ("s3://bucket/a/b.csv", ("s3://bucket", "a/b.csv")),
        ("s3://key:secret@bucket/k", ("s3://bucket", "k")),
        ("gs://b/k", ("gs://b", "k")),
        ("gcs://b/k", ("gs://b", "k")),
        ("abfss://cont@acct.dfs.core.windows.net/p/q", ("abfss://cont@acct.dfs.core.windows.net", "p/q")),
        ("hdfs://nn:8020/user/x", ("hdfs://nn:8020", "/user/x")),
        ("file:///tmp/a.csv", ("file", "/tmp/a.csv")),
        ("bigquery://proj/ds/t", ("bigquery", "proj.ds.t")),
        ("sqlite:///tmp/w.db/orders", ("sqlite:///tmp/w.db", "orders")),
    ],
)
def test_dataset_from_uri(uri: str, expected: tuple[str, str]) -> None:
    assert dataset_from_uri(uri) == DatasetId(*expected)


def test_dataset_from_uri_rejects_non_uris() -> None:
    with pytest.raises(ValueError, match="no scheme"):
        dataset_from_uri("just-a-name")


@pytest.mark.parametrize(
    "dataset",
    [
        DatasetId("postgres://h:5432", "db.sch.t"),
        DatasetId("mysql://h:3306", "db.t"),
        DatasetId("sqlite:///tmp/w.db", "orders"),
        DatasetId("s3://bucket", "a/b.csv"),
        DatasetId("file", "/tmp/a.csv"),
    ],
)
def test_asset_uri_round_trip(dataset: DatasetId) -> None:
    uri = asset_uri(dataset)
    assert uri is not None
    assert dataset_from_uri(uri) == dataset


@pytest.mark.parametrize(
    ("connection", "table", "expected"),
    [
        # unquoted names (lower-cased by the parser) are upper case in these catalogs; quoted ones are kept
        (
            conn("snowflake", extra={"account": "a1", "database": "analytics"}),
            TableRef("orders", "raw"),
            "ANALYTICS.RAW.ORDERS",
        ),
        (
            conn("snowflake", extra={"account": "a1", "database": "DB"}),
            TableRef("Orders", "raw"),
            "DB.RAW.Orders",
        ),
        (conn("oracle", "ora", None, "svc"), TableRef("emp", "hr"), "SVC.HR.EMP"),
        (conn("postgres", "h", 5432, "sales"), TableRef("orders", "raw"), "sales.raw.orders"),  # unchanged
    ],
)
def test_upper_case_catalogs(connection: Connection, table: TableRef, expected: str) -> None:
    assert dataset_for_table(connection, table).name == expected


def test_fold_column_follows_the_catalog() -> None:
    from airflow_lineage_provider.naming import fold_column

    assert fold_column(conn("snowflake", extra={"account": "a1"}), "email") == "EMAIL"
    assert fold_column(conn("snowflake", extra={"account": "a1"}), "Email") == "Email"
    assert fold_column(conn("postgres", "h"), "email") == "email"


def test_ipv6_hosts_keep_their_brackets() -> None:
    """The same namespace from a connection and from an Asset URI, with the address bracketed as in a URI."""
    from airflow_lineage_provider.naming import dataset_from_uri, namespace_for_connection

    assert namespace_for_connection(conn("postgres", "::1", 5432, "db")) == "postgres://[::1]:5432"
    assert namespace_for_connection(conn("postgres", "[::1]", 5432, "db")) == "postgres://[::1]:5432"
    assert dataset_from_uri("postgres://[::1]:5432/db/public/t") == DatasetId(
        "postgres://[::1]:5432", "db.public.t"
    )
    assert dataset_from_uri("mysql://[FE80::1]/shop/orders").namespace == "mysql://[fe80::1]:3306"
    assert (
        namespace_for_connection(conn("postgres", "db.internal", 5432, "db")) == "postgres://db.internal:5432"
    )


@pytest.mark.parametrize(
    ("conn", "location", "expected"),
    [
        (
            Connection(conn_type="postgres", host="db.internal"),
            "s3://bucket/orders/2024/",
            ("s3://bucket", "orders/2024"),
        ),
        (Connection(conn_type="redshift", host="rs"), "s3://key:secret@bucket/k", ("s3://bucket", "k")),
        (
            Connection(conn_type="postgres", host="db.internal"),
            "/var/load/x.csv",
            ("file://db.internal", "/var/load/x.csv"),
        ),
        (Connection(conn_type="mysql", host="localhost"), "/tmp/x.csv", ("file", "/tmp/x.csv")),
        (Connection(conn_type="sqlite", host="/data/w.db"), "/tmp/x.csv", ("file", "/tmp/x.csv")),
        (Connection(conn_type="mssql", host="sql1"), "C:\\data\\x.csv", ("file://sql1", "/C:/data/x.csv")),
        (Connection(conn_type="postgres", host="h"), "orders", None),
        (Connection(conn_type="duckdb", host=""), "data/x.parquet", None),  # relative: where is unknown
        (Connection(conn_type="snowflake", host="acct"), "@stage/path", None),  # a Snowflake object
    ],
)
def test_dataset_for_location(conn: Connection, location: str, expected: tuple[str, str] | None) -> None:
    found = dataset_for_location(conn, location)
    assert (None if found is None else (found.namespace, found.name)) == expected
