-- One PostgreSQL server for the whole stack: Airflow's metadata DB (created by the image from
-- POSTGRES_DB), Marquez's DB, and the example DAGs' "orders" database (connection orders_db).
CREATE USER marquez WITH PASSWORD 'marquez';
CREATE DATABASE marquez OWNER marquez;
CREATE DATABASE orders OWNER airflow;
