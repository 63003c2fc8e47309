"""Manual lineage: a Python task whose output no extractor can see, declared with Airflow assets.

``export_daily_revenue`` writes a CSV file for a partner. The file is invisible to SQL lineage, so the task
declares it as an ``outlet`` (and the table it reads as an ``inlet``); the provider turns both assets into
OpenLineage datasets named per the naming spec and merges them, de-duplicated, with what it extracted
itself (here: the ``SELECT`` run through the hook).

Run ``orders_pipeline`` first (it creates ``daily_revenue``), then ``airflow dags test orders_export``.
"""

from __future__ import annotations

import csv

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseHook
from orders_common import DAILY_REVENUE, DATA_DIR, ORDERS_CONN_ID, file_asset

EXPORT_FILE = "exports/daily_revenue.csv"
REVENUE_CSV = file_asset(EXPORT_FILE)


def export_daily_revenue() -> int:
    """Write daily_revenue to a CSV file; return the number of rows."""
    hook = BaseHook.get_hook(ORDERS_CONN_ID)
    rows = hook.get_records("SELECT order_day, country, orders, revenue FROM daily_revenue ORDER BY 1, 2")
    path = DATA_DIR / EXPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_day", "country", "orders", "revenue"])
        writer.writerows(rows)
    return len(rows)


with DAG(
    dag_id="orders_export",
    description="Export daily revenue to a CSV file for a partner (manual inlets/outlets)",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "lineage", "manual-lineage"],
    default_args={"owner": "data-platform"},
    doc_md=__doc__,
) as dag:
    PythonOperator(
        task_id="export_daily_revenue",
        python_callable=export_daily_revenue,
        inlets=[DAILY_REVENUE],
        outlets=[REVENUE_CSV],
    )
