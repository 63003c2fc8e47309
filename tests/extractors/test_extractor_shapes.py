"""SQL and manual lineage on unusual task inputs, run as real DAGs with ``dag.test()``.

Shapes of input the other extractor tests do not cover: SQL from template files (macros, params, lists of
files, a file empty after rendering, one of comments only), bind parameters and ``hook_params``, odd
identifiers (non-ASCII, quoted names with dots and spaces), a 2 MB script, secrets in the SQL text,
connections that are missing or of an unknown type, and inlets/outlets of every kind Airflow 3 allows.

Every test checks the task states Airflow decides, the datasets of the terminal events (validated against
the OpenLineage JSON Schemas by the ``lineage_events`` fixture), that no secret reaches an event or a
provider log line, and the provider's WARNING-or-worse lines (at most one per problem, no tracebacks).
"""

from __future__ import annotations

import json
import logging
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from lineage_helpers import dags_folder, run_dag

from .conftest import Warehouse
from .events import by_job, datasets, extraction

pytestmark = [
    pytest.mark.airflow,
    # Airflow's own, for the Asset URI with credentials (its DAG file is parsed again by later tests' runs)
    pytest.mark.filterwarnings("ignore:An Asset URI should not contain a password:UserWarning"),
]

PACKAGE = "airflow_lineage_provider"


class _Records(logging.Handler):
    """Every record of the provider's loggers (not caplog: Airflow's logging set-up may stop propagation)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@attrs.frozen
class Outcome:
    """A DAG run: the final state of each task, the captured events and the provider's log records."""

    dag_id: str
    states: dict[str, str]
    events: list[dict[str, Any]]
    records: list[logging.LogRecord]

    @property
    def warnings(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= logging.WARNING]

    def warning_lines(self) -> list[str]:
        return [r.getMessage() for r in self.warnings]

    def all_log_text(self) -> str:
        """Every provider record as it would be written, tracebacks included."""
        formatter = logging.Formatter("%(message)s")
        return "\n".join(formatter.format(r) for r in self.records)

    def terminal(self, task_id: str) -> dict[str, Any]:
        """The COMPLETE or FAIL event of the task (exactly one)."""
        found = [
            e
            for e in self.events
            if e["job"]["name"] == task_id and e["eventType"] in ("COMPLETE", "FAIL", "ABORT")
        ]
        assert len(found) == 1, f"{len(found)} terminal events for {task_id}"
        return found[0]


@pytest.fixture
def provider_log() -> Iterator[_Records]:
    handler = _Records()
    package = logging.getLogger(PACKAGE)
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        package.removeHandler(handler)
        package.setLevel(level)


def _dag_source(dag_id: str, body: str, *, imports: str = "", dag_args: str = "") -> str:
    head = (
        "import datetime\n"
        "from airflow.sdk import DAG, Asset, AssetAlias, task\n"
        "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator\n"
        f"{imports}\n"
        f"with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1){dag_args}) as dag:\n"
    )
    return head + textwrap.indent(textwrap.dedent(body).strip(), "    ") + "\n"


def _run(body: str, lineage_events, log: _Records, *, imports: str = "", dag_args: str = "") -> Outcome:
    dag_id = f"lp_shape_{uuid.uuid4().hex[:10]}"
    try:
        dag_run = run_dag(_dag_source(dag_id, body, imports=imports, dag_args=dag_args), dag_id)
    finally:  # later runs in this worker parse the dags folder again: an Asset URI with a password would warn
        (dags_folder() / f"{dag_id}.py").unlink(missing_ok=True)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    events = lineage_events()
    for event in events:
        event["job"]["name"] = event["job"]["name"].removeprefix(f"{dag_id}.")
    return Outcome(dag_id, states, events, list(log.records))


def _no_tracebacks(outcome: Outcome) -> None:
    noisy = [r.getMessage() for r in outcome.warnings if r.exc_info or r.exc_text or r.stack_info]
    assert not noisy, f"provider warnings with a traceback: {noisy}"


# ------------------------------------------------------------------------------------------ template files
def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).strip() + "\n")


