"""Bad input is refused clearly: at DAG parse time where possible, otherwise before any measuring or waiting.

Also the edge cases of what is measured: an empty table, a filter selecting zero rows, blank strings counted
or not, sampling, and a pause that times out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from gate_helpers import ORDERS, Repairer, gate_xcom, pg_execute, sqlite_execute, ti_states

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
    assert {"table", "row_filter"} <= set(gate.template_fields)
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


# ---------------------------------------------------------------- templated conn_id and null_thresholds


def _render(gate: QualityGateOperator, *, native: bool, **context: Any) -> QualityGateOperator:
    """``gate`` rendered by Airflow as the task runner renders it (native objects or text)."""
    from airflow.sdk import DAG

    with DAG(f"qg_render_{uuid.uuid4().hex[:6]}", schedule=None, render_template_as_native_obj=native) as dag:
        dag.add_task(gate)
    gate.render_template_fields(context, jinja_env=dag.get_template_env())
    return gate


def test_conn_id_and_null_thresholds_are_templated() -> None:
    assert QualityGateOperator.template_fields == ("conn_id", "table", "null_thresholds", "row_filter")
    gate = _gate(conn_id="{{ params.conn }}", table="{{ params.table }}", null_thresholds="{{ params.t }}")
    assert gate.rules == ()  # known once rendered
    _render(gate, native=True, params={"conn": "wh", "table": "orders", "t": {"a": 0.2, "b": 0}})
    assert (gate.conn_id, gate.table) == ("wh", "orders")
    assert gate.rules == (NullRule("a", 0.2, blank_is_null=False), NullRule("b", 0.0, blank_is_null=False))
    # rules objects still work, beside templated rates
    gate = _gate(null_thresholds={"a": NullRule("a", 0.2, "warn", True), "b": "{{ params.b }}"})
    _render(gate, native=False, params={"b": 0.5})
    assert gate.rules == (NullRule("a", 0.2, "warn", True), NullRule("b", 0.5, blank_is_null=False))
    # written out: checked at parse time, as before
    gate = _gate(null_thresholds={"a": NullRule("a", 0.2, "warn", True)})
    assert gate.rules == (NullRule("a", 0.2, "warn", True),)


@pytest.mark.parametrize(
    ("template", "native", "params"),
    [
        ("{{ params.t }}", True, {"t": {"a": 0.1, "b": {"max_null_rate": 0.3, "blank_is_null": True}}}),
        ("{{ params.t | tojson }}", False,
         {"t": {"a": 0.1, "b": {"max_null_rate": 0.3, "blank_is_null": True}}}),
        ("{{ params.t }}", False, {"t": {"a": 0.1, "b": {"max_null_rate": 0.3, "blank_is_null": True}}}),
        ({"a": "{{ params.a }}",
          "b": {"max_null_rate": "{{ params.b }}", "blank_is_null": "{{ params.blank }}"}},
         False, {"a": 0.1, "b": 0.3, "blank": True}),
        ({"a": "{{ params.a }}", "b": "{{ params.b }}"}, True,
         {"a": 0.1, "b": {"max_null_rate": 0.3, "blank_is_null": True}}),
        ('{"a": {{ params.a }}, "b": {"max_null_rate": 0.3, "blank_is_null": true}}', False, {"a": 0.1}),
    ],
    ids=["native-dict", "tojson", "dict-repr", "values-text", "values-native", "json-text"],
)  # fmt: skip
def test_null_thresholds_render_from_every_shape(template: Any, native: bool, params: dict[str, Any]) -> None:
    gate = _render(_gate(null_thresholds=template), native=native, params=params)
    assert gate.rules == (NullRule("a", 0.1, blank_is_null=False), NullRule("b", 0.3, blank_is_null=True))


@pytest.mark.parametrize(
    ("kwargs", "native", "params", "message"),
    [
        ({"null_thresholds": "{{ params.t }}"}, False, {"t": "email"},
         r"null_thresholds rendered to 'email', which is not a JSON object of column -> max null rate"),
        ({"null_thresholds": "{{ params.t }}"}, True, {"t": ["email"]},
         r"null_thresholds must be a non-empty mapping"),
        ({"null_thresholds": "{{ params.t }}"}, False, {"t": ""},
         r"null_thresholds rendered to '', .*render_template_as_native_obj=True .*\| tojson"),
        ({"null_thresholds": "{{ params.t }}"}, True, {"t": {"a": 1.5}},
         r"null_thresholds\['a'\] = 1.5 is outside"),
        ({"null_thresholds": {"a": "{{ params.a }}"}}, False, {"a": "high"},
         r"null_thresholds\['a'\] rendered to 'high', which is neither a rate in \[0, 1\] nor a rule object"),
        ({"null_thresholds": {"a": "{{ params.a }}"}}, False,
         {"a": "{'max_null_rate': 0.1, 'severity': 'x'}"},
         r"null_thresholds\['a'\]: unknown severity 'x'"),
        ({"conn_id": "{{ params.c }}"}, False, {"c": ""}, "conn_id must name an Airflow connection, got ''"),
        ({"conn_id": "{{ params.c }}"}, True, {"c": None},
         "conn_id must name an Airflow connection, got None"),
    ],
)  # fmt: skip
def test_rendered_arguments_are_checked_at_once(
    kwargs: dict[str, Any], native: bool, params: dict[str, Any], message: str
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    gate = _gate(**kwargs)  # nothing to check before rendering
    with pytest.raises(AirflowFailException, match=f"^g: {message}"):  # fails without retry, naming the task
        _render(gate, native=native, params=params)


def test_rules_written_out_beside_templated_ones_are_checked_at_parse_time() -> None:
    with pytest.raises(QualityGateError, match=r"^g: null_thresholds\['b'\] = 2.0 is outside \[0, 1\]"):
        _gate(null_thresholds={"a": "{{ params.a }}", "b": 2})
    with pytest.raises(QualityGateError, match=r"^g: null_thresholds is 'email', which is not a JSON object"):
        _gate(null_thresholds="email")
    gate = _gate(null_thresholds='{"a": 0.25}')  # JSON text written out: read at parse time
    assert gate.rules == (NullRule("a", 0.25, blank_is_null=False),)


def _run_templated(gate_dag: Any, *, params: dict[str, Any], native: bool, **kwargs: Any) -> Any:
    """``gate_dag``'s DAG with ``params`` and ``render_template_as_native_obj``, run with ``dag.test()``."""
    from lineage_helpers import run_dag

    source = gate_dag.source(**kwargs).replace(
        "schedule=None,", f"schedule=None, params={params!r}, render_template_as_native_obj={native!r},", 1
    )
    assert "params=" in source
    return run_dag("from airflow_lineage_provider.quality import NullRule\n" + source, gate_dag.dag_id)


