"""The gate against real engines where they differ: MariaDB/MySQL end to end, PostgreSQL literal forms.

Each test runs the gate's real measuring path (``_measure_now``: connection, table/column check, one query)
or a real ``dag.test()``, on the local PostgreSQL and MariaDB servers.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from gate_helpers import PG, gate_xcom, pg_execute, ti_states

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator
from airflow_lineage_provider.quality import validate_row_filter


def _gate(conn_id: str, table: str, thresholds: Any, **kwargs: Any) -> QualityGateOperator:
    return QualityGateOperator(
        task_id="g", conn_id=conn_id, table=table, null_thresholds=thresholds, **kwargs
    )


def _pg_table_exists(name: str) -> bool:
    import psycopg2

    with psycopg2.connect(**PG) as db, db.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (name,))
        row = cur.fetchone()
        return row is not None and row[0] is not None


@pytest.mark.integration
def test_postgres_e_string_cannot_smuggle_a_second_statement(pg_schema) -> None:
    """PostgreSQL reads ``E'...'`` with backslash escapes and ``'...'`` without: a mix none of the check's
    whole-text readings made, under which the ``;`` below is outside every literal."""
    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.t (x text, y text)",
        f"CREATE TABLE {schema}.victim (i int)",
        f"INSERT INTO {schema}.t VALUES ('a', NULL)",
    )
    row_filter = rf"x = E'\'' OR y = '\'); DROP TABLE {schema}.victim; COMMIT; --'"
    with pytest.raises(QualityGateError, match=r"row_filter .* is refused"):
        _gate(conn_id, f"{schema}.t", {"x": 0.5}, row_filter=row_filter)
    gate = _gate(conn_id, f"{schema}.t", {"x": 0.5}, row_filter="{{ params.f }}")
    gate.row_filter = row_filter  # as rendered at run time
    with pytest.raises(QualityGateError, match=r"row_filter .* is refused"):
        gate._measure_now()
    assert _pg_table_exists(f"{schema}.victim"), "the row filter ran a second statement"


@pytest.mark.integration
def test_mariadb_backslash_mix_cannot_close_the_where_clause(mariadb_table) -> None:
    """MySQL/MariaDB escape with a backslash in '...' but not in `...`: read that way, the filter below closes
    ``WHERE (`` and appends a ``UNION``, while every whole-text reading of the check saw it inside quotes."""
    from contextlib import closing

    _, table, hook = mariadb_table
    hook.run(
        [f"CREATE TABLE `{table}` (`\\` INT, a INT)", f"INSERT INTO `{table}` VALUES (1, 1)"], autocommit=True
    )
    row_filter = r"a = `\` = '\' ' ) UNION ALL SELECT 41, 42 # `'\''"
    with pytest.raises(
        QualityGateError, match=r"row_filter .* is refused: it contains a backslash before a quote"
    ):
        validate_row_filter(row_filter)
    # what MariaDB makes of it: a second row the check must never let through
    with closing(hook.get_conn()) as db, closing(db.cursor()) as cursor:
        cursor.execute(f"SELECT COUNT(*), COUNT(a) FROM `{table}` WHERE ({row_filter})")
        assert cursor.fetchall() == ((0, 0), (41, 42))


@pytest.mark.airflow
@pytest.mark.integration
def test_mariadb_pause_end_to_end_with_a_templated_filter(mariadb_table, gate_dag, lineage_events) -> None:
    """MariaDB through ``dag.test()``: a mixed-case ``schema.table``, a reserved-word column resolved by case,
    an embedded backtick, blank rules on DATE and INT columns (no type error: blanks are 0), a filter
    templated with ``{{ ds }}`` and ``params``; the gate waits in its trigger (``get_first`` path, no
    session setup), sees the repair and lets downstream run."""
    import datetime as dt

    from gate_helpers import Repairer, gate_xcom, ti_states
    from lineage_helpers import run_dag

    conn_id, table, hook = mariadb_table
    table = table.replace("qg_", "Qg_")  # MariaDB on Linux: table names are case-sensitive
    hook.run(
        [
            f"CREATE TABLE `{table}` (ds DATE, kind VARCHAR(5), `Select` INT, `Mixed``Case` VARCHAR(10), "
            "d DATE, n INT)",
            f"INSERT INTO `{table}` VALUES ('2024-03-01', 'a', 1, 'x', '2024-01-01', 1), "
            "('2024-03-01', 'a', NULL, '', NULL, 2), ('2024-03-01', 'a', 3, 'y', '2024-01-02', NULL), "
            "('2024-03-01', 'a', 4, 'z', '2024-01-03', 4), ('2024-03-01', 'b', NULL, NULL, NULL, NULL), "
            "('2024-03-02', 'a', NULL, NULL, NULL, NULL)",
        ],
        autocommit=True,
    )
    try:
        repairer = Repairer(
            gate_dag,
            lambda: hook.run(f"UPDATE `{table}` SET `Select` = 0 WHERE `Select` IS NULL", autocommit=True),
            wait_polls=2.5,
            poke_interval=1.0,
        )
        repairer.start()
        source = gate_dag.source(
            conn_id=conn_id,
            table=f"test.{table}",
            thresholds={
                "select": 0.0,
                "mixed`case": {"max_null_rate": 0.25, "blank_is_null": True},
                "d": {"max_null_rate": 0.25, "blank_is_null": True},
                "n": {"max_null_rate": 0.25, "blank_is_null": True},
            },
            row_filter="ds = '{{ ds }}' AND kind = '{{ params.kind }}'",
            params={"kind": "a"},
            on_breach="pause",
            poke_interval=1.0,
            timeout=120,
        )
        dag_run = run_dag(
            source, gate_dag.dag_id, logical_date=dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
        )
        repairer.join(10)
        assert repairer.error is None, repairer.error
    finally:
        hook.run(f"DROP TABLE IF EXISTS `{table}`", autocommit=True)
    assert repairer.seen_while_paused["downstream"] is None
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach", "recovery"]
    result = gate_xcom(dag_run)
    json.dumps(result)  # XCom is plain JSON
    assert result["status"] == "pass" and result["row_count"] == 4
    assert result["sql"] == (
        "SELECT COUNT(*), COUNT(`Select`), COUNT(`Mixed``Case`), "
        "COUNT(CASE WHEN TRIM(CAST(`Mixed``Case` AS CHAR)) = '' THEN 1 END), "
        "COUNT(`d`), COUNT(CASE WHEN TRIM(CAST(`d` AS CHAR)) = '' THEN 1 END), "
        "COUNT(`n`), COUNT(CASE WHEN TRIM(CAST(`n` AS CHAR)) = '' THEN 1 END) "
        f"FROM `test`.`{table}` WHERE (ds = '2024-03-01' AND kind = 'a')"
    )
    columns = result["columns"]
    assert (columns["Mixed`Case"]["null_count"], columns["Mixed`Case"]["blank_count"]) == (0, 1)
    assert (columns["d"]["null_count"], columns["d"]["blank_count"], columns["d"]["null_rate"]) == (
        1,
        0,
        0.25,
    )
    assert (columns["n"]["null_count"], columns["n"]["blank_count"]) == (1, 0)
    assert all(type(c["null_count"]) is int for c in columns.values())
    completes = [e for e in lineage_events() if e["job"]["name"] == f"{gate_dag.dag_id}.gate"
                 and e["eventType"] == "COMPLETE"]  # fmt: skip
    [dataset] = completes[-1]["inputs"]
    assert dataset["namespace"] == "mysql://127.0.0.1:3306"
    assert dataset["inputFacets"]["dataQualityMetrics"]["rowCount"] == 4


@pytest.mark.integration
def test_postgres_blank_rule_on_columns_of_every_type(pg_schema) -> None:
    """``blank_is_null`` on non-text columns casts to text: no type error, blanks only where text can be."""
    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TYPE {schema}.mood AS ENUM ('ok', ' ')",
        f'CREATE TABLE {schema}."Types" (i int, d date, ts timestamptz, j jsonb, b bool, arr int[], '
        f"by bytea, u uuid, num numeric, iv interval, m {schema}.mood, c char(3), t text)",
        f"INSERT INTO {schema}.\"Types\" VALUES (1, now(), now(), '{{}}', true, '{{1}}', '\\x00', "
        "gen_random_uuid(), 1.5, '1 day', 'ok', 'ab', 'x'), "
        "(NULL, NULL, NULL, '\"\"', NULL, '{}', '', NULL, NULL, NULL, ' ', '   ', ' ')",
    )
    names = ["i", "d", "ts", "j", "b", "arr", "by", "u", "num", "iv", "m", "c", "t"]
    gate = _gate(
        conn_id,
        f'{schema}."Types"',
        {name: {"max_null_rate": 1.0, "blank_is_null": True} for name in names},
    )
    query, spec, measurement = gate._measure_now()
    assert query.sql.count("SELECT") == 1 and ";" not in query.sql
    blanks = {name: counts.blank for name, counts in measurement.columns.items()}
    assert blanks == {name: 0 for name in names} | {"m": 1, "c": 1, "t": 1}
    assert gate._evaluate(spec, measurement).status == "pass"


# ---------------------------------------------------------------- a MariaDB user granted some columns only


@pytest.fixture
def mariadb_column_user(mariadb_table: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A MariaDB user granted SELECT on ``table (id, email)`` only; yields (conn_id, table). Dropped after."""
    import uuid

    _, table, hook = mariadb_table
    user = f"qg_user_{uuid.uuid4().hex[:8]}"
    hook.run(
        [
            f"CREATE TABLE `{table}` (id INT, email TEXT, secret TEXT)",
            f"INSERT INTO `{table}` VALUES (1, 'a@x', 's'), (2, NULL, 's'), (3, '  ', NULL)",
            f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'",
            f"GRANT SELECT (id, email) ON test.`{table}` TO '{user}'@'%'",
        ],
        autocommit=True,
    )
    conn_id = f"qg_maria_user_{uuid.uuid4().hex[:6]}"
    conn = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": user, "password": "pw",
            "schema": "test"}  # fmt: skip
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    try:
        yield conn_id, table
    finally:
        hook.run(f"DROP USER IF EXISTS '{user}'@'%'", autocommit=True)