def test_sql_from_template_files(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records, tmp_path: Path
) -> None:
    """``.sql`` files found through ``template_searchpath``, with a Jinja macro, a user-defined macro,
    params and ``ds``; a list of files run as one script; and a file that renders to nothing: the rendered
    SQL is what lineage reads, and SQL that renders to nothing costs no warning."""
    wh = sqlite_warehouse
    templates = tmp_path / "templates"
    templates.mkdir()
    _write(
        templates,
        {
            "insert_big.sql": """
                {% macro picked(alias) %}{{ alias }}.id, c.name, {{ alias }}.amount{% endmacro %}
                -- orders above the threshold, with the customer's name
                INSERT INTO {{ target }} (order_id, customer, amount)
                SELECT {{ picked('o') }} FROM orders AS o JOIN customers AS c ON c.id = o.customer_id
                WHERE o.amount >= {{ params.min_amount }} AND o.ds <= '{{ ds }}'
            """,
            "copy_orders.sql": "INSERT INTO orders_copy SELECT * FROM orders",
            "totals.sql": "INSERT INTO audit_log (customer, total) SELECT name, 1 FROM customers;",
            "maybe.sql": "{% if params.enabled %}INSERT INTO fr_orders SELECT id, 'x', amount FROM orders"
            "{% endif %}",
        },
    )
    body = f"""
        SQLExecuteQueryOperator(task_id="insert_big", conn_id={wh.conn_id!r}, sql="insert_big.sql")
        SQLExecuteQueryOperator(
            task_id="files", conn_id={wh.conn_id!r}, sql=["copy_orders.sql", "totals.sql"]
        )
        SQLExecuteQueryOperator(task_id="maybe", conn_id={wh.conn_id!r}, sql="maybe.sql")
    """
    dag_args = (
        f", template_searchpath=[{str(templates)!r}], params={{'min_amount': 6, 'enabled': False}},"
        " user_defined_macros={'target': 'big_orders'}"
    )
    outcome = _run(body, lineage_events, provider_log, dag_args=dag_args)
    # Airflow refuses SQL that renders to nothing; everything else runs
    assert outcome.states == {"insert_big": "success", "files": "success", "maybe": "failed"}
    complete = outcome.terminal("insert_big")
    assert complete["eventType"] == "COMPLETE"
    assert datasets(complete, "inputs") == {wh.ds("orders"), wh.ds("customers")}
    assert datasets(complete, "outputs") == {wh.ds("big_orders")}
    query = complete["job"]["facets"]["sql"]["query"]
    assert "INSERT INTO big_orders" in query and "o.id, c.name, o.amount" in query and ">= 6" in query
    assert "{{" not in query and "{%" not in query
    assert extraction(complete)["status"] == "ok"

    complete = outcome.terminal("files")  # both files, as one script of two statements
    assert datasets(complete, "inputs") == {wh.ds("orders"), wh.ds("customers")}
    assert datasets(complete, "outputs") == {wh.ds("orders_copy"), wh.ds("audit_log")}
    assert extraction(complete)["statements"] == 2

    fail = outcome.terminal("maybe")  # nothing to extract from: no datasets, no status, no complaint
    assert fail["eventType"] == "FAIL"
    assert not fail.get("inputs") and not fail.get("outputs")
    assert "sqlExtraction" not in fail["run"]["facets"]
    assert outcome.warning_lines() == []


@pytest.mark.parametrize(
    "text",
    ["-- nothing to do today\n/* the load moved to another DAG */", " ; ;; "],
    ids=["comments-only", "semicolons-only"],
)
def test_sql_without_a_statement_is_quiet(
    text: str, sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records, tmp_path: Path
) -> None:
    """A ``.sql`` file of comments only (the load moved elsewhere) or of empty statements: the database runs
    it fine; having no statement is no lineage problem, so at most one warning line for the task, and the
    status is not ``failed``."""
    wh = sqlite_warehouse
    _write(tmp_path, {"nothing.sql": text})
    body = f"SQLExecuteQueryOperator(task_id='nothing', conn_id={wh.conn_id!r}, sql='nothing.sql')"
    outcome = _run(body, lineage_events, provider_log, dag_args=f", template_searchpath=[{str(tmp_path)!r}]")
    assert outcome.states == {"nothing": "success"}
    complete = outcome.terminal("nothing")
    assert complete["eventType"] == "COMPLETE"
    assert not complete.get("inputs") and not complete.get("outputs")
    assert len(outcome.warnings) <= 1, outcome.warning_lines()
    assert extraction(complete)["status"] != "failed"


