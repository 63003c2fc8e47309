"""QualityGateTrigger alone: importable by path, serializable, polls a real SQLite file off the event loop."""

from __future__ import annotations

import asyncio
import importlib
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_lineage_provider.quality import (
    ColumnSpec,
    GateSpec,
    NullRule,
    build_metrics_query,
    dialect_for,
    parse_table_name,
)
from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a TEXT)")
        conn.execute("INSERT INTO t VALUES (NULL), ('x'), ('y'), ('z')")
    conn_id = f"qg_trigger_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    return conn_id, path


def _trigger(
    conn_id: str,
    *,
    max_rate: float,
    poke: float = 0.2,
    timeout: float = 30,
    table: str = "t",
    first_poll_at: float | None = None,
) -> Any:
    query = build_metrics_query(dialect_for("sqlite"), parse_table_name(table), [ColumnSpec("a")])
    return QualityGateTrigger(
        conn_id=conn_id,
        query=query.to_dict(),
        spec=GateSpec(table=table, rules=(NullRule("a", max_rate),)).to_dict(),
        poke_interval=poke,
        deadline=time.time() + timeout,
        gate_state={"paused_dags": ["d1"]},
        first_poll_at=first_poll_at,
    )


def _first_event(trigger: Any) -> Any:
    async def run() -> Any:
        return await anext(trigger.run())

    return asyncio.run(run()).payload


def test_serialize_round_trip_and_importable_path(db) -> None:
    trigger = _trigger(db[0], max_rate=0.1, first_poll_at=time.time() + 5)
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    assert getattr(importlib.import_module(module), name) is QualityGateTrigger
    json.dumps(kwargs)  # everything the triggerer stores is plain JSON
    assert QualityGateTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_recovers_on_first_poll_when_thresholds_hold(db) -> None:
    event = _first_event(_trigger(db[0], max_rate=0.25))
    assert event["status"] == "recovered" and event["polls"] == 1
    assert event["measurement"] == {
        "row_count": 4,
        "columns": {"a": {"non_null": 3, "null": 1, "blank": None}},
    }
    assert event["gate_state"] == {"paused_dags": ["d1"]}
    assert GateSpec.from_dict(event["spec"]).rules == (NullRule("a", 0.25),)
    assert event["query"]["sql"].startswith("SELECT COUNT(*)")


def test_first_poll_waits_for_first_poll_at_when_it_is_ahead(db) -> None:
    """The gate has just measured: its trigger's first poll comes one poke_interval later, not at once."""
    started = time.time()
    event = _first_event(_trigger(db[0], max_rate=0.25, first_poll_at=started + 1.0))
    assert event["status"] == "recovered" and event["polls"] == 1
    assert event["measured_at"] >= started + 1.0


def test_first_poll_at_in_the_past_polls_at_once(db) -> None:
    """A trigger a new triggerer restores after that moment (a restart) measures at once."""
    started = time.monotonic()
    event = _first_event(_trigger(db[0], max_rate=0.25, first_poll_at=time.time() - 3600))
    assert event["status"] == "recovered" and time.monotonic() - started < 5


def test_first_poll_at_past_the_deadline_waits_only_until_the_deadline(db) -> None:
    started = time.time()
    event = _first_event(_trigger(db[0], max_rate=0.0, timeout=1.0, first_poll_at=started + 3600))
    assert event["status"] == "timeout" and event["polls"] == 1
    assert event["measured_at"] - started < 30


def test_times_out_at_the_deadline(db) -> None:
    started = time.monotonic()
    event = _first_event(_trigger(db[0], max_rate=0.1, poke=0.2, timeout=0.7))
    assert event["status"] == "timeout"
    assert event["measurement"]["row_count"] == 4
    assert 3 <= event["polls"] <= 6
    assert time.monotonic() - started < 10


def test_keeps_polling_through_errors_and_recovers_after_repair(db, capfd) -> None:
    conn_id, path = db
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE t RENAME TO t_old")  # the table is missing for a while

    def repair() -> None:
        time.sleep(0.5)
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE t AS SELECT coalesce(a, 'fixed') AS a FROM t_old")

    loop_ticks = []

    async def run() -> Any:
        async def ticker() -> None:  # proves the event loop is never blocked by the queries
            while True:
                loop_ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        tick = asyncio.create_task(ticker())
        try:
            return await anext(_trigger(conn_id, max_rate=0.0, poke=0.2).run())
        finally:
            tick.cancel()

    worker = threading.Thread(target=repair)
    worker.start()
    event = asyncio.run(run()).payload
    worker.join()
    assert event["status"] == "recovered" and event["polls"] >= 2
    assert event["measurement"]["columns"]["a"]["null"] == 0
    assert "measuring failed (OperationalError: no such table: t); retrying" in capfd.readouterr().out
    assert len(loop_ticks) >= 5


def test_measuring_does_not_need_the_loops_shared_executor(db) -> None:
    """The triggerer's default executor is shared by every trigger; when other work has it busy (here: its
    only thread, blocked), the gate still measures and recovers, instead of queueing behind it."""
    from concurrent.futures import ThreadPoolExecutor

    release = threading.Event()

    async def run() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        blocker = loop.run_in_executor(None, release.wait, 30)
        try:
            return await asyncio.wait_for(anext(_trigger(db[0], max_rate=0.25).run()), timeout=10)
        finally:
            release.set()
            await blocker

    started = time.monotonic()
    event = asyncio.run(run()).payload
    assert event["status"] == "recovered" and event["polls"] == 1
    assert time.monotonic() - started < 5


@pytest.mark.integration
def test_a_query_blocked_by_a_lock_does_not_outlive_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: another session holds an exclusive lock, so the measuring query waits; the trigger still
    ends at its deadline with a timeout event naming why (no worker slot, no unbounded wait)."""
    import psycopg2

    conn_id = f"qg_trigger_pg_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "test"}
    ))  # fmt: skip
    table = f"qg_lock_{uuid.uuid4().hex[:8]}"
    locker = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    try:
        with locker.cursor() as cur:
            cur.execute(f"CREATE TABLE {table} (a text); INSERT INTO {table} VALUES (NULL), ('x')")
            locker.commit()
            cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # held until rollback
        query = build_metrics_query(dialect_for("postgres"), parse_table_name(table), [ColumnSpec("a")])
        trigger = QualityGateTrigger(
            conn_id=conn_id, query=query.to_dict(),
            spec=GateSpec(table=table, rules=(NullRule("a", 0.1),)).to_dict(),
            poke_interval=0.5, deadline=time.time() + 2.0, gate_state={},
        )  # fmt: skip
        loop = asyncio.new_event_loop()  # a long-lived loop, like the triggerer's (asyncio.run would wait
        try:  # for the abandoned query's thread at exit)
            started = time.monotonic()
            event = loop.run_until_complete(anext(trigger.run())).payload
            assert time.monotonic() - started < 6
            assert event["status"] == "timeout"
            assert "still running at the gate's timeout" in event["error"]
        finally:
            locker.rollback()  # releases the lock: the abandoned query then finishes on its own
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
    finally:
        locker.rollback()
        with locker.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        locker.commit()
        locker.close()
