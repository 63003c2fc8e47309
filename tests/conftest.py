"""Test session set-up: an isolated AIRFLOW_HOME with a migrated SQLite metadata DB, made first.

Every test runs against real Airflow; the metadata DB is created once per session (``airflow db migrate``)
in a temporary directory, so a developer's own ~/airflow is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="alp-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_HOME / "dags")
os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(_HOME / "logs")
os.environ.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://localhost:8080/execution/")
for _name in [k for k in os.environ if k.startswith(("AIRFLOW__LINEAGE_PROVIDER__", "OPENLINEAGE_"))]:
    del os.environ[_name]

sys.path.insert(0, str(Path(__file__).parent))  # for `import ol_schema`

import ol_schema  # noqa: E402

(_HOME / "dags").mkdir(exist_ok=True)
subprocess.run(
    [sys.executable, "-m", "airflow", "db", "migrate"],
    check=True,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    env=os.environ.copy(),
)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return _HOME


@pytest.fixture
def lineage_events(tmp_path: Path):
    """Events go to a file transport in tmp_path; yields ``read(timeout=10.0) -> list[dict]``.

    ``read()`` flushes the emitter and returns every event captured so far, each validated with
    ol_schema. See tests/lineage_helpers.py (run_dag, summary) for running DAGs with dag.test().
    """
    from lineage_helpers import capture

    yield from capture(tmp_path / "lineage-events.jsonl")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker: hand this worker's validation counts to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["ol_schema_stats"] = dict(ol_schema.STATS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """In the pytest-xdist controller: add up the validation counts of each worker as it ends."""
    for key, count in getattr(node, "workeroutput", {}).get("ol_schema_stats", {}).items():
        ol_schema.STATS[key] += count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = ol_schema.STATS
    terminalreporter.write_line(
        f"OpenLineage events validated against ../shared/openlineage_spec: {stats['validated']}, "
        f"invalid: {stats['invalid']}"
    )
