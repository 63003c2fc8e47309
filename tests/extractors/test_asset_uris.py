"""Asset URIs as DAG authors type them: each common scheme named per the OpenLineage naming spec (as typed
and as Airflow normalises it), Snowflake and SQLite assets named as SQL lineage names the same table, and
credentials (also with a ``/`` in the secret) that must never reach a dataset."""

from __future__ import annotations

import json

import pytest
from airflow.models.connection import Connection
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset

from airflow_lineage_provider.extractors.manual import manual_lineage
from airflow_lineage_provider.naming import DatasetId, dataset_for_table, dataset_from_uri
from airflow_lineage_provider.sql import TableRef


def declared(uri: str) -> tuple[str, str]:
    """The output dataset of an operator declaring ``Asset(uri)`` (the URI as Airflow normalises it)."""
    [dataset] = manual_lineage(EmptyOperator(task_id="t", outlets=[Asset(uri)])).outputs
    return dataset.namespace, dataset.name


# ------------------------------------------------------------------ naming of asset URIs, per scheme


#: Airflow's own warning when an Asset is given a URI with a password (it drops the user info itself): these
#: tests pass such URIs on purpose
AIRFLOW_DROPS_PASSWORD = "ignore:An Asset URI should not contain a password:UserWarning"


@pytest.mark.filterwarnings(AIRFLOW_DROPS_PASSWORD)
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # the spec names a Kafka topic without a leading '/'; with several bootstrap servers, the first one
        ("kafka://broker:9092/orders", ("kafka://broker:9092", "orders")),
        ("kafka://b1:9092,b2:9092/orders", ("kafka://b1:9092", "orders")),
        ("kafka://etl:s3cret@broker:9092/orders", ("kafka://broker:9092", "orders")),
        # a whole bucket is the root of its namespace, never an empty name
        ("s3://landing", ("s3://landing", "/")),
        ("gs://landing/", ("gs://landing", "/")),
        # s3a/s3n are Hadoop's clients of the same S3 bucket
        ("s3a://landing/raw/orders.parquet", ("s3://landing", "raw/orders.parquet")),
        ("s3n://landing/raw/orders.parquet", ("s3://landing", "raw/orders.parquet")),
        # fsspec's Azure scheme names an object key like the other object stores
        ("az://container/raw/orders.csv", ("az://container", "raw/orders.csv")),
        # Windows paths: the drive is part of the path, never a host or a scheme
        ("file:///C:/data/orders.csv", ("file", "/C:/data/orders.csv")),
        ("file://C:/data/orders.csv", ("file", "/C:/data/orders.csv")),
        ("file:///c:/data/orders.csv", ("file", "/C:/data/orders.csv")),
        ("C:\\data\\orders.csv", ("file", "/C:/data/orders.csv")),
    ],
)
def test_asset_uris_named_per_the_spec(uri: str, expected: tuple[str, str]) -> None:
    assert dataset_from_uri(uri) == DatasetId(*expected)
    assert declared(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "s3://landing/raw/",
        "gs://landing/raw/",
        "abfss://raw@acct.dfs.core.windows.net/orders/2024/",
        "hdfs://namenode:8020/user/etl/orders/",
        "file:///data/exports/",
        "s3://landing",
    ],
)
def test_a_uri_as_typed_and_as_airflow_normalises_it_are_one_dataset(uri: str) -> None:
    """Airflow drops a trailing '/' (and adds one to a bare bucket); hook lineage and ObjectStoragePath
    report URIs as typed. Both must name the same dataset."""
    assert dataset_from_uri(uri) == dataset_from_uri(Asset(uri).uri)


def test_snowflake_asset_uri_names_the_table_as_sql_lineage_does() -> None:
    """The account as a connection gives it (lower case, no domain) and unquoted names in upper case, as
    Snowflake's catalog stores them: an outlet and the SQL writing the table are one node."""
    snowflake = Connection(
        conn_id="sf", conn_type="snowflake", schema="raw", extra=json.dumps({"account": "MyOrg-MyAcct"})
    )
    from_sql = dataset_for_table(snowflake, TableRef("orders", "raw", "analytics"))
    assert from_sql == DatasetId("snowflake://myorg-myacct", "ANALYTICS.RAW.ORDERS")
    for uri in (
        "snowflake://MyOrg-MyAcct/analytics/raw/orders",
        "snowflake://myorg-myacct.snowflakecomputing.com/ANALYTICS/RAW/ORDERS",
    ):
        assert dataset_from_uri(uri) == from_sql, uri
    # a quoted mixed-case name is kept as written, as in SQL lineage
    assert dataset_from_uri("snowflake://myorg-myacct/ANALYTICS/RAW/Orders").name == "ANALYTICS.RAW.Orders"


