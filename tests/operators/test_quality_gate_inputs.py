"""Bad input is refused clearly: at DAG parse time where possible, otherwise before any measuring or waiting.

Also the edge cases of what is measured: an empty table, a filter selecting zero rows, blank strings counted
or not, sampling, and a pause that times out.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from gate_helpers import gate_xcom, pg_execute, sqlite_execute, ti_states

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.naming import dataset_for_table
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator
from airflow_lineage_provider.quality import NullRule


def _gate(**kwargs: Any) -> QualityGateOperator:
    defaults: dict[str, Any] = {"task_id": "g", "conn_id": "c", "table": "t", "null_thresholds": {"a": 0.1}}
    return QualityGateOperator(**{**defaults, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"null_thresholds": {"a": 1.2}}, r"null_thresholds\['a'\] = 1.2 is outside \[0, 1\]"),
        ({"null_thresholds": {"a": -0.5}}, r"outside \[0, 1\]"),
        ({"null_thresholds": {}}, "non-empty mapping"),
        ({"null_thresholds": {"a": {"max_null_rate": 0.1, "severity": "info"}}}, "unknown severity 'info'"),
        ({"on_breach": "explode"}, "on_breach='explode' is not a known value; use one of 'pause', 'skip'"),
        ({"on_empty": "ignore"}, "on_empty='ignore' is not a known value"),
        ({"sample_percent": 0}, "sample_percent must be > 0 and <= 100"),
        ({"sample_percent": 150}, "sample_percent must be > 0 and <= 100"),
        ({"min_rows": -1}, "min_rows must be an integer >= 0"),
        ({"poke_interval": 0}, "poke_interval must be > 0"),
        ({"timeout": -5}, "timeout must be > 0"),
        # "wait forever" must be refused here, not end in an OverflowError when the gate defers after a breach
        ({"timeout": float("inf")}, "timeout must be a finite number, got inf"),
        ({"timeout": dt.timedelta.max}, r"timeout must be > 0 and <= 31536000, got 86400000000000"),
        ({"poke_interval": float("inf")}, "poke_interval must be a finite number"),
        ({"sample_percent": float("nan")}, "sample_percent must be a finite number"),
        ({"table": "a.b.c.d"}, "at most three parts"),
        ({"table": '"unclosed'}, "unbalanced quote"),
        ({"row_filter": "1=1; DELETE FROM t"}, "row_filter .* is refused"),
        ({"conn_id": ""}, "conn_id must name an Airflow connection"),
        ({"notifiers": ["not callable"]}, "notifiers must be BaseNotifier instances or callables"),
        ({"pause_downstream_dags": True}, "needs airflow_api_conn_id"),
        ({"pause_downstream_dags": "dag_a"}, "True/False or a list of DAG ids"),
        ({"null_thresholds": {"a": {"max_null_rate": 0.1, "blank_is_null": "false"}}},
         r"null_thresholds\['a'\]: blank_is_null must be True or False, got 'false'"),
        ({"row_filter": "email = $$'$$) ; COMMIT; CREATE TABLE x(i int); --'"}, "dollar-quoted strings"),
        ({"row_filter": 'email = "a\\" OR "); CREATE TABLE x(i int); -- "'}, "is refused"),
        ({"row_filter": "EXISTS (SELECT 1 AS [a'])) UNION ALL SELECT 7 WHERE (1 IN (SELECT 1 AS [b'])"},
         "is refused"),
        ({"pause_downstream_dags": ["x"], "airflow_api_conn_id": "api", "on_breach": "fail"},
         "only works with on_breach='pause'"),
        ({"ignore_downstream_trigger_rules": False}, "only applies to on_breach='skip', not 'pause'"),
        ({"ignore_downstream_trigger_rules": "no", "on_breach": "skip"},
         "ignore_downstream_trigger_rules must be True or False, got 'no'"),
    ],
)  # fmt: skip
def test_parse_time_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(QualityGateError, match=f"^g: .*{message}"):  # the message names the task
        _gate(**kwargs)


def test_templated_fields_are_checked_after_rendering_only() -> None:
    gate = _gate(table="{{ params.table }}", row_filter="ds = '{{ ds }}'")
    assert gate.template_fields == ("table", "row_filter")
    gate = _gate(null_thresholds={"a": NullRule("a", 0.2, "warn", True)})
    assert gate.rules == (NullRule("a", 0.2, "warn", True),)


def _measure_error(**kwargs: Any) -> str:
    with pytest.raises(QualityGateError) as info:
        _gate(**kwargs)._measure_now()
    return str(info.value)


def test_run_time_errors_name_what_is_wrong(sqlite_db) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, 'CREATE TABLE t (a TEXT, "B" INTEGER)')
    assert "connection 'nope' is not defined" in _measure_error(conn_id="nope")
    assert "AIRFLOW_CONN_NOPE" in _measure_error(conn_id="nope")
    message = _measure_error(conn_id=conn_id, table="missing")
    assert "table 'missing' cannot be read on connection" in message and "no such table" in message
    message = _measure_error(conn_id=conn_id, null_thresholds={"a": 0.1, "zz": 0.1})
    assert message.startswith(
        "null_thresholds names columns of t that cannot be measured: 'zz' does not exist"
    )
    assert "Columns of t: a, B" in message
    assert "sampling is not supported on sqlite" in _measure_error(conn_id=conn_id, sample_percent=10)
    message = _measure_error(conn_id=conn_id, row_filter="nope = 1")
    assert "measuring 't' failed (OperationalError: no such column: nope); check row_filter" in message
    message = _measure_error(conn_id=conn_id, null_thresholds={"b": {"max_null_rate": 0.1}, "B": 0.5})
    assert "'b' and 'B' are the same column 'B' (keep one rule)" in message


@pytest.mark.integration
def test_engines_the_gate_does_not_know_must_quote_names_as_names(mariadb_table) -> None:
    """An unknown conn_type gets ANSI "..." quoting; where that makes a string (MySQL, Hive, Spark ...),
    every null count would be 0, so the gate refuses and says how to set the quoting."""
    from contextlib import closing

    from airflow_lineage_provider.quality import dialect_for, parse_table_name

    conn_id, table, hook = mariadb_table
    hook.run(f"CREATE TABLE `{table}` (id INT, email TEXT)", autocommit=True)
    gate = _gate(conn_id=conn_id, table=table)
    with closing(hook.get_conn()) as db, closing(db.cursor()) as cursor:
        with pytest.raises(QualityGateError, match=r"connection type 'odbc' is not one the quality gate "
                           r"knows.*set the connection's extra escape_word_format"):  # fmt: skip
            gate._check_quoting(db, cursor, dialect_for("odbc"), parse_table_name(table), "odbc")
        backticks = dialect_for("odbc", hook.escape_word_format)  # MySqlHook's own: `{}`
        assert backticks.quote("email") == "`email`"
        gate._check_quoting(db, cursor, backticks, parse_table_name(table), "odbc")  # names: accepted
    assert dialect_for("hiveserver2").quote("email") == "`email`"


@pytest.mark.integration
def test_run_time_errors_postgres(pg_schema) -> None:
    conn_id, schema = pg_schema
    pg_execute(f'CREATE TABLE {schema}."T" (a int)')
    message = _measure_error(
        conn_id=conn_id, table=f"{schema}.T"
    )  # unquoted: folds to t, which does not exist
    assert f'relation "{schema}.t" does not exist' in message
    gate = _gate(conn_id=conn_id, table=f'{schema}."T"')
    query, _, measurement = gate._measure_now()
    assert query.sql == f'SELECT COUNT(*), COUNT(*) FILTER (WHERE "a" IS NULL) FROM "{schema}"."T"'
    assert measurement.row_count == 0


@pytest.mark.airflow
def test_unknown_column_fails_at_once_without_waiting(sqlite_db, gate_dag) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, "CREATE TABLE t (a TEXT)", "INSERT INTO t VALUES (NULL)")
    dag_run = gate_dag.run(
        conn_id=conn_id, table="t", thresholds={"nope": 0.1}, on_breach="pause", timeout=600
    )
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert gate_ti.try_number == 1  # bad input is not retried
    assert gate_dag.notes_read() == []  # never measured, never alerted


@pytest.mark.airflow
def test_pause_that_times_out_fails_the_gate(sqlite_db, gate_dag, lineage_events) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, "CREATE TABLE t (a TEXT)", "INSERT INTO t VALUES (NULL), ('x')")
    dag_run = gate_dag.run(
        conn_id=conn_id, table="t", thresholds={"a": 0.1}, on_breach="pause", poke_interval=0.5, timeout=1.5
    )
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert gate_ti.try_number == 1
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach", "timeout"]
    result = gate_xcom(dag_run)
    assert result["status"] == "breach" and result["waited_seconds"] >= 1.5
    fails = [
        e
        for e in lineage_events()
        if e["job"]["name"] == f"{gate_dag.dag_id}.gate" and e["eventType"] == "FAIL"
    ]
    assert fails and "dataQualityAssertions" in fails[-1]["inputs"][0]["inputFacets"]


EDGE_DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    for task_id, kwargs in GATES.items():
        gate = QualityGateOperator(task_id=task_id, conn_id=CONN_ID, on_breach="skip", **kwargs)
        gate >> EmptyOperator(task_id=f"after_{task_id}")
"""


