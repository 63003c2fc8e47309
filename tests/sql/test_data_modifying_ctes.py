"""PostgreSQL data-modifying CTEs (``WITH x AS (DELETE/UPDATE/INSERT ... RETURNING ...)``): the table the
CTE modifies is written, its RETURNING columns carry lineage to the statement that reads the CTE (also
``INSERT ... RETURNING`` and ``ON CONFLICT ... RETURNING``), and the rows it chose are the rows it returns."""

from __future__ import annotations

from airflow_lineage_provider.sql import analyze

from .readers import column_sources
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables


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
    assert column_sources(result) == {
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
    edges = column_sources(result)
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


def test_insert_returning_in_a_cte_carries_lineage() -> None:
    sql = (
        "WITH ins AS (INSERT INTO a (x) SELECT x FROM s RETURNING id, x) "
        "INSERT INTO log (aid, val) SELECT id, x FROM ins"
    )
    assert _tables(sql, "postgres") == (["a", "s"], ["a", "log"])
    assert _plain(sql, "postgres") == {"a.x": {"s.x"}, "log.aid": {"a.id"}, "log.val": {"a.x"}}


def test_insert_returning_star_rows_are_the_rows_its_query_chose() -> None:
    sql = "WITH ins AS (INSERT INTO a SELECT x FROM s WHERE ok RETURNING *) INSERT INTO log SELECT * FROM ins"
    assert _plain(sql, "postgres") == {"a.x": {"s.x"}, "log.*": {"a.*"}}
    assert _rows(sql, "postgres") == {("a", "s.ok", "FILTER"), ("log", "s.ok", "FILTER")}


def test_insert_on_conflict_returning_in_a_cte() -> None:
    sql = (
        "WITH ins AS (INSERT INTO a (x) SELECT v FROM s ON CONFLICT (x) DO NOTHING RETURNING a.id, a.x) "
        "INSERT INTO log (aid, val) SELECT id, x FROM ins"
    )
    assert _plain(sql, "postgres") == {"a.x": {"s.v"}, "log.aid": {"a.id"}, "log.val": {"a.x"}}
