"""What lineage costs a FRESH Airflow 3 task process: this provider vs apache-airflow-providers-openlineage.

Usage: ``.venv/bin/python benchmarks/task_process_overhead.py [--tasks 20] [--transports file,http]``
(needs ``benchmarks/.venv-official``: run ``benchmarks/setup_official_env.sh`` once).

In Airflow 3 every task try runs in its own process, forked by the task supervisor, so the first lineage
event of each process pays whatever the listener imports and sets up. ``listener_overhead.py`` runs many
tasks in one ``dag.test()`` process and hides that; this benchmark does not.

How: one supervisor process per (transport, side, enabled) runs ``--tasks`` one-task DAG runs one after
the other, each through the real task supervisor (``supervise_task``): it forks a fresh task-runner
process that parses the DAG file, runs the PythonOperator, calls the listener hooks and exits (its
``atexit`` handlers, hence our exit flush, included). The supervisor talks to Airflow's in-process
execution API instead of an API server; it is warmed up first and never imports openlineage, so every
task process starts cold, as under a LocalExecutor or Celery worker. Inside each task process:

* ``process`` = task-runner ``main()`` start to the end of the process's exit handlers;
* ``to callable`` = ``main()`` start to the first line of the task's callable (the running hook is on it);
* ``hooks`` = wall time spent inside the listener's task hooks (running + success), on the task's thread.

Lineage on vs off, same side, same transport: (file) a JSON-lines file, (http) HTTP to a healthy
receiver on 127.0.0.1 run by this script. Disabled and enabled runs alternate in ``--rounds`` rounds.
Bytecode caches are written (under the benchmark's AIRFLOW_HOME) and warmed by one discarded task per side,
as after a normal install, even when ``PYTHONDONTWRITEBYTECODE`` is set.
The events our side wrote to the file transport are validated against the OpenLineage JSON Schemas.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDES = {
    "ours": ROOT / ".venv" / "bin" / "python",
    "official": ROOT / "benchmarks" / ".venv-official" / "bin" / "python",
}
LABELS = {"ours": "this provider", "official": "official 2.20.3"}
#: the listener class of each side, whose task hooks the task process times
LISTENERS = {
    "ours": ("airflow_lineage_provider.listener", "LineageListener"),
    "official": ("airflow.providers.openlineage.plugins.listener", "OpenLineageListener"),
}
DAG_ID = "task_process_bench"
DAG_SOURCE = f"""
import datetime
import os
import time

from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def mark():
    with open(os.environ["TASK_BENCH_MARKS"], "a") as handle:
        handle.write(f"callable {{time.monotonic()}}\\n")
    time.sleep(float(os.environ.get("TASK_BENCH_SECONDS", "0")))  # the task's own work (I/O-bound)


