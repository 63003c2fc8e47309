"""Manual lineage: inlets/outlets given as Airflow Assets or OpenLineage Datasets become datasets."""

from __future__ import annotations

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, AssetAlias
from lineage_helpers import run_dag, summary
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
from openlineage.client.facet_v2 import schema_dataset

from airflow_lineage_provider.extractors.manual import inputs_from, manual_lineage, outputs_from


def names(datasets) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def test_assets_are_named_per_the_naming_spec():
    operator = EmptyOperator(
        task_id="t",
        inlets=[
            Asset("postgres://db.example.com:5432/analytics/public/orders"),
            Asset("s3://raw-bucket/events/2024/01/01.json"),
            Asset("file:///data/in.csv"),
        ],
        outlets=Asset("mysql://mariadb:3306/shop/items"),
    )
    lineage = manual_lineage(operator)
    assert names(lineage.inputs) == [
        ("postgres://db.example.com:5432", "analytics.public.orders"),
        ("s3://raw-bucket", "events/2024/01/01.json"),
        ("file", "/data/in.csv"),
    ]
    assert names(lineage.outputs) == [("mysql://mariadb:3306", "shop.items")]
    assert all(isinstance(d, InputDataset) for d in lineage.inputs)
    assert all(isinstance(d, OutputDataset) for d in lineage.outputs)


def test_openlineage_datasets_are_taken_as_they_are():
    facet = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id")])
    given = Dataset(namespace="kafka://broker:9092", name="orders-topic", facets={"schema": facet})
    already = OutputDataset(namespace="bigquery", name="p.d.t")
    assert names(inputs_from([given])) == [("kafka://broker:9092", "orders-topic")]
    assert inputs_from([given])[0].facets == {"schema": facet}
    assert outputs_from([already])[0] is already


def test_aliases_and_name_only_assets_are_ignored():
    operator = EmptyOperator(task_id="t2", outlets=[AssetAlias("alias"), Asset(name="just_a_name"), "text"])
    assert manual_lineage(operator).outputs == []


MANUAL_DAG = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator
from openlineage.client.event_v2 import Dataset

with DAG("lp_manual_lineage", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    EmptyOperator(
        task_id="copy",
        inlets=[Asset("s3://landing/orders.csv"), Dataset(namespace="kafka://broker:9092", name="orders")],
        outlets=[Asset("postgres://warehouse:5432/dw/public/orders"),
                 Asset("postgres://warehouse:5432/dw/public/orders")],
    )
"""


@pytest.mark.airflow
def test_manual_lineage_reaches_the_events(lineage_events):
    assert run_dag(MANUAL_DAG, "lp_manual_lineage").state == "success"
    events = lineage_events()
    assert summary(events)[1:3] == [
        ("START", "lp_manual_lineage.copy"),
        ("COMPLETE", "lp_manual_lineage.copy"),
    ]
    for event in events[1:3]:
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
            ("s3://landing", "orders.csv"),
            ("kafka://broker:9092", "orders"),
        ]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
            ("postgres://warehouse:5432", "dw.public.orders")
        ]
