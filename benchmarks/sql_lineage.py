"""SQL lineage benchmark: this provider's engine beside the baseline libraries, in one run, one table.

Runs ``../shared/benchmarks/sql_lineage/score.py`` (relative to the repository root) on ``peer_cases.jsonl``
once per adapter, each in its own subprocess and interpreter, one after the other:

- ``sql_adapter:lineage`` (this engine) with the project's ``.venv`` Python;
- the baseline adapters of the shared ``adapters.py`` with ``benchmarks/.venv-sql`` (openlineage-sql,
  sqllineage, sqlglot, sqlparse; create it with ``benchmarks/setup_sql_bench_env.sh``).

Then prints one markdown table (accuracy, failures, throughput, latency, speed ratio to this engine)
and the engine's bounded-cost figures (1 MB INSERT ... VALUES, 500 nested subqueries, a long UNION).

Usage: ``.venv/bin/python benchmarks/sql_lineage.py [--repeat 5] [--skip-slow] [--adapters a,b]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "benchmarks" / "sql_lineage"
ENGINE_PYTHON = ROOT / ".venv" / "bin" / "python"
BASELINE_PYTHON = HERE / ".venv-sql" / "bin" / "python"

ENGINE = "sql_adapter:lineage"
BASELINES = [
    "adapters:openlineage_airflow",
    "adapters:openlineage_raw",
    "adapters:sqllineage",
    "adapters:sqllineage_fallback",
    "adapters:sqlglot_baseline",
    "adapters:naive_sqlparse",
]
SLOW = {"adapters:sqllineage", "adapters:sqllineage_fallback"}

_BOUNDED_COST = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from airflow_lineage_provider.sql import analyze
analyze("SELECT 1")  # import cost out of the measurement
rows = ",".join(f"({i}, 'customer name {i} with some padding text to reach a megabyte', {i}.25, '2024-01-01')"
                for i in range(10_000))
values = "INSERT INTO s.big (a, b, c, d) VALUES " + rows
while len(values) < 1_000_000:
    values += ",(0, 'padding padding padding padding padding padding padding padding', 0.5, '2024-01-01')"
nested = "SELECT a FROM t"
for i in range(500):
    nested = f"SELECT a FROM ({nested}) s{i}"
union = "INSERT INTO t (a) " + " UNION ALL ".join(f"SELECT x FROM s{i % 7}" for i in range(2000))
out = []
cases = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8") if line.strip()]
best = {}
for _ in range(5):
    for case in cases:
        t0 = time.process_time()
        analyze(case["sql"], case["dialect"])
        best[case["id"]] = min(best.get(case["id"], 1e9), time.process_time() - t0)
statements = sum(max(1, len([p for p in c["sql"].split(";") if p.strip()])) for c in cases)
cpu = sum(best.values())
out.append([f"peer corpus, CPU time (best of 5 per case, warm): {statements / cpu:,.0f} statements/s",
            len(cases), cpu, "ok", "-"])
for label, sql in (("1 MB INSERT ... VALUES (10,000+ rows)", values),
                   ("500 nested subqueries", nested),
                   ("2,000-branch UNION ALL", union)):
    t0 = time.perf_counter()
    try:
        res = analyze(sql, "postgres")
        status = "partial (table-level fallback)" if res.partial else "ok"
        summary = res.to_dict()
        shape = f"{len(summary['inputs'])} in / {len(summary['outputs'])} out"
    except BaseException as exc:  # the point of the check: nothing may escape
        status, shape = f"RAISED {type(exc).__name__}", "-"
    out.append([label, len(sql), time.perf_counter() - t0, status, shape])
print(json.dumps(out))
"""


