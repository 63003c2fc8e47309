"""The docs' "see the lineage" commands work for a new user, who has no ``AIRFLOW_HOME`` set.

Airflow then lives in ``~/airflow`` and so do the embedded default's events; a command written with a bare
``$AIRFLOW_HOME`` would read ``/lineage/events.jsonl``. The commands are taken from the docs as written and
run through bash with ``HOME`` in a temporary directory and nothing of the provider configured.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "dags" / "examples"


def _bash_block(page: Path, heading: str) -> str:
    section = page.read_text().split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, f"{page.name}: no bash block under {heading}"
    return block[1]


@pytest.mark.airflow
@pytest.mark.slow
def test_seeing_the_lineage_without_airflow_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "airflow").mkdir(parents=True)
    # the session's migrated metadata DB, copied: `airflow db migrate` is what a new user runs first
    shutil.copy(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db", home / "airflow" / "airflow.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE_", "ORDERS_"))}
    env.update(
        HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLES),  # "with dags/examples as the DAGs folder"
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://localhost:8080/execution/",
    )
    authors = _bash_block(ROOT / "docs" / "dag-authors.md", "## Seeing the lineage")
    readme = _bash_block(ROOT / "README.md", "## The lineage picture")
    assert "airflow dags test orders_pipeline" in authors and "airflow-lineage graph" in readme
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-c", f"set -e\n{authors}\n{readme}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    events = home / "airflow" / "lineage" / "events.jsonl"
    assert events.is_file(), "the embedded default writes under ~/airflow when AIRFLOW_HOME is not set"
    assert "<svg" in (tmp_path / "lineage.html").read_text()
    assert re.search(r"^OpenLineage events: 14 ", result.stdout, re.M), result.stdout[-2000:]
