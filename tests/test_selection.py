"""enable_lineage / disable_lineage and [lineage_provider] selective_enable, on real dag.test() runs."""

from __future__ import annotations

import pytest
from lineage_helpers import reset_lineage, run_dag, summary

from airflow_lineage_provider import disable_lineage, enable_lineage, selection

pytestmark = pytest.mark.airflow

SELECTIVE_ENV = "AIRFLOW__LINEAGE_PROVIDER__SELECTIVE_ENABLE"

DAG_SOURCE = """
import datetime
from airflow.sdk import DAG, TaskGroup, task
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow_lineage_provider import disable_lineage, enable_lineage

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    with TaskGroup("grp") as grp:
        g1 = EmptyOperator(task_id="g1")
    @task
    def compute():
        return 1
    c = compute()
    m = BashOperator.partial(task_id="m").expand(bash_command=["true", "true"])
    a >> b >> grp >> c >> m
{marks}
"""


def _run(dag_id: str, marks: str = "") -> list[tuple[str, str]]:
    return run_dag(DAG_SOURCE.format(dag_id=dag_id, marks=marks), dag_id)


def _jobs(events: list[dict]) -> set[str]:
    return {name for _, name in summary(events)}


@pytest.fixture
def selective(monkeypatch):
    monkeypatch.setenv(SELECTIVE_ENV, "True")
    reset_lineage()
    yield
    monkeypatch.delenv(SELECTIVE_ENV)
    reset_lineage()


def test_by_default_every_dag_emits(lineage_events):
    dag_run = _run("lp_sel_default")
    assert dag_run.state == "success"
    assert _jobs(lineage_events()) == {
        "lp_sel_default",
        "lp_sel_default.a",
        "lp_sel_default.b",
        "lp_sel_default.grp.g1",
        "lp_sel_default.compute",
        "lp_sel_default.m",
    }


def test_a_disabled_dag_sends_nothing(lineage_events):
    dag_run = _run("lp_sel_off", "disable_lineage(dag)")
    assert dag_run.state == "success"
    assert lineage_events() == []


def test_a_task_switched_on_inside_a_disabled_dag_reports_with_its_dag_run(lineage_events):
    dag_run = _run("lp_sel_off_but_b", "disable_lineage(dag)\nenable_lineage(b)")
    assert dag_run.state == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_sel_off_but_b"),
        ("START", "lp_sel_off_but_b.b"),
        ("COMPLETE", "lp_sel_off_but_b.b"),
        ("COMPLETE", "lp_sel_off_but_b"),
    ]
    parent = events[1]["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == events[0]["run"]["runId"]


def test_selective_enable_sends_nothing_for_an_unmarked_dag(lineage_events, selective):
    assert _run("lp_sel_unmarked").state == "success"
    assert lineage_events() == []


def test_selective_enable_sends_a_dag_switched_on_except_its_tasks_switched_off(lineage_events, selective):
    assert _run("lp_sel_on", "enable_lineage(dag)\ndisable_lineage(a)\ndisable_lineage(m)").state == "success"
    assert _jobs(lineage_events()) == {
        "lp_sel_on",
        "lp_sel_on.b",
        "lp_sel_on.grp.g1",
        "lp_sel_on.compute",
    }


def test_selective_enable_with_a_group_an_xcomarg_and_a_mapped_task(lineage_events, selective):
    marks = "enable_lineage(grp)\nenable_lineage(c)\nenable_lineage(m)"
    assert _run("lp_sel_parts", marks).state == "success"
    events = lineage_events()
    assert _jobs(events) == {"lp_sel_parts", "lp_sel_parts.grp.g1", "lp_sel_parts.compute", "lp_sel_parts.m"}
    mapped = [e for e in events if e["job"]["name"] == "lp_sel_parts.m"]
    assert len(mapped) == 4  # START + COMPLETE for each map index


def test_a_disabled_operator_class_stays_off_even_when_switched_on(lineage_events, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW__LINEAGE_PROVIDER__DISABLED_FOR_OPERATORS",
        "airflow.providers.standard.operators.empty.EmptyOperator",
    )
    reset_lineage()
    assert _run("lp_sel_class", "enable_lineage(a)").state == "success"
    assert "lp_sel_class.a" not in _jobs(lineage_events())


def test_marking_a_disabled_dags_run_by_hand_sends_nothing(lineage_events, monkeypatch):
    """The API server sees only the serialized DAG: the mark must survive serialization."""
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "lineage-tests-" + "x" * 64)
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    dag_run = _run("lp_sel_marked", "disable_lineage(dag)")
    client = TestClient(create_app(apps="core"))
    response = client.patch(f"/api/v2/dags/lp_sel_marked/dagRuns/{dag_run.run_id}", json={"state": "failed"})
    assert response.status_code == 200, response.text
    response = client.patch(
        f"/api/v2/dags/lp_sel_marked/dagRuns/{dag_run.run_id}/taskInstances/a", json={"new_state": "failed"}
    )
    assert response.status_code == 200, response.text
    assert lineage_events() == []


def test_the_marks_survive_serialization_and_stay_out_of_the_trigger_form():
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("lp_sel_serialized", schedule=None) as dag:
        task = EmptyOperator(task_id="t")
    disable_lineage(dag)
    assert enable_lineage(task) is task
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert selection.dag_mark(restored) is False
    assert selection.task_mark(restored.task_dict["t"]) is True
    assert selection.dag_selected(restored, selective=False) is True  # because of its task
    param = dag.params.get_param(selection.DAG_KEY)
    assert param.schema.get("const") is False  # a const param is hidden from the trigger form


def test_a_task_ignores_the_copy_of_its_dags_mark_taken_when_it_was_created():
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("lp_sel_copy", schedule=None) as dag:
        disable_lineage(dag)
        task = EmptyOperator(task_id="t")  # its params now hold a copy of the DAG's mark
    enable_lineage(dag)  # changed later in the file
    assert selection.task_selected(task, selective=False) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a string", "takes a DAG, a task, a TaskGroup or an XComArg, not str"),
        (print, "for a @task function, pass the called task: enable_lineage(load())"),
    ],
)
def test_anything_else_is_refused_with_a_clear_error(value, expected):
    with pytest.raises(TypeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        enable_lineage(value)
