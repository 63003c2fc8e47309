"""SqlExtractor called directly on real operators and a real SQLite file: choice, round trips, budget."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from airflow.providers.common.sql.operators.sql import (
    BaseSQLOperator,
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
)
from airflow.providers.standard.operators.python import PythonOperator
from openlineage.client.serde import Serde

from airflow_lineage_provider import conf
from airflow_lineage_provider.extractors.base import OperatorLineage
from airflow_lineage_provider.extractors.sql import SqlExtractor

from .conftest import Warehouse

CTAS = (
    "CREATE TABLE fr_customers AS SELECT id, name FROM customers "
    "WHERE country = 'FR' AND name <> 'zoe-private'"
)


def _event(lineage: OperatorLineage | None) -> dict[str, Any]:
    """The extractor's result in the wire shape of an event (for the same readers the DAG tests use)."""
    assert lineage is not None

    def to_dict(obj: Any) -> Any:
        return Serde.to_dict(obj)

    return {
        "inputs": [to_dict(d) for d in lineage.inputs],
        "outputs": [to_dict(d) for d in lineage.outputs],
        "run": {"facets": {k: to_dict(v) for k, v in lineage.run_facets.items()}},
        "job": {"facets": {k: to_dict(v) for k, v in lineage.job_facets.items()}},
    }


class _ProviderStyleOperator(SQLExecuteQueryOperator):
    """Like provider subclasses whose own methods need apache-airflow-providers-openlineage."""

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return OperatorLineage()


class _LookAlikeWithOwnLineage(PythonOperator):
    sql = "SELECT 1"

    def get_db_hook(self) -> Any:
        return None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return OperatorLineage()


