"""The sqlExtraction status of hook lineage: it covers every hook a task used, and it is partial when
Airflow's collector dropped statements past its cap."""

from __future__ import annotations

import pytest
from lineage_helpers import run_dag

from airflow_lineage_provider.extractors.base import OperatorLineage
from airflow_lineage_provider.extractors.hook_lineage import _merge_into
from airflow_lineage_provider.extractors.sql import FACET_KEY, SqlExtractionRunFacet

from .conftest import Warehouse
from .events import by_job, datasets, extraction


def _hook_lineage(status: str, reasons: list[str], dialect: str) -> OperatorLineage:
    facet = SqlExtractionRunFacet(
        status=status, reasons=reasons, dialect=dialect, statements=1, schemaSource="database",
        metadataRoundTrips=1, durationMs=2.0,
    )  # fmt: skip
    return OperatorLineage(run_facets={FACET_KEY: facet})


def test_a_later_hooks_failure_is_not_hidden_by_an_earlier_hooks_ok() -> None:
    """collect() merges one extraction per hook: the first hook's 'ok' used to be kept and the second hook's
    'failed' (its connection could not be resolved) silently dropped."""
    lineage = OperatorLineage()
    _merge_into(lineage, _hook_lineage("ok", [], "postgres"))
    _merge_into(lineage, _hook_lineage("failed", ["cannot resolve the hook's connection"], "mysql"))
    facet = lineage.run_facets[FACET_KEY]
    assert facet.status == "partial"
    assert facet.reasons == ["cannot resolve the hook's connection"]
    assert facet.statements == 2 and facet.metadataRoundTrips == 2
    assert facet.dialect == "postgres,mysql"


def test_statuses_that_agree_stay() -> None:
    for status in ("ok", "partial", "failed"):
        lineage = OperatorLineage()
        _merge_into(lineage, _hook_lineage(status, [], "sqlite"))
        _merge_into(lineage, _hook_lineage(status, [], "sqlite"))
        assert lineage.run_facets[FACET_KEY].status == status
        assert lineage.run_facets[FACET_KEY].dialect == "sqlite"


CAPPED_DAG = """
import datetime
from airflow.sdk import DAG, task
from airflow.providers.sqlite.hooks.sqlite import SqliteHook

with DAG("lp_hook_review_capped", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    @task
    def row_by_row():
        hook = SqliteHook(sqlite_conn_id={conn_id!r})
        for i in range(4):
            hook.run(f"INSERT INTO audit_log (customer, total) VALUES ('c{{i}}', {{i}})")
        hook.run("INSERT INTO big_orders (order_id, amount) SELECT id, amount FROM orders")

    row_by_row()
"""


@pytest.mark.airflow
def test_statements_past_the_collectors_cap_make_the_status_partial(
    sqlite_warehouse: Warehouse, lineage_events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's collector keeps the first ``[lineage] max_extras_per_collector`` (200) distinct statements
    of a task and drops the rest with a log line: a loop of single-row inserts reaches it easily. The status
    used to say "ok" for lineage that misses what the task did after that."""
    from airflow.sdk import lineage as sdk_lineage

    monkeypatch.setattr(sdk_lineage, "MAX_COLLECTED_EXTRA", 3)
    source = CAPPED_DAG.format(conn_id=sqlite_warehouse.conn_id)
    assert run_dag(source, "lp_hook_review_capped").state == "success"
    complete = by_job(lineage_events(), "lp_hook_review_capped.row_by_row", "COMPLETE")
    assert datasets(complete, "outputs") == {sqlite_warehouse.ds("audit_log")}  # big_orders was dropped
    status = extraction(complete)
    assert status["status"] == "partial"
    assert any("max_extras_per_collector" in reason for reason in status["reasons"]), status["reasons"]
