"""An asset-scheduled consumer: runs each time ``orders_pipeline`` publishes ``daily_revenue``.

``schedule=[DAILY_REVENUE]`` makes Airflow start this DAG after every asset event on the ``daily_revenue``
asset (emitted by ``orders_pipeline.publish_daily_revenue``, which declares it as an outlet). Its SQL task
gets table and column lineage from the SQL extractor, so the lineage graph continues across the two DAGs.

The check after it is common.sql's own ``SQLColumnCheckOperator``: nothing to declare for lineage either.
Its results reach the lineage backend as ``dataQualityAssertions`` on ``country_revenue`` (one per check,
pass or fail) and ``dataQualityMetrics`` (the null count it measured), so the table shows which checks it
passed. For null *rates* with thresholds and a pause instead of a failure, see ``orders_pipeline``'s gate.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLExecuteQueryOperator
from airflow.sdk import DAG
from orders_common import DAILY_REVENUE, ORDERS_CONN_ID

COUNTRY_REVENUE = """
DROP TABLE IF EXISTS country_revenue;
CREATE TABLE country_revenue AS
SELECT country,
       SUM(orders) AS orders,
       SUM(revenue) AS revenue,
       SUM(revenue) / SUM(orders) AS average_order_value
FROM daily_revenue
GROUP BY country;
"""

with DAG(
    dag_id="revenue_by_country",
    description="Revenue per country, refreshed whenever daily_revenue is published",
    schedule=[DAILY_REVENUE],
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "lineage", "asset-scheduled"],
    default_args={"owner": "analytics"},
    doc_md=__doc__,
) as dag:
    refresh = SQLExecuteQueryOperator(
        task_id="refresh_country_revenue",
        conn_id=ORDERS_CONN_ID,
        sql=COUNTRY_REVENUE,
        split_statements=True,
    )
    check = SQLColumnCheckOperator(
        task_id="check_country_revenue",
        conn_id=ORDERS_CONN_ID,
        table="country_revenue",
        column_mapping={
            "country": {"null_check": {"equal_to": 0}},
            "revenue": {"null_check": {"equal_to": 0}, "min": {"geq_to": 0}},
        },
    )
    refresh >> check
