"""What the docs tell an admin about switching off apache-airflow-providers-openlineage is true.

``OPENLINEAGE_DISABLED=true`` is the official provider's environment switch, but openlineage-python reads it
as well: this provider's configured transport then becomes openlineage-python's no-op transport and events
are dropped without an error. The docs must not call the variable harmless ("not read") and must say so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _doctor(tmp_path: Path, **extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    events = tmp_path / f"events-{len(extra)}.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE_")}
    env.update(
        AIRFLOW__LINEAGE_PROVIDER__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        ),
        AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR=str(tmp_path / "spool"),
        **extra,
    )
    doctor = Path(sys.executable).parent / "airflow-lineage"
    result = subprocess.run([str(doctor), "doctor"], env=env, capture_output=True, text=True, timeout=120)
    return result, events


def test_openlineage_disabled_drops_this_providers_events_and_the_docs_say_so(tmp_path: Path) -> None:
    result, events = _doctor(tmp_path)
    assert result.returncode == 0 and events.is_file(), result.stdout[-2000:]
    result, events = _doctor(tmp_path, OPENLINEAGE_DISABLED="true")
    assert not events.exists(), "OPENLINEAGE_DISABLED no longer drops events: update the docs below"

    admins = (ROOT / "docs" / "admins.md").read_text()
    listener = (ROOT / "docs" / "listener.md").read_text()
    assert not re.search(r"OPENLINEAGE_DISABLED`? variable is not read", admins)
    for page, text in (("admins.md", admins), ("listener.md", listener)):
        section = text.split("oexist", 1)[1]
        assert re.search(r"OPENLINEAGE_DISABLED=true`?:? [^.]*no-op transport", section, re.S), page
    troubleshooting = admins.split("## Troubleshooting", 1)[1]
    assert "OPENLINEAGE_DISABLED" in troubleshooting
