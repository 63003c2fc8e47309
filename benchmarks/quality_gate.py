"""Quality-gate benchmark on PostgreSQL: the gate's one scan beside ``COUNT(*)`` and SQLColumnCheckOperator.

One run, one table of results:

- ``COUNT(*)``: a plain full scan of the table (no column is even read);
- ``COUNT(last column)``: the cheapest query that reads a value of every row's 20th column: the floor for
  any SQL that measures that column (PostgreSQL must deform the 19 columns before it in every row);
- the gate: ``QualityGateOperator``'s real measuring path (table/column check, then the one-scan query of
  row count + 20 non-null counts) through the connection's ``PostgresHook``;
- ``SQLColumnCheckOperator``: the real common.sql operator with ``null_check`` on the same 20 columns
  (``execute()`` on the same connection; it scans the table once per column);
- the same with sampling (``sample_percent``: ``TABLESAMPLE SYSTEM``); SQLColumnCheckOperator cannot sample.

Then the pause → resume latency: ``QualityGateTrigger`` polls a small table every ``poke_interval`` while a
thread repairs the data at random moments; the delay from the repair's commit to the trigger's event is
reported beside ``poke_interval``.

The 5M-row, 20-column table ``bench_quality.wide_5m`` is created once (``generate_series``, ~870 MB, about
15 s) and kept between runs; ``--rebuild`` recreates it. Times are medians of ``--repeat`` runs after one
warm-up run of each query (the table is then in the OS cache: the scans are CPU-bound). ``--cold`` adds a
second round where the OS page cache is dropped before every timed query (needs root: it writes
``/proc/sys/vm/drop_caches``), so each scan reads the table from disk as a table larger than memory would.

Usage: ``.venv/bin/python benchmarks/quality_gate.py [--repeat 3] [--sample 10] [--pauses 5]``
(PostgreSQL on 127.0.0.1:5432, database ``test``, user ``postgres``; override with ``AIRFLOW_CONN_BENCH_PG``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="alp-bench-home-"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # hooks log every statement at INFO
os.environ.setdefault(
    "AIRFLOW_CONN_BENCH_PG",
    json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "test"}
    ),
)

CONN_ID = "bench_pg"
SCHEMA = "bench_quality"
TABLE = f"{SCHEMA}.wide_5m"
ROWS = 5_000_000
COLUMNS = (
    "id customer_id order_no amount qty price status note created_at updated_at "
    "flag region product_id ship_date discount channel tax weekday email is_returned"
).split()

CREATE = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} AS
SELECT g AS id,
       CASE WHEN g % 97 = 0 THEN NULL ELSE g % 100000 END AS customer_id,
       CASE WHEN g % 13 = 0 THEN NULL ELSE (g * 7) % 1000 END AS order_no,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 10000) / 100.0 END::numeric(12,2) AS amount,
       CASE WHEN g % 17 = 0 THEN NULL ELSE g % 50 END::int AS qty,
       CASE WHEN g % 19 = 0 THEN NULL ELSE (g % 977) * 1.5 END::double precision AS price,
       CASE WHEN g % 23 = 0 THEN NULL WHEN g % 29 = 0 THEN '' ELSE 'status_' || (g % 5) END AS status,
       CASE WHEN g % 3 = 0 THEN NULL ELSE md5(g::text) END AS note,
       CASE WHEN g % 31 = 0 THEN NULL ELSE timestamptz '2026-01-01' + (g % 86400) * interval '1 second' END
           AS created_at,
       CASE WHEN g % 37 = 0 THEN NULL ELSE timestamp '2026-01-01' + (g % 3600) * interval '1 minute' END
           AS updated_at,
       CASE WHEN g % 41 = 0 THEN NULL ELSE g % 2 = 0 END AS flag,
       CASE WHEN g % 43 = 0 THEN NULL ELSE 'EU-' || (g % 40) END AS region,
       CASE WHEN g % 47 = 0 THEN NULL ELSE g % 9999 END::bigint AS product_id,
       CASE WHEN g % 53 = 0 THEN NULL ELSE date '2026-01-01' + (g % 365) END AS ship_date,
       CASE WHEN g % 59 = 0 THEN NULL ELSE (g % 100)::smallint END AS discount,
       CASE WHEN g % 61 = 0 THEN NULL ELSE 'c' || (g % 1000) END AS channel,
       CASE WHEN g % 67 = 0 THEN NULL ELSE (g % 12345) * 0.01 END::numeric(10,2) AS tax,
       CASE WHEN g % 71 = 0 THEN NULL ELSE g % 7 END::int AS weekday,
       CASE WHEN g % 73 = 0 THEN NULL ELSE 'user' || (g % 5000) || '@example.com' END AS email,
       CASE WHEN g % 79 = 0 THEN NULL ELSE g % 3 = 1 END AS is_returned
FROM generate_series(1, {ROWS}) AS g;
ANALYZE {TABLE};
"""


