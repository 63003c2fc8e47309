"""Fixtures for the quality-gate tests: real SQLite files and a private PostgreSQL schema."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import PG, GateDag


@pytest.fixture
def gate_dag(tmp_path: Path, request: pytest.FixtureRequest) -> GateDag:
    name = "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:60]
    return GateDag(tmp_path, f"qg_{name}_{uuid.uuid4().hex[:6]}")


@pytest.fixture
def sqlite_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A SQLite file and an Airflow connection to it (``AIRFLOW_CONN_*``); yields (conn_id, path)."""
    path = tmp_path / "data.db"
    sqlite3.connect(path).close()
    conn_id = f"qg_sqlite_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    yield conn_id, path


@pytest.fixture
def pg_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A private PostgreSQL schema and a connection to the ``test`` database; yields (conn_id, schema)."""
    import psycopg2

    schema = f"qg_{uuid.uuid4().hex[:10]}"
    conn_id = f"qg_pg_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": PG["host"],
                "port": PG["port"],
                "login": PG["user"],
                "schema": PG["dbname"],
            }
        ),
    )
    with psycopg2.connect(**PG) as db, db.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield conn_id, schema
    finally:
        with psycopg2.connect(**PG) as db, db.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def mariadb_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, Any]]:
    """A unique table name in MariaDB's ``test`` database; yields (conn_id, table, hook). Dropped after."""
    from airflow.sdk import BaseHook

    conn_id = f"qg_maria_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": "test"}
        ),
    )
    table = f"qg_{uuid.uuid4().hex[:10]}"
    hook = BaseHook.get_connection(conn_id).get_hook()
    try:
        yield conn_id, table, hook
    finally:
        hook.run(f"DROP TABLE IF EXISTS `{table}`", autocommit=True)
