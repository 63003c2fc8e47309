"""SQL extractor coverage: the same DAGs with this provider and with apache-airflow-providers-openlineage.

Usage: ``.venv/bin/python benchmarks/extractor_coverage.py [--db sqlite,postgres,mariadb]``
(needs ``benchmarks/.venv-official``: ``benchmarks/setup_official_env.sh``; PostgreSQL on 127.0.0.1:5432 and
MariaDB on 127.0.0.1:3306 for those databases).

For each database the parent creates two identical fresh warehouses (one per side), then runs one worker
subprocess per side, each in its own virtualenv and its own AIRFLOW_HOME, that runs one DAG per database
with ``dag.test()`` and captures the events with a file transport. The worker probes, in-process (and in the
official provider's forked listener children, through an append-only file):

* **metadata round trips**: statements sent through a hook connection that read catalog metadata
  (``information_schema``, ``pg_catalog``, ``sqlite_master``/``pragma``, ``current_schema()``, ``SHOW``),
  attributed to the task whose lineage was being extracted;
* **extraction time**: wall time of the provider's extraction entry point per task event (ours:
  ``ExtractorManager.extract``; official: ``ExtractorManager.extract_metadata``), summed over START and
  COMPLETE, and that time minus metadata access (opening hook connections during extraction and running the
  metadata statements).

The parent scores every task's COMPLETE event against the ground truth below (datasets as
(input/output, namespace, name), column edges as (output dataset, column, input dataset, column)) and prints
one table: per DAG and side, right/expected and wrong datasets and column edges, round trips, time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDES = {
    "this provider": ROOT / ".venv" / "bin" / "python",
    "official 2.20.3": ROOT / "benchmarks" / ".venv-official" / "bin" / "python",
}

# --- the warehouse and the DAG ---------------------------------------------------------------------------

#: task -> (SQL per database kind, or one SQL for all; None = not on that database), ground truth
#: ground truth: inputs, outputs, column edges "out_table.col<-in_table.col", inputs tolerated (not wrong)
TASKS: list[dict[str, Any]] = [
    {
        "task": "ctas",
        "sql": "CREATE TABLE customer_totals AS SELECT c.name AS customer, SUM(o.amount) AS total "
        "FROM orders AS o JOIN customers AS c ON o.customer_id = c.id GROUP BY c.name",
        "inputs": ["orders", "customers"],
        "outputs": ["customer_totals"],
        "edges": ["customer_totals.customer<-customers.name", "customer_totals.total<-orders.amount"],
    },
    {
        "task": "insert_cte",
        "sql": "INSERT INTO big_orders (order_id, customer, amount) "
        "WITH fr AS (SELECT id, name FROM customers WHERE country = 'FR') "
        "SELECT o.id, fr.name, o.amount FROM orders AS o JOIN fr ON fr.id = o.customer_id "
        "WHERE o.ds = '{{ ds }}'",
        "inputs": ["orders", "customers"],
        "outputs": ["big_orders"],
        "edges": [
            "big_orders.order_id<-orders.id",
            "big_orders.customer<-customers.name",
            "big_orders.amount<-orders.amount",
        ],
    },
    {
        "task": "update_from",
        "sql": {
            "sqlite": "UPDATE customers SET country = f.country FROM country_fixes AS f "
            "WHERE f.customer_id = customers.id",
            "postgres": "UPDATE customers SET country = f.country FROM country_fixes AS f "
            "WHERE f.customer_id = customers.id",
            "mariadb": "UPDATE customers AS c JOIN country_fixes AS f ON f.customer_id = c.id "
            "SET c.country = f.country",
        },
        "inputs": ["country_fixes"],
        "tolerated": ["customers"],
        "outputs": ["customers"],
        "edges": ["customers.country<-country_fixes.country"],
    },
    {
        "task": "temp_table_script",
        "sql": "CREATE {temp} TABLE tmp_fr AS SELECT id, name FROM customers WHERE country = 'FR'; "
        "INSERT INTO fr_orders SELECT o.id, t.name, o.amount FROM orders AS o JOIN tmp_fr AS t "
        "ON t.id = o.customer_id; DROP TABLE tmp_fr",
        "inputs": ["orders", "customers"],
        "outputs": ["fr_orders"],
        "edges": [
            "fr_orders.order_id<-orders.id",
            "fr_orders.customer<-customers.name",
            "fr_orders.amount<-orders.amount",
        ],
    },
    {
        "task": "select_star",
        "sql": "INSERT INTO orders_copy SELECT * FROM orders",
        "inputs": ["orders"],
        "outputs": ["orders_copy"],
        "edges": [f"orders_copy.{c}<-orders.{c}" for c in ("id", "customer_id", "amount", "ds")],
    },
    {
        "task": "merge",
        "sql": {
            "postgres": "MERGE INTO customers AS c USING country_fixes AS f ON f.customer_id = c.id "
            "WHEN MATCHED THEN UPDATE SET country = f.country "
            "WHEN NOT MATCHED THEN INSERT (id, country) VALUES (f.customer_id, f.country)"
        },
        "inputs": ["country_fixes"],
        "tolerated": ["customers"],
        "outputs": ["customers"],
        "edges": ["customers.country<-country_fixes.country", "customers.id<-country_fixes.customer_id"],
    },
    {
        "task": "hook_in_task",
        "hook_sql": "INSERT INTO audit_log (customer, total) SELECT customer, total FROM customer_totals",
        "inputs": ["customer_totals"],
        "outputs": ["audit_log"],
        "edges": ["audit_log.customer<-customer_totals.customer", "audit_log.total<-customer_totals.total"],
    },
]

#: a common.sql check operator: its results as data-quality facets on the checked table
CHECK = {
    "task": "column_check",
    "table": "orders",
    "column_mapping": {
        "amount": {"null_check": {"equal_to": 0}, "min": {"geq_to": 1}},
        "ds": {"null_check": {"equal_to": 0}},
    },
    "inputs": ["orders"],
    "outputs": [],
    "edges": [],
    # (assertion name, success) on the checked table; (column, metric) -> value in dataQualityMetrics
    "assertions": [("amount.null_check", True), ("amount.min", True), ("ds.null_check", True)],
    "metrics": {("amount", "nullCount"): 0, ("amount", "min"): 5, ("ds", "nullCount"): 0},
}
TASKS.append(CHECK)

HOOKS = {
    "sqlite": ("airflow.providers.sqlite.hooks.sqlite", "SqliteHook", "sqlite_conn_id"),
    "postgres": ("airflow.providers.postgres.hooks.postgres", "PostgresHook", "postgres_conn_id"),
    "mariadb": ("airflow.providers.mysql.hooks.mysql", "MySqlHook", "mysql_conn_id"),
}


def task_sql(task: dict[str, Any], kind: str) -> str | None:
    sql = task.get("sql")
    if isinstance(sql, dict):
        sql = sql.get(kind)
    if sql is None:
        return None
    return sql.replace("{temp}", "TEMPORARY" if kind == "mariadb" else "TEMP")


def dag_source(kind: str, dag_id: str, conn_id: str) -> str:
    module, hook_class, hook_arg = HOOKS[kind]
    lines = [
        "import datetime",
        "from airflow.sdk import DAG, task",
        "from airflow.providers.common.sql.operators.sql import (",
        "    SQLColumnCheckOperator, SQLExecuteQueryOperator,",
        ")",
        f"from {module} import {hook_class}",
        f"with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:",
    ]
    present = []
    for spec in TASKS:
        if "column_mapping" in spec:
            lines.append(
                f"    {spec['task']} = SQLColumnCheckOperator(task_id={spec['task']!r}, conn_id={conn_id!r},"
                f" table={spec['table']!r}, column_mapping={spec['column_mapping']!r})"
            )
            present.append(spec["task"])
            continue
        if "hook_sql" in spec:
            lines += [
                "    @task",
                f"    def {spec['task']}():",
                f"        {hook_class}({hook_arg}={conn_id!r}).run({spec['hook_sql']!r})",
                f"    {spec['task']} = {spec['task']}()",
            ]
            present.append(spec["task"])
            continue
        sql = task_sql(spec, kind)
        if sql is not None:
            lines.append(
                f"    {spec['task']} = SQLExecuteQueryOperator(task_id={spec['task']!r}, conn_id={conn_id!r},"
                f" sql={sql!r}, split_statements=True)"
            )
            present.append(spec["task"])
    chain = [t for t in present if t not in ("ctas", "hook_in_task")]
    lines.append("    ctas >> hook_in_task")
    lines.append("    " + " >> ".join(chain))
    return "\n".join(lines) + "\n"


# --- warehouses (parent) -------------------------------------------------------------------------------


def create_warehouse(kind: str, workdir: Path) -> dict[str, Any]:
    """A fresh copy of the test warehouse (tests/extractors/conftest.py) for one side, as worker spec data."""
    from extractors.conftest import create_warehouse as create  # tests/ is on sys.path (see run())

    warehouse = create("mysql" if kind == "mariadb" else kind, workdir)
    return {
        "kind": kind,
        "conn_id": warehouse.conn_id,
        "conn": warehouse.conn,
        "namespace": warehouse.namespace,
        "prefix": warehouse.prefix,
        "test_kind": warehouse.kind,
    }


def drop_warehouse(spec: dict[str, Any]) -> None:
    from extractors.conftest import Warehouse
    from extractors.conftest import drop_warehouse as drop

    drop(Warehouse(spec["conn_id"], spec["namespace"], spec["prefix"], spec["test_kind"], spec["conn"]))


# --- worker (runs inside one side's virtualenv) ------------------------------------------------------------

_META_WORDS = ("information_schema", "pg_catalog", "sqlite_master", "pragma", "current_schema", "show ")


def _worker(spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    home = Path(spec["home"])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from airflow_home import isolated_airflow_env

    env = isolated_airflow_env(home)
    transport = json.dumps({"type": "file", "log_file_path": spec["events"], "append": True})
    if spec["side"] == "official":
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = transport
    else:
        env["AIRFLOW__LINEAGE_PROVIDER__TRANSPORT"] = transport
    for warehouse in spec["warehouses"]:
        env[f"AIRFLOW_CONN_{warehouse['conn_id'].upper()}"] = json.dumps(warehouse["conn"])
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _install_probes(spec["side"], spec["probes"])
    import importlib.util

    for warehouse in spec["warehouses"]:
        dag_id = f"coverage_{warehouse['kind']}"
        path = home / "dags" / f"{dag_id}.py"
        path.write_text(dag_source(warehouse["kind"], dag_id, warehouse["conn_id"]))
        module_spec = importlib.util.spec_from_file_location(dag_id, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        module.dag.test()
    if spec["side"] == "ours":
        from airflow_lineage_provider.emission.emitter import get_emitter

        get_emitter().flush(30)
    time.sleep(0.5)


def _install_probes(side: str, probe_path: str) -> None:
    """Count metadata statements per task, time the extraction entry point (fork-safe: append to a file)."""
    import functools

    current: dict[str, Any] = {"task": None}

    def record(entry: dict[str, Any]) -> None:
        with open(probe_path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            object.__setattr__(self, "_cursor", cursor)

        def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = self._cursor.execute(sql, *args, **kwargs)
            text = str(sql).lower()
            if current["task"] and any(word in text for word in _META_WORDS):
                record(
                    {"kind": "meta", "task": current["task"], "ms": (time.perf_counter() - started) * 1000}
                )
            return result

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

        def __setattr__(self, name: str, value: Any) -> None:
            setattr(self._cursor, name, value)

        def __iter__(self) -> Any:
            return iter(self._cursor)

        def __enter__(self) -> Cursor:
            self._cursor.__enter__()
            return self

        def __exit__(self, *exc: Any) -> Any:
            return self._cursor.__exit__(*exc)

    class Connection:
        def __init__(self, conn: Any) -> None:
            object.__setattr__(self, "_conn", conn)

        def cursor(self, *args: Any, **kwargs: Any) -> Cursor:
            return Cursor(self._conn.cursor(*args, **kwargs))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._conn, name)

        def __setattr__(self, name: str, value: Any) -> None:
            setattr(self._conn, name, value)

        def __enter__(self) -> Connection:
            self._conn.__enter__()
            return self

        def __exit__(self, *exc: Any) -> Any:
            return self._conn.__exit__(*exc)

    from airflow.providers.mysql.hooks.mysql import MySqlHook
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    for hook_class in (SqliteHook, PostgresHook, MySqlHook):
        original = hook_class.get_conn

        def get_conn(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            started = time.perf_counter()
            conn = _original(self, *args, **kwargs)
            if current["task"]:  # a connection opened for lineage (metadata access), not by the task
                record(
                    {"kind": "connect", "task": current["task"], "ms": (time.perf_counter() - started) * 1000}
                )
            return Connection(conn)

        hook_class.get_conn = get_conn  # type: ignore[method-assign]

    def timed(original: Any, task_of: Any, phase_of: Any) -> Any:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            task_id, phase = task_of(args, kwargs), phase_of(args, kwargs)
            current["task"] = task_id
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                record(
                    {
                        "kind": "extract",
                        "task": task_id,
                        "phase": phase,
                        "ms": (time.perf_counter() - started) * 1000,
                    }
                )
                current["task"] = None

        return wrapper

    if side == "official":
        from airflow.providers.openlineage.extractors.manager import ExtractorManager as Official

        Official.extract_metadata = timed(  # type: ignore[method-assign]
            Official.extract_metadata,
            lambda a, k: _job_of(k.get("task") or a[2]),
            lambda a, k: str(k.get("task_instance_state") or a[3]),
        )
    else:
        from airflow_lineage_provider.extractors.manager import ExtractorManager as Ours

        Ours.extract = timed(  # type: ignore[method-assign]
            Ours.extract,
            lambda a, k: _job_of(k.get("operator") or a[2]),
            lambda a, k: k.get("phase") or a[1],
        )


def _job_of(operator: Any) -> str:
    return f"{operator.dag_id}.{operator.task_id}"


# --- scoring (parent) -------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _produced(event: dict[str, Any]) -> tuple[set[tuple[str, str, str]], set[tuple[Any, ...]]]:
    found = {("in", d["namespace"], d["name"]) for d in event.get("inputs") or []}
    found |= {("out", d["namespace"], d["name"]) for d in event.get("outputs") or []}
    edges = set()
    for out in event.get("outputs") or []:
        facet = (out.get("facets") or {}).get("columnLineage") or {}
        for column, spec in (facet.get("fields") or {}).items():
            for field in spec.get("inputFields") or []:
                edges.add(
                    (out["namespace"], out["name"], column, field["namespace"], field["name"], field["field"])
                )
    return found, edges


def _quality(event: dict[str, Any]) -> tuple[set[tuple[Any, ...]], dict[tuple[Any, ...], Any]]:
    """Assertions ``(namespace, name, assertion name, success)`` and metrics ``(namespace, name, column,
    metric) -> value`` on the event's inputs, as input facets or as dataset facets."""
    assertions: set[tuple[Any, ...]] = set()
    metrics: dict[tuple[Any, ...], Any] = {}
    for d in event.get("inputs") or []:
        facets = {**(d.get("facets") or {}), **(d.get("inputFacets") or {})}
        for a in (facets.get("dataQualityAssertions") or {}).get("assertions") or []:
            assertions.add((d["namespace"], d["name"], a.get("name") or a.get("assertion"), a.get("success")))
        columns = (facets.get("dataQualityMetrics") or {}).get("columnMetrics") or {}
        for column, values in columns.items():
            for metric, value in (values or {}).items():
                if isinstance(value, (int, float)):
                    metrics[(d["namespace"], d["name"], column, metric)] = value
    return assertions, metrics