@pytest.mark.airflow
def test_dag_test_renders_conn_id_and_thresholds_from_params_and_variables(
    sqlite_db, gate_dag, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)  # email 50% null, amount 25%
    # native: a dict from params; the connection id too
    dag_run = _run_templated(
        gate_dag, native=True,
        params={"conn": conn_id, "t": {"email": 0.5, "amount": {"max_null_rate": 0.3}}},
        conn_id="{{ params.conn }}", table="orders", thresholds="{{ params.t }}", on_breach="fail",
    )  # fmt: skip
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    result = gate_xcom(dag_run)
    assert result["conn_id"] == conn_id
    assert {c: v["max_null_rate"] for c, v in result["columns"].items()} == {"email": 0.5, "amount": 0.3}
    # not native: JSON text held by a Variable, one rate from params; a breach now
    variable = f"qg_thresholds_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv(f"AIRFLOW_VAR_{variable.upper()}", json.dumps({"email": 0.25}))
    dag_run = _run_templated(
        gate_dag, params={"conn": conn_id}, native=False, conn_id="{{ params.conn }}", table="orders",
        thresholds=f"{{{{ var.value.{variable} }}}}", on_breach="fail",
    )  # fmt: skip
    assert ti_states(dag_run)["gate"] == "failed"
    assert gate_xcom(dag_run)["breaches"] == ["email"]
    assert gate_dag.notes_read()[-1]["thresholds"] == {"email": 0.25}


