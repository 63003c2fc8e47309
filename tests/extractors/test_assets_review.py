"""Review of inlets/outlets and Airflow assets as experienced DAG authors use them.

Asset URIs of every common scheme (as typed and as Airflow normalises them), credentials that must never
reach a dataset, asset references and aliases resolved at run time, manual + SQL lineage on one operator,
odd dataset names with facets, and a task with a thousand outlets under ``max_event_bytes``.
"""

from __future__ import annotations

import json
import logging

import pytest
from airflow.models.connection import Connection
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset
from lineage_helpers import reset_lineage, run_dag
from openlineage.client.event_v2 import Dataset as OLDataset

from airflow_lineage_provider.extractors.manual import inputs_from, manual_lineage
from airflow_lineage_provider.naming import DatasetId, dataset_for_table, dataset_from_uri
from airflow_lineage_provider.sql import TableRef

from .conftest import Warehouse
from .events import by_job, datasets


def declared(uri: str) -> tuple[str, str]:
    """The output dataset of an operator declaring ``Asset(uri)`` (the URI as Airflow normalises it)."""
    [dataset] = manual_lineage(EmptyOperator(task_id="t", outlets=[Asset(uri)])).outputs
    return dataset.namespace, dataset.name


# ------------------------------------------------------------------ naming of asset URIs, per scheme


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


@pytest.mark.parametrize("uri", SECRET_URIS)
def test_secrets_never_reach_a_dataset(uri: str) -> None:
    namespace, name = declared(uri)
    assert "Pa55word" not in namespace + name and "AKIAEXAMPLE" not in namespace + name


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


def test_secrets_with_a_slash_never_reach_a_declared_namespace() -> None:
    given = [
        OLDataset(namespace="s3://AKIAEXAMPLE:wJalr/XUtnFEMI@landing", name="raw/orders.csv"),
        OLDataset(namespace="postgres://etl:pa/ss@db.internal:5432", name="orders.public.daily"),
        OLDataset(namespace="postgres://etl:pa@ss@db.internal:5432", name="orders.public.daily"),
        OLDataset(namespace="abfss://raw:key/abc==@acct.dfs.core.windows.net", name="orders"),
        OLDataset(namespace="kafka://b1:9092,b2:9092", name="orders"),
    ]
    assert [(d.namespace, d.name) for d in inputs_from(given)] == [
        ("s3://landing", "raw/orders.csv"),
        ("postgres://db.internal:5432", "orders.public.daily"),
        ("postgres://db.internal:5432", "orders.public.daily"),
        ("abfss://raw@acct.dfs.core.windows.net", "orders"),
        ("kafka://b1:9092,b2:9092", "orders"),
    ]


def test_a_plain_string_is_one_mistake_not_one_per_character(caplog: pytest.LogCaptureFixture) -> None:
    """Airflow turns ``outlets="s3://..."`` into a list of characters: that used to be reported as one error
    per character, which also spelled a secret out one character at a time (past the URI redaction)."""
    operator = EmptyOperator(
        task_id="t", inlets="auto", outlets="postgres://etl:Pa55word@db.internal/orders/public/daily"
    )
    assert len(operator.outlets) > 1  # what Airflow does with a string
    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        lineage = manual_lineage(operator)
    assert lineage.inputs == [] and lineage.outputs == []
    messages = [error.errorMessage for error in lineage.run_facets["extractionError"].errors]
    assert len(messages) == 2, messages
    assert "'auto'" in messages[0] and "Airflow 3" in messages[0]
    assert "Asset(" in messages[1] and "db.internal" in messages[1]
    assert "Pa55word" not in "".join(messages) + caplog.text
    assert "P', 'a', '5" not in caplog.text


def test_asset_uri_reference_is_a_dataset() -> None:
    lineage = manual_lineage(
        EmptyOperator(task_id="t", inlets=[Asset.ref(uri="s3://landing/raw/orders.csv")])
    )
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://landing", "raw/orders.csv")]
    assert lineage.run_facets == {}