# ------------------------------------------------------------------------------- parameters, hook_params
def test_bind_parameters_split_statements_and_hook_params(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """Bind parameters (a list for ``?``, a dict for ``:name``) stay placeholders the parser reads as values;
    ``split_statements`` with ``return_last=False`` and ``hook_params`` change nothing in the lineage."""
    wh = sqlite_warehouse
    script = (
        "DELETE FROM orders_copy; INSERT INTO orders_copy SELECT * FROM orders; "
        "SELECT COUNT(*) FROM orders_copy"
    )
    body = f"""
        SQLExecuteQueryOperator(
            task_id="qmark", conn_id={wh.conn_id!r}, parameters=[5, "2024-01-01"],
            sql="INSERT INTO big_orders SELECT o.id, c.name, o.amount FROM orders AS o "
                "JOIN customers AS c ON c.id = o.customer_id WHERE o.amount >= ? AND o.ds = ?",
        )
        SQLExecuteQueryOperator(
            task_id="named", conn_id={wh.conn_id!r}, parameters={{"cc": "FR"}},
            sql="INSERT INTO audit_log (customer, total) SELECT name, 1 FROM customers WHERE country = :cc",
        )
        SQLExecuteQueryOperator(
            task_id="split", conn_id={wh.conn_id!r}, split_statements=True, return_last=False,
            hook_params={{"log_sql": False}}, sql={script!r},
        )
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"qmark": "success", "named": "success", "split": "success"}
    complete = outcome.terminal("qmark")
    assert datasets(complete, "inputs") == {wh.ds("orders"), wh.ds("customers")}
    assert datasets(complete, "outputs") == {wh.ds("big_orders")}
    complete = outcome.terminal("named")
    assert datasets(complete, "inputs") == {wh.ds("customers")}
    assert datasets(complete, "outputs") == {wh.ds("audit_log")}
    complete = outcome.terminal("split")
    assert datasets(complete, "inputs") == {wh.ds("orders"), wh.ds("orders_copy")}  # the COUNT reads it
    assert datasets(complete, "outputs") == {wh.ds("orders_copy")}
    assert extraction(complete)["statements"] == 3
    for task_id in outcome.states:
        assert extraction(outcome.terminal(task_id))["status"] == "ok"
    assert outcome.warning_lines() == []


@pytest.mark.integration
def test_mariadb_hook_params_name_the_default_database(
    mariadb_warehouse: Warehouse, lineage_events, provider_log: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection with no default database; the operator's ``hook_params={"schema": ...}`` picks one:
    unqualified tables are named in that database."""
    wh = mariadb_warehouse
    conn = {key: value for key, value in wh.conn.items() if key != "schema"}
    monkeypatch.setenv("AIRFLOW_CONN_LP_SHAPES_NODB", json.dumps(conn))
    body = f"""
        SQLExecuteQueryOperator(
            task_id="load", conn_id="lp_shapes_nodb", hook_params={{"schema": {wh.conn_id!r}}},
            sql="INSERT INTO audit_log (customer, total) SELECT name, id FROM customers",
        )
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"load": "success"}
    complete = outcome.terminal("load")
    assert datasets(complete, "inputs") == {wh.ds("customers")}
    assert datasets(complete, "outputs") == {wh.ds("audit_log")}
    assert extraction(complete)["status"] == "ok"
    assert outcome.warning_lines() == []


# ------------------------------------------------------------------------------------------ identifiers
def test_non_ascii_and_quoted_identifiers(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """Non-ASCII names (quoted and bare) and quoted names with a dot or a space: each is one table, named
    as the database spells it (the dot does not make ``my.table`` a qualified name)."""
    import sqlite3

    wh = sqlite_warehouse
    with sqlite3.connect(wh.conn["host"]) as db:
        db.execute('CREATE TABLE "café_ümlaut" (id INTEGER, "prénom" TEXT)')
        db.execute('CREATE TABLE "my.table" (id INTEGER, v TEXT)')
        db.execute('CREATE TABLE "order items" (id INTEGER, v TEXT)')
        db.execute("INSERT INTO \"café_ümlaut\" VALUES (1, 'zoë')")
    body = f"""
        SQLExecuteQueryOperator(
            task_id="unicode", conn_id={wh.conn_id!r},
            sql='INSERT INTO "order items" (id, v) SELECT id, "prénom" FROM "café_ümlaut"',
        )
        SQLExecuteQueryOperator(
            task_id="dotted", conn_id={wh.conn_id!r},
            sql='INSERT INTO "my.table" (id, v) SELECT id, v FROM "order items"',
        )
        SQLExecuteQueryOperator(
            task_id="bare", conn_id={wh.conn_id!r},
            sql="INSERT INTO audit_log (customer, total) SELECT prénom, id FROM café_ümlaut",
        )
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"unicode": "success", "dotted": "success", "bare": "success"}
    expected = {
        "unicode": ({wh.ds("café_ümlaut")}, {wh.ds("order items")}),
        "dotted": ({wh.ds("order items")}, {wh.ds("my.table")}),
        "bare": ({wh.ds("café_ümlaut")}, {wh.ds("audit_log")}),
    }
    for task_id, (inputs, outputs) in expected.items():
        complete = outcome.terminal(task_id)
        assert (datasets(complete, "inputs"), datasets(complete, "outputs")) == (inputs, outputs), task_id
        assert extraction(complete)["status"] == "ok"
    edges = outcome.terminal("unicode")["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert [f["field"] for f in edges["v"]["inputFields"]] == ["prénom"]
    assert outcome.warning_lines() == []


# ------------------------------------------------------------------------------------------- long SQL
def test_two_megabyte_script(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records, tmp_path: Path
) -> None:
    """A generated 2 MB INSERT: the task succeeds, lineage names the target within the budget, and the
    ``sql`` facet, longer than ``max_event_bytes``, is left out (not redacted only for the size cap to drop
    it), which the status's reasons say; nothing is logged."""
    wh = sqlite_warehouse
    rows = ", ".join(f"('customer number {i:07d} with a long name', {i}.25)" for i in range(45_000))
    sql = f"INSERT INTO audit_log (customer, total) VALUES {rows}"
    assert len(sql) > 2_000_000
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "huge.sql").write_text(sql)
    body = f'SQLExecuteQueryOperator(task_id="huge", conn_id={wh.conn_id!r}, sql="huge.sql")'
    outcome = _run(body, lineage_events, provider_log, dag_args=f", template_searchpath=[{str(templates)!r}]")
    assert outcome.states == {"huge": "success"}
    events = [e for e in outcome.events if e["job"]["name"] == "huge"]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        assert datasets(event, "outputs") == {wh.ds("audit_log")}
        assert not event.get("inputs")
        status = extraction(event)
        assert status["status"] == "ok" and status["statements"] == 1
        assert status["durationMs"] < 5_000
        assert "sql" not in event["job"]["facets"] and "lineageProviderTrimmed" not in event["run"]["facets"]
        assert any("sql facet left out" in reason for reason in status["reasons"]), status["reasons"]
    assert outcome.warning_lines() == []


