"""Schema lookup on real databases: one query for every table, a per-connection TTL cache, a hard timeout."""

from __future__ import annotations

import sqlite3
import time

import pytest

from airflow_lineage_provider.extractors import schema
from airflow_lineage_provider.extractors.schema import Column, lookup_schemas
from airflow_lineage_provider.sql import TableRef

from .conftest import Warehouse


def _hook(wh: Warehouse):
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(wh.conn_id).get_hook()
    assert isinstance(hook, DbApiHook)
    return hook


def _tables(wh: Warehouse, *names: str) -> list[TableRef]:
    if wh.kind == "postgres":
        return [TableRef(n, wh.conn_id, "test") for n in names]
    if wh.kind == "mysql":
        return [TableRef(n, wh.conn_id) for n in names]
    return [TableRef(n) for n in names]


def _lookup(wh: Warehouse, tables: list[TableRef], **kwargs):
    options = {"timeout": 5.0, "ttl": 300.0, **kwargs}
    return lookup_schemas(_hook(wh), wh.kind, wh.conn_id, tables, **options)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.integration),
        pytest.param("mariadb", marks=pytest.mark.integration),
    ]
)
def warehouse(request) -> Warehouse:
    return request.getfixturevalue(f"{request.param}_warehouse")


def test_one_round_trip_for_all_tables_then_cache(warehouse: Warehouse) -> None:
    tables = _tables(warehouse, "customers", "orders", "missing_table")
    before = schema.STATS["round_trips"]
    result = _lookup(warehouse, tables)
    assert result.round_trips == 1 and result.error is None
    assert schema.STATS["round_trips"] == before + 1
    customers, orders, missing = (t.qualified for t in tables)
    assert [c.name for c in result.columns[customers]] == ["id", "name", "country"]
    assert [c.name for c in result.columns[orders]] == ["id", "customer_id", "amount", "ds"]
    assert missing not in result.columns
    assert all(isinstance(c, Column) and c.type for c in result.columns[orders])

    again = _lookup(warehouse, tables[:2])
    assert again.round_trips == 0 and again.columns == {k: result.columns[k] for k in (customers, orders)}
    refreshed = _lookup(warehouse, tables[:2], refresh={orders})
    assert refreshed.round_trips == 1


def test_ttl_expires(sqlite_warehouse: Warehouse) -> None:
    tables = _tables(sqlite_warehouse, "customers")
    assert _lookup(sqlite_warehouse, tables, ttl=0.05).round_trips == 1
    assert _lookup(sqlite_warehouse, tables, ttl=0.05).round_trips == 0
    time.sleep(0.1)
    assert _lookup(sqlite_warehouse, tables, ttl=0.05).round_trips == 1


def test_timeout_gives_up_without_waiting(sqlite_warehouse: Warehouse) -> None:
    """A database that does not answer (SQLite locked by another connection) costs the timeout, no more."""
    blocker = sqlite3.connect(sqlite_warehouse.conn["host"])
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        result = _lookup(sqlite_warehouse, _tables(sqlite_warehouse, "customers"), timeout=0.3)
        elapsed = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
    assert result.columns == {}
    assert result.error is not None and "schema lookup failed" in result.error
    assert elapsed < 2.0


def test_unsupported_source_is_reported(sqlite_warehouse: Warehouse) -> None:
    result = lookup_schemas(None, "bigquery", "x", [TableRef("t", "d", "p")], timeout=1.0, ttl=1.0)
    assert result.round_trips == 0 and "no schema lookup" in (result.error or "")


def test_sqlite_table_of_a_database_attached_by_the_script_does_not_lose_the_others(
    sqlite_warehouse: Warehouse, tmp_path
) -> None:
    """``ATTACH ... AS aux`` lives only in the task's connection: the lookup connection does not have it. That
    must not fail the one query (and every schema with it); the attached table is simply not found."""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE ext (a INTEGER, b TEXT)")
    tables = [TableRef("customers"), TableRef("ext", "aux"), TableRef("orders", "main")]
    result = _lookup(sqlite_warehouse, tables)
    assert result.error is None
    assert [c.name for c in result.columns["customers"]] == ["id", "name", "country"]
    assert [c.name for c in result.columns["main.orders"]] == ["id", "customer_id", "amount", "ds"]
    assert "aux.ext" not in result.columns


def test_sqlite_names_match_case_insensitively(sqlite_warehouse: Warehouse) -> None:
    result = _lookup(sqlite_warehouse, [TableRef("Customers"), TableRef("ORDERS", "Main")])
    assert [c.name for c in result.columns["Customers"]] == ["id", "name", "country"]
    assert [c.name for c in result.columns["Main.ORDERS"]] == ["id", "customer_id", "amount", "ds"]