def _hook() -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(CONN_ID).get_hook()


def ensure_table(rebuild: bool) -> None:
    hook = _hook()
    exists = hook.get_first(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        parameters=(SCHEMA, "wide_5m"),
    )[0]
    if exists == len(COLUMNS) and not rebuild:
        rows = hook.get_first(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", parameters=(TABLE,)
        )
        print(f"using {TABLE} (~{rows[0]:,} rows, {len(COLUMNS)} columns)")
        return
    print(f"building {TABLE}: {ROWS:,} rows x {len(COLUMNS)} columns (once) ...", flush=True)
    started = time.perf_counter()
    hook.run(CREATE, autocommit=True)
    print(f"built in {time.perf_counter() - started:.1f}s")


def gate_runner(sample: float | None) -> Callable[[], Any]:
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    def run() -> Any:
        gate = QualityGateOperator(
            task_id="bench_gate",
            conn_id=CONN_ID,
            table=TABLE,
            null_thresholds=dict.fromkeys(COLUMNS, 0.5),
            sample_percent=sample,
            on_breach="warn",
        )
        _, spec, measurement = gate._measure_now()  # the table/column check, then the one-scan query
        return gate._evaluate(spec, measurement)

    return run


def gate_sql_runner() -> Callable[[], Any]:
    """Only the gate's one-scan query, already built: the database's share of the gate's time."""
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

    gate = QualityGateOperator(
        task_id="bench_gate_sql", conn_id=CONN_ID, table=TABLE, null_thresholds=dict.fromkeys(COLUMNS, 0.5)
    )
    query = gate._measure_now()[0]

    def run() -> Any:
        with closing(_hook().get_conn()) as connection:
            return query.run(connection)  # its session settings first, as the gate does

    return run


def count_runner(sample: float | None) -> Callable[[], Any]:
    clause = f" TABLESAMPLE SYSTEM ({sample:g})" if sample else ""
    sql = f"SELECT COUNT(*) FROM {TABLE}{clause}"

    def run() -> Any:
        return _hook().get_first(sql)

    return run


def column_check_runner() -> Callable[[], Any]:
    from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator

    def run() -> Any:
        operator = SQLColumnCheckOperator(
            task_id="bench_column_check",
            conn_id=CONN_ID,
            table=TABLE,
            column_mapping={c: {"null_check": {"leq_to": ROWS}} for c in COLUMNS},
        )
        return operator.execute(context={})

    return run


def last_column_runner() -> Callable[[], Any]:
    sql = f"SELECT COUNT({COLUMNS[-1]}) FROM {TABLE}"

    def run() -> Any:
        return _hook().get_first(sql)

    return run


