"""``make demo`` end to end: scripts/demo.py in a fresh Airflow home prints the summary and the picture."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import ol_schema
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.airflow
@pytest.mark.slow
def test_demo_runs_the_pipeline_and_writes_the_picture(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["DEMO_AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__LINEAGE_PROVIDER__NAMESPACE"] = "ignored-by-the-demo"  # the demo says so and drops it
    # an Airflow user's own airflow.cfg, named by AIRFLOW_CONFIG, must not send the demo's events elsewhere
    elsewhere = tmp_path / "elsewhere.jsonl"
    user_cfg = tmp_path / "user-airflow.cfg"
    transport = f'{{"type": "file", "log_file_path": "{elsewhere}", "append": true}}'
    user_cfg.write_text(f"[lineage_provider]\ntransport = {transport}\n")
    env["AIRFLOW_CONFIG"] = str(user_cfg)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "demo: ignoring AIRFLOW__LINEAGE_PROVIDER__NAMESPACE" in out
    assert "demo: ignoring AIRFLOW_CONFIG" in out and not elsewhere.exists()
    assert "demo: DAG run success" in out
    assert "OpenLineage events: 14 (COMPLETE 7, START 7)" in out
    assert "data quality on orders_enriched: WARN, 11 rows" in out
    assert re.search(
        r"^datasets: 5  table edges: 10  column edges: \d+  row-deciding columns: \d+$", out, re.M
    )
    picture = Path(re.search(r"^lineage picture: (.+)$", out, re.M)[1])  # type: ignore[index]
    events_file = home / "lineage" / "events.jsonl"
    assert picture == events_file.with_name("lineage.html") and picture.is_file()
    assert "<svg" in picture.read_text()
    assert len(ol_schema.read_events(events_file)) == 14  # the embedded default file, schema-valid