@pytest.mark.airflow
def test_empty_table_zero_row_filter_and_blanks(sqlite_db, tmp_path) -> None:
    from lineage_helpers import run_dag

    conn_id, path = sqlite_db
    sqlite_execute(
        path,
        "CREATE TABLE empty_t (a TEXT)",
        "CREATE TABLE events (ds TEXT, name TEXT)",
        "INSERT INTO events VALUES ('2020-01-01', 'x'), ('2020-01-01', ''), ('2020-01-01', '  '), "
        "('2020-01-02', NULL)",
    )
    gates = {
        "empty_breach": {"table": "empty_t", "null_thresholds": {"a": 0.1}},
        "empty_pass": {"table": "empty_t", "null_thresholds": {"a": 0.1}, "on_empty": "pass"},
        "zero_rows_warn": {"table": "events", "null_thresholds": {"name": 0.0}, "on_empty": "warn",
                           "row_filter": "ds = '{{ macros.ds_add(ds, 1) }}' AND ds < '2000-01-01'"},
        "blanks_counted": {"table": "events", "null_thresholds": {"name": 0.5}, "blank_is_null": True,
                           "row_filter": "ds = '2020-01-01'"},
        "blanks_not_counted": {"table": "events", "null_thresholds": {"name": 0.5},
                               "row_filter": "ds = '2020-01-01'"},
        "min_rows": {"table": "events", "null_thresholds": {"name": 1.0}, "min_rows": 10},
    }  # fmt: skip
    dag_id = f"qg_edges_{uuid.uuid4().hex[:6]}"
    source = f"DAG_ID = {dag_id!r}\nCONN_ID = {conn_id!r}\nGATES = {gates!r}\n" + EDGE_DAG
    dag_run = run_dag(source, dag_id)
    states = ti_states(dag_run)
    assert {k: v for k, v in states.items() if k.startswith("after_")} == {
        "after_empty_breach": "skipped",
        "after_empty_pass": "success",
        "after_zero_rows_warn": "success",
        "after_blanks_counted": "skipped",
        "after_blanks_not_counted": "success",
        "after_min_rows": "skipped",
    }
    results = {task_id: gate_xcom(dag_run, task_id) for task_id in gates}
    assert results["empty_breach"]["row_count"] == 0 and results["empty_breach"]["status"] == "breach"
    assert results["empty_breach"]["columns"]["a"]["null_rate"] is None
    assert results["empty_pass"]["status"] == "pass"
    zero = results["zero_rows_warn"]
    assert (
        zero["status"] == "warn" and zero["row_count"] == 0 and "AND ds < '2000-01-01'" in zero["row_filter"]
    )
    assert "WHERE (ds = '" in zero["sql"] and "{{" not in zero["sql"]
    counted, not_counted = (
        results["blanks_counted"]["columns"]["name"],
        results["blanks_not_counted"]["columns"]["name"],
    )
    assert (counted["null_count"], counted["blank_count"], counted["null_rate"]) == (0, 2, 2 / 3)
    assert (not_counted["blank_count"], not_counted["null_rate"]) == (None, 0.0)
    assert results["min_rows"]["row_check"] == {
        "rows": 4, "min_rows": 10, "on_empty": "breach", "passed": False, "severity": "error",
    }  # fmt: skip