def test_sqlite_asset_through_a_symlink_is_the_table_sql_lineage_names(tmp_path) -> None:
    """SQL lineage names a SQLite database by its resolved path; an asset URI through a symlink (or a
    ``..``) to the same file is the same dataset."""
    (tmp_path / "real").mkdir()
    database = tmp_path / "real" / "w.db"
    database.touch()
    (tmp_path / "link.db").symlink_to(database)
    link = Connection(conn_id="s", conn_type="sqlite", host=str(tmp_path / "link.db"))
    from_sql = dataset_for_table(link, "t")
    assert from_sql == DatasetId(f"sqlite://{database}", "t")
    assert dataset_from_uri(f"sqlite://{tmp_path}/link.db/t") == from_sql
    assert dataset_from_uri(f"sqlite://{tmp_path}/real/../link.db/t") == from_sql
    assert declared(f"sqlite://{tmp_path}/link.db/t") == (from_sql.namespace, from_sql.name)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "postgres://db.internal/orders/public/daily",
            ("postgres://db.internal:5432", "orders.public.daily"),
        ),
        (
            "POSTGRESQL://DB.Internal:5432/orders/public/daily",
            ("postgres://db.internal:5432", "orders.public.daily"),
        ),
        ("postgres://[::1]/orders/public/daily", ("postgres://[::1]:5432", "orders.public.daily")),
        (
            "postgres://h/orders/My%20Schema/daily%20totals",
            ("postgres://h:5432", "orders.My Schema.daily totals"),
        ),
        ("mariadb://maria/shop/items", ("mysql://maria:3306", "shop.items")),
        ("mysql://[fe80::1]:3307/shop/items", ("mysql://[fe80::1]:3307", "shop.items")),
        ("mssql://sql.internal/sales/dbo/orders", ("mssql://sql.internal:1433", "sales.dbo.orders")),
        ("trino://trino.internal/hive/raw/orders", ("trino://trino.internal:8080", "hive.raw.orders")),
        ("bigquery://my-project/raw/orders", ("bigquery", "my-project.raw.orders")),
        ("sqlite:///var/data/w.db/orders", ("sqlite:///var/data/w.db", "orders")),
        ("s3://Landing/Raw/Orders%20Q1.csv?versionId=3#part", ("s3://landing", "Raw/Orders Q1.csv")),
        ("gcs://landing/raw/ü.csv", ("gs://landing", "raw/ü.csv")),
        ("abfss://raw@acct.dfs.core.windows.net/orders", ("abfss://raw@acct.dfs.core.windows.net", "orders")),
        (
            "wasbs://raw@acct.blob.core.windows.net/orders",
            ("wasbs://raw@acct.blob.core.windows.net", "orders"),
        ),
        ("hdfs://namenode:8020/user/etl/orders", ("hdfs://namenode:8020", "/user/etl/orders")),
        ("file:///data/exports/orders.csv", ("file", "/data/exports/orders.csv")),
        ("file:data/orders.csv", ("file", "/data/orders.csv")),  # Airflow makes it file:///data/orders.csv
        ("file://fileserver/share/orders.csv", ("file://fileserver", "/share/orders.csv")),
        ("https://api.example.com/v1/orders", ("https://api.example.com", "/v1/orders")),
        ("myscheme://thing/x", ("myscheme://thing", "/x")),
    ],
)
def test_asset_uris_found_correct(uri: str, expected: tuple[str, str]) -> None:
    """Default ports, case of schemes and hosts, IPv6, percent-encoding, query strings and fragments."""
    assert declared(uri) == expected


# ------------------------------------------------------------------ credentials


SECRET_URIS = [
    "postgres://etl:Pa55word@db.internal:5432/orders/public/daily",
    "postgresql://etl:Pa55word@db.internal/orders/public/daily",
    "mysql://root:Pa55word@maria/shop/items",
    "s3://AKIAEXAMPLE:Pa55word@landing/raw/orders.csv",
    "gs://user:Pa55word@landing/raw/orders.csv",
    "abfss://raw:Pa55word@acct.dfs.core.windows.net/orders",
    "snowflake://etl:Pa55word@myorg-myacct/analytics/raw/orders",
    "kafka://etl:Pa55word@broker:9092/orders",
    "https://etl:Pa55word@api.example.com/v1/orders?api_key=Pa55word&token=Pa55word",
    "s3://landing/raw/orders.csv?X-Amz-Signature=Pa55word&X-Amz-Credential=AKIAEXAMPLE",
    "trino://trino.internal/hive/raw/orders?password=Pa55word",
    "myscheme://etl:Pa55word@thing/x?secret=Pa55word",
    "file://etl:Pa55word@fileserver/share/orders.csv",
]


@pytest.mark.filterwarnings(AIRFLOW_DROPS_PASSWORD)
@pytest.mark.parametrize("uri", SECRET_URIS)
def test_secrets_never_reach_a_dataset(uri: str) -> None:
    namespace, name = declared(uri)
    assert "Pa55word" not in namespace + name and "AKIAEXAMPLE" not in namespace + name


@pytest.mark.filterwarnings(AIRFLOW_DROPS_PASSWORD)
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        # AWS secret keys often contain '/', which Airflow keeps in the URI as typed: the asset used to be
        # dropped (an invalid port) or, with digits before the '/', named with the rest of the secret
        ("s3://AKIAEXAMPLE:wJalr/XUtnFEMI@landing/raw/orders.csv", ("s3://landing", "raw/orders.csv")),
        ("s3://AKIAEXAMPLE:2024/XUtnFEMI@landing/raw/orders.csv", ("s3://landing", "raw/orders.csv")),
        ("gs://etl:pa/ss@landing/raw/orders.csv", ("gs://landing", "raw/orders.csv")),
        (
            "abfss://raw:key/abc==@acct.dfs.core.windows.net/orders",
            ("abfss://raw@acct.dfs.core.windows.net", "orders"),
        ),
        ("https://etl:pa/ss@api.example.com/v1/orders", ("https://api.example.com", "/v1/orders")),
        ("kafka://etl:pa/ss@broker:9092/orders", ("kafka://broker:9092", "orders")),
        # a port then a path with an '@' is no credential
        ("https://api.example.com:8443/v1/a@b.com", ("https://api.example.com:8443", "/v1/a@b.com")),
        ("s3://landing/emails/a@b.com.csv", ("s3://landing", "emails/a@b.com.csv")),
    ],
)
def test_secrets_with_a_slash_never_reach_a_dataset(uri: str, expected: tuple[str, str]) -> None:
    assert dataset_from_uri(uri) == DatasetId(*expected)
    assert declared(uri) == expected
