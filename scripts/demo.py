"""``make demo``: run the orders pipeline example end to end and show the lineage it produced.

Everything happens in an isolated Airflow home, ``.demo/airflow`` (metadata DB, SQLite data, events), on
the provider's embedded default: no transport configured, so events go to
``.demo/airflow/lineage/events.jsonl``. The script runs ``orders_pipeline`` with ``dag.test()``, waits for
the events to be written, prints a short summary and writes the lineage picture next to the events.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "dags" / "examples"
#: the isolated Airflow home (DEMO_AIRFLOW_HOME overrides it, for the test of this script)
HOME = Path(os.environ.get("DEMO_AIRFLOW_HOME") or ROOT / ".demo" / "airflow").resolve()
DAG_ID = "orders_pipeline"


def _isolate() -> None:
    """Point Airflow at .demo/airflow and make sure the embedded default transport is used."""
    for name in [k for k in os.environ if k.startswith(("AIRFLOW__LINEAGE_PROVIDER__", "OPENLINEAGE_"))]:
        print(f"demo: ignoring {name} (the demo uses the embedded default transport)")
        del os.environ[name]
    if os.environ.get("AIRFLOW_CONFIG"):  # your airflow.cfg (its [lineage_provider] transport) stays out
        print("demo: ignoring AIRFLOW_CONFIG (the demo has its own airflow.cfg in its Airflow home)")
    os.environ.pop("AIRFLOW_CONN_ORDERS_DB", None)  # SQLite data under .demo/airflow/data
    os.environ.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW_CONFIG": str(HOME / "airflow.cfg"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(HOME / "logs"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://localhost:8080/execution/")
    os.environ.pop("ORDERS_DATA_DIR", None)
    sys.path.insert(0, str(EXAMPLES))


def _migrate() -> None:
    if (HOME / "airflow.db").exists():
        return
    print(f"demo: creating the Airflow metadata DB in {HOME} (once) ...", flush=True)
    HOME.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if result.returncode:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-4000:])
        raise SystemExit(f"demo: 'airflow db migrate' failed (exit {result.returncode})")


def _shown(path: Path) -> str:
    """``path`` relative to the checkout when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _state(state: object) -> str:
    return str(getattr(state, "value", state))


def main() -> int:
    warnings.simplefilter("ignore", DeprecationWarning)  # keep the demo's output to what matters
    _isolate()
    _migrate()
    events_file = HOME / "lineage" / "events.jsonl"
    shutil.rmtree(HOME / "lineage", ignore_errors=True)  # show this run's events only
    shutil.rmtree(HOME / "data", ignore_errors=True)

    from airflow.dag_processing.dagbag import DagBag

    from airflow_lineage_provider import graph
    from airflow_lineage_provider.emission.emitter import get_emitter

    dagbag = DagBag(dag_folder=str(EXAMPLES / f"{DAG_ID}.py"))
    if dagbag.import_errors or DAG_ID not in dagbag.dags:
        for path, error in dagbag.import_errors.items():
            sys.stderr.write(f"{path}:\n{error}\n")
        raise SystemExit(f"demo: could not load the {DAG_ID} example DAG")
    dag = dagbag.dags[DAG_ID]
    print(f"demo: running {DAG_ID} ({len(dag.tasks)} tasks) with dag.test() on SQLite ...", flush=True)
    started = time.monotonic()
    dag_run = dag.test()
    took = time.monotonic() - started
    run_state = _state(dag_run.state)
    tasks = ", ".join(sorted(f"{ti.task_id} {_state(ti.state)}" for ti in dag_run.get_task_instances()))
    print(f"demo: DAG run {run_state} in {took:.1f}s; tasks: {tasks}")
    get_emitter().flush(10.0)

    if not events_file.exists():
        raise SystemExit(f"demo: no lineage events were written to {events_file}")
    picture = events_file.with_name("lineage.html")
    lineage = graph.write_picture(events_file, picture)
    print()
    print(graph.summary(lineage, source=_shown(events_file)))
    print()
    print(f"lineage picture: {picture}")
    print(f"(for any events file: .venv/bin/airflow-lineage graph {_shown(events_file)} -o OUT.html)")
    return 0 if run_state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