@pytest.mark.integration
def test_mariadb_user_granted_the_gated_columns_only_can_measure_them(mariadb_column_user: Any) -> None:
    conn_id, table = mariadb_column_user
    for name in (table, f"test.{table}"):
        gate = QualityGateOperator(task_id="g", conn_id=conn_id, table=name,
                                   null_thresholds={"EMAIL": 0.5, "id": 0.0}, blank_is_null=True)  # fmt: skip
        query, _, measurement = gate._measure_now()
        assert measurement.row_count == 3
        assert {c: (n.null, n.blank) for c, n in measurement.columns.items()} == {
            "email": (1, 1),
            "id": (0, 0),
        }
        assert "secret" not in query.sql
    refused = QualityGateOperator(task_id="g", conn_id=conn_id, table=table, null_thresholds={"secret": 0.5})
    with pytest.raises(QualityGateError) as info:
        refused._measure_now()
    message = str(info.value)
    assert f"null_thresholds names columns of {table} that cannot be measured: 'secret'" in message
    assert f"Columns of {table}: id, email" in message
    assert f"connection {conn_id!r} may SELECT are listed" in message and "grant SELECT on" in message
    # no column of the table granted: the database's refusal stands, naming the table
    other = QualityGateOperator(task_id="g", conn_id=conn_id, table="mysql.user", null_thresholds={"a": 0.5})
    with pytest.raises(
        QualityGateError, match=r"SELECT command denied .*check the name, its schema and case"
    ):
        other._measure_now()


