"""Secret-leak hunt, end to end: no secret ever reaches an event, the spool, a log line, an XCom or an alert.

Every test runs real DAGs with ``dag.test()`` and invents its own random secrets (Airflow's secrets masker
learns secrets process-wide: a secret reused by two tests could hide a leak of the second from its logs).
Each secret is then looked for, as raw bytes or text, in: the events file of the ``lineage_events``
fixture, the spool directory, every record of the ``airflow_lineage_provider`` loggers (a handler attached
to the logger itself) and of every other logger (the task logs of ``dag.test()``), the captured
stdout/stderr, the task log folder, the quality gate's XCom and its notifier's payload, and the output of
``airflow-lineage doctor``, ``airflow-lineage replay --dry-run`` and ``airflow-lineage graph``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sqlite3
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from lineage_helpers import SPOOL_ENV, TRANSPORT_ENV, reset_lineage, run_dag

pytestmark = pytest.mark.airflow

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
EVENTS_FILE = "lineage-events.jsonl"


def new_secret(label: str) -> str:
    """A secret no other test (nor Airflow's masker) has seen: letters and digits only."""
    return f"Lp{label}{uuid.uuid4().hex}Zq"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


class Sinks:
    """Every place a secret could end up during one test."""

    def __init__(self, tmp_path: Path, airflow_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
        self.tmp_path = tmp_path
        self.airflow_home = airflow_home
        self.capfd = capfd
        self.provider = _Collect()
        self.everything = _Collect()
        self.extra: dict[str, str] = {}  # name -> text (XCom, notifier payload, CLI output ...)
        self._loggers: list[tuple[logging.Logger, logging.Handler, int]] = []
        self._captured = ""

    def attach(self) -> None:
        for name, handler in (("airflow_lineage_provider", self.provider), ("", self.everything)):
            logger = logging.getLogger(name)
            self._loggers.append((logger, handler, logger.level))
            logger.addHandler(handler)
            if name:
                logger.setLevel(logging.DEBUG)

    def detach(self) -> None:
        for logger, handler, level in self._loggers:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def add(self, name: str, value: Any) -> None:
        self.extra[name] = value if isinstance(value, str) else json.dumps(value, default=repr)

    def _files(self, task_logs: bool) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        events = self.tmp_path / EVENTS_FILE
        if events.exists():
            found["events file"] = events.read_bytes()
        roots = [self.tmp_path, self.airflow_home / "lineage"] + (
            [self.airflow_home / "logs"] if task_logs else []
        )
        for root in roots:
            if not root.exists():
                continue
            for path in root.rglob("*"):
                if path != events and path.is_file() and path.suffix not in (".py", ".db", ".sqlite"):
                    with contextlib.suppress(OSError):
                        found[str(path)] = path.read_bytes()
        return found

    def assert_clean(self, *secrets: str, task_logs: bool = True) -> None:
        """No secret anywhere; ``task_logs=False`` leaves out what Airflow itself writes to the task log
        (stdout/stderr, other loggers' records, the log folder), where some leaks are Airflow's own."""
        out, err = self.capfd.readouterr()
        self._captured += out + err
        places: dict[str, bytes] = {
            "provider log records": "\n".join(self.provider.lines).encode(),
            **{name: text.encode() for name, text in self.extra.items()},
            **self._files(task_logs),
        }
        if task_logs:
            places["log records (task logs)"] = "\n".join(self.everything.lines).encode()
            places["stdout/stderr"] = self._captured.encode()
        leaks = []
        for secret in secrets:
            for place, data in places.items():
                index = data.find(secret.encode())
                if index >= 0:
                    excerpt = data[max(0, index - 160) : index + len(secret) + 40].decode(errors="replace")
                    leaks.append(f"{secret[:6]}... in {place}: ...{excerpt}...")
        assert not leaks, "secret leaked:\n" + "\n".join(leaks)


@pytest.fixture
def sinks(
    tmp_path: Path, airflow_home: Path, capfd: pytest.CaptureFixture[str], lineage_events: Any
) -> Iterator[Sinks]:
    found = Sinks(tmp_path, airflow_home, capfd)
    found.attach()
    try:
        yield found
    finally:
        found.detach()


@pytest.fixture
def pg_role() -> Iterator[tuple[str, str]]:
    """A PostgreSQL role with a password of its own (login over 127.0.0.1), and a schema it owns."""
    role = f"lp_leak_{uuid.uuid4().hex[:10]}"
    password = new_secret("pgrole")
    with psycopg2.connect(**PG) as db, db.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN PASSWORD %s", (password,))
        cur.execute(f"CREATE SCHEMA {role} AUTHORIZATION {role}")
        cur.execute(f"CREATE TABLE {role}.src (id INTEGER, email TEXT)")
        cur.execute(f"INSERT INTO {role}.src VALUES (1, 'a@x'), (2, NULL)")
        cur.execute(f"ALTER TABLE {role}.src OWNER TO {role}")
    try:
        yield role, password
    finally:
        db = psycopg2.connect(**PG)
        db.autocommit = True
        with db, db.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {role} CASCADE")
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{role}%",))
            for (name,) in cur.fetchall():
                cur.execute(f"DROP OWNED BY {name}")
                cur.execute(f"DROP ROLE IF EXISTS {name}")
        db.close()


def _env_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: str | dict[str, Any]) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", value if isinstance(value, str) else json.dumps(value)
    )