def test_statement_that_does_not_parse_next_to_one_that_does(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """A list of statements, the second a typo: the task fails on it; the FAIL event keeps the first
    statement's lineage, says which statement did not parse, and logs nothing (a parse error is a limit)."""
    wh = sqlite_warehouse
    body = f"""
        SQLExecuteQueryOperator(
            task_id="mixed", conn_id={wh.conn_id!r},
            sql=["INSERT INTO audit_log (customer, total) SELECT name, 1 FROM customers",
                 "SELEC broken FROM orders"],
        )
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"mixed": "failed"}
    fail = outcome.terminal("mixed")
    assert fail["eventType"] == "FAIL"
    assert datasets(fail, "inputs") == {wh.ds("customers"), wh.ds("orders")}  # orders: table-level fallback
    assert datasets(fail, "outputs") == {wh.ds("audit_log")}
    status = extraction(fail)
    assert status["status"] == "partial" and status["statements"] == 2
    [error] = fail["run"]["facets"]["extractionError"]["errors"]
    assert error["taskNumber"] == 1 and "parse" in error["errorMessage"]
    assert outcome.warning_lines() == []


# ------------------------------------------------------------------------------------------------ secrets
def test_secrets_in_the_sql_reach_no_event_and_no_log(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """CREATE USER .. PASSWORD, COPY .. CREDENTIALS, ALTER USER in a list, a URI with a password in a
    string literal: SQLite rejects the first three (tasks fail), runs the last; no secret in any event or
    provider log line, and no warning (nothing went wrong with the lineage)."""
    wh = sqlite_warehouse
    secrets = [f"Pw{i}{uuid.uuid4().hex[:10]}" for i in range(4)]
    body = f"""
        SQLExecuteQueryOperator(task_id="create_user", conn_id={wh.conn_id!r},
            sql="CREATE USER etl PASSWORD '{secrets[0]}'")
        SQLExecuteQueryOperator(task_id="copy", conn_id={wh.conn_id!r},
            sql="COPY audit_log FROM 's3://bucket/key' "
                "CREDENTIALS 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key={secrets[1]}'")
        SQLExecuteQueryOperator(task_id="uri", conn_id={wh.conn_id!r},
            sql="INSERT INTO audit_log (customer, total) "
                "SELECT 'postgres://etl:{secrets[2]}@db.example.com/app', 1")
        SQLExecuteQueryOperator(task_id="alter_user", conn_id={wh.conn_id!r},
            sql=["INSERT INTO audit_log (customer, total) SELECT name, 1 FROM customers",
                 "ALTER USER etl WITH PASSWORD '{secrets[3]}'"])
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {
        "create_user": "failed",
        "copy": "failed",
        "uri": "success",
        "alter_user": "failed",
    }
    fail = outcome.terminal("create_user")
    assert not fail.get("inputs") and not fail.get("outputs")
    assert datasets(outcome.terminal("copy"), "outputs") == {wh.ds("audit_log")}
    assert datasets(outcome.terminal("uri"), "outputs") == {wh.ds("audit_log")}
    fail = outcome.terminal("alter_user")
    assert (datasets(fail, "inputs"), datasets(fail, "outputs")) == (
        {wh.ds("customers")},
        {wh.ds("audit_log")},
    )
    for task_id in outcome.states:  # the statements are in the sql facet, redacted
        assert "sql" in outcome.terminal(task_id)["job"]["facets"]
    text, logged = json.dumps(outcome.events), outcome.all_log_text()
    for secret in secrets:
        assert secret not in text and secret not in logged, secret
    assert outcome.warning_lines() == []


def test_copy_from_a_location_is_not_a_table_of_the_database(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """``COPY t FROM 's3://bucket/key'``: the location read is not a table of the connection's database.
    It is the dataset ``(s3://bucket, key)`` or no dataset, never ``(<database namespace>, s3://bucket/key)``
    (the same happens on Redshift: ``dev.public.s3://bucket/...``)."""
    wh = sqlite_warehouse
    body = f"""
        SQLExecuteQueryOperator(task_id="copy", conn_id={wh.conn_id!r},
            sql="COPY audit_log FROM 's3://bucket/key' IAM_ROLE 'arn:aws:iam::1:role/r'")
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"copy": "failed"}  # SQLite has no COPY
    fail = outcome.terminal("copy")
    assert datasets(fail, "outputs") == {wh.ds("audit_log")}
    assert datasets(fail, "inputs") <= {("s3://bucket", "key")}


# ------------------------------------------------------------------------------------------- connections
def test_missing_and_unknown_connections(
    lineage_events, provider_log: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conn_id that is not defined and a connection of a conn_type no provider knows: Airflow fails the
    tasks; lineage still sends their FAIL events with a ``failed`` status naming the problem and an
    ``extractionError`` facet, warns without a traceback, and leaks no password."""
    secret = f"Pw{uuid.uuid4().hex[:10]}"
    weird = {"conn_type": "lp_nonsense", "host": "db.example.com", "login": "etl", "password": secret}
    monkeypatch.setenv("AIRFLOW_CONN_LP_SHAPES_WEIRD", json.dumps(weird))
    sql = "INSERT INTO audit_log SELECT name, 1 FROM customers"
    body = f"""
        SQLExecuteQueryOperator(task_id="missing", conn_id="lp_shapes_no_such_conn", sql={sql!r})
        SQLExecuteQueryOperator(task_id="weird", conn_id="lp_shapes_weird", sql={sql!r})
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"missing": "failed", "weird": "failed"}
    for task_id, named in (("missing", "lp_shapes_no_such_conn"), ("weird", "lp_nonsense")):
        fail = outcome.terminal(task_id)
        assert fail["eventType"] == "FAIL"
        assert not fail.get("inputs") and not fail.get("outputs")
        status = extraction(fail)
        assert status["status"] == "failed"
        assert any(named in reason for reason in status["reasons"]), status["reasons"]
        assert any(named in e["errorMessage"] for e in fail["run"]["facets"]["extractionError"]["errors"])
        lines = [line for line in outcome.warning_lines() if named in line]
        assert 1 <= len(lines) <= 2, lines  # at most one per event (START, FAIL)
    assert len(outcome.warnings) <= 4, outcome.warning_lines()
    _no_tracebacks(outcome)
    assert secret not in json.dumps(outcome.events) and secret not in outcome.all_log_text()


def test_a_missing_connection_is_one_warning_line(lineage_events, provider_log: _Records) -> None:
    """One task, one problem (its conn_id is not defined): one warning line, not one per event."""
    sql = "INSERT INTO audit_log SELECT name, 1 FROM customers"
    body = f'SQLExecuteQueryOperator(task_id="missing", conn_id="lp_shapes_no_such_conn", sql={sql!r})'
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"missing": "failed"}
    assert len(outcome.warnings) == 1, outcome.warning_lines()


@pytest.mark.integration
def test_server_down(lineage_events, provider_log: _Records, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL on port 1 (nothing listens): the task fails on its own connect; the FAIL event keeps the
    table-level lineage, the failed schema lookup is one warning line without a traceback or a password."""
    secret = f"Pw{uuid.uuid4().hex[:10]}"
    conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": 1, "login": "etl", "password": secret}
    monkeypatch.setenv("AIRFLOW_CONN_LP_SHAPES_DOWN", json.dumps({**conn, "schema": "test"}))
    body = """
        SQLExecuteQueryOperator(task_id="down", conn_id="lp_shapes_down",
            sql="INSERT INTO audit_log SELECT name, 1 FROM customers")
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"down": "failed"}
    fail = outcome.terminal("down")
    assert datasets(fail, "inputs") == {("postgres://127.0.0.1:1", "test.public.customers")}
    assert datasets(fail, "outputs") == {("postgres://127.0.0.1:1", "test.public.audit_log")}
    assert extraction(fail)["status"] == "partial"
    [line] = outcome.warning_lines()
    assert "schema lookup failed" in line and "Connection refused" in line
    _no_tracebacks(outcome)
    assert secret not in json.dumps(outcome.events) and secret not in outcome.all_log_text()


# --------------------------------------------------------------------------------------- inlets/outlets
def test_inlets_and_outlets_of_every_kind(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """An Asset with extra, a name-only Asset, an AssetAlias, an Asset URI with credentials, s3:// and
    file:// URIs, a plain string, duplicates; and a table declared as an outlet that the SQL writes too.

    Datasets per the naming spec, each once; the name-only Asset and the alias are no datasets; the string
    is left out with a warning naming it (no more than one per event); no credentials anywhere."""
    from airflow_lineage_provider.naming import DatasetId, asset_uri

    wh = sqlite_warehouse
    secret = f"Pw{uuid.uuid4().hex[:10]}"
    audit_uri = asset_uri(DatasetId(*wh.ds("audit_log")))
    body = f"""
        @task(
            inlets=[
                Asset("s3://lp-shapes/raw/orders.csv", extra={{"owner": "sales"}}),
                Asset(name="lp_shapes_name_only"),
                Asset("postgres://etl:{secret}@db.example.com/app/public/orders"),
                Asset("file:///data/in.csv"),
                Asset("s3://lp-shapes/raw/orders.csv"),
                "s3://lp-shapes/a-string",
            ],
            outlets=[
                AssetAlias("lp_shapes_alias"),
                Asset("s3://lp-shapes/out/orders.parquet"),
                Asset("s3://lp-shapes/out/orders.parquet"),
            ],
        )
        def declared():
            pass

        declared()
        SQLExecuteQueryOperator(
            task_id="both", conn_id={wh.conn_id!r},
            sql="INSERT INTO audit_log (customer, total) SELECT name, id FROM customers",
            outlets=[Asset({audit_uri!r})],
        )
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"declared": "success", "both": "success"}
    for event_type in ("START", "COMPLETE"):
        event = by_job(outcome.events, "declared", event_type)
        assert sorted((d["namespace"], d["name"]) for d in event["inputs"]) == [
            ("file", "/data/in.csv"),
            ("postgres://db.example.com:5432", "app.public.orders"),
            ("s3://lp-shapes", "raw/orders.csv"),
        ]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
            ("s3://lp-shapes", "out/orders.parquet")
        ]
        [error] = event["run"]["facets"]["extractionError"]["errors"]
        assert "s3://lp-shapes/a-string" in error["errorMessage"] and "str" in error["errorMessage"]

        event = by_job(outcome.events, "both", event_type)  # declared and found by SQL: one dataset
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [wh.ds("audit_log")]
        assert datasets(event, "inputs") == {wh.ds("customers")}
    complete = by_job(outcome.events, "both", "COMPLETE")
    assert "columnLineage" in complete["outputs"][0]["facets"]
    lines = outcome.warning_lines()
    assert 1 <= len(lines) <= 2, lines
    assert all("s3://lp-shapes/a-string" in line and "declared" in line for line in lines), lines
    _no_tracebacks(outcome)
    assert secret not in json.dumps(outcome.events) and secret not in outcome.all_log_text()


