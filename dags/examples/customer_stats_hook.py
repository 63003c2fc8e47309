"""SQL run through a hook inside a ``@task``: lineage from hook-level collection.

No operator here knows about SQL: the ``@task`` calls ``DbApiHook.run`` and ``get_records`` itself. The
provider still reports the tables it read and wrote, collected from the SQL the hook ran (set
``[lineage_provider] hook_lineage_child_jobs = True`` to get one child job per query instead).

Scheduled on ``daily_revenue``, like ``revenue_by_country``, so it runs after ``orders_pipeline``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, BaseHook, task
from orders_common import DAILY_REVENUE, ORDERS_CONN_ID

CUSTOMER_STATS = [
    "DROP TABLE IF EXISTS customer_stats",
    """
    CREATE TABLE customer_stats AS
    SELECT c.customer_id,
           c.name,
           COUNT(o.order_id) AS orders,
           COALESCE(SUM(o.amount), 0) AS lifetime_value,
           MAX(o.order_day) AS last_order_day
    FROM raw_customers AS c
    LEFT JOIN orders_enriched AS o ON o.customer_id = c.customer_id
    GROUP BY c.customer_id, c.name
    """,
]

with DAG(
    dag_id="customer_stats",
    description="Per-customer order statistics computed by a @task through a DbApiHook",
    schedule=[DAILY_REVENUE],
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "lineage", "hook-lineage"],
    default_args={"owner": "analytics"},
    doc_md=__doc__,
) as dag:

    @task
    def refresh_customer_stats() -> int:
        """Rebuild customer_stats; return how many customers have at least one order."""
        hook = BaseHook.get_hook(ORDERS_CONN_ID)
        hook.run(CUSTOMER_STATS)
        (active,) = hook.get_records("SELECT COUNT(*) FROM customer_stats WHERE orders > 0")
        return int(active[0])

    refresh_customer_stats()
