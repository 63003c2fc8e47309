"""Real databases for the SQL extractor tests: a SQLite file, a PostgreSQL schema, a MariaDB database.

Each fixture creates the same small warehouse (customers, orders, country_fixes and empty targets) under a
unique name, exposes it as an Airflow connection through an ``AIRFLOW_CONN_*`` variable, and drops it after.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from airflow_lineage_provider import conf
from airflow_lineage_provider.extractors import schema as schema_module

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root"}

WAREHOUSE = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(50), country VARCHAR(2))",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount DECIMAL(10,2), ds VARCHAR(10))",
    "CREATE TABLE country_fixes (customer_id INTEGER, country VARCHAR(2))",
    "CREATE TABLE big_orders (order_id INTEGER, customer VARCHAR(50), amount DECIMAL(10,2))",
    "CREATE TABLE fr_orders (order_id INTEGER, customer VARCHAR(50), amount DECIMAL(10,2))",
    "CREATE TABLE orders_copy (id INTEGER, customer_id INTEGER, amount DECIMAL(10,2), ds VARCHAR(10))",
    "CREATE TABLE audit_log (customer VARCHAR(50), total DECIMAL(12,2))",
    "INSERT INTO customers VALUES (1, 'ann', 'FR'), (2, 'bob', 'DE')",
    "INSERT INTO orders VALUES (1, 1, 10.00, '2024-01-01'), (2, 2, 20.00, '2024-01-01'), "
    "(3, 1, 5.00, '2024-01-02')",
    "INSERT INTO country_fixes VALUES (2, 'AT')",
]


@attrs.frozen
class Warehouse:
    conn_id: str
    namespace: str
    prefix: str  # name prefix of every dataset: "" (SQLite), "test.lp_x." (PostgreSQL), "lp_x." (MariaDB)
    kind: str  # sqlite | postgres | mysql
    conn: dict = attrs.field(factory=dict, eq=False)  # the Airflow connection, as AIRFLOW_CONN_* JSON fields

    def ds(self, table: str) -> tuple[str, str]:
        return (self.namespace, self.prefix + table)

    @property
    def env(self) -> tuple[str, str]:
        """The ``AIRFLOW_CONN_*`` variable (name, JSON value) that defines the connection."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}", json.dumps(self.conn)


def create_warehouse(kind: str, directory: Path) -> Warehouse:
    """A fresh warehouse under a unique name: a SQLite file in ``directory``, a PostgreSQL schema or a MariaDB
    database (``kind`` sqlite, postgres or mysql). Also used by benchmarks/extractor_coverage.py."""
    name = f"lp_{kind[:2]}_{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        path = (directory / f"{name}.db").resolve()
        with sqlite3.connect(path) as db:
            for statement in WAREHOUSE:
                db.execute(statement)
        return Warehouse(name, f"sqlite://{path}", "", kind, {"conn_type": "sqlite", "host": str(path)})
    if kind == "postgres":
        import psycopg2

        db = psycopg2.connect(**PG)
        db.autocommit = True
        with db.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {name}")
            cur.execute(f"SET search_path = {name}")
            for statement in WAREHOUSE:
                cur.execute(statement)
        db.close()
        conn = {
            "conn_type": "postgres",
            "host": PG["host"],
            "port": PG["port"],
            "login": PG["user"],
            "schema": PG["dbname"],
            "extra": {"options": f"-c search_path={name}"},
        }
        return Warehouse(name, "postgres://127.0.0.1:5432", f"test.{name}.", kind, conn)
    import MySQLdb

    db = MySQLdb.connect(host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"])
    db.autocommit(True)
    cur = db.cursor()
    cur.execute(f"CREATE DATABASE {name}")
    cur.execute(f"USE {name}")
    for statement in WAREHOUSE:
        cur.execute(statement)
    db.close()
    conn = {
        "conn_type": "mysql",
        "host": MARIADB["host"],
        "port": MARIADB["port"],
        "login": MARIADB["user"],
        "schema": name,
    }
    return Warehouse(name, "mysql://127.0.0.1:3306", f"{name}.", kind, conn)


def drop_warehouse(warehouse: Warehouse) -> None:
    if warehouse.kind == "postgres":
        import psycopg2

        db = psycopg2.connect(**PG)
        db.autocommit = True
        with db.cursor() as cur:
            cur.execute(f"DROP SCHEMA {warehouse.conn_id} CASCADE")
        db.close()
    elif warehouse.kind == "mysql":
        import MySQLdb

        db = MySQLdb.connect(host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"])
        db.cursor().execute(f"DROP DATABASE {warehouse.conn_id}")
        db.close()


@pytest.fixture(autouse=True)
def _fresh_extraction_state() -> Iterator[None]:
    """Options, the schema cache and the process-wide hook-lineage collector (SQL operators' hooks report
    to it) as a new task process would find them, before and after every test: no order dependence."""
    from airflow_lineage_provider.extractors.hook_lineage import reset

    conf.clear_cache()
    schema_module.CACHE.clear()
    reset()
    yield
    conf.clear_cache()
    schema_module.CACHE.clear()
    reset()


def _warehouse(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    warehouse = create_warehouse(kind, tmp_path)
    monkeypatch.setenv(*warehouse.env)
    try:
        yield warehouse
    finally:
        drop_warehouse(warehouse)


@pytest.fixture
def sqlite_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    yield from _warehouse("sqlite", tmp_path, monkeypatch)


@pytest.fixture
def postgres_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    yield from _warehouse("postgres", tmp_path, monkeypatch)


@pytest.fixture
def mariadb_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    yield from _warehouse("mysql", tmp_path, monkeypatch)
