"""The examples' shared module names the ``orders_db`` tables as valid Airflow assets for any connection.

A DAG file that cannot build its assets fails to import, so every example would vanish from Airflow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "dags" / "examples"


@pytest.fixture
def load_common(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("ORDERS_DATA_DIR", str(tmp_path))

    def load(conn: str) -> ModuleType:
        monkeypatch.setenv("AIRFLOW_CONN_ORDERS_DB", conn)
        sys.modules.pop("orders_common", None)
        import orders_common

        return orders_common

    yield load
    sys.modules.pop("orders_common", None)


@pytest.mark.parametrize(
    ("conn", "uri"),
    [
        ("postgresql://u:secret@db:5432/orders", "postgres://db:5432/orders/public/daily_revenue"),
        ("mysql://u:secret@db:3306/orders", "mysql://db:3306/orders/daily_revenue"),
        ("mysql://u:secret@db/orders", "mysql://db/orders/daily_revenue"),
    ],
)
def test_table_assets_for_a_connection(load_common, conn: str, uri: str) -> None:
    common = load_common(conn)
    asset = common.DAILY_REVENUE
    assert "secret" not in asset.uri
    assert asset.uri.startswith(uri.split("/orders")[0]) and asset.uri.endswith("/daily_revenue"), asset.uri