# ---------------------------------------------------------------- spatial columns on MariaDB


@pytest.mark.integration
def test_mariadb_blank_rule_on_spatial_and_other_columns(mariadb_table) -> None:
    """``blank_is_null=True`` for the whole gate, a table with a POINT and a GEOMETRY column: MariaDB refuses
    ``CAST(point AS CHAR)`` ("Illegal parameter data type"), so no rule of the gate could be measured."""
    conn_id, table, hook = mariadb_table
    hook.run(
        f"CREATE TABLE `{table}` (id INT, `Place` POINT, shape GEOMETRY, name VARCHAR(20), d DATE, j JSON)",
        autocommit=True,
    )
    hook.run(
        f"INSERT INTO `{table}` VALUES (1, POINT(1, 2), POINT(0, 0), '  ', '2024-01-01', '{{}}'), "
        "(2, NULL, NULL, 'x', NULL, NULL)",
        autocommit=True,
    )
    names = ["id", "place", "shape", "name", "d", "j"]
    gate = _gate(conn_id, f"test.{table}", dict.fromkeys(names, 0.5), blank_is_null=True)
    query, spec, measurement = gate._measure_now()
    assert query.sql.count("SELECT") == 1 and "CAST(`name` AS CHAR)" in query.sql  # text columns unchanged
    counts = {name: (c.null, c.blank) for name, c in measurement.columns.items()}
    assert counts == {
        "id": (0, 0),
        "Place": (1, 0),
        "shape": (1, 0),
        "name": (0, 1),
        "d": (1, 0),
        "j": (1, 0),
    }
    result = gate._evaluate(spec, measurement)
    assert result.status == "pass" and result.columns[3].null_rate == 0.5