with DAG("{DAG_ID}", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
    PythonOperator(task_id="t", python_callable=mark)
"""


def _env(home: Path) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from airflow_home import isolated_airflow_env

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "OPENLINEAGE"))}
    env.update(isolated_airflow_env(home))
    env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] = "1"  # the supervisor notices the exit sooner
    # bytecode caches as after a normal install (not written into the checkout or the virtualenvs)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


# --- inside a side's virtualenv ----------------------------------------------------------------------


def _prepare(count: int) -> None:
    """Sync the DAG and create ``count`` DAG runs, each with its one task instance queued (try 1)."""
    import datetime

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    manager = DagBundlesManager()
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    bundle = next(iter(manager.get_all_dag_bundles()))
    bundle.initialize()
    sync_bag_to_db(
        BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name),
        bundle.name,
        bundle.version,
    )
    runs = []
    with create_session() as session:
        dag = SerializedDagModel.get_dag(DAG_ID)
        start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
        for index in range(count):
            when = start + datetime.timedelta(minutes=index)
            dag_run = dag.create_dagrun(
                run_id=f"bench_{index:04d}",
                logical_date=when,
                data_interval=(when, when),
                run_after=when,
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.CLI,
                state=DagRunState.RUNNING,
                session=session,
                conf={},
            )
            session.flush()
            ti = dag_run.get_task_instance("t", session=session)
            ti.try_number, ti.state = 1, TaskInstanceState.QUEUED
            session.flush()
            runs.append({"id": str(ti.id), "run_id": ti.run_id, "dag_version_id": str(ti.dag_version_id)})
    print(json.dumps(runs))


def _instrument_child(side: str, enabled: bool, marks: str) -> None:
    """Wrap the task runner's main() (run in each forked task process) to record the marks."""
    import atexit
    import functools
    import importlib

    import airflow.sdk.execution_time.task_runner as task_runner

    def write(line: str) -> None:
        with open(marks, "a") as handle:
            handle.write(line + "\n")

    def time_hooks() -> None:
        module_name, class_name = LISTENERS[side]
        cls = getattr(importlib.import_module(module_name), class_name)
        for name in ("on_task_instance_running", "on_task_instance_success"):
            original = getattr(cls, name)

            @functools.wraps(original)  # keeps pluggy's hookimpl marker
            def timed(
                self: Any, *args: Any, __original: Any = original, __name: str = name, **kw: Any
            ) -> Any:
                started = time.perf_counter()
                try:
                    return __original(self, *args, **kw)
                finally:
                    write(f"hook {__name} {(time.perf_counter() - started) * 1000}")

            setattr(cls, name, timed)

    original_main = task_runner.main

    def main() -> None:
        write(f"start {time.monotonic()}")
        atexit.register(lambda: write(f"exit {time.monotonic()}"))  # first registered: runs last
        if enabled:
            time_hooks()
        original_main()

    task_runner.main = main


def _supervise(spec: dict[str, Any]) -> None:
    """Run the given task instances one by one through the real supervisor; one JSON line per task."""
    from uuid import UUID

    import airflow.providers.standard.operators.python  # (what a worker has loaded)
    import airflow.sdk.execution_time.task_runner  # noqa: F401
    from airflow.executors.workloads import BundleInfo
    from airflow.sdk.api.datamodels._generated import TaskInstance
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise_task

    marks = os.environ["TASK_BENCH_MARKS"]
    _instrument_child(spec["side"], spec["enabled"], marks)
    client = InProcessTestSupervisor._api_client()
    client.get("health")  # warm the in-process execution API up
    for run in spec["runs"]:
        Path(marks).write_text("")
        if any(name.startswith("openlineage") for name in sys.modules):
            raise SystemExit("the supervisor imported openlineage: task processes would not start cold")
        ti = TaskInstance(
            id=UUID(run["id"]),
            task_id="t",
            dag_id=DAG_ID,
            run_id=run["run_id"],
            try_number=1,
            map_index=-1,
            dag_version_id=UUID(run["dag_version_id"]),
        )
        code = supervise_task(
            ti=ti,
            bundle_info=BundleInfo(name="dags-folder"),
            dag_rel_path=f"{DAG_ID}.py",
            token="",
            client=client,
        )
        found: dict[str, Any] = {"code": code, "hooks_ms": 0.0}
        for line in Path(marks).read_text().splitlines():
            kind, *values = line.split()
            if kind == "hook":
                found["hooks_ms"] += float(values[1])
            else:
                found[kind] = float(values[0])
        print(json.dumps(found), flush=True)


# --- the parent ----------------------------------------------------------------------------------------


def _run_side(
    side: str,
    enabled: bool,
    transport: dict[str, Any],
    runs: list[dict[str, Any]],
    home: Path,
    tag: str,
    ours_src: str | None,
) -> list[dict[str, Any]]:
    env = _env(home)
    if side == "ours" and ours_src:
        env["PYTHONPATH"] = ours_src  # this provider's package from another checkout (e.g. before a change)
    env["TASK_BENCH_MARKS"] = str(home / f"marks-{tag}.txt")
    if side == "official":
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
        env["AIRFLOW__OPENLINEAGE__DISABLED"] = str(not enabled)
    else:
        env["AIRFLOW__LINEAGE_PROVIDER__TRANSPORT"] = json.dumps(transport)
        env["AIRFLOW__LINEAGE_PROVIDER__DISABLED"] = str(not enabled)
        env["AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR"] = str(home / f"spool-{tag}")
    spec = {"side": side, "enabled": enabled, "runs": runs}
    proc = subprocess.run(
        [str(SIDES[side]), __file__, "--supervise", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=str(home),
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(rows) != len(runs) or any(row["code"] != 0 for row in rows):
        raise SystemExit(
            f"supervisor failed ({side}, enabled={enabled}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return rows


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20, help="task processes per side and setting")
    parser.add_argument("--rounds", type=int, default=2, help="disabled/enabled alternations")
    parser.add_argument("--transports", default="file,http", help="comma-separated: file, http")
    parser.add_argument("--sides", default="ours,official", help="comma-separated: ours, official")
    parser.add_argument("--ours-src", help="import this provider from this directory (an older checkout)")
    parser.add_argument(
        "--task-seconds",
        type=float,
        default=0.0,
        help="seconds each task sleeps, like one waiting on a database (0: trivial)",
    )
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--supervise", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare is not None:
        _prepare(args.prepare)
        return
    if args.supervise:
        _supervise(json.loads(args.supervise))
        return
    sides = args.sides.split(",")
    transports = args.transports.split(",")
    for side in sides:
        if not SIDES[side].exists():
            raise SystemExit(f"{SIDES[side]} missing: run benchmarks/setup_official_env.sh first")
    sys.path.insert(0, str(ROOT))
    from tests import ol_schema
    from tests.emission.receiver import Receiver

    home = Path(tempfile.mkdtemp(prefix="alp-taskproc-"))
    os.environ["TASK_BENCH_SECONDS"] = str(args.task_seconds)  # every task process inherits it (_env)
    env = _env(home)
    (home / "dags" / f"{DAG_ID}.py").write_text(DAG_SOURCE)
    python = str(SIDES["ours"])
    subprocess.run(
        [python, "-m", "airflow", "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    per_batch = -(-args.tasks // args.rounds)
    batches = len(transports) * len(sides) * 2 * args.rounds
    warm_ups = len(sides)
    prepared = subprocess.run(
        [python, __file__, "--prepare", str(per_batch * batches + warm_ups)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=str(home),
    ).stdout
    runs = json.loads(prepared.splitlines()[-1])
    source = args.ours_src or str(ROOT)
    print(
        f"this provider from {source}; AIRFLOW_HOME {home}; {per_batch * args.rounds} task processes per "
        f"side and setting, {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.1f}\n",
        flush=True,
    )

    for side in sides:  # one discarded task per side, so every measured process finds bytecode caches
        warm, runs = runs[:1], runs[1:]
        transport = {"type": "file", "log_file_path": str(home / f"warm-{side}.jsonl"), "append": True}
        _run_side(side, True, transport, warm, home, f"warm_{side}", args.ours_src)
    results: dict[tuple[str, str, bool], list[dict[str, Any]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for transport_name in transports:
        for side in sides:
            for round_ in range(args.rounds):
                for enabled in (False, True):
                    batch, runs = runs[:per_batch], runs[per_batch:]
                    tag = f"{transport_name}_{side}_{'on' if enabled else 'off'}{round_}"
                    with Receiver("healthy", lifetime=3600) as receiver:
                        if transport_name == "http":
                            transport = {"type": "http", "url": receiver.url, "endpoint": "api/v1/lineage"}
                        else:
                            transport = {
                                "type": "file",
                                "log_file_path": str(home / f"events-{tag}.jsonl"),
                                "append": True,
                            }
                        rows = _run_side(side, enabled, transport, batch, home, tag, args.ours_src)
                        received = len(receiver.wait_for(2 * len(batch), timeout=5 if enabled else 0))
                    if transport_name == "file" and enabled:
                        path = home / f"events-{tag}.jsonl"
                        events = (
                            [json.loads(line) for line in path.read_text().splitlines()]
                            if path.exists()
                            else []
                        )
                        received = len(events)
                        if side == "ours":
                            ol_schema.validate_all(events)
                    results.setdefault((transport_name, side, enabled), []).extend(rows)
                    counts[(transport_name, side)] = counts.get((transport_name, side), 0) + (
                        received if enabled else 0
                    )
                    state = "on " if enabled else "off"
                    print(
                        f"  {transport_name:4} {LABELS[side]:16} {state} round {round_}: "
                        f"process {_median([r['exit'] - r['start'] for r in rows]) * 1000:7.1f} ms  "
                        f"to callable "
                        f"{_median([r['callable'] - r['start'] for r in rows]) * 1000:7.1f} ms  "
                        f"hooks {_median([r['hooks_ms'] for r in rows]):7.2f} ms  events {received}",
                        flush=True,
                    )

    print(
        "\nMedians per task process (ms). process = task-runner start to process exit (exit handlers "
        "included);\nto callable = start to the task's first line; hooks = inside the listener's task "
        "hooks, on the task thread.\n"
    )
    header = (
        "| transport | side            | n  | process off | process on | added  | ratio | "
        "to callable off | on     | added  | hooks on | events |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    added: dict[tuple[str, str], tuple[float, float, float]] = {}
    for transport_name in transports:
        for side in sides:
            off, on = results[(transport_name, side, False)], results[(transport_name, side, True)]
            p_off = _median([r["exit"] - r["start"] for r in off]) * 1000
            p_on = _median([r["exit"] - r["start"] for r in on]) * 1000
            c_off = _median([r["callable"] - r["start"] for r in off]) * 1000
            c_on = _median([r["callable"] - r["start"] for r in on]) * 1000
            hooks = _median([r["hooks_ms"] for r in on])
            added[(transport_name, side)] = (p_on - p_off, c_on - c_off, hooks)
            print(
                f"| {transport_name:9} | {LABELS[side]:15} | {len(on):2} | {p_off:11.1f} | {p_on:10.1f} "
                f"| {p_on - p_off:6.1f} | {p_on / p_off:5.2f} | {c_off:15.1f} | {c_on:6.1f} "
                f"| {c_on - c_off:6.1f} | {hooks:8.2f} | {counts[(transport_name, side)]:6} |"
            )
    if "ours" in sides and "official" in sides:
        print()
        for transport_name in transports:
            ours, official = added[(transport_name, "ours")], added[(transport_name, "official")]
            print(
                f"{transport_name}: added per task process: this provider {ours[0]:+.1f} ms, official "
                f"{official[0]:+.1f} ms; hooks on the task thread: this provider {ours[2]:.2f} ms, "
                f"official "
                f"{official[2]:.2f} ms (official/ours = {official[2] / ours[2]:.1f}x)"
            )
    print(
        f"\nschema-validated events (this provider, file): {ol_schema.STATS['validated']}, "
        f"invalid: {ol_schema.STATS['invalid']}"
    )


if __name__ == "__main__":
    main()