@pytest.mark.integration
def test_postgres_user_passwords_reach_no_event_and_no_log(
    postgres_warehouse: Warehouse, lineage_events, provider_log: _Records
) -> None:
    """CREATE USER / ALTER USER with passwords, run for real on PostgreSQL: no datasets, an ``ok`` status, the
    statements in the ``sql`` facet with the passwords masked, nothing in any event or provider log line."""
    wh = postgres_warehouse
    user = f"lp_u_{uuid.uuid4().hex[:8]}"
    secrets = [f"Pw{i}{uuid.uuid4().hex[:10]}" for i in range(2)]
    sql = (
        f"CREATE USER {user} PASSWORD '{secrets[0]}'; ALTER USER {user} WITH PASSWORD '{secrets[1]}'; "
        f"DROP USER {user}"
    )
    body = (
        f"SQLExecuteQueryOperator(task_id='user', conn_id={wh.conn_id!r}, split_statements=True, sql={sql!r})"
    )
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"user": "success"}
    complete = outcome.terminal("user")
    assert not complete.get("inputs") and not complete.get("outputs")
    assert extraction(complete)["status"] == "ok" and extraction(complete)["statements"] == 3
    assert complete["job"]["facets"]["sql"]["query"].count("PASSWORD '***'") == 2
    for secret in secrets:
        assert secret not in json.dumps(outcome.events) and secret not in outcome.all_log_text()
    assert outcome.warning_lines() == []