@pytest.mark.integration
@pytest.mark.airflow
def test_mariadb_spatial_blank_rule_through_a_pause(mariadb_table, gate_dag) -> None:
    """The trigger re-runs the gate's query: a pause on a spatial column measures and recovers."""
    import threading
    import time

    conn_id, table, hook = mariadb_table
    hook.run(f"CREATE TABLE `{table}` (id INT, place POINT)", autocommit=True)
    hook.run(f"INSERT INTO `{table}` VALUES (1, POINT(1, 2)), (2, NULL)", autocommit=True)

    def repair() -> None:
        deadline = time.monotonic() + 60
        while not gate_dag.notes_read() and time.monotonic() < deadline:
            time.sleep(0.1)
        hook.run(f"UPDATE `{table}` SET place = POINT(0, 0) WHERE place IS NULL", autocommit=True)

    threading.Thread(target=repair, daemon=True).start()
    dag_run = gate_dag.run(conn_id=conn_id, table=table, thresholds={"place": 0.1}, blank_is_null=True,
                           poke_interval=0.5, timeout=60)  # fmt: skip
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach", "recovery"]
    assert gate_xcom(dag_run)["columns"]["place"]["blank_count"] == 0


# ---------------------------------------------------------------- more counters than a result row holds


def test_sqlite_too_many_counters_fail_at_once_naming_the_options(sqlite_db) -> None:
    conn_id, path = sqlite_db
    columns_sql = ", ".join(f"c{i} TEXT" for i in range(1200))
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE wide ({columns_sql})")
    columns = {f"c{i}": 0.1 for i in range(1200)}
    QualityGateOperator(
        task_id="g", conn_id=conn_id, table="wide", null_thresholds=columns
    )._measure_now()  # 1201 counters: fine
    with pytest.raises(QualityGateError) as info:
        QualityGateOperator(
            task_id="g", conn_id=conn_id, table="wide", null_thresholds=columns, blank_is_null=True
        )._measure_now()
    message = str(info.value)
    assert "2401 counters" in message and "sqlite allows at most 2000" in message
    assert "null_thresholds" in message and "blank_is_null" in message


@pytest.mark.integration
@pytest.mark.airflow
def test_postgres_too_many_counters_fail_at_once_without_retry(pg_schema, gate_dag, capfd) -> None:
    """900 columns with blank_is_null: 1801 counters, above PostgreSQL's 1664 result columns. Measured, that
    is a database error the gate retried (retries=2) and blamed on ``row_filter``."""
    conn_id, schema = pg_schema
    columns_sql = ", ".join(f"c{i} text" for i in range(900))
    pg_execute(f"CREATE TABLE {schema}.wide ({columns_sql})")
    dag_run = gate_dag.run(conn_id=conn_id, table=f"{schema}.wide",
                           thresholds={f"c{i}": 0.1 for i in range(900)}, blank_is_null=True)  # fmt: skip
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert (gate_ti.state, gate_ti.try_number) == ("failed", 1)
    out = capfd.readouterr().out
    assert "1801 counters" in out and "postgres allows at most 1664" in out