def _expected(task: dict[str, Any], warehouse: dict[str, Any]) -> tuple[set, set, set]:
    ns, prefix = warehouse["namespace"], warehouse["prefix"]
    datasets = {("in", ns, prefix + t) for t in task["inputs"]} | {
        ("out", ns, prefix + t) for t in task["outputs"]
    }
    tolerated = {("in", ns, prefix + t) for t in task.get("tolerated", [])}
    edges = set()
    for edge in task["edges"]:
        out, source = edge.split("<-")
        out_table, out_col = out.rsplit(".", 1)
        in_table, in_col = source.rsplit(".", 1)
        edges.add((ns, prefix + out_table, out_col, ns, prefix + in_table, in_col))
    return datasets, tolerated, edges


def score(
    side: str, warehouse: dict[str, Any], events: list[dict[str, Any]], probes: list[dict[str, Any]]
) -> dict:
    kind = warehouse["kind"]
    dag_id = f"coverage_{kind}"
    row = {
        "ds_right": 0,
        "ds_expected": 0,
        "ds_wrong": 0,
        "edges_right": 0,
        "edges_expected": 0,
        "edges_wrong": 0,
        "round_trips": 0,
        "max_trips": 0,
        "tasks": 0,
        "extract_ms": [],
        "net_ms": [],
        "checks_right": 0,
        "checks_expected": 0,
        "metrics_right": 0,
        "metrics_expected": 0,
    }
    for task in TASKS:
        if "hook_sql" not in task and "column_mapping" not in task and task_sql(task, kind) is None:
            continue
        row["tasks"] += 1
        terminal = [
            e
            for e in events
            if e["job"]["name"] == f"{dag_id}.{task['task']}" and e["eventType"] in ("COMPLETE", "FAIL")
        ]
        expected, tolerated, expected_edges = _expected(task, warehouse)
        found, edges = _produced(terminal[-1]) if terminal else (set(), set())
        row["ds_expected"] += len(expected)
        row["ds_right"] += len(found & expected)
        row["ds_wrong"] += len(found - expected - tolerated)
        row["edges_expected"] += len(expected_edges)
        row["edges_right"] += len(edges & expected_edges)
        row["edges_wrong"] += len(edges - expected_edges)
        if "assertions" in task:
            ns, table = warehouse["namespace"], warehouse["prefix"] + task["table"]
            assertions, metrics = _quality(terminal[-1]) if terminal else (set(), {})
            want = {(ns, table, name, ok) for name, ok in task["assertions"]}
            row["checks_expected"] += len(want)
            row["checks_right"] += len(assertions & want)
            row["metrics_expected"] += len(task["metrics"])
            row["metrics_right"] += sum(
                metrics.get((ns, table, column, metric)) == value
                for (column, metric), value in task["metrics"].items()
            )
        mine = [p for p in probes if p["task"] == f"{dag_id}.{task['task']}"]
        trips = [p for p in mine if p["kind"] == "meta"]
        row["round_trips"] += len(trips)
        row["max_trips"] = max(row["max_trips"], len(trips))
        total = sum(p["ms"] for p in mine if p["kind"] == "extract")
        row["extract_ms"].append(total)
        access = sum(p["ms"] for p in mine if p["kind"] in ("meta", "connect"))
        row["net_ms"].append(total - access)
    return row


