"""10,000 DAG-run events from one process (a scheduler's life): thread count and memory must stay flat.

Usage: ``.venv/bin/python benchmarks/emitter_soak.py [--events 10000] [--mode healthy|503]``

Builds DAG-run START/COMPLETE events with ``emission.events.build_dag_run_event`` (what the listener emits
from the scheduler) and hands them to ``get_emitter().emit`` through HTTP to a receiver running in its own
process on 127.0.0.1. After every tenth of the events it waits for the queue to drain and prints the
process's thread count (Python and OS) and resident memory. ``--mode 503`` does the same with a backend
that refuses every event (all of them go to the spool).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _proc_status(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--mode", default="healthy", choices=["healthy", "503"])
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="alp-soak-"))
    receiver = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "emission" / "receiver.py"), args.mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT / "tests"),
    )
    assert receiver.stdout is not None and receiver.stdin is not None
    url = receiver.stdout.readline().strip()
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__LINEAGE_PROVIDER__TRANSPORT": json.dumps({"type": "http", "url": url}),
            "AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR": str(home / "spool"),
            "AIRFLOW__LINEAGE_PROVIDER__SEND_TIMEOUT": "2",
        }
    )
    from airflow_lineage_provider.emission import metrics
    from airflow_lineage_provider.emission.emitter import get_emitter
    from airflow_lineage_provider.emission.events import DagRunInfo, build_dag_run_event

    emitter = get_emitter()
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)

    def dag_run_event(number: int) -> object:
        run = DagRunInfo(
            dag_id=f"soak_dag_{number % 50}",
            run_id=f"scheduled__{number // 2}",
            logical_date=base + timedelta(minutes=number // 2),
            owners=("data-team",),
            tags=("soak",),
            dag_attributes={"dag_id": f"soak_dag_{number % 50}", "schedule": "@hourly"},
            run_attributes={"run_id": f"scheduled__{number // 2}", "run_type": "scheduled"},
        )
        return build_dag_run_event("START" if number % 2 == 0 else "COMPLETE", run, namespace="soak")

    for number in range(100):  # warm-up: imports, the sender and send threads, the HTTP session
        emitter.emit(dag_run_event(number))
    emitter.flush(60)

    print(f"{args.events} DAG-run events, HTTP receiver mode {args.mode} ({url})\n")
    print("| events emitted | python threads | OS threads | RSS MiB | enqueue us/event (mean) |")
    print("|---------------:|---------------:|-----------:|--------:|------------------------:|")
    step = max(1, args.events // 10)
    samples = []
    enqueue_s = 0.0
    for done in range(0, args.events + 1, step):
        if done:
            for number in range(done - step, done):
                event = dag_run_event(number)
                started = time.perf_counter()
                emitter.emit(event)
                enqueue_s += time.perf_counter() - started
            emitter.flush(120)
        sample = (done, threading.active_count(), _proc_status("Threads"), _proc_status("VmRSS") / 1024)
        samples.append(sample)
        mean_us = enqueue_s / done * 1e6 if done else 0.0
        print(
            f"| {sample[0]:14} | {sample[1]:14} | {sample[2]:10} | {sample[3]:7.1f} | {mean_us:23.1f} |",
            flush=True,
        )
    receiver.stdin.close()
    received = receiver.stdout.read().strip()
    receiver.wait(30)
    counts = metrics.snapshot()
    threads = {s[2] for s in samples}
    rss_growth = samples[-1][3] - samples[1][3]
    print(
        f"\nOS threads over the run: {sorted(threads)} (constant: {len(threads) == 1}); "
        f"RSS {samples[0][3]:.1f} -> {samples[-1][3]:.1f} MiB "
        f"(after the first tenth -> end: {rss_growth:+.1f} MiB)"
    )
    print(f"receiver got {received} events; counters: {json.dumps(counts, sort_keys=True)}")


if __name__ == "__main__":
    main()
