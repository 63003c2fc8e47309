"""enable_lineage / disable_lineage on task groups and decorated functions, through real DAG files."""

from __future__ import annotations

import pytest
from lineage_helpers import load_dag, reset_lineage, run_dag, summary

from airflow_lineage_provider import enable_lineage

pytestmark = pytest.mark.airflow

GROUP_DAG = """
import datetime
from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow_lineage_provider import enable_lineage

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    with TaskGroup("grp") as grp:
        {inside}
        EmptyOperator(task_id="g1")
    EmptyOperator(task_id="other")
{after}
"""


@pytest.fixture
def selective(monkeypatch):
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SELECTIVE_ENABLE", "True")
    reset_lineage()
    yield
    monkeypatch.delenv("AIRFLOW__LINEAGE_PROVIDER__SELECTIVE_ENABLE")
    reset_lineage()


def test_a_group_marked_inside_its_own_block_is_refused(selective):
    """The mark is copied into the group's tasks at the call: tasks created later in the block had none."""
    source = GROUP_DAG.format(dag_id="lp_sel_grp_open", inside="enable_lineage(grp)", after="")
    with pytest.raises(ValueError, match=r"enable_lineage\('grp'\) is called inside the group's own block"):
        load_dag(source, "lp_sel_grp_open")


def test_a_group_marked_after_its_block_selects_every_task_in_it(lineage_events, selective):
    source = GROUP_DAG.format(dag_id="lp_sel_grp_after", inside="pass", after="enable_lineage(grp)")
    assert run_dag(source, "lp_sel_grp_after").state == "success"
    assert {name for _, name in summary(lineage_events())} == {"lp_sel_grp_after", "lp_sel_grp_after.grp.g1"}


def test_a_dag_function_passed_instead_of_its_dag_gets_the_right_hint():
    from airflow.sdk import dag, task_group

    @dag(schedule=None)
    def my_dag() -> None:
        pass

    @task_group
    def my_group() -> None:
        pass

    with pytest.raises(
        TypeError, match=r"for a @dag function, pass the DAG it returns: enable_lineage\(my_dag\(\)\)"
    ):
        enable_lineage(my_dag)
    with pytest.raises(TypeError, match=r"for a @task_group function, pass the called group"):
        enable_lineage(my_group)
    marked = my_dag()
    assert enable_lineage(marked) is marked
