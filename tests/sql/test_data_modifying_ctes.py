"""PostgreSQL data-modifying CTEs (``WITH x AS (DELETE/UPDATE/INSERT ... RETURNING ...)``): the table the
CTE modifies is written, and its RETURNING columns carry lineage to the statement that reads the CTE."""

from __future__ import annotations

from airflow_lineage_provider.sql import analyze


def _edges(result: object) -> dict[str, set[str]]:
    return {c.output.qualified: {i.qualified for i in c.inputs} for c in result.column_lineage}  # type: ignore[attr-defined]


def test_delete_returning_moves_rows_into_another_table() -> None:
    result = analyze(
        "WITH gone AS (DELETE FROM jobs_queue WHERE finished_at IS NOT NULL RETURNING job_id, body) "
        "INSERT INTO jobs_history (job_id, body) SELECT job_id, body FROM gone",
        "postgres",
        default_database="wh",
        default_schema="ops",
    )
    assert set(result.to_dict()["outputs"]) == {"wh.ops.jobs_history", "wh.ops.jobs_queue"}
    assert result.to_dict()["inputs"] == ["wh.ops.jobs_queue"]
    assert _edges(result) == {
        "wh.ops.jobs_history.job_id": {"wh.ops.jobs_queue.job_id"},
        "wh.ops.jobs_history.body": {"wh.ops.jobs_queue.body"},
    }


def test_update_returning_with_alias_and_from() -> None:
    result = analyze(
        "WITH adj AS (UPDATE inv.stock AS s SET on_hand = s.on_hand - d.qty FROM inv.demand d "
        "WHERE d.sku = s.sku RETURNING s.sku, s.on_hand AS left_over) "
        "INSERT INTO inv.stock_audit (sku, qty) SELECT sku, left_over FROM adj",
        "postgres",
    )
    assert set(result.to_dict()["outputs"]) == {"inv.stock", "inv.stock_audit"}
    assert set(result.to_dict()["inputs"]) == {"inv.stock", "inv.demand"}
    edges = _edges(result)
    assert edges["inv.stock.on_hand"] == {"inv.stock.on_hand", "inv.demand.qty"}
    assert edges["inv.stock_audit.sku"] == {"inv.stock.sku"}
    assert edges["inv.stock_audit.qty"] == {"inv.stock.on_hand"}


def test_unused_data_modifying_cte_still_writes() -> None:
    """PostgreSQL runs a data-modifying CTE even when the main query never reads it."""
    result = analyze(
        "WITH purge AS (DELETE FROM tmp_sessions WHERE ts < now()) SELECT count(*) FROM users", "postgres"
    )
    assert result.to_dict()["outputs"] == ["tmp_sessions"]
    assert result.to_dict()["inputs"] == ["users"]
