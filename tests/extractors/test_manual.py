"""Manual lineage: inlets/outlets given as Airflow Assets or OpenLineage Datasets become datasets; in real DAG
runs also assets added to an alias at run time, datasets with odd names and facets, and a thousand outlets
under ``max_event_bytes``."""

from __future__ import annotations

import json

import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, AssetAlias
from lineage_helpers import reset_lineage, run_dag, summary
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
from openlineage.client.facet_v2 import schema_dataset

from airflow_lineage_provider.extractors.manual import inputs_from, manual_lineage, outputs_from

from .events import by_job, datasets


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
