"""What the example DAGs share: the ``orders_db`` connection and the Airflow assets of its tables.

The examples run out of the box on SQLite: when ``AIRFLOW_CONN_ORDERS_DB`` is not set, it is set here to a
SQLite file under ``$AIRFLOW_HOME/data/``. Point every example at PostgreSQL by setting that ONE variable::

    export AIRFLOW_CONN_ORDERS_DB='postgresql://airflow:airflow@localhost:5432/orders'

(The connection is read from the environment, so a connection named ``orders_db`` created in the UI is
shadowed by the SQLite default unless the variable is set.) The SQL in the examples is written to run
unchanged on both databases.

This module holds no DAG (the DAG processor imports it like any file in the DAGs folder and finds none).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from airflow.sdk import Asset

ORDERS_CONN_ID = "orders_db"
_CONN_ENV = "AIRFLOW_CONN_ORDERS_DB"

#: where the SQLite database and the exported files live
DATA_DIR = Path(
    os.environ.get("ORDERS_DATA_DIR") or Path(os.environ.get("AIRFLOW_HOME", "~/airflow")) / "data"
)
DATA_DIR = DATA_DIR.expanduser().resolve()

if not os.environ.get(_CONN_ENV):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    os.environ[_CONN_ENV] = json.dumps({"conn_type": "sqlite", "host": str(DATA_DIR / "orders.db")})


def _connection_parts() -> tuple[str, str, int | None, str]:
    """(conn_type, host, port, database) of ``orders_db`` from its environment variable (no DB access)."""
    raw = os.environ[_CONN_ENV]
    if raw.lstrip().startswith("{"):
        conn = json.loads(raw)
        return conn["conn_type"], conn.get("host") or "", conn.get("port"), conn.get("schema") or ""
    parts = urlsplit(raw)
    database = unquote(parts.path.lstrip("/"))
    return parts.scheme, parts.hostname or "localhost", parts.port, database


def table_asset(table: str) -> Asset:
    """The Airflow asset of a table of ``orders_db`` (URI per Airflow's database asset schemes)."""
    conn_type, host, port, database = _connection_parts()
    if conn_type == "sqlite":
        uri = f"sqlite://{Path(host).resolve()}/{table}"
    elif conn_type in ("postgres", "postgresql"):
        uri = f"postgres://{host}:{port or 5432}/{database or 'postgres'}/public/{table}"
    else:  # e.g. mysql://host:3306/orders/daily_revenue; a connection without a port gives none
        uri = f"{conn_type}://{host}{f':{port}' if port else ''}/{database}/{table}"
    return Asset(uri=uri)  # named by its URI: moving to another database makes other assets, no clash


def file_asset(relative_path: str) -> Asset:
    """The Airflow asset of a file under :data:`DATA_DIR`."""
    return Asset(uri=(DATA_DIR / relative_path).as_uri())


DAILY_REVENUE = table_asset("daily_revenue")