def drop_os_cache() -> None:
    """Empty the OS page cache (root only); PostgreSQL reads a big table through a small ring buffer."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("1\n")


def timed(
    runners: dict[str, Callable[[], Any]], repeat: int, *, cold: bool = False
) -> dict[str, tuple[float, float]]:
    """(median, best) seconds per runner; one warm-up each, then the runners interleaved ``repeat`` times.

    ``cold``: the OS page cache is dropped before each timed run.
    """
    for run in runners.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeat):
        for name, run in runners.items():
            if cold:
                drop_os_cache()
            started = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - started)
    return {name: (statistics.median(values), min(values)) for name, values in samples.items()}


def _one_pause(hook: Any, trigger: Any, probe: str, poke_interval: float) -> float:
    """Start the trigger on a breached table, repair at a random moment; seconds from repair to event."""
    repaired: dict[str, float] = {}

    def repair() -> None:
        time.sleep(random.uniform(0.2, 2.5) * poke_interval)
        hook.run(f"UPDATE {probe} SET v = 0 WHERE v IS NULL", autocommit=True)
        repaired["at"] = time.time()

    async def first_event() -> Any:
        return await anext(trigger.run())

    worker = threading.Thread(target=repair)
    worker.start()
    event = asyncio.run(first_event())
    worker.join()
    assert event.payload["status"] == "recovered", event.payload
    return float(event.payload["measured_at"] - repaired["at"])


def pause_latency(pauses: int, poke_interval: float) -> list[float]:
    """Seconds from a repair's commit to the trigger's recovery event, per pause."""
    from airflow_lineage_provider.quality import (
        ColumnSpec,
        GateSpec,
        NullRule,
        build_metrics_query,
        dialect_for,
    )
    from airflow_lineage_provider.quality import parse_table_name as parse
    from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger

    hook = _hook()
    probe = f"{SCHEMA}.pause_probe"
    query = build_metrics_query(dialect_for("postgres"), parse(probe), [ColumnSpec("v")])
    latencies = []
    for _ in range(pauses):
        hook.run(
            [f"DROP TABLE IF EXISTS {probe}",
             f"CREATE TABLE {probe} AS SELECT g AS id, CASE WHEN g % 2 = 0 THEN NULL ELSE g END AS v "
             "FROM generate_series(1, 10000) g"],
            autocommit=True,
        )  # fmt: skip
        trigger = QualityGateTrigger(
            conn_id=CONN_ID,
            query=query.to_dict(),
            spec=GateSpec(table=probe, rules=(NullRule("v", 0.01),)).to_dict(),
            poke_interval=poke_interval,
            deadline=time.time() + 60,
        )
        latencies.append(_one_pause(hook, trigger, probe, poke_interval))
    hook.run(f"DROP TABLE IF EXISTS {probe}", autocommit=True)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=float, default=10.0, help="sample percent for the sampled round")
    parser.add_argument("--pauses", type=int, default=5, help="pause/repair cycles for the latency figure")
    parser.add_argument("--poke-interval", type=float, default=2.0)
    parser.add_argument("--rebuild", action="store_true", help="recreate the benchmark table")
    parser.add_argument("--cold", action="store_true", help="also time with the OS page cache dropped (root)")
    args = parser.parse_args()
    if args.cold and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        parser.error("--cold needs root: it writes /proc/sys/vm/drop_caches")

    ensure_table(args.rebuild)
    full = timed(
        {
            "count": count_runner(None),
            "last": last_column_runner(),
            "gate": gate_runner(None),
            "gate_sql": gate_sql_runner(),
            "column_check": column_check_runner(),
        },
        args.repeat,
    )
    sampled = timed(
        {
            "count": count_runner(None),
            "count_sampled": count_runner(args.sample),
            "gate": gate_runner(args.sample),
        },
        args.repeat,
    )
    cold = (
        timed({"count": count_runner(None), "last": last_column_runner(), "gate": gate_runner(None)},
              args.repeat, cold=True)
        if args.cold else None
    )  # fmt: skip
    latencies = pause_latency(args.pauses, args.poke_interval)

    n = len(COLUMNS)
    print()
    print(f"PostgreSQL, {TABLE}: {ROWS:,} rows x {n} columns, median and best of {args.repeat} warm runs")
    print()
    print(
        "| measurement | median (s) | best (s) | vs COUNT(*), median / best | SQLColumnCheckOperator / this |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = [
        ("`SELECT COUNT(*)` (full scan)", full["count"], full["count"]),
        (f"`SELECT COUNT({COLUMNS[-1]})` (floor: reads column {n})", full["last"], full["count"]),
        (f"quality gate, {n} columns, one scan", full["gate"], full["count"]),
        ("(its SQL alone, one round trip)", full["gate_sql"], full["count"]),
        (f"SQLColumnCheckOperator null_check, {n} columns", full["column_check"], full["count"]),
        (f"`COUNT(*)` TABLESAMPLE SYSTEM ({args.sample:g})", sampled["count_sampled"], sampled["count"]),
        (f"quality gate, {n} columns, sample_percent={args.sample:g}", sampled["gate"], sampled["count"]),
    ]
    check = full["column_check"]
    for label, (median, best), (base_median, base_best) in rows:
        print(
            f"| {label} | {median:.3f} | {best:.3f} | {median / base_median:.2f}x / {best / base_best:.2f}x "
            f"| {check[0] / median:.1f}x / {check[1] / best:.1f}x |"
        )
    if cold:
        print()
        print(f"cold: OS page cache dropped before each of {args.repeat} runs (the table is read from disk)")
        print()
        print("| measurement | median (s) | best (s) | vs COUNT(*), median / best |")
        print("| --- | ---: | ---: | ---: |")
        for label, key in (
            ("`SELECT COUNT(*)` (full scan)", "count"),
            (f"`SELECT COUNT({COLUMNS[-1]})` (floor: reads column {n})", "last"),
            (f"quality gate, {n} columns, one scan", "gate"),
        ):
            (median, best), (base_median, base_best) = cold[key], cold["count"]
            ratios = f"{median / base_median:.2f}x / {best / base_best:.2f}x"
            print(f"| {label} | {median:.3f} | {best:.3f} | {ratios} |")
    print()
    load = os.getloadavg()
    print(
        f"load average at the end (2 cores shared with other work): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print()
    print(
        f"pause -> resume after repair (poke_interval={args.poke_interval:g}s, {args.pauses} pauses): "
        f"max {max(latencies):.2f}s = {max(latencies) / args.poke_interval:.2f} x poke_interval, "
        f"median {statistics.median(latencies):.2f}s"
    )
    print()
    gate_ratio = full["gate"][0] / full["count"][0]
    floor_ratio = full["last"][0] / full["count"][0]
    print(
        f"floor: reading column {n} alone costs {floor_ratio:.2f}x COUNT(*); the gate is "
        f"{full['gate'][0] / full['last'][0]:.2f}x that floor"
    )
    check_ratio = full["column_check"][0] / full["gate"][0]
    targets = [
        ("gate <= 1.3x COUNT(*) (medians, warm)", gate_ratio <= 1.3, f"{gate_ratio:.2f}x"),
        *(
            [("gate <= 1.3x COUNT(*) (medians, cold)", cold["gate"][0] / cold["count"][0] <= 1.3,
              f"{cold['gate'][0] / cold['count'][0]:.2f}x")]
            if cold else []
        ),
        (">= 10x faster than SQLColumnCheckOperator (medians)", check_ratio >= 10, f"{check_ratio:.1f}x"),
        ("resume within one poke_interval", max(latencies) <= args.poke_interval,
         f"{max(latencies):.2f}s / {args.poke_interval:g}s"),
    ]  # fmt: skip
    for label, met, figure in targets:
        print(f"target {label}: {'met' if met else 'MISSED'} ({figure})")


if __name__ == "__main__":
    main()