@pytest.mark.integration
def test_postgres_search_path_from_hook_params(
    postgres_warehouse: Warehouse, lineage_events, provider_log: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection has no ``options``; the operator's ``hook_params={"options": "-c search_path=x"}``
    makes unqualified tables those of schema ``x``. Every event names them there: START must not name
    ``test.public.customers`` (which does not exist) while COMPLETE names ``test.x.customers``."""
    wh = postgres_warehouse
    conn = {key: value for key, value in wh.conn.items() if key != "extra"}
    monkeypatch.setenv("AIRFLOW_CONN_LP_SHAPES_PG", json.dumps(conn))
    schema = wh.prefix.split(".")[1]
    body = f"""
        SQLExecuteQueryOperator(
            task_id="opts", conn_id="lp_shapes_pg", hook_params={{"options": "-c search_path={schema}"}},
            sql="INSERT INTO audit_log (customer, total) SELECT name, id FROM customers",
        )
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"opts": "success"}
    complete = outcome.terminal("opts")
    assert (datasets(complete, "inputs"), datasets(complete, "outputs")) == (
        {wh.ds("customers")},
        {wh.ds("audit_log")},
    )
    start = by_job(outcome.events, "opts", "START")
    assert (datasets(start, "inputs"), datasets(start, "outputs")) == (
        {wh.ds("customers")},
        {wh.ds("audit_log")},
    )