@pytest.mark.airflow
def test_a_rendered_threshold_that_is_wrong_fails_at_once_without_retry(
    sqlite_db, gate_dag, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    variable = f"qg_thresholds_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv(f"AIRFLOW_VAR_{variable.upper()}", "email=0.1")  # not JSON
    dag_run = _run_templated(
        gate_dag, params={}, native=False, conn_id=conn_id, table="orders",
        thresholds=f"{{{{ var.value.{variable} }}}}", on_breach="pause", timeout=600,
    )  # fmt: skip
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert gate_ti.try_number == 1  # default_args has retries=2: bad input is not retried
    assert gate_dag.notes_read() == []  # never measured, never alerted, never waited
    assert (
        "gate: null_thresholds rendered to 'email=0.1', which is not a JSON object" in capfd.readouterr().out
    )


@pytest.mark.airflow
def test_a_pause_with_templated_conn_id_and_thresholds_resumes(sqlite_db, gate_dag) -> None:
    """The trigger is given the rendered connection id and rules (it runs them after serialisation)."""
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    repairer = Repairer(
        gate_dag, lambda: sqlite_execute(path, "UPDATE orders SET email = 'x' WHERE email IS NULL"),
        wait_polls=2.5, poke_interval=1.0,
    )  # fmt: skip
    repairer.start()
    dag_run = _run_templated(
        gate_dag, params={"conn": conn_id, "rate": 0.1}, native=False, conn_id="{{ params.conn }}",
        table="orders", thresholds={"email": "{{ params.rate }}", "amount": NullRule("amount", 0.5)},
        on_breach="pause", poke_interval=1.0, timeout=120,
    )  # fmt: skip
    repairer.join(10)
    assert repairer.error is None, repairer.error
    assert repairer.seen_while_paused["downstream"] is None
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    result = gate_xcom(dag_run)
    assert result["status"] == "pass" and result["conn_id"] == conn_id
    assert {c: v["max_null_rate"] for c, v in result["columns"].items()} == {"email": 0.1, "amount": 0.5}
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach", "recovery"]


@pytest.mark.airflow
@pytest.mark.integration
def test_postgres_gate_with_thresholds_from_a_variable(
    pg_schema, gate_dag, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id, schema = pg_schema
    pg_execute(
        f'CREATE TABLE "{schema}".orders (id int, email text)',
        f"INSERT INTO \"{schema}\".orders VALUES (1, 'a'), (2, NULL), (3, ''), (4, 'd')",
    )
    variable = f"qg_thresholds_{uuid.uuid4().hex[:6]}"
    rules = {"email": {"max_null_rate": 0.25, "blank_is_null": True}, "id": 0}
    monkeypatch.setenv(f"AIRFLOW_VAR_{variable.upper()}", json.dumps(rules))
    dag_run = _run_templated(
        gate_dag, params={"conn": conn_id, "schema": schema}, native=True, conn_id="{{ params.conn }}",
        table="{{ params.schema }}.orders", thresholds=f"{{{{ var.json.{variable} }}}}", on_breach="skip",
    )  # fmt: skip
    assert ti_states(dag_run) == {"gate": "success", "downstream": "skipped", "further": "skipped"}
    result = gate_xcom(dag_run)
    assert result["breaches"] == ["email"]  # one null and one blank: 50% > 25%
    assert result["columns"]["email"]["blank_is_null"] is True
    assert f'"{schema}"."orders"' in result["sql"]


# ---------------------------------------------------------------- a connection type with no hook installed


@pytest.fixture
def snowflake_conn(monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection of a type whose provider package is not installed here (as on a fresh worker image)."""
    conn_id = f"qg_snow_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "snowflake", "host": "acme"})
    )
    return conn_id


def test_a_connection_type_without_a_hook_is_bad_input_naming_the_connection(
    snowflake_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=snowflake_conn)._measure_now()
    message = str(info.value)
    assert f"connection {snowflake_conn!r} (type 'snowflake')" in message
    assert "provider package" in message
    typo = f"qg_typo_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{typo.upper()}", json.dumps({"conn_type": "postgress", "host": "h"}))
    with pytest.raises(QualityGateError, match=r"\(type 'postgress'\)"):
        _gate(conn_id=typo)._measure_now()


@pytest.mark.airflow
def test_a_connection_type_without_a_hook_fails_the_gate_without_retry(
    snowflake_conn, gate_dag, capfd
) -> None:
    """default_args has retries=2: a missing provider will not appear between two tries."""
    dag_run = gate_dag.run(
        conn_id=snowflake_conn, table="orders", thresholds={"email": 0.1}, on_breach="fail"
    )
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert gate_ti.try_number == 1
    assert f"gate: connection {snowflake_conn!r} (type 'snowflake') has no hook" in capfd.readouterr().out


# ---------------------------------------------------------------- option types


@pytest.mark.parametrize("value", ["false", "no", 0, 1, None])
def test_blank_is_null_must_be_true_or_false(value: Any) -> None:
    """``bool("false")`` is True: a flag read from a config file or an env var would count blanks silently."""
    with pytest.raises(
        QualityGateError, match=rf"^g: blank_is_null must be True or False, got {re.escape(repr(value))}"
    ):
        _gate(blank_is_null=value)


@pytest.mark.parametrize("table", [None, 5, ["t"]])
def test_a_table_that_is_not_a_string_names_the_option(table: Any) -> None:
    with pytest.raises(
        QualityGateError, match=r"^g: table must be a table name string such as 'schema.table'"
    ):
        _gate(table=table)


def test_a_rendered_table_that_is_not_a_string_is_bad_input(sqlite_db) -> None:
    """``render_template_as_native_obj=True`` can render ``{{ params.table }}`` to a number or None."""
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    gate = _gate(conn_id=conn_id, table="{{ params.table }}", null_thresholds={"email": 0.1})
    gate.table = None  # as rendered
    with pytest.raises(QualityGateError, match=r"table must be a table name string .*got None"):
        gate._measure_now()


class _Note:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, context: Any) -> None:
        self.seen.append(context["quality_gate"]["event"])


def test_notifiers_none_or_a_single_notifier() -> None:
    assert _gate(notifiers=None).notifiers == []
    note = _Note()
    assert _gate(notifiers=note).notifiers == [note]  # as on_failure_callback takes one callable or a list
    with pytest.raises(
        QualityGateError, match=r"notifiers must be one BaseNotifier .*or a list of them, got 42"
    ):
        _gate(notifiers=42)
    with pytest.raises(QualityGateError, match="notifiers must be BaseNotifier instances or callables"):
        _gate(notifiers=[note, "not callable"])


def test_notifier_timeout_is_checked() -> None:
    import datetime as dt

    assert _gate(notifier_timeout=dt.timedelta(minutes=2)).notifier_timeout == 120.0
    with pytest.raises(QualityGateError, match=r"^g: notifier_timeout must be > 0"):
        _gate(notifier_timeout=0)


# ---------------------------------------------------------------- what a refused measuring query names


@pytest.mark.integration
def test_a_refused_measuring_query_names_the_options_it_used(pg_schema) -> None:
    """TABLESAMPLE on a view is refused by PostgreSQL: the message must point at sample_percent, not at a
    row_filter the gate does not have."""
    conn_id, schema = pg_schema
    pg_execute(
        f"CREATE TABLE {schema}.orders (id int, email text)",
        f"CREATE VIEW {schema}.orders_v AS SELECT * FROM {schema}.orders",
    )
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=conn_id, table=f"{schema}.orders_v", null_thresholds={"email": 0.1},
              sample_percent=10)._measure_now()  # fmt: skip
    message = str(info.value)
    assert "TABLESAMPLE clause can only be applied to tables" in message
    assert "check sample_percent" in message and "row_filter" not in message
    with pytest.raises(QualityGateError) as info:
        _gate(conn_id=conn_id, table=f"{schema}.orders_v", null_thresholds={"email": 0.1},
              row_filter="nope = 1")._measure_now()  # fmt: skip
    assert "check row_filter" in str(info.value) and "sample_percent" not in str(info.value)