class _CustomSqlOperator(BaseSQLOperator):
    def __init__(self, *, sql: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = sql


def test_chosen_for_common_sql_operators_only() -> None:
    assert SqlExtractor.can_extract(SQLExecuteQueryOperator(task_id="a", conn_id="x", sql="SELECT 1"))
    assert SqlExtractor.can_extract(
        SQLColumnCheckOperator(
            task_id="b", conn_id="x", table="t", column_mapping={"c": {"null_check": {"equal_to": 0}}}
        )
    )
    assert SqlExtractor.can_extract(_CustomSqlOperator(task_id="c", conn_id="x", sql="SELECT 1"))
    assert not SqlExtractor.can_extract(PythonOperator(task_id="d", python_callable=print))
    assert SqlExtractor.can_extract(_ProviderStyleOperator(task_id="e", conn_id="x", sql="SELECT 1"))
    assert not SqlExtractor.can_extract(_LookAlikeWithOwnLineage(task_id="f", python_callable=print))


def test_start_uses_no_round_trip_complete_exactly_one(sqlite_warehouse: Warehouse) -> None:
    op = SQLExecuteQueryOperator(task_id="ctas", conn_id=sqlite_warehouse.conn_id, sql=CTAS)
    start = _event(SqlExtractor(op).extract_on_start({}))
    assert start["run"]["facets"]["sqlExtraction"]["metadataRoundTrips"] == 0
    op.get_db_hook().run(CTAS)
    complete = _event(SqlExtractor(op).extract_on_complete({}, None))
    facet = complete["run"]["facets"]["sqlExtraction"]
    assert (
        facet["metadataRoundTrips"] == 1 and facet["status"] == "ok" and facet["schemaSource"] == "database"
    )
    out = complete["outputs"][0]
    assert out["name"] == "fr_customers"
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == ["id", "name"]

    # the next task on the same connection: inputs come from the cache, START sees them too
    op2 = SQLExecuteQueryOperator(
        task_id="n",
        conn_id=sqlite_warehouse.conn_id,
        sql="INSERT INTO audit_log (customer) SELECT name FROM fr_customers",
    )
    start2 = _event(SqlExtractor(op2).extract_on_start({}))
    assert start2["run"]["facets"]["sqlExtraction"]["schemaSource"] == "cache"
    assert start2["inputs"][0]["facets"]["schema"]["fields"][0]["name"] == "id"


def test_sql_facet_is_redacted(sqlite_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    op = SQLExecuteQueryOperator(task_id="ctas", conn_id=sqlite_warehouse.conn_id, sql=CTAS)
    assert "zoe-private" in _event(SqlExtractor(op).extract_on_start({}))["job"]["facets"]["sql"]["query"]
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS", "true")
    from airflow_lineage_provider import conf

    conf.clear_cache()
    query = _event(SqlExtractor(op).extract_on_start({}))["job"]["facets"]["sql"]["query"]
    assert "zoe-private" not in query and "'FR'" not in query


def test_schema_lookup_can_be_switched_off(
    sqlite_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SCHEMA_LOOKUP", "false")
    op = SQLExecuteQueryOperator(
        task_id="s", conn_id=sqlite_warehouse.conn_id, sql="INSERT INTO orders_copy SELECT * FROM orders"
    )
    event = _event(SqlExtractor(op).extract_on_complete({}, None))
    facet = event["run"]["facets"]["sqlExtraction"]
    assert facet["schemaSource"] == "disabled" and facet["metadataRoundTrips"] == 0
    assert {d["name"] for d in event["inputs"]} == {"orders"}


def test_over_budget_emits_what_it_has(sqlite_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """A script too long for the budget: the statements analysed in time make the event, and the analysis
    stops there (it used to go on for about 12 s in a thread of the task's process, taking turns with the
    task for the GIL, and its tables were lost)."""
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__EXTRACTION_TIMEOUT", "1.0")  # the default
    script = ";\n".join(
        f"INSERT INTO big_orders (order_id, customer) SELECT o.id + {i}, c.name FROM orders AS o "
        f"JOIN customers AS c ON c.id = o.customer_id WHERE o.amount > {i}"
        for i in range(3000)
    )
    op = SQLExecuteQueryOperator(task_id="huge", conn_id=sqlite_warehouse.conn_id, sql=script)
    started = time.monotonic()
    event = _event(SqlExtractor(op).extract_on_complete({}, None))
    assert time.monotonic() - started < 5.0  # the analysis alone: about 12 s
    analysis = [t for t in threading.enumerate() if t.name == "lineage-sql-analysis"]
    for thread in analysis:
        thread.join(2.0)
        assert not thread.is_alive(), "the analysis went on after the budget"
    facet = event["run"]["facets"]["sqlExtraction"]
    assert facet["status"] == "partial"
    assert 0 < facet["statements"] < 3000
    assert not any("table level only" in r for r in facet["reasons"])  # every statement analysed was whole
    assert any("stopped at its time limit" in r and "extraction budget 1.0s" in r for r in facet["reasons"])
    assert {d["name"] for d in event["inputs"]} == {"orders", "customers"}
    assert {d["name"] for d in event["outputs"]} == {"big_orders"}
    errors = event["run"]["facets"]["extractionError"]["errors"]
    assert any("stopped at its time limit" in e["errorMessage"] for e in errors)
    assert "sql" in event["job"]["facets"]


def test_a_script_cut_short_is_analysed_again_by_the_next_event(
    sqlite_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result cut short by the budget is not kept for the task's next event (which gets its own budget)."""
    script = ";\n".join(f"INSERT INTO t{i} SELECT a FROM s{i}" for i in range(400))
    op = SQLExecuteQueryOperator(task_id="cut", conn_id=sqlite_warehouse.conn_id, sql=script)
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__EXTRACTION_TIMEOUT", "0.01")
    cut = _event(SqlExtractor(op).extract_on_start({}))
    assert cut["run"]["facets"]["sqlExtraction"]["status"] in ("partial", "failed")  # failed: none in time
    assert len(cut["outputs"]) < 400
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__EXTRACTION_TIMEOUT", "60")
    conf.clear_cache()
    whole = _event(SqlExtractor(op).extract_on_start({}))
    assert len(whole["outputs"]) == 400


def test_unknown_connection_is_a_failed_status_not_an_exception() -> None:
    op = SQLExecuteQueryOperator(task_id="x", conn_id="lp_no_such_connection", sql="SELECT 1")
    event = _event(SqlExtractor(op).extract_on_start({}))
    facet = event["run"]["facets"]["sqlExtraction"]
    assert facet["status"] == "failed" and "lp_no_such_connection" in " ".join(facet["reasons"])


def test_status_facet_matches_its_published_json_schema(sqlite_warehouse: Warehouse) -> None:
    import json
    from pathlib import Path

    import jsonschema
    import ol_schema

    schema = json.loads((Path(__file__).parents[2] / "schemas" / "SqlExtractionRunFacet.json").read_text())
    registry = ol_schema._load()[0]
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    op = SQLExecuteQueryOperator(task_id="ctas", conn_id=sqlite_warehouse.conn_id, sql="SELEC 1")
    facet = _event(SqlExtractor(op).extract_on_complete({}, None))["run"]["facets"]["sqlExtraction"]
    assert facet["_schemaURL"].endswith("/schemas/SqlExtractionRunFacet.json#/$defs/SqlExtractionRunFacet")
    assert list(validator.iter_errors({"sqlExtraction": facet})) == []
    assert not list(validator.iter_errors({"sqlExtraction": {**facet, "status": "fine"}})) == []


def test_unreachable_database_costs_a_reason_and_leaks_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_LP_UNREACHABLE",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 1,
                "login": "bob",
                "password": "hunter2-secret",
                "schema": "test",
            }
        ),
    )
    op = SQLExecuteQueryOperator(task_id="x", conn_id="lp_unreachable", sql="INSERT INTO t2 SELECT * FROM t1")
    started = time.monotonic()
    event = _event(SqlExtractor(op).extract_on_complete({}, None))
    assert time.monotonic() - started < 3.0
    facet = event["run"]["facets"]["sqlExtraction"]
    assert facet["status"] == "partial", facet
    assert any("schema lookup failed" in r for r in facet["reasons"]), facet["reasons"]
    assert {(d["namespace"], d["name"]) for d in event["inputs"]} == {
        ("postgres://127.0.0.1:1", "test.public.t1")
    }
    assert "hunter2" not in json.dumps(event)


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ({"conn_type": "postgres", "host": "h", "schema": "db"}, "other.public.t"),
        ({"conn_type": "mysql", "host": "h", "schema": "db"}, "other.t"),
    ],
)
def test_operator_database_overrides_the_connection(
    conn: dict, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from airflow_lineage_provider.extractors.sql import hook_defaults, source_for_hook
    from airflow_lineage_provider.naming import dataset_for_table

    monkeypatch.setenv("AIRFLOW_CONN_LP_OVERRIDE", json.dumps(conn))
    op = SQLExecuteQueryOperator(task_id="x", conn_id="lp_override", database="other", sql="SELECT 1")
    source = source_for_hook(op.get_db_hook())
    assert (source.database, source.schema) == hook_defaults(op.get_db_hook(), source.conn)
    ident = dataset_for_table(
        source.conn, "t", default_database=source.database, default_schema=source.schema
    )
    assert ident.name == expected


def test_sqlite_script_that_attaches_a_database_keeps_schemas(sqlite_warehouse: Warehouse, tmp_path) -> None:
    import sqlite3

    other = tmp_path / "side.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE ext (a INTEGER, b TEXT)")
    sql = f"ATTACH DATABASE '{other}' AS side; INSERT INTO audit_log SELECT b, a FROM side.ext"
    op = SQLExecuteQueryOperator(task_id="attach", conn_id=sqlite_warehouse.conn_id, sql=sql)
    complete = _event(SqlExtractor(op).extract_on_complete({}, None))
    facet = complete["run"]["facets"]["sqlExtraction"]
    assert facet["status"] == "ok", facet["reasons"]
    assert [d["name"] for d in complete["inputs"]] == ["side.ext"]
    out = complete["outputs"][0]
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == ["customer", "total"]
    fields = out["facets"]["columnLineage"]["fields"]
    assert {k: [i["field"] for i in v["inputFields"]] for k, v in fields.items()} == {
        "customer": ["b"],
        "total": ["a"],
    }


def test_catalog_spelling_of_columns() -> None:
    from airflow_lineage_provider.extractors.schema import Column
    from airflow_lineage_provider.extractors.sql import _catalog_spelling
    from airflow_lineage_provider.sql import TableRef

    table = TableRef("people", "s", "db")
    spell = _catalog_spelling(
        {
            table.qualified: [
                Column("ID", "int"),
                Column("Email", "text"),
                Column("dup", "int"),
                Column("DUP", "int"),
            ]
        },
        str.upper,
    )
    assert spell(table, "id") == "ID"  # one catalog column matches regardless of case
    assert spell(table, "Email") == "Email"
    assert spell(table, "dup") == "dup" and spell(table, "Dup") == "Dup"  # ambiguous: as written
    assert spell(table, "other") == "OTHER"  # not in the catalog: the connection's folding
    assert spell(TableRef("unknown"), "x") == "X"