def run_score(python: Path, adapter: str, repeat: int, timeout: float) -> dict | None:
    """One score.py run in its own interpreter; returns its --json document (None if it failed)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = Path(tmp.name)
    cmd = [
        str(python),
        str(SHARED / "score.py"),
        "--cases",
        str(SHARED / "peer_cases.jsonl"),
        "--adapter",
        adapter,
        "--repeat",
        str(repeat),
        "--timeout",
        str(timeout),
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, check=False)
    try:
        if proc.returncode != 0:
            print(
                f"  {adapter}: score.py failed ({proc.returncode}): {proc.stderr.strip()[-500:]}",
                file=sys.stderr,
            )
            return None
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def _prf(m: dict) -> str:
    return f"{100 * m['precision']:.1f} / {100 * m['recall']:.1f} / {100 * m['f1']:.1f}"


def print_table(docs: dict[str, dict]) -> None:
    engine_rate = docs.get(ENGINE, {}).get("perf", {}).get("statements_per_s")
    print(
        "| adapter | failures | table exact % | table P / R / F1 | column edge P / R / F1 "
        "| statements/s | median / p95 ms | speed vs engine |"
    )
    print("|---|---:|---:|---|---|---:|---|---:|")
    for adapter, doc in docs.items():
        s, p = doc["summary"], doc["perf"]
        ratio = f"{p['statements_per_s'] / engine_rate:.2f}x" if engine_rate else "n/a"
        name = "**this engine**" if adapter == ENGINE else adapter.split(":", 1)[1]
        print(
            f"| {name} | {s['failures']} | {_pct(s['table_exact_match_rate'])} | {_prf(s['tables'])} "
            f"| {_prf(s['column_edges'])} | {p['statements_per_s']:.0f} "
            f"| {1000 * p['median_s']:.2f} / {1000 * p['p95_s']:.2f} | {ratio} |"
        )


def print_categories(docs: dict[str, dict]) -> None:
    names = list(docs)
    cats = sorted({c for d in docs.values() for c in d["categories"]})
    short = ["engine" if n == ENGINE else n.split(":", 1)[1] for n in names]
    print("\nper category: table exact % (column F1 for col_* categories)\n")
    print("| category | n | " + " | ".join(short) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for cat in cats:
        cells = []
        n = 0
        for name in names:
            c = docs[name]["categories"].get(cat)
            if c is None:
                cells.append("-")
                continue
            n = c["cases"]
            if c["column_cases"] and not c["table_cases"]:
                cells.append(f"{100 * c['column_edges']['f1']:.1f}")
            else:
                cells.append(_pct(c["table_exact_match_rate"]))
        print(f"| {cat} | {n} | " + " | ".join(cells) + " |")


def bounded_cost() -> None:
    proc = subprocess.run(
        [str(ENGINE_PYTHON), "-c", _BOUNDED_COST, str(ROOT), str(SHARED / "peer_cases.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"bounded-cost check crashed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        return
    print("\n| engine check | characters / cases | seconds | result | tables |")
    print("|---|---:|---:|---|---|")
    for label, size, secs, status, shape in json.loads(proc.stdout):
        print(f"| {label} | {size:,} | {secs:.3f} | {status} | {shape} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="calls per case for timing (first answer scored)")
    ap.add_argument("--timeout", type=float, default=20.0, help="per-call timeout passed to score.py")
    ap.add_argument(
        "--skip-slow", action="store_true", help="skip the sqllineage baselines (about 1 minute each)"
    )
    ap.add_argument("--adapters", help="comma-separated baseline adapters (default: all of adapters.py)")
    ap.add_argument("--categories", action="store_true", help="also print the per-category comparison")
    args = ap.parse_args(argv)

    if not (SHARED / "score.py").exists():
        print(
            f"shared benchmark not found at {SHARED}; the repository must sit next to ../shared",
            file=sys.stderr,
        )
        return 2
    baselines = (
        [a if ":" in a else f"adapters:{a}" for a in args.adapters.split(",")] if args.adapters else BASELINES
    )
    if args.skip_slow:
        baselines = [a for a in baselines if a not in SLOW]
    if not BASELINE_PYTHON.exists():
        print(
            f"{BASELINE_PYTHON} missing: run benchmarks/setup_sql_bench_env.sh; scoring the engine only",
            file=sys.stderr,
        )
        baselines = []

    docs: dict[str, dict] = {}
    started = time.time()
    for adapter, python in [(ENGINE, ENGINE_PYTHON)] + [(b, BASELINE_PYTHON) for b in baselines]:
        print(f"scoring {adapter} (repeat {args.repeat}) ...", file=sys.stderr, flush=True)
        doc = run_score(python, adapter, args.repeat, args.timeout)
        if doc is not None:
            docs[adapter] = doc
    elapsed = time.time() - started
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\npeer corpus: {SHARED / 'peer_cases.jsonl'} ({elapsed:.0f} s, adapters one at a time)")
    print(f"machine: {os.cpu_count()} cores, load average {load} (wall-clock figures scale with the load)\n")
    print_table(docs)
    if args.categories:
        print_categories(docs)
    bounded_cost()
    return 0 if ENGINE in docs else 1


if __name__ == "__main__":
    sys.exit(main())
