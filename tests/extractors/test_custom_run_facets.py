"""``[lineage_provider] custom_run_facets``: admins' functions add run facets to task events (dag.test())."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
from lineage_helpers import reset_lineage, run_dag, task_events

pytestmark = pytest.mark.airflow

FACETS_MODULE = """
import time

from openlineage.client.facet_v2 import nominal_time_run


def team(task_instance, state):
    return {"ownershipTeam": {"team": "finance", "state": str(state.value), "task": task_instance.task_id}}


def typed(task_instance, state):
    if state == "running":  # TaskInstanceState compares equal to the plain value
        return None
    return {"plannedWindow": nominal_time_run.NominalTimeRunFacet(nominalStartTime="2026-01-01T00:00:00Z")}


def broken(task_instance, state):
    raise RuntimeError("cannot reach postgresql://svc:Hunter2Secret@db:5432/meta")


def slow(task_instance, state):
    time.sleep(5)
    return {"late": {"x": 1}}


def takes_parent(task_instance, state):
    return {"parent": {"run": "mine"}, "kept": {"ok": True}}


def not_a_dict(task_instance, state):
    return ["a", "list"]


def not_json(task_instance, state):
    return {"weird": {"when": object()}}
"""

DAG = """
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    EmptyOperator(task_id="work")
"""


@pytest.fixture
def facet_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    module = f"run_facets_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(FACETS_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))

    def configure(*names: str, timeout: float = 1.0) -> None:
        paths = ";".join(f"{module}.{name}" for name in names)
        monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__CUSTOM_RUN_FACETS", paths)
        monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__EXTRACTION_TIMEOUT", str(timeout))
        reset_lineage()

    yield configure
    sys.modules.pop(module, None)


def _work(events: list[dict], dag_id: str) -> dict[str, dict]:
    return {e["eventType"]: e for e in task_events(events, f"{dag_id}.work")}


def test_functions_add_run_facets_to_every_task_event(lineage_events, facet_functions):
    facet_functions("team", "typed")
    dag_run = run_dag(DAG.format(dag_id="custom_facets_ok"), "custom_facets_ok")
    assert str(dag_run.state) == "success"
    by_type = _work(lineage_events(), "custom_facets_ok")
    assert set(by_type) == {"START", "COMPLETE"}
    start, complete = by_type["START"]["run"]["facets"], by_type["COMPLETE"]["run"]["facets"]
    assert start["ownershipTeam"]["team"] == "finance"
    assert (start["ownershipTeam"]["state"], complete["ownershipTeam"]["state"]) == ("running", "success")
    assert start["ownershipTeam"]["task"] == "work"
    assert start["ownershipTeam"]["_schemaURL"].endswith("OpenLineage.json#/$defs/RunFacet")
    assert "plannedWindow" not in start  # None: no facet
    assert complete["plannedWindow"]["nominalStartTime"] == "2026-01-01T00:00:00Z"
    assert "extractionError" not in complete


def test_bad_functions_cost_a_warning_and_a_facet_never_the_task(lineage_events, facet_functions, caplog):
    facet_functions("broken", "slow", "takes_parent", "not_a_dict", "not_json", "team", timeout=0.3)
    began = time.monotonic()
    dag_run = run_dag(DAG.format(dag_id="custom_facets_bad"), "custom_facets_bad")
    took = time.monotonic() - began
    assert str(dag_run.state) == "success"
    assert took < 4.5, f"a slow facet function stalled the task ({took:.1f}s)"  # slow() sleeps 5 s per event
    by_type = _work(lineage_events(), "custom_facets_bad")
    facets = by_type["COMPLETE"]["run"]["facets"]
    assert facets["ownershipTeam"]["team"] == "finance"  # the good function still counts
    assert facets["kept"]["ok"] is True
    assert facets["parent"]["job"]["name"] == "custom_facets_bad"  # the provider's parent stays
    assert "late" not in facets and "weird" not in facets
    messages = " | ".join(e["errorMessage"] for e in facets["extractionError"]["errors"])
    for expected in (
        "broken: RuntimeError",
        "slow: BudgetExceeded: gave up after 0.300s",
        "run facet 'parent' is set by the provider",
        "not_a_dict: ExtractionError: returned a list",
        "run facet 'weird' is not JSON",
    ):
        assert expected in messages, messages
    logged = caplog.text + messages + str(facets["extractionError"])
    assert "Hunter2Secret" not in logged


def test_a_path_that_cannot_be_imported_is_named_once(lineage_events, facet_functions, caplog, monkeypatch):
    facet_functions("team")
    monkeypatch.setenv(
        "AIRFLOW__LINEAGE_PROVIDER__CUSTOM_RUN_FACETS", "no_such_module_xyz.facet;json.JSONDecoder.nope"
    )
    reset_lineage()
    dag_run = run_dag(DAG.format(dag_id="custom_facets_missing"), "custom_facets_missing")
    assert str(dag_run.state) == "success"
    assert set(_work(lineage_events(), "custom_facets_missing")) == {"START", "COMPLETE"}
    warnings = [r.getMessage() for r in caplog.records if "custom_run_facets" in r.getMessage()]
    assert len([w for w in warnings if "no_such_module_xyz.facet" in w]) == 1, warnings
    assert all("fix or drop the path" in w for w in warnings)


def test_doctor_names_paths_that_are_not_functions(facet_functions, monkeypatch, tmp_path, capsys):
    from airflow_lineage_provider.cli import main

    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv(
        "AIRFLOW__LINEAGE_PROVIDER__CUSTOM_RUN_FACETS", "no_such_module_xyz.facet;json.__doc__"
    )
    reset_lineage()
    assert main(["doctor", "--no-send"]) == 2
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("custom_run_facets"))
    assert "INVALID" in line and "[lineage_provider] custom_run_facets" in line
    assert "'no_such_module_xyz.facet' cannot be imported" in line and "'json.__doc__' is a str" in line

    facet_functions("team")
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR", str(tmp_path / "spool"))
    reset_lineage()
    assert main(["doctor", "--no-send"]) == 0
