"""Wall time the lineage listener adds to each task: this provider vs apache-airflow-providers-openlineage.

Usage: ``.venv/bin/python benchmarks/listener_overhead.py [--tasks 60] [--official-hung-tasks 4]``
(needs ``benchmarks/.venv-official``: run ``benchmarks/setup_official_env.sh`` once).

Both sides use the same transport: HTTP to a receiver on 127.0.0.1 run by this script, (a) healthy, (b)
accepting connections and never answering. Each measurement is one worker subprocess, in that side's
virtualenv, that runs a chain of trivial PythonOperator tasks with ``dag.test()`` (tasks run in-process, so
the listener hooks run where they would in a task runner). Every task records ``time.monotonic()`` when its
callable starts; a task's *cycle* is the time from its start to the next task's start, which contains the
listener's success hook of one task and running hook of the next plus Airflow's own work. The per-task
overhead is the median cycle with the provider enabled minus the median with it disabled, same side,
same scenario. The worker also reports the time spent inside the listener's task hooks (measured directly,
free of run-to-run noise), the process CPU time per task (all threads and reaped forked children), and how
long the process took to exit after the DAG run (our ``flush_timeout`` at exit; the official provider's
forked children).

With a hung backend the official provider waits up to ``[openlineage] execution_timeout`` (10 s) per task
event, so that side runs only ``--official-hung-tasks`` tasks (its median is still per task).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDES = {
    "this provider": ROOT / ".venv" / "bin" / "python",
    "official 2.20.3": ROOT / "benchmarks" / ".venv-official" / "bin" / "python",
}

DAG_SOURCE = """
import os, time
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

MARKS = os.environ["LISTENER_BENCH_MARKS"]

def mark(index):
    with open(MARKS, "a") as handle:
        handle.write(f"{{index}} {{time.monotonic()}}\\n")

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    previous = None
    for index in range({tasks}):
        task = PythonOperator(task_id=f"t{{index:03d}}", python_callable=mark, op_args=[index])
        if previous is not None:
            previous >> task
        previous = task