def _dag_id(request: pytest.FixtureRequest) -> str:
    return "leak_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:60]


def _cli(*argv: str) -> str:
    from airflow_lineage_provider.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main(list(argv))
        except SystemExit:
            pass
    return out.getvalue()


def _check_cli(sinks: Sinks, tmp_path: Path) -> None:
    """Doctor (no send), replay --dry-run and the lineage picture, as the user would run them."""
    sinks.add("doctor output", _cli("doctor", "--no-send"))
    sinks.add("replay --dry-run output", _cli("replay", "--dry-run"))
    events = tmp_path / EVENTS_FILE
    if events.exists():
        picture = tmp_path / "picture.html"
        sinks.add("graph output", _cli("graph", str(events), "-o", str(picture)))


# --- connections ----------------------------------------------------------------------------------


def test_connection_password_uri_and_extras(
    sinks: Sinks,
    lineage_events: Any,
    pg_role: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    role, password = pg_role
    extra_password, private_key, token = new_secret("xpw"), new_secret("pkey"), new_secret("tok")
    # a URI connection with the role's real password (PostgreSQL checks it only where pg_hba asks to)
    _env_conn(monkeypatch, "leak_pg_uri", f"postgresql://{role}:{password}@127.0.0.1:5432/test")
    # a JSON connection with secrets in extra
    _env_conn(
        monkeypatch,
        "leak_pg_json",
        {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "login": role,
            "password": password,
            "schema": "test",
            "extra": {"password": extra_password, "private_key": private_key, "token": token},
        },
    )
    dag_id = _dag_id(request)
    source = f"""
    import datetime
    from airflow.sdk import DAG, task
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        SQLExecuteQueryOperator(
            task_id="ctas", conn_id="leak_pg_uri",
            sql="CREATE TABLE {role}.dst AS SELECT id, email FROM {role}.src",
        )
        SQLExecuteQueryOperator(
            task_id="select_star", conn_id="leak_pg_uri",
            sql="INSERT INTO {role}.dst SELECT * FROM {role}.src",
        )

        @task
        def extras_hook():
            from airflow.sdk import BaseHook
            conn = BaseHook.get_connection("leak_pg_json")
            print("connected as", conn.login, "to", conn.host)
            return conn.host
        extras_hook()
    """
    run_dag(source, dag_id)
    events = lineage_events()
    assert events, "no event captured"
    _check_cli(sinks, tmp_path)
    sinks.assert_clean(password, extra_password, private_key, token)


# --- SQL text with credentials -------------------------------------------------------------------

#: (name, SQL template with {s} for the secret). All run on PostgreSQL; those it rejects make a task fail
#: (and its FAIL event carries the server's error, which quotes the statement)
SQL_WITH_SECRETS = [
    ("create_user", "CREATE USER {role}_u1 PASSWORD '{s}'"),
    ("alter_role_with", "ALTER ROLE {role}_u1 WITH LOGIN PASSWORD '{s}'"),
    (
        "redshift_copy",
        "COPY {role}.src FROM 's3://bucket/key' CREDENTIALS 'aws_access_key_id=AK;aws_secret_access_key={s}'",
    ),
    (
        "snowflake_stage",
        "CREATE STAGE {role}_stage URL='s3://bucket/p' CREDENTIALS=(AWS_KEY_ID='AKIA' AWS_SECRET_KEY='{s}')",
    ),
    ("identified_by", "ALTER USER {role}_u1 IDENTIFIED BY '{s}'"),
    ("mysql_set_password", "SET PASSWORD FOR {role}_u1 = PASSWORD('{s}')"),
    ("uri_literal", "INSERT INTO {role}.src (id, email) VALUES (3, 'postgresql://etl:{s}@db.example.com/x')"),
    (
        "conn_string_literal",
        "INSERT INTO {role}.src (id, email) VALUES (4, 'Server=h;User Id=u;Password={s};')",
    ),
    ("escape_string", "CREATE USER {role}_u2 PASSWORD E'{s}'"),
    ("unparsable", "SELECT FROM WHERE ((( CREATE USER x PASSWORD '{s}' )"),
    (
        "dblink",
        "SELECT * FROM dblink('host=127.0.0.1 user=u password={s} dbname=test', 'select 1') AS t(a int)",
    ),
]


@pytest.mark.integration
@pytest.mark.parametrize("mask_literals", [False, True], ids=["literals_kept", "mask_sql_literals"])
def test_sql_text_with_credentials(
    sinks: Sinks,
    lineage_events: Any,
    pg_role: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    mask_literals: bool,
) -> None:
    role, _ = pg_role
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS", str(mask_literals))
    reset_lineage()
    _env_conn(
        monkeypatch,
        "leak_pg_sql",
        {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "test"},
    )
    secrets = {name: new_secret(name.replace("_", "")) for name, _ in SQL_WITH_SECRETS}
    tasks = "\n".join(
        f"    SQLExecuteQueryOperator(task_id={name!r}, conn_id='leak_pg_sql', "
        f"sql={template.format(role=role, s=secrets[name])!r})"
        for name, template in SQL_WITH_SECRETS
    )
    hook_sql = f"CREATE USER {role}_hook PASSWORD '{secrets['create_user']}x'"
    secrets["hook"] = secrets["create_user"] + "x"
    # fails: the server's error quotes the statement, the traceback quotes the DAG file's line
    failing_hook_sql = f"CREATE USER {role}_h2 PASSWORD '{secrets['create_user']}y' NOSUCHOPTION"
    secrets["failing_hook"] = secrets["create_user"] + "y"
    dag_id = _dag_id(request)
    source = (
        textwrap.dedent(
            f"""
        import datetime
        from airflow.sdk import DAG, task
        from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        """
        )
        + tasks
        + textwrap.indent(
            textwrap.dedent(
                f"""

            @task
            def through_hook():
                PostgresHook(postgres_conn_id="leak_pg_sql").run({hook_sql!r})
            through_hook()

            @task(retries=0)
            def failing_hook():
                PostgresHook(postgres_conn_id="leak_pg_sql").run({failing_hook_sql!r})
            failing_hook()
            """
            ),
            "    ",
        )
    )
    run_dag(source, dag_id)
    events = lineage_events()
    assert any(e["eventType"] == "FAIL" for e in events), "some statements were expected to fail"
    assert any("sql" in e["job"].get("facets", {}) for e in events)
    _check_cli(sinks, tmp_path)
    # Airflow's own task log is left out: SQLExecuteQueryOperator logs "Executing: <sql>" as given, and a
    # traceback quotes the DAG file's source line (the SQL of the hook call); neither is the provider's
    sinks.assert_clean(*secrets.values(), task_logs=False)


# --- failing tasks ------------------------------------------------------------------------------------


def test_failing_task_error_message(
    sinks: Sinks, lineage_events: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    uri_secret, dsn_secret, slash_secret, sas_secret = (
        new_secret("uri"),
        new_secret("dsn"),
        new_secret("slash"),
        new_secret("sas"),
    )
    dag_id = _dag_id(request)
    source = f"""
    import datetime
    from airflow.sdk import DAG, task

    with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        @task(retries=0)
        def uri():
            raise RuntimeError("cannot reach postgresql://etl:{uri_secret}@db.example.com:5432/warehouse")

        @task(retries=0)
        def dsn():
            raise RuntimeError("connection failed: host=db user=etl password={dsn_secret} dbname=w")

        @task(retries=0)
        def slash():
            raise RuntimeError("cannot reach postgresql://etl:pa/{slash_secret}@db.example.com/warehouse")

        @task(retries=0)
        def sas():
            raise RuntimeError("GET https://acct.blob.core.windows.net/c/b?sv=2022&sig={sas_secret} failed")

        uri(); dsn(); slash(); sas()
    """
    run_dag(source, dag_id)
    events = lineage_events()
    fails = [e for e in events if e["eventType"] == "FAIL" and "." in e["job"]["name"]]
    assert len(fails) == 4
    assert all("errorMessage" in e["run"]["facets"] for e in fails)
    _check_cli(sinks, tmp_path)
    # Airflow's own task log prints the exception as raised (it masks only the secrets it knows)
    sinks.assert_clean(uri_secret, dsn_secret, slash_secret, sas_secret, task_logs=False)


# --- transport: api key and URL password, spooled events ---------------------------------------------


def test_transport_secrets_spool_doctor_replay(
    tmp_path: Path,
    airflow_home: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    api_key, url_password, query_token = new_secret("apikey"), new_secret("urlpw"), new_secret("qtok")
    spool = tmp_path / "spool"
    transport = {
        "type": "http",
        "url": f"http://lineage:{url_password}@127.0.0.1:9",
        "endpoint": f"api/v1/lineage?api_key={query_token}",
        "timeout": 1,
        "auth": {"type": "api_key", "apiKey": api_key},
    }
    monkeypatch.setenv(TRANSPORT_ENV, json.dumps(transport))
    monkeypatch.setenv(SPOOL_ENV, str(spool))
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SEND_TIMEOUT", "1")
    from lineage_helpers import ensure_listener_registered

    reset_lineage()
    ensure_listener_registered()
    sinks = Sinks(tmp_path, airflow_home, capfd)
    sinks.attach()
    try:
        dag_id = _dag_id(request)
        source = f"""
        import datetime
        from airflow.sdk import DAG, task

        with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
            @task
            def work():
                return 1
            work()
        """
        run_dag(source, dag_id)
        from airflow_lineage_provider.emission.emitter import get_emitter

        get_emitter().flush(5)
        assert list(spool.glob("*.json")), "events were expected in the spool (backend down)"
        sinks.add("doctor output (send)", _cli("doctor"))
        _check_cli(sinks, tmp_path)
        sinks.add(
            "graph of the spool",
            _cli("graph", *map(str, sorted(spool.glob("*.json"))), "-o", str(tmp_path / "spool.html")),
        )
        sinks.assert_clean(api_key, url_password, query_token)
    finally:
        sinks.detach()
        reset_lineage()


# --- inlets / outlets with credentials in the namespace -------------------------------------------------


def test_openlineage_datasets_with_credentials(
    sinks: Sinks, lineage_events: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    plain, slash, jdbc, at = new_secret("ns"), new_secret("nsslash"), new_secret("jdbc"), new_secret("at")
    dag_id = _dag_id(request)
    source = f"""
    import datetime
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator
    from openlineage.client.event_v2 import Dataset

    with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        EmptyOperator(
            task_id="declared",
            inlets=[
                Dataset(namespace="postgres://etl:{plain}@db.example.com:5432", name="w.public.orders"),
                Dataset(namespace="postgres://etl:p/{slash}@db.example.com:5432", name="w.public.items"),
                Dataset(namespace="mysql://etl:p@{at}@db.example.com:3306", name="w.items"),
            ],
            outlets=[
                Dataset(namespace="jdbc:postgresql://db.example.com:5432/w?user=etl&password={jdbc}",
                        name="public.totals"),
            ],
        )
    """
    run_dag(source, dag_id)
    events = lineage_events()
    declared = [e for e in events if e["job"]["name"].endswith(".declared") and e["eventType"] == "COMPLETE"]
    assert declared and len(declared[0]["inputs"]) == 3
    _check_cli(sinks, tmp_path)
    sinks.assert_clean(plain, slash, jdbc, at)


# --- the quality gate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask_literals", [False, True], ids=["literals_kept", "mask_sql_literals"])
def test_quality_gate_row_filter_xcom_notifier(
    mask_literals: bool,
    sinks: Sinks,
    lineage_events: Any,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    from operators.gate_helpers import gate_xcom

    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS", str(mask_literals))
    reset_lineage()
    db_path = tmp_path / "gate.db"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE orders (id INTEGER, email TEXT, src TEXT, password TEXT)")
        db.execute("INSERT INTO orders VALUES (1, NULL, 'x', 'y'), (2, NULL, 'x', 'y')")
    _env_conn(monkeypatch, "leak_gate", {"conn_type": "sqlite", "host": str(db_path)})
    uri_secret, pw_secret = new_secret("gateuri"), new_secret("gatepw")
    # a URI with a password is a secret always; any literal is one with mask_sql_literals
    row_filter = f"src <> 'postgresql://etl:{uri_secret}@db/w' AND id <> '{pw_secret}'"
    notes = tmp_path / "notes.jsonl"
    dag_id = _dag_id(request)
    source = f"""
    import datetime, json
    from airflow.sdk import DAG
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    def record(context):
        with open({str(notes)!r}, "a") as f:
            f.write(json.dumps(context["quality_gate"], default=repr) + "\\n")

    with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        QualityGateOperator(task_id="gate", conn_id="leak_gate", table="orders",
                            null_thresholds={{"email": 0.1}}, row_filter={row_filter!r},
                            on_breach="warn", notifiers=[record])
    """
    dag_run = run_dag(source, dag_id)
    events = lineage_events()
    assert events
    xcom = gate_xcom(dag_run)
    assert xcom is not None
    sinks.add("gate XCom", xcom)
    assert notes.exists(), "the notifier was not called"
    sinks.add("notifier payload", notes.read_text())
    _check_cli(sinks, tmp_path)
    sinks.assert_clean(uri_secret, *([pw_secret] if mask_literals else []))
