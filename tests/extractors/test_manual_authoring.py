"""Manual lineage as DAG authors write it: credentials in namespaces (also with a ``/`` in the secret),
entries that are not datasets (a plain string for a list), asset references resolved by URI, and declared
and SQL lineage on one operator."""

from __future__ import annotations

import logging

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, AssetAlias
from lineage_helpers import run_dag
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset

from airflow_lineage_provider.extractors.manual import inputs_from, manual_lineage, outputs_from

from .conftest import Warehouse
from .events import by_job, datasets


def names(found) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in found]


def test_credentials_in_an_openlineage_dataset_namespace_are_dropped():
    """A namespace copied from a connection URI keeps no secret; an Azure container (the user part) stays."""
    given = [
        Dataset(namespace="postgres://etl:s3cret@db.internal:5432", name="orders.public.orders"),
        InputDataset(namespace="s3://AKIAEXAMPLE:wJalrXUtnFEMI@landing", name="orders.csv"),
        Dataset(namespace="abfss://raw:accountkey==@acct.dfs.core.windows.net", name="orders/2024"),
        Dataset(namespace="kafka://broker:9092", name="orders"),
    ]
    found = inputs_from(given)
    assert names(found) == [
        ("postgres://db.internal:5432", "orders.public.orders"),
        ("s3://landing", "orders.csv"),
        ("abfss://raw@acct.dfs.core.windows.net", "orders/2024"),
        ("kafka://broker:9092", "orders"),
    ]
    untouched = OutputDataset(namespace="bigquery", name="p.d.t")
    assert outputs_from([untouched])[0] is untouched


def test_entries_that_are_not_datasets_are_reported(caplog: pytest.LogCaptureFixture):
    """A plain string or a task reference in inlets/outlets is a mistake: one warning naming it and an
    extractionError run facet; aliases and name-only assets are fine and stay silent; secrets never show."""
    upstream = EmptyOperator(task_id="extract")
    operator = EmptyOperator(
        task_id="load",
        inlets=[upstream, Asset("s3://landing/orders.csv")],
        outlets=[
            "postgres://etl:s3cret@warehouse:5432/dw/public/orders",
            AssetAlias("any_alias"),
            Asset(name="just_a_name"),
        ],
    )
    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        lineage = manual_lineage(operator)
    assert names(lineage.inputs) == [("s3://landing", "orders.csv")]
    assert lineage.outputs == []
    facet = lineage.run_facets["extractionError"]
    messages = [error.errorMessage for error in facet.errors]
    assert len(messages) == 2
    assert "inlets" in messages[0] and "EmptyOperator" in messages[0] and "extract" in messages[0]
    assert "outlets" in messages[1] and "str" in messages[1] and "Asset(" in messages[1]
    text = caplog.text + repr(facet)
    assert "s3cret" not in text
    assert "extract" in caplog.text and "outlets" in caplog.text


def test_only_aliases_and_name_only_assets_give_no_error():
    operator = EmptyOperator(task_id="t3", outlets=[AssetAlias("alias"), Asset(name="just_a_name")])
    lineage = manual_lineage(operator)
    assert lineage.outputs == [] and lineage.run_facets == {}


CREDENTIALS_DAG = """
import datetime
from airflow.sdk import DAG, Asset, task
from openlineage.client.event_v2 import Dataset

with DAG("lp_manual_authoring", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task(
        inlets=[Dataset(namespace="postgres://etl:s3cret@warehouse:5432", name="dw.public.orders")],
        outlets=["s3://etl:s3cret@exports/orders.csv", Asset("s3://exports/orders.parquet")],
    )
    def export():
        return 1

    export()
"""


@pytest.mark.airflow
def test_authoring_mistakes_in_a_real_dag(lineage_events, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING):
        assert run_dag(CREDENTIALS_DAG, "lp_manual_authoring").state == "success"
    events = lineage_events()
    for event_type in ("START", "COMPLETE"):
        event = by_job(events, "lp_manual_authoring.export", event_type)
        assert datasets(event, "inputs") == {("postgres://warehouse:5432", "dw.public.orders")}
        assert datasets(event, "outputs") == {("s3://exports", "orders.parquet")}
        [error] = event["run"]["facets"]["extractionError"]["errors"]
        assert "outlets" in error["errorMessage"] and "str" in error["errorMessage"]
    assert "s3cret" not in str(events)
    assert "s3cret" not in caplog.text


BOTH_ERRORS = """
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG("lp_both_errors", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(
        task_id="load", conn_id={conn_id!r}, sql="SELEC name FROM customers",
        inlets=["s3://landing/orders.csv"],
    )
"""


def test_errors_of_the_sql_and_of_the_declared_lineage_are_both_reported(sqlite_warehouse, lineage_events):
    """A statement that does not parse and an inlet that is not an Asset: the event's extractionError facet
    lists both (one used to overwrite the other)."""
    run_dag(BOTH_ERRORS.format(conn_id=sqlite_warehouse.conn_id), "lp_both_errors")
    fail = by_job(lineage_events(), "lp_both_errors.load", "FAIL")
    messages = [e["errorMessage"] for e in fail["run"]["facets"]["extractionError"]["errors"]]
    assert any("inlets entry" in m for m in messages), messages
    assert any("SELEC" in m or "parse" in m.lower() for m in messages), messages


def test_secrets_with_a_slash_never_reach_a_declared_namespace() -> None:
    given = [
        Dataset(namespace="s3://AKIAEXAMPLE:wJalr/XUtnFEMI@landing", name="raw/orders.csv"),
        Dataset(namespace="postgres://etl:pa/ss@db.internal:5432", name="orders.public.daily"),
        Dataset(namespace="postgres://etl:pa@ss@db.internal:5432", name="orders.public.daily"),
        Dataset(namespace="abfss://raw:key/abc==@acct.dfs.core.windows.net", name="orders"),
        Dataset(namespace="kafka://b1:9092,b2:9092", name="orders"),
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