"""


def _base_env(home: Path) -> dict[str, str]:
    from airflow_home import isolated_airflow_env  # benchmarks/airflow_home.py

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "OPENLINEAGE"))}
    env.update(isolated_airflow_env(home))
    # less run-to-run noise: the same hash seed in every worker, and bytecode caches as after an install
    # (the checkout's modules included), written under the benchmark's home
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


# --- worker (inside one side's virtualenv) ---------------------------------------------------------------


#: the listener class of each side, whose task hooks the worker times directly
LISTENERS = {
    "ours": ("airflow_lineage_provider.listener", "LineageListener"),
    "official": ("airflow.providers.openlineage.plugins.listener", "OpenLineageListener"),
}


def _task_index(args: tuple[Any, ...], kw: dict[str, Any]) -> int:
    ti = kw.get("task_instance") or next((a for a in args if hasattr(a, "task_id")), None)
    return int(str(getattr(ti, "task_id", "t0"))[1:])


def _time_hooks(side: str, marks: str, block: int = 0) -> None:
    """Wrap the listener's task hooks (before Airflow registers them) to record their wall time.

    ``block``: the hooks of tasks in odd-numbered blocks of ``block`` tasks return at once (lineage off for
    those tasks, plugin loaded), so one process measures both states (``--blocks``).
    """
    import functools
    import importlib

    module_name, class_name = LISTENERS[side]
    cls = getattr(importlib.import_module(module_name), class_name)
    for name in ("on_task_instance_running", "on_task_instance_success"):
        original = getattr(cls, name)

        @functools.wraps(original)  # keeps pluggy's hookimpl marker
        def timed(self: Any, *args: Any, __original: Any = original, __name: str = name, **kw: Any) -> Any:
            if block and (_task_index(args, kw) // block) % 2 == 1:
                return None
            started = time.perf_counter()
            try:
                return __original(self, *args, **kw)
            finally:
                with open(marks, "a") as handle:
                    handle.write(f"hook {__name} {(time.perf_counter() - started) * 1000}\n")

        setattr(cls, name, timed)


def _worker(spec: dict[str, Any]) -> None:
    import importlib.util

    if spec["enabled"]:
        _time_hooks(spec["side"], os.environ["LISTENER_BENCH_MARKS"], spec.get("block", 0))
    path = Path(spec["dags"]) / f"{spec['dag_id']}.py"
    path.write_text(DAG_SOURCE.format(dag_id=spec["dag_id"], tasks=spec["tasks"]))
    module_spec = importlib.util.spec_from_file_location(spec["dag_id"], path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    cpu_before, started = sum(os.times()[:4]), time.monotonic()
    dag_run = module.dag.test()
    cpu_used, finished = sum(os.times()[:4]) - cpu_before, time.monotonic()
    print(
        json.dumps(
            {
                "state": str(dag_run.state),
                "dag_test_s": finished - started,
                "finished": finished,
                "cpu_ms_per_task": cpu_used * 1000 / spec["tasks"],
            }
        )
    )
    sys.stdout.flush()


# --- parent ----------------------------------------------------------------------------------------------


def _run(
    side: str, enabled: bool, receiver: Any, tasks: int, home: Path, tag: str, block: int = 0
) -> dict[str, Any]:
    marks = home / f"marks-{tag}.txt"
    dag_id = f"overhead_{tag}"
    env = _base_env(home)
    database = home / f"db-{tag}.db"  # every run starts from the same freshly migrated metadata DB
    shutil.copyfile(home / "template.db", database)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{database}"
    dags = home / f"dags-{tag}"  # and its own DAG folder holding only its DAG
    dags.mkdir()
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    env["LISTENER_BENCH_MARKS"] = str(marks)
    transport = json.dumps({"type": "http", "url": receiver.url, "endpoint": "api/v1/lineage"})
    if side == "official 2.20.3":
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = transport
        env["AIRFLOW__OPENLINEAGE__DISABLED"] = str(not enabled)
    else:
        env["AIRFLOW__LINEAGE_PROVIDER__TRANSPORT"] = transport
        env["AIRFLOW__LINEAGE_PROVIDER__DISABLED"] = str(not enabled)
        env["AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR"] = str(home / f"spool-{tag}")
    spec = {
        "home": str(home),
        "dags": str(dags),
        "dag_id": dag_id,
        "tasks": tasks,
        "enabled": enabled,
        "block": block,
        "side": "ours" if side == "this provider" else "official",
    }
    proc = subprocess.run(
        [str(SIDES[side]), __file__, "--worker", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=str(home),
    )
    ended = time.monotonic()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise SystemExit(f"worker failed ({side}, enabled={enabled}):\n{tail}")
    result = json.loads(lines[-1])
    lines = [line.split() for line in marks.read_text().splitlines()]
    starts = [t for _, t in sorted((int(i), float(t)) for i, t in (ln for ln in lines if ln[0] != "hook"))]
    result["cycles_ms"] = [(b - a) * 1000 for a, b in itertools.pairwise(starts)]
    if block:  # cycle i = start(i) -> start(i+1): inside one block, past its first two cycles
        inside = [i for i in range(len(starts) - 1) if i // block == (i + 1) // block and i % block >= 2]
        result["block_on_ms"] = [result["cycles_ms"][i] for i in inside if (i // block) % 2 == 0]
        result["block_off_ms"] = [result["cycles_ms"][i] for i in inside if (i // block) % 2 == 1]
        # cycles drift along a DAG run (Airflow's per-task work depends on how many tasks remain), so each
        # block is compared with the mean of its two neighbours, which cancels a linear drift
        per_block: dict[int, list[float]] = {}
        for i in inside:
            per_block.setdefault(i // block, []).append(result["cycles_ms"][i])
        medians = [statistics.median(per_block[k]) for k in sorted(per_block)]
        result["block_diffs_ms"] = [
            (medians[k] - (medians[k - 1] + medians[k + 1]) / 2) * (1 if k % 2 == 0 else -1)
            for k in range(1, len(medians) - 1)
        ]
    hooks = [float(ln[2]) for ln in lines if ln[0] == "hook"]
    # per task: its running hook + its success hook (they alternate in a chain of tasks)
    result["hooks_ms"] = [a + b for a, b in zip(hooks[::2], hooks[1::2], strict=False)]
    result["exit_s"] = ended - result["finished"]
    result["events"] = len(receiver.received()) if receiver.mode == "healthy" else receiver.requests
    spool = home / f"spool-{tag}"
    result["spooled"] = len(list(spool.glob("*.json"))) if spool.is_dir() else 0
    return result


def _tag(mode: str, side: str, enabled: bool, round_: int) -> str:
    return f"{mode}_{'ours' if side == 'this provider' else 'official'}_{'on' if enabled else 'off'}{round_}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60, help="tasks per run (cycles = tasks - 1)")
    parser.add_argument("--rounds", type=int, default=2, help="disabled/enabled run pairs, interleaved")
    parser.add_argument(
        "--official-hung-tasks",
        type=int,
        default=4,
        help="tasks for the official provider with the hung receiver (1 round)",
    )
    parser.add_argument("--scenarios", default="a,b", help="which scenarios to run: a, b or a,b")
    parser.add_argument(
        "--blocks",
        type=int,
        default=0,
        metavar="N",
        help="instead: one process per side and round, lineage on and off in "
        "alternate blocks of N tasks (scenario a only)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(json.loads(args.worker))
        return
    for side, python in SIDES.items():
        if not python.exists():
            raise SystemExit(f"{python} missing: run benchmarks/setup_official_env.sh first ({side})")
    sys.path.insert(0, str(ROOT))
    from tests.emission.receiver import Receiver

    home = Path(tempfile.mkdtemp(prefix="alp-overhead-"))
    subprocess.run(
        [str(SIDES["this provider"]), "-m", "airflow", "db", "migrate"],
        env=_base_env(home),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shutil.copyfile(home / "airflow.db", home / "template.db")
    print(
        f"AIRFLOW_HOME {home}; {args.tasks} tasks per run, {args.rounds} rounds (each: both sides, "
        f"disabled then enabled); official provider with the hung receiver: {args.official_hung_tasks} "
        "tasks, 1 round\n"
    )

    for side in SIDES:  # warm-up, discarded: bytecode caches of both sides written, files in the OS cache
        with Receiver("healthy", lifetime=3600) as receiver:
            _run(side, True, receiver, 5, home, _tag("warmup", side, True, 0))
    if args.blocks:
        _blocks(args, home, Receiver)
        return

    wanted = {part.strip() for part in args.scenarios.split(",")}
    scenarios = [(name, mode) for key, name, mode in (("a", "(a) healthy HTTP receiver", "healthy"),
                                                      ("b", "(b) receiver never answers", "hang"))
                 if key in wanted]  # fmt: skip
    keys = ("cycles_ms", "hooks_ms", "exit_s", "events", "cpu_ms_per_task")
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for scenario, mode in scenarios:
        pooled = {side: {flag: {key: [] for key in keys} for flag in (False, True)} for side in SIDES}
        deltas: dict[str, list[float]] = {side: [] for side in SIDES}
        plan = {side: (args.official_hung_tasks, 1) if mode == "hang" and side.startswith("official")
                else (args.tasks, args.rounds) for side in SIDES}  # fmt: skip
        for round_ in range(args.rounds):
            for side in SIDES:  # the sides take turns, so both see the same machine conditions
                tasks, rounds = plan[side]
                if round_ >= rounds:
                    continue
                medians = {}
                for enabled in (False, True):
                    with Receiver(mode, hang_max=60, lifetime=3600) as receiver:
                        run = _run(side, enabled, receiver, tasks, home, _tag(mode, side, enabled, round_))
                    for key in keys:
                        value = run[key]
                        pooled[side][enabled][key].extend(value if isinstance(value, list) else [value])
                    medians[enabled] = statistics.median(run["cycles_ms"])
                    hooks = statistics.median(run["hooks_ms"]) if run["hooks_ms"] else 0.0
                    print(
                        f"  {scenario:28} {side:16} {'enabled ' if enabled else 'disabled'} "
                        f"median cycle {medians[enabled]:8.1f} ms  hooks/task {hooks:8.2f} ms  "
                        f"exit {run['exit_s']:5.2f} s  events/requests {run['events']:4}  "
                        f"spooled {run['spooled']}  state {run['state']}",
                        flush=True,
                    )
                deltas[side].append(medians[True] - medians[False])
        for side in SIDES:
            off, on = pooled[side][False], pooled[side][True]
            results[(scenario, side)] = {
                "scenario": scenario,
                "side": side,
                "tasks": plan[side][0],
                "rounds": plan[side][1],
                "off": statistics.median(off["cycles_ms"]),
                "on": statistics.median(on["cycles_ms"]),
                "paired": statistics.median(deltas[side]),
                "deltas": deltas[side],
                "hooks": statistics.median(on["hooks_ms"]),
                "exit": statistics.median(on["exit_s"]) - statistics.median(off["exit_s"]),
                "cpu": statistics.median(on["cpu_ms_per_task"]) - statistics.median(off["cpu_ms_per_task"]),
                "events": int(statistics.median(on["events"])),
            }

    print(
        "\nAdded wall time per task, same transport (HTTP to 127.0.0.1). cycle = task start to next task "
        "start;\nadded = median cycle enabled - median cycle disabled (all cycles pooled); per-round = "
        "median over rounds of (enabled - disabled) medians;\nhooks = median time inside the listener's "
        "running+success hooks per task; cpu = added process CPU time per task (all threads).\n"
    )
    header = (
        "| scenario                     | side             | tasks x runs | cycle off ms | cycle on ms "
        "| added ms/task | per-round ms/task | hooks ms/task | cpu ms/task | extra exit s "
        "| events/requests |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for row in results.values():
        print(
            f"| {row['scenario']:28} | {row['side']:16} | {row['tasks']:5} x {row['rounds']:4} "
            f"| {row['off']:12.1f} | {row['on']:11.1f} | {row['on'] - row['off']:13.1f} "
            f"| {row['paired']:17.1f} | {row['hooks']:13.2f} | {row['cpu']:11.1f} | {row['exit']:12.2f} "
            f"| {row['events']:15} |"
        )
    print()
    for scenario, _ in scenarios:
        ours, official = results[(scenario, "this provider")], results[(scenario, "official 2.20.3")]
        hooks_ratio = official["hooks"] / ours["hooks"] if ours["hooks"] > 0 else float("inf")
        ours_added, official_added = ours["on"] - ours["off"], official["on"] - official["off"]
        rounds = ", ".join(f"{d:+.1f}" for d in ours["deltas"])
        print(
            f"{scenario}: hooks per task: this provider {ours['hooks']:.2f} ms, official "
            f"{official['hooks']:.1f} ms -> official/ours = {hooks_ratio:.0f}x; cycle delta: this provider "
            f"{ours_added:+.1f} ms (per round: {rounds}), official {official_added:+.1f} ms "
            f"(official/ours = {official_added / ours_added if ours_added > 0 else float('inf'):.0f}x); "
            f"cpu: this provider {ours['cpu']:+.1f} ms, official {official['cpu']:+.1f} ms"
        )


def _blocks(args: argparse.Namespace, home: Path, receiver_class: Any) -> None:
    """Lineage on and off in alternate blocks of tasks of one process: no process-to-process noise."""
    block = args.blocks
    results: dict[str, dict[str, list[float]]] = {
        side: {"on": [], "off": [], "hooks": [], "diffs": []} for side in SIDES
    }
    for round_ in range(args.rounds):
        for side in SIDES:
            with receiver_class("healthy", hang_max=60, lifetime=3600) as receiver:
                run = _run(side, True, receiver, args.tasks, home, _tag("blocks", side, True, round_), block)
            results[side]["on"].extend(run["block_on_ms"])
            results[side]["off"].extend(run["block_off_ms"])
            results[side]["hooks"].extend(run["hooks_ms"])
            results[side]["diffs"].extend(run["block_diffs_ms"])
            on, off = statistics.median(run["block_on_ms"]), statistics.median(run["block_off_ms"])
            print(
                f"  round {round_} {side:16} cycles on {on:6.1f} ms, off {off:6.1f} ms; block vs "
                f"neighbours {statistics.median(run['block_diffs_ms']):+6.1f} ms ({run['events']} events, "
                f"state {run['state']})",
                flush=True,
            )
    print(
        f"\n(a) healthy HTTP receiver, lineage on/off in alternate blocks of {block} tasks in each process "
        f"({args.tasks} tasks x {args.rounds} processes per side; the first two cycles of a block are not "
        "counted;\nadded = median over blocks of (block median - mean of its two neighbours' medians), "
        "sign turned for lineage-off blocks):\n"
    )
    print(
        "| side             | cycle off ms | cycle on ms | added ms/task | hooks ms/task | cycles off + on |"
    )
    print(
        "|------------------|--------------|-------------|---------------|---------------|-----------------|"
    )
    added = {}
    for side, got in results.items():
        off, on = statistics.median(got["off"]), statistics.median(got["on"])
        added[side] = statistics.median(got["diffs"])
        hooks = statistics.median(got["hooks"])
        print(
            f"| {side:16} | {off:12.1f} | {on:11.1f} | {added[side]:13.1f} | {hooks:13.2f} "
            f"| {len(got['off']):7} + {len(got['on']):5} |"
        )
    ours, official = added["this provider"], added["official 2.20.3"]
    ratio = official / ours if ours > 0 else float("inf")
    print(
        f"\nadded per task: this provider {ours:+.1f} ms, official {official:+.1f} ms "
        f"(official/ours = {ratio:.0f}x)"
    )


if __name__ == "__main__":
    main()