def test_secrets_from_templates_and_asset_uris(
    sqlite_warehouse: Warehouse, lineage_events, provider_log: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection's password and a sensitive Variable rendered into SQL literals (no keyword to redact
    by: Airflow's masker knows them), a presigned-URL query string and userinfo in Asset URIs: none in an
    event or a provider log line; the datasets are the tables and the URIs' locations."""
    wh = sqlite_warehouse
    secrets = [f"Pw{i}{uuid.uuid4().hex[:10]}" for i in range(4)]
    src = {"conn_type": "http", "host": "api.example.com", "login": "u", "password": secrets[0]}
    monkeypatch.setenv("AIRFLOW_CONN_LP_SHAPES_SRC", json.dumps(src))
    monkeypatch.setenv("AIRFLOW_VAR_LP_SHAPES_API_KEY", secrets[1])
    body = f"""
        SQLExecuteQueryOperator(task_id="conn_tpl", conn_id={wh.conn_id!r},
            sql="INSERT INTO audit_log (customer, total) SELECT '{{{{ conn.lp_shapes_src.password }}}}', 1")
        SQLExecuteQueryOperator(task_id="var_tpl", conn_id={wh.conn_id!r},
            sql="INSERT INTO audit_log (customer, total) SELECT '{{{{ var.value.lp_shapes_api_key }}}}', 2")

        @task(inlets=[
            Asset("s3://lp-shapes/k.csv?X-Amz-Signature={secrets[2]}"),
            Asset("https://u:{secrets[3]}@files.example.com/a.csv"),
        ])
        def declared():
            pass

        declared()
    """
    outcome = _run(body, lineage_events, provider_log)
    assert outcome.states == {"conn_tpl": "success", "var_tpl": "success", "declared": "success"}
    for task_id in ("conn_tpl", "var_tpl"):
        complete = outcome.terminal(task_id)
        assert not complete.get("inputs") and datasets(complete, "outputs") == {wh.ds("audit_log")}
        assert "SELECT '***'" in complete["job"]["facets"]["sql"]["query"]
    assert datasets(outcome.terminal("declared"), "inputs") == {
        ("s3://lp-shapes", "k.csv"),
        ("https://files.example.com", "/a.csv"),
    }
    text, logged = json.dumps(outcome.events), outcome.all_log_text()
    for secret in secrets:
        assert secret not in text and secret not in logged, secret
    assert outcome.warning_lines() == []


def _long_postgres_script(wh: Warehouse, lineage_events, log: _Records, directory: Path) -> Outcome:
    """A 2.2 MB script of 25,000 INSERT..SELECT statements run in one call on PostgreSQL."""
    statements = [
        f"INSERT INTO audit_log (customer, total) SELECT name, {i} FROM customers WHERE id = {i % 3}"
        for i in range(25_000)
    ]
    (directory / "long.sql").write_text(";\n".join(statements))
    body = f'SQLExecuteQueryOperator(task_id="long", conn_id={wh.conn_id!r}, sql="long.sql")'
    return _run(body, lineage_events, log, dag_args=f", template_searchpath=[{str(directory)!r}]")


@pytest.mark.integration
def test_long_script_over_the_budget(
    postgres_warehouse: Warehouse, lineage_events, provider_log: _Records, tmp_path: Path
) -> None:
    """Too many statements to analyse within the budget: the task succeeds; each event has the tables of the
    statements analysed in time with a ``partial`` status saying where the analysis stopped (on a machine so
    loaded that not one statement was analysed in time: a ``failed`` status saying so), and at most
    one warning line per problem and event."""
    wh = postgres_warehouse
    outcome = _long_postgres_script(wh, lineage_events, provider_log, tmp_path)
    assert outcome.states == {"long": "success"}
    events = [e for e in outcome.events if e["job"]["name"] == "long"]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        status = extraction(event)
        assert any("budget" in reason for reason in status["reasons"]), status["reasons"]
        assert event["run"]["facets"]["extractionError"]["errors"]
        if status["status"] == "failed":  # how far the analysis gets in its time depends on the machine
            # (COMPLETE may still have the tables, from the queries the task ran through its hook)
            assert status["statements"] == 0
            assert datasets(event, "inputs") <= {wh.ds("customers")}
            assert datasets(event, "outputs") <= {wh.ds("audit_log")}
            continue
        assert status["status"] == "partial" and 0 < status["statements"] < 25_000
        assert any("time limit" in reason for reason in status["reasons"])
        assert datasets(event, "inputs") == {wh.ds("customers")}
        assert datasets(event, "outputs") == {wh.ds("audit_log")}
    lines = outcome.warning_lines()
    budget = [line for line in lines if "budget" in line]
    trimmed = [line for line in lines if "max_event_bytes" in line]
    assert 1 <= len(budget) <= 2 and len(trimmed) <= 2 and len(lines) == len(budget) + len(trimmed), lines
    _no_tracebacks(outcome)


@pytest.mark.integration
def test_long_script_stays_within_the_budget(
    postgres_warehouse: Warehouse, lineage_events, provider_log: _Records, tmp_path: Path
) -> None:
    """``extraction_timeout`` (1.0 s) bounds what lineage adds to a task event; the facet's ``durationMs``
    measures it. A 2.2 MB script took 1.3 s: after the analysis had used its share, the ``sql`` facet's
    redaction of the whole script ran (0.5-0.7 s) only for the size cap to drop the facet. That work is not
    done any more (SQL longer than ``max_event_bytes`` gets no ``sql`` facet), which is what this asserts;
    the time bound only catches an unbounded regression (times depend on the machine's load)."""
    outcome = _long_postgres_script(postgres_warehouse, lineage_events, provider_log, tmp_path)
    assert outcome.states == {"long": "success"}
    for event in (e for e in outcome.events if e["job"]["name"] == "long"):
        status = extraction(event)
        assert "sql" not in event["job"]["facets"]
        assert any("sql facet left out" in reason for reason in status["reasons"]), status["reasons"]
        assert status["durationMs"] <= 2_500, (event["eventType"], status["durationMs"])
