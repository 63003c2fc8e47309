"""Helpers for tests that run real DAGs and look at the OpenLineage events they produce.

* ``reset_lineage()``: forget cached options, the emitter, the listener's set-up and the extractor manager
  (call after changing ``AIRFLOW__LINEAGE_PROVIDER__*`` variables).
* ``run_dag(source, dag_id)``: write a DAG file into the test AIRFLOW_HOME's dags folder (``dag.test()``
  needs the DAG serialized from the bundle), import it and run it with ``dag.test()``; returns the DagRun.
* ``summary(events)``: ``[(eventType, job name), ...]`` for sequence assertions.
* The ``lineage_events`` fixture (tests/conftest.py) points the provider at a file transport in a tmp dir and
  yields a callable that flushes the emitter and returns the captured events, each schema-validated.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ol_schema

TRANSPORT_ENV = "AIRFLOW__LINEAGE_PROVIDER__TRANSPORT"
SPOOL_ENV = "AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR"


def reset_lineage() -> None:
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.emission.emitter import reset_emitter
    from airflow_lineage_provider.extractors.manager import reset_manager
    from airflow_lineage_provider.listener import get_listener

    conf.clear_cache()
    reset_emitter()
    reset_manager()
    get_listener().reset()


def ensure_listener_registered() -> None:
    """Load plugins (registers the listener through the entry point) in both listener managers."""
    from airflow.listeners.listener import get_listener_manager as core_manager
    from airflow.sdk.listener import get_listener_manager as sdk_manager

    from airflow_lineage_provider.listener import get_listener

    for manager in (core_manager(), sdk_manager()):
        manager.add_listener(get_listener())


def capture(path: Path) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """Point the provider at a file transport writing ``path``; yield a reader of the validated events."""
    previous = {name: os.environ.get(name) for name in (TRANSPORT_ENV, SPOOL_ENV)}
    os.environ[TRANSPORT_ENV] = json.dumps({"type": "file", "log_file_path": str(path), "append": True})
    # a spool of its own: events one test could not deliver must not be replayed into another test's file
    os.environ[SPOOL_ENV] = str(path.parent / f"{path.stem}-spool")
    reset_lineage()
    ensure_listener_registered()

    def read(timeout: float = 10.0) -> list[dict[str, Any]]:
        from airflow_lineage_provider.emission.emitter import get_emitter

        get_emitter().flush(timeout)
        return ol_schema.read_events(path) if path.exists() else []

    try:
        yield read
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_lineage()


def dags_folder() -> Path:
    return Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def load_dag(source: str, dag_id: str) -> Any:
    """Write ``source`` as ``<dag_id>.py`` in the dags folder, import it, return the DAG ``dag_id``."""
    path = dags_folder() / f"{dag_id}.py"
    path.write_text(textwrap.dedent(source))
    module_name = f"_test_dag_{dag_id}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    dags = [v for v in vars(module).values() if getattr(v, "dag_id", None) == dag_id and hasattr(v, "test")]
    assert dags, f"{path} defines no DAG {dag_id!r}"
    return dags[0]


def run_dag(source: str, dag_id: str, **test_kwargs: Any) -> Any:
    """Load the DAG from ``source`` and run it once with ``dag.test()``; returns the DagRun."""
    return load_dag(source, dag_id).test(**test_kwargs)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(eventType, job name)`` per event, in order."""
    return [(e["eventType"], e["job"]["name"]) for e in events]


def task_events(events: list[dict[str, Any]], job_name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["job"]["name"] == job_name]
