"""The engine against SQL that really runs: scripts executed on PostgreSQL and MariaDB, with the
column lists read from their information_schema the way the extractor supplies ``schema``."""

from __future__ import annotations

import uuid

import pytest

from airflow_lineage_provider.sql import analyze

pytestmark = pytest.mark.integration


def _columns(cursor, schema: str) -> dict[str, list[str]]:
    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
        "ORDER BY table_name, ordinal_position",
        (schema,),
    )
    found: dict[str, list[str]] = {}
    for table, column in cursor.fetchall():
        found.setdefault(f"{schema}.{table}".lower(), []).append(column.lower())
    return found


def test_postgres_script_runs_and_star_expands_from_information_schema() -> None:
    import psycopg2

    schema = f"lin_{uuid.uuid4().hex[:8]}"
    script = f"""
        CREATE TABLE {schema}.payments (id int, customer_id int, amount numeric, secret text);
        CREATE TABLE {schema}.customers (id int, total numeric);
        CREATE TEMP TABLE work AS SELECT customer_id, sum(amount) AS total FROM {schema}.payments GROUP BY 1;
        INSERT INTO {schema}.customers SELECT * FROM work;
        WITH latest AS (SELECT customer_id, max(amount) AS top FROM {schema}.payments GROUP BY customer_id)
        UPDATE {schema}.customers c SET total = l.top FROM latest l WHERE c.id = l.customer_id;
    """
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
            cur.execute(script)  # the SQL is valid PostgreSQL
            columns = _columns(cur, schema)
            result = analyze(
                f"INSERT INTO {schema}.customers SELECT id, amount FROM {schema}.payments; "
                + script.split(";", 2)[2],
                "postgres",
                default_database="test",
                schema=columns,
            )
    finally:
        conn.rollback()
        conn.close()
    data = result.to_dict()
    assert data["inputs"] == [f"test.{schema}.payments"]
    assert data["outputs"] == [f"test.{schema}.customers"]
    edges = sorted(map(tuple, data["column_lineage"]))
    # the temp table is collapsed; positional INSERT mapping uses the target's real column list
    assert (f"test.{schema}.customers.id", f"test.{schema}.payments.customer_id") in edges
    assert (f"test.{schema}.customers.total", f"test.{schema}.payments.amount") in edges
    assert not result.partial


def test_mariadb_script_runs_and_use_sets_the_schema() -> None:
    import MySQLdb

    db = f"lin_{uuid.uuid4().hex[:8]}"
    conn = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="")
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE {db}")
        statements = [
            f"USE {db}",
            "CREATE TABLE src (a INT, b INT)",
            "CREATE TABLE tgt (a INT, total INT)",
            "INSERT INTO tgt SELECT a, b * 2 FROM src",
            "REPLACE INTO tgt (a, total) SELECT a, b FROM src",
        ]
        for statement in statements:
            cur.execute(statement)  # the SQL is valid MariaDB
        columns = _columns(cur, db)
        result = analyze(";\n".join(statements), "mariadb", schema=columns)
    finally:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {db}")
        conn.close()
    data = result.to_dict()
    assert data["inputs"] == [f"{db}.src"]
    assert data["outputs"] == [f"{db}.src", f"{db}.tgt"]  # CREATE TABLE is a write (OpenLineage)
    assert sorted(map(tuple, data["column_lineage"])) == [
        (f"{db}.tgt.a", f"{db}.src.a"),
        (f"{db}.tgt.total", f"{db}.src.b"),
    ]
