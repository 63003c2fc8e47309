"""Orders pipeline: load raw tables with SQL, transform with CTEs and joins, gate on null rates, publish.

    load_customers ─┐
    load_orders ────┼─> transform_orders ─> gate_orders_enriched ─> publish_daily_revenue ─> [asset]
    load_order_items┘

Lineage needs nothing from the author here: the SQL extractor reads each statement (tables AND columns),
the quality gate reports its measurements and verdict, and ``publish_daily_revenue`` declares the
``daily_revenue`` asset as an outlet so asset-scheduled DAGs run after it (the provider merges that
declared outlet with the one inferred from SQL).

Runs on SQLite by default; set ``AIRFLOW_CONN_ORDERS_DB`` to run it on PostgreSQL (see ``orders_common``).
Try it: ``airflow dags test orders_pipeline`` or ``make demo``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG
from orders_common import DAILY_REVENUE, ORDERS_CONN_ID

from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

LOAD_CUSTOMERS = """
DROP TABLE IF EXISTS raw_customers;
CREATE TABLE raw_customers (
    customer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    country TEXT,
    signed_up_at TEXT
);
INSERT INTO raw_customers (customer_id, name, email, country, signed_up_at) VALUES
    (1, 'Ada Lovelace', 'ada@example.com', 'GB', '2025-01-04'),
    (2, 'Grace Hopper', 'grace@example.com', 'US', '2025-02-11'),
    (3, 'Alan Turing', NULL, 'GB', '2025-02-19'),
    (4, 'Edsger Dijkstra', 'edsger@example.com', 'NL', '2025-03-02'),
    (5, 'Barbara Liskov', 'barbara@example.com', NULL, '2025-03-17'),
    (6, 'Donald Knuth', 'don@example.com', 'US', '2025-04-01');
"""

LOAD_ORDERS = """
DROP TABLE IF EXISTS raw_orders;
CREATE TABLE raw_orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER,
    status TEXT NOT NULL,
    ordered_at TEXT NOT NULL,
    coupon_code TEXT
);
INSERT INTO raw_orders (order_id, customer_id, status, ordered_at, coupon_code) VALUES
    (101, 1, 'shipped', '2026-11-20 08:15:00', NULL),
    (102, 2, 'shipped', '2026-11-20 09:02:00', 'WELCOME10'),
    (103, 3, 'cancelled', '2026-11-20 10:40:00', NULL),
    (104, 4, 'shipped', '2026-11-20 11:05:00', NULL),
    (105, 5, 'shipped', '2026-11-20 13:30:00', NULL),
    (106, 6, 'shipped', '2026-11-20 16:45:00', 'BLACKFRIDAY'),
    (107, 1, 'shipped', '2026-11-21 07:10:00', NULL),
    (108, 2, 'pending', '2026-11-21 08:20:00', NULL),
    (109, 7, 'shipped', '2026-11-21 09:00:00', NULL),
    (110, 4, 'shipped', '2026-11-21 10:30:00', 'BLACKFRIDAY'),
    (111, 6, 'shipped', '2026-11-21 12:00:00', NULL),
    (112, 3, 'shipped', '2026-11-21 14:25:00', NULL);
"""

LOAD_ORDER_ITEMS = """
DROP TABLE IF EXISTS raw_order_items;
CREATE TABLE raw_order_items (
    order_id INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(10, 2) NOT NULL
);
INSERT INTO raw_order_items (order_id, product_id, quantity, unit_price) VALUES
    (101, 'keyboard', 1, 49.90), (101, 'mouse', 2, 19.50),
    (102, 'monitor', 1, 189.00),
    (103, 'cable', 3, 4.99),
    (104, 'laptop-stand', 1, 35.00), (104, 'mouse', 1, 19.50),
    (105, 'headset', 1, 79.00),
    (106, 'monitor', 2, 169.00),
    (107, 'cable', 5, 4.99),
    (108, 'keyboard', 1, 49.90),
    (109, 'webcam', 1, 59.00), (109, 'cable', 1, 4.99),
    (110, 'laptop-stand', 2, 35.00),
    (111, 'headset', 1, 79.00), (111, 'mouse', 1, 19.50),
    (112, 'keyboard', 1, 49.90);
"""

# One row per order that was not cancelled, with its amount (from the items) and the customer's country.
# Order 109 belongs to a customer missing from raw_customers and customer 5 has no country: the gate
# below allows up to 25% of orders without a country.
TRANSFORM_ORDERS = """
DROP TABLE IF EXISTS orders_enriched;
CREATE TABLE orders_enriched AS
WITH item_totals AS (
    SELECT order_id,
           SUM(quantity * unit_price) AS items_amount,
           COUNT(*) AS item_count
    FROM raw_order_items
    GROUP BY order_id
),
valid_orders AS (
    SELECT order_id, customer_id, ordered_at, coupon_code
    FROM raw_orders
    WHERE status <> 'cancelled'
)
SELECT o.order_id,
       o.customer_id,
       c.country,
       SUBSTR(o.ordered_at, 1, 10) AS order_day,
       t.items_amount AS amount,
       t.item_count,
       o.coupon_code
FROM valid_orders AS o
JOIN item_totals AS t ON t.order_id = o.order_id
LEFT JOIN raw_customers AS c ON c.customer_id = o.customer_id;
"""

PUBLISH_DAILY_REVENUE = """
DROP TABLE IF EXISTS daily_revenue;
CREATE TABLE daily_revenue AS
SELECT order_day,
       COALESCE(country, 'unknown') AS country,
       COUNT(*) AS orders,
       SUM(amount) AS revenue
FROM orders_enriched
GROUP BY order_day, COALESCE(country, 'unknown');
"""

with DAG(
    dag_id="orders_pipeline",
    description="Load raw orders, enrich them, gate on null rates, publish daily revenue",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    tags=["example", "lineage", "quality-gate"],
    default_args={"owner": "data-platform"},
    doc_md=__doc__,
) as dag:
    loads = [
        SQLExecuteQueryOperator(
            task_id=f"load_{name}", conn_id=ORDERS_CONN_ID, sql=sql, split_statements=True
        )
        for name, sql in (
            ("customers", LOAD_CUSTOMERS),
            ("orders", LOAD_ORDERS),
            ("order_items", LOAD_ORDER_ITEMS),
        )
    ]
    transform = SQLExecuteQueryOperator(
        task_id="transform_orders", conn_id=ORDERS_CONN_ID, sql=TRANSFORM_ORDERS, split_statements=True
    )
    gate = QualityGateOperator(
        task_id="gate_orders_enriched",
        conn_id=ORDERS_CONN_ID,
        table="orders_enriched",
        null_thresholds={
            "order_id": 0.0,
            "customer_id": 0.0,
            "amount": 0.0,
            "country": 0.25,
            # a warn-severity rule records and alerts, it never stops the pipeline
            "coupon_code": {"max_null_rate": 0.5, "severity": "warn"},
        },
        min_rows=1,
        on_breach="pause",  # downstream waits (no worker slot held) until the data is fixed
        poke_interval=60,
        timeout=3600,
    )
    publish = SQLExecuteQueryOperator(
        task_id="publish_daily_revenue",
        conn_id=ORDERS_CONN_ID,
        sql=PUBLISH_DAILY_REVENUE,
        split_statements=True,
        outlets=[DAILY_REVENUE],
    )
    loads >> transform >> gate >> publish