# ------------------------------------------------------------------ real DAG runs


ALIAS_DAG = """
import datetime
from airflow.sdk import DAG, Asset, AssetAlias, task
from airflow.providers.standard.operators.empty import EmptyOperator

EXPORTS = AssetAlias("lp_review_exports")
DAILY = Asset(name="lp_review_daily", uri="postgres://db.internal/orders/public/daily_revenue")

with DAG("lp_review_alias", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task(outlets=[EXPORTS])
    def export(*, outlet_events=None):
        outlet_events[EXPORTS].add(Asset("s3://exports/2024/orders.csv"))
        outlet_events[EXPORTS].add(Asset(name="lp_review_totals", uri="gs://exports/totals.csv"))

    define = EmptyOperator(task_id="define", outlets=[DAILY])
    by_name = EmptyOperator(
        task_id="by_name",
        inlets=[Asset.ref(name="lp_review_daily")],
        outlets=[Asset.ref(name="lp_review_no_such_asset")],
    )
    export() >> define >> by_name
"""


@pytest.mark.airflow
def test_assets_added_to_an_alias_at_run_time_are_outputs(lineage_events) -> None:
    """``outlet_events[alias].add(Asset(...))``: the concrete assets are the task's outputs on COMPLETE
    (unknown at START); an asset referenced by name is the dataset of its URI, an unknown name nothing."""
    assert run_dag(ALIAS_DAG, "lp_review_alias").state == "success"
    events = lineage_events()
    start = by_job(events, "lp_review_alias.export", "START")
    complete = by_job(events, "lp_review_alias.export", "COMPLETE")
    assert datasets(start, "outputs") == set()
    assert datasets(complete, "outputs") == {
        ("s3://exports", "2024/orders.csv"),
        ("gs://exports", "totals.csv"),
    }
    for event_type in ("START", "COMPLETE"):
        event = by_job(events, "lp_review_alias.by_name", event_type)
        assert datasets(event, "inputs") == {("postgres://db.internal:5432", "orders.public.daily_revenue")}
        assert datasets(event, "outputs") == set()
        assert "extractionError" not in event["run"]["facets"]


MIXED_DAG = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(
        task_id="load", conn_id={conn_id!r},
        sql="INSERT INTO big_orders (order_id, customer, amount) "
            "SELECT o.id, c.name, o.amount FROM orders AS o JOIN customers AS c ON c.id = o.customer_id",
        inlets=[Asset({orders!r}), Asset("s3://landing/orders.csv")],
        outlets=[Asset({big_orders!r})],
    )
"""


@pytest.mark.airflow
@pytest.mark.integration
@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_declared_and_sql_lineage_on_one_operator_merge(kind: str, request, lineage_events) -> None:
    """A table both declared and found by SQL is one dataset that keeps the SQL facets; what only the
    declaration knows (a file) is added. The asset URIs leave the default port out, or spell the scheme
    ``mariadb``."""
    wh: Warehouse = request.getfixturevalue(f"{kind}_warehouse")
    if kind == "postgres":
        schema = wh.prefix.split(".")[1]
        orders = f"postgres://127.0.0.1/test/{schema}/orders"
        big_orders = f"postgres://127.0.0.1:5432/test/{schema}/big_orders"
    else:
        orders = f"mariadb://127.0.0.1/{wh.conn_id}/orders"
        big_orders = f"mysql://127.0.0.1:3306/{wh.conn_id}/big_orders"
    dag_id = f"lp_review_mixed_{wh.conn_id}"
    source = MIXED_DAG.format(dag_id=dag_id, conn_id=wh.conn_id, orders=orders, big_orders=big_orders)
    assert run_dag(source, dag_id).state == "success"
    complete = by_job(lineage_events(), f"{dag_id}.load", "COMPLETE")
    inputs = [(d["namespace"], d["name"]) for d in complete["inputs"]]
    outputs = [(d["namespace"], d["name"]) for d in complete["outputs"]]
    assert sorted(inputs) == sorted([wh.ds("orders"), wh.ds("customers"), ("s3://landing", "orders.csv")])
    assert outputs == [wh.ds("big_orders")]
    assert "columnLineage" in complete["outputs"][0]["facets"]
    assert "schema" in complete["outputs"][0]["facets"]


ODD_NAMES_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset

NAMES = ['db.sch."Odd ""quoted"" name"', "db.sch.with space", "db.sch.données_été", "db.sch.表"]

def dataset(name):
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name='col "x" ü', type="text")]
    )
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        'col "x" ü': column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(namespace="s3://in put", name="a b/ç.csv", field="c d")
            ],
            transformationDescription="", transformationType="",
        )
    })
    facets = {"schema": schema, "columnLineage": lineage}
    return Dataset(namespace="postgres://h:5432", name=name, facets=facets)

with DAG("lp_review_odd_names", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="odd", outlets=[dataset(n) for n in NAMES])
"""


