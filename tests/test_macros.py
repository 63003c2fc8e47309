"""Template macros give a task the ids its own events carry (real DAGs run with ``dag.test()``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lineage_helpers import reset_lineage, run_dag, task_events

from airflow_lineage_provider import macros
from airflow_lineage_provider.macros import MacroError

DAG_SOURCE = """
import json
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, get_current_context, task

OUT = {out!r}


def keep(name, values):
    with open(OUT, "a") as f:
        f.write(json.dumps({{"name": name, **values}}) + "\\n")


with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    PythonOperator(
        task_id="templated",
        python_callable=keep,
        op_kwargs={{"name": "templated", "values": {{
            "namespace": "{{{{ macros.lineage_provider.lineage_job_namespace() }}}}",
            "job": "{{{{ macros.lineage_provider.lineage_job_name(ti) }}}}",
            "run_id": "{{{{ macros.lineage_provider.lineage_run_id(ti) }}}}",
            "parent_id": "{{{{ macros.lineage_provider.lineage_parent_id(ti) }}}}",
            "root_namespace": "{{{{ macros.lineage_provider.lineage_root_job_namespace(ti) }}}}",
            "root_job": "{{{{ macros.lineage_provider.lineage_root_job_name(ti) }}}}",
            "root_run_id": "{{{{ macros.lineage_provider.lineage_root_run_id(ti) }}}}",
            "root_parent_id": "{{{{ macros.lineage_provider.lineage_root_parent_id(ti) }}}}",
        }}}},
    )

    @task(retries=1)
    def in_python():
        from airflow_lineage_provider.macros import spark_lineage_conf, trigger_lineage_conf

        ti = get_current_context()["ti"]
        keep("in_python", {{"spark": spark_lineage_conf(ti), "trigger": trigger_lineage_conf(ti)}})

    in_python()
"""


def _run(tmp_path: Path, dag_id: str, **test_kwargs) -> dict[str, dict]:
    out = tmp_path / f"{dag_id}.jsonl"
    run_dag(DAG_SOURCE.format(out=str(out), dag_id=dag_id), dag_id, **test_kwargs)
    return {row["name"]: row for row in map(json.loads, out.read_text().splitlines())}


def _start(events: list[dict], job: str) -> dict:
    starts = [e for e in task_events(events, job) if e["eventType"] == "START"]
    assert len(starts) == 1, [e["eventType"] for e in task_events(events, job)]
    return starts[0]


def test_macros_name_the_task_try_its_events_name(lineage_events, tmp_path):
    seen = _run(tmp_path, "macro_ids")
    events = lineage_events()
    dag_start = next(e for e in events if e["job"]["name"] == "macro_ids" and e["eventType"] == "START")
    event = _start(events, "macro_ids.templated")
    parent = event["run"]["facets"]["parent"]

    got = seen["templated"]
    assert got["namespace"] == event["job"]["namespace"] == "default"
    assert got["job"] == "macro_ids.templated"
    assert got["run_id"] == event["run"]["runId"]
    assert got["parent_id"] == f"default/macro_ids.templated/{event['run']['runId']}"
    assert got["root_job"] == "macro_ids" == parent["root"]["job"]["name"]
    assert got["root_run_id"] == dag_start["run"]["runId"] == parent["root"]["run"]["runId"]
    assert got["root_namespace"] == "default"
    assert got["root_parent_id"] == f"default/macro_ids/{dag_start['run']['runId']}"

    spark = seen["in_python"]["spark"]
    python_start = _start(events, "macro_ids.in_python")
    assert spark == {
        "spark.openlineage.parentJobNamespace": "default",
        "spark.openlineage.parentJobName": "macro_ids.in_python",
        "spark.openlineage.parentRunId": python_start["run"]["runId"],
        "spark.openlineage.rootParentJobNamespace": "default",
        "spark.openlineage.rootParentJobName": "macro_ids",
        "spark.openlineage.rootParentRunId": dag_start["run"]["runId"],
    }


def test_a_run_triggered_with_trigger_lineage_conf_is_the_tasks_child(lineage_events, tmp_path):
    first = _run(tmp_path, "macro_parent")
    conf = first["in_python"]["trigger"]
    events = lineage_events()
    parent_task = _start(events, "macro_parent.in_python")
    parent_dag = next(e for e in events if e["job"]["name"] == "macro_parent" and e["eventType"] == "START")

    second = _run(tmp_path, "macro_child", run_conf=conf)
    events = lineage_events()
    child_dag = next(e for e in events if e["job"]["name"] == "macro_child" and e["eventType"] == "START")
    facet = child_dag["run"]["facets"]["parent"]
    assert facet["run"]["runId"] == parent_task["run"]["runId"]
    assert facet["job"]["name"] == "macro_parent.in_python"
    assert facet["root"]["run"]["runId"] == parent_dag["run"]["runId"]

    # the child's tasks keep the first DAG run as their root, in events and in the macros alike
    child_task = _start(events, "macro_child.templated")
    assert child_task["run"]["facets"]["parent"]["root"]["run"]["runId"] == parent_dag["run"]["runId"]
    assert second["templated"]["root_run_id"] == parent_dag["run"]["runId"]
    assert second["templated"]["root_job"] == "macro_parent"


def test_macros_keep_working_when_lineage_is_switched_off(lineage_events, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__NAMESPACE", "team_a")
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SELECTIVE_ENABLE", "True")  # nothing selected: no events
    reset_lineage()
    seen = _run(tmp_path, "macro_off")
    assert lineage_events() == []
    assert seen["templated"]["namespace"] == "team_a"
    assert seen["templated"]["parent_id"].startswith("team_a/macro_off.templated/")


def test_the_plugin_registers_every_macro():
    from airflow_lineage_provider.plugins import LineageProviderPlugin

    assert {f.__name__ for f in LineageProviderPlugin.macros} == set(macros.__all__)


@pytest.mark.parametrize("wrong", [None, "ti", {"task_id": "x"}])
def test_a_macro_given_something_else_says_how_to_call_it(wrong):
    with pytest.raises(MacroError, match=r"lineage_run_id\(\) takes the running task instance.*\(ti\)"):
        macros.lineage_run_id(wrong)


def test_macros_module_is_cheap_to_import():
    import subprocess
    import sys

    code = (
        "import sys, airflow_lineage_provider.macros; "
        "print(sorted(m for m in ('openlineage', 'sqlglot', 'airflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_only_the_macros_are_registered():
    """``macros.lineage_provider`` holds the ten functions, not the exception class they raise."""
    import inspect

    from airflow_lineage_provider.macros import MACROS

    assert len(MACROS) == 10 and all(inspect.isfunction(m) for m in MACROS)