@pytest.mark.airflow
@pytest.mark.integration
def test_sampling_on_postgres(pg_schema, gate_dag) -> None:
    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.big AS SELECT g AS id, CASE WHEN g % 100 = 0 THEN NULL ELSE g END AS v "
        "FROM generate_series(1, 200000) g"
    )
    dag_run = gate_dag.run(conn_id=conn_id, table=f"{schema}.big", thresholds={"v": 0.05}, sample_percent=20,
                           on_breach="fail", on_empty="pass")  # fmt: skip
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    result = gate_xcom(dag_run)
    assert result["sampled_percent"] == 20.0
    assert "TABLESAMPLE SYSTEM (20)" in result["sql"]
    assert 0 < result["row_count"] < 200000  # about a fifth of the pages


@pytest.mark.parametrize(
    ("table", "sql"),
    [
        ('Sales."Orders"', 'SELECT * FROM Sales."Orders"'),
        ("public.orders", "SELECT * FROM public.orders"),
        ("Orders", "SELECT * FROM Orders"),
        ('"My DB"."S"."T"', 'SELECT * FROM "My DB"."S"."T"'),
    ],
)
def test_dataset_named_like_the_sql_extractors(table: str, sql: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The measured table is the same OpenLineage dataset as the one SQL tasks read and write."""
    from airflow.sdk import BaseHook

    from airflow_lineage_provider.naming import default_database_schema
    from airflow_lineage_provider.sql import analyze

    monkeypatch.setenv(
        "AIRFLOW_CONN_QG_NAMING",
        json.dumps({"conn_type": "postgres", "host": "db.example", "port": 5432, "schema": "shop"}),
    )
    conn = BaseHook.get_connection("qg_naming")
    database, schema = default_database_schema(conn)
    [ref] = analyze(sql, "postgres", default_database=database, default_schema=schema).inputs
    expected = dataset_for_table(conn, ref)
    assert _gate(conn_id="qg_naming", table=table)._dataset_id() == expected