@pytest.mark.airflow
def test_facets_of_datasets_with_odd_names_stay_valid(lineage_events) -> None:
    """Quotes, spaces and non-ASCII names with schema and columnLineage facets: every event validates
    against the OpenLineage schemas (``lineage_events`` checks) and keeps names and facets as given."""
    assert run_dag(ODD_NAMES_DAG, "lp_review_odd_names").state == "success"
    complete = by_job(lineage_events(), "lp_review_odd_names.odd", "COMPLETE")
    names = [d["name"] for d in complete["outputs"]]
    assert names == ['db.sch."Odd ""quoted"" name"', "db.sch.with space", "db.sch.données_été", "db.sch.表"]
    for output in complete["outputs"]:
        [column] = output["facets"]["schema"]["fields"]
        assert (column["name"], column["type"]) == ('col "x" ü', "text")
        [field] = output["facets"]["columnLineage"]["fields"]['col "x" ü']["inputFields"]
        assert (field["namespace"], field["name"], field["field"]) == ("s3://in put", "a b/ç.csv", "c d")


MANY_DAG = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import schema_dataset

def with_schema(i):
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=f"column_{i}", type="text")]
    )
    return Dataset(namespace="postgres://h:5432", name=f"db.sch.table_{i}", facets={"schema": schema})

with DAG("lp_review_many", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="assets", outlets=[Asset(f"s3://bucket/part-{i:05d}.parquet") for i in range(1000)])
    EmptyOperator(task_id="with_facets", outlets=[with_schema(i) for i in range(1000)])
"""


@pytest.fixture
def many_outlets_events(lineage_events, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__MAX_EVENT_BYTES", "20000")
    reset_lineage()
    assert run_dag(MANY_DAG, "lp_review_many").state == "success"
    return lineage_events()


@pytest.mark.airflow
def test_a_thousand_outlets_stay_under_the_size_cap(many_outlets_events: list[dict]) -> None:
    for event_type in ("START", "COMPLETE"):
        event = by_job(many_outlets_events, "lp_review_many.assets", event_type)
        assert len(json.dumps(event).encode()) <= 20000
        kept = len(event["outputs"])
        assert 0 < kept < 1000
        assert event["outputs"][0]["name"] == "part-00000.parquet"  # the first ones are kept, in order
        trimmed = event["run"]["facets"]["lineageProviderTrimmed"]
        assert f"outputs[{kept}:1000]" in trimmed["dropped"]


@pytest.mark.airflow
def test_a_thousand_outlets_with_facets_stay_under_the_size_cap(many_outlets_events: list[dict]) -> None:
    for event_type in ("START", "COMPLETE"):
        event = by_job(many_outlets_events, "lp_review_many.with_facets", event_type)
        assert len(json.dumps(event).encode()) <= 20000
        trimmed = event["run"]["facets"]["lineageProviderTrimmed"]
        assert len(trimmed["dropped"]) <= 21  # counted by kind, not listed one by one
        assert any(d.startswith("outputs[*].facets.") and " x" in d for d in trimmed["dropped"])