def run(kinds: list[str]) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    import ol_schema

    missing = [name for name, python in SIDES.items() if not python.exists()]
    if missing:
        print(f"missing virtualenv for {missing}: run benchmarks/setup_official_env.sh", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="lp-coverage-"))
    results: dict[tuple[str, str], dict] = {}
    invalid: dict[str, int] = {}
    for label, python in SIDES.items():
        side = "official" if label.startswith("official") else "ours"
        warehouses = [create_warehouse(kind, workdir) for kind in kinds]
        spec = {
            "side": side,
            "home": str(workdir / f"home-{side}"),
            "events": str(workdir / f"events-{side}.jsonl"),
            "probes": str(workdir / f"probes-{side}.jsonl"),
            "warehouses": warehouses,
        }
        spec_path = workdir / f"spec-{side}.json"
        spec_path.write_text(json.dumps(spec))
        try:
            started = time.monotonic()
            proc = subprocess.run(
                [str(python), str(Path(__file__).resolve()), "--worker", str(spec_path)],
                cwd="/",
                capture_output=True,
                text=True,
                timeout=900,
            )
            if proc.returncode != 0:
                print(f"{label} worker failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
                return 1
            print(f"{label}: worker ran in {time.monotonic() - started:.0f}s", file=sys.stderr)
            events = _read_jsonl(Path(spec["events"]))
            probes = _read_jsonl(Path(spec["probes"]))
            invalid[label] = sum(1 for e in events if ol_schema.errors(e))
            for warehouse in warehouses:
                results[(warehouse["kind"], label)] = score(side, warehouse, events, probes)
        finally:
            for warehouse in warehouses:
                drop_warehouse(warehouse)
    _print(kinds, results, invalid)
    return 0


def _print(kinds: list[str], results: dict[tuple[str, str], dict], invalid: dict[str, int]) -> None:
    print(
        "| DAG (database) | provider | datasets right / expected (wrong) "
        "| column edges right / expected (wrong) "
        "| metadata round trips: total (max per task) "
        "| extraction ms per task, median (without metadata connect + queries) "
        "| check results: assertions / metrics right of expected |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind in kinds:
        for label in SIDES:
            r = results[(kind, label)]
            median = statistics.median(r["extract_ms"]) if r["extract_ms"] else 0.0
            net = statistics.median(r["net_ms"]) if r["net_ms"] else 0.0
            print(
                f"| coverage_{kind} ({r['tasks']} tasks) | {label} | {r['ds_right']} / {r['ds_expected']} "
                f"({r['ds_wrong']}) | {r['edges_right']} / {r['edges_expected']} ({r['edges_wrong']}) | "
                f"{r['round_trips']} ({r['max_trips']}) | {median:.1f} ({net:.1f}) | "
                f"{r['checks_right']}/{r['checks_expected']}, {r['metrics_right']}/{r['metrics_expected']} |"
            )
    print()
    ours, official = list(SIDES)
    for kind in kinds:
        a, b = results[(kind, ours)], results[(kind, official)]
        time_a = statistics.median(a["extract_ms"]) if a["extract_ms"] else 0.0
        time_b = statistics.median(b["extract_ms"]) if b["extract_ms"] else 0.0
        ratio = f"{time_b / time_a:.1f}x" if time_a else "n/a"
        print(
            f"coverage_{kind}: {official} / {ours}: median extraction time {ratio}, "
            f"metadata round trips {b['round_trips']} vs {a['round_trips']}, "
            f"column edges right {b['edges_right']} vs {a['edges_right']} of {a['edges_expected']}, "
            f"check metrics right {b['metrics_right']} vs {a['metrics_right']} of {a['metrics_expected']}"
        )
    print(
        "events failing the OpenLineage JSON Schemas: " + ", ".join(f"{k}: {v}" for k, v in invalid.items())
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--db", default="sqlite,postgres,mariadb", help="comma-separated: sqlite,postgres,mariadb"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker)
        return 0
    return run([kind.strip() for kind in args.db.split(",") if kind.strip()])


if __name__ == "__main__":
    sys.exit(main())
