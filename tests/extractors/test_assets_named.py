"""emit_asset_events with consumers scheduled on named assets: ``Asset(name=..., uri=...)``."""

from __future__ import annotations

import pytest
from lineage_helpers import reset_lineage, run_dag

from .conftest import Warehouse
from .events import by_job, datasets

pytestmark = pytest.mark.airflow


NAMED_ASSET_DAG = """
import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.empty import EmptyOperator

FR_CUSTOMERS = {consumer_asset}

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(
        task_id="ctas", conn_id={conn_id!r},
        sql="CREATE TABLE IF NOT EXISTS fr_customers AS SELECT id, name FROM customers WHERE country = 'FR'",
    )

with DAG({dag_id!r} + "_consumer", schedule=[FR_CUSTOMERS], start_date=datetime.datetime(2024, 1, 1)):
    EmptyOperator(task_id="report")
"""


@pytest.mark.parametrize(
    "consumer_asset",
    [
        'Asset(name="fr_customers", uri={uri!r})',  # the Airflow 3 idiom: a name and a URI
        "Asset(NORMALISED)",  # the URI as Airflow shows it in the UI (sqlite:/path), which is also its name
    ],
)
def test_asset_events_reach_a_consumer_scheduled_on_a_named_asset(
    sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch, consumer_asset: str
) -> None:
    """Airflow matches asset events on (name, uri): the event for a written table must carry the name of the
    asset the consumer is scheduled on, not a second asset named after the URI (created inactive)."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.sdk import Asset
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    from airflow_lineage_provider.naming import DatasetId, asset_uri

    uri = asset_uri(DatasetId(*sqlite_warehouse.ds("fr_customers")))
    assert uri is not None
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__EMIT_ASSET_EVENTS", "true")
    reset_lineage()
    dag_id = f"lp_named_{sqlite_warehouse.conn_id}"
    normalised = Asset(uri=uri).uri
    assert normalised != uri  # sqlite:///path -> sqlite:/path
    consumer = consumer_asset.replace("NORMALISED", repr(normalised)).format(uri=uri)
    source = NAMED_ASSET_DAG.format(dag_id=dag_id, conn_id=sqlite_warehouse.conn_id, consumer_asset=consumer)
    name = "fr_customers" if "name=" in consumer else normalised
    assert run_dag(source, dag_id).state == "success"  # registers the consumer DAG and its named asset
    with create_session() as session:
        session.execute(
            update(DagModel).where(DagModel.dag_id == f"{dag_id}_consumer").values(is_paused=False)
        )
    assert run_dag(source, dag_id).state == "success"
    with create_session() as session:
        named = session.scalars(select(AssetModel).where(AssetModel.name == name)).one()
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == named.id)).all()
        # one per successful run: the asset exists from the first parse of the file (the consumer declares it)
        assert [(e.source_dag_id, e.source_task_id) for e in events] == [(dag_id, "ctas")] * 2
        queued = session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.asset_id == named.id)).all()
        assert [q.target_dag_id for q in queued] == [f"{dag_id}_consumer"]


ODD_NAME_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    SQLExecuteQueryOperator(
        task_id="two_tables", conn_id={conn_id!r}, split_statements=True,
        sql='CREATE TABLE "fr/customers" AS SELECT id, name FROM customers WHERE country = \\'FR\\'; '
            'CREATE TABLE de_customers AS SELECT id, name FROM customers WHERE country = \\'DE\\'',
    )
"""


def _odd_table_name(wh: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quoted table name with a '/' is a valid dataset but no Airflow asset URI can carry it: that table
    gets no asset event (neither an error nor an event for another asset), the other table gets its event,
    and the START event keeps its lineage."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__EMIT_ASSET_EVENTS", "true")
    reset_lineage()
    dag_id = f"lp_odd_{wh.conn_id}"
    assert run_dag(ODD_NAME_DAG.format(dag_id=dag_id, conn_id=wh.conn_id), dag_id).state == "success"
    start = by_job(lineage_events(), f"{dag_id}.two_tables", "START")
    assert datasets(start, "outputs") == {wh.ds("fr/customers"), wh.ds("de_customers")}
    assert datasets(start, "inputs") == {wh.ds("customers")}
    assert "extractionError" not in start["run"]["facets"]
    with create_session() as session:
        query = select(AssetModel.uri).join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        written = session.scalars(query.where(AssetEvent.source_dag_id == dag_id)).all()
    assert [uri.rsplit("/", 1)[1] for uri in written] == ["de_customers"]


def test_sqlite_table_name_no_asset_uri_can_carry(
    sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    _odd_table_name(sqlite_warehouse, lineage_events, monkeypatch)  # was: an event for table "customers"


@pytest.mark.integration
def test_postgres_table_name_no_asset_uri_can_carry(
    postgres_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    _odd_table_name(postgres_warehouse, lineage_events, monkeypatch)  # was: START lost all its lineage
