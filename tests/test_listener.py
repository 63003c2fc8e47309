"""The listener on real DAGs (dag.test() in the isolated AIRFLOW_HOME), events captured through a file transport."""

from __future__ import annotations

import pytest
from lineage_helpers import run_dag, summary

pytestmark = pytest.mark.airflow

THREE_TASKS = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator

with DAG("lp_three_tasks", schedule=None, start_date=datetime.datetime(2024, 1, 1), tags=["lineage", "demo"],
         doc_md="Three tasks in a row.", default_args={"owner": "data-team"}) as dag:
    a = EmptyOperator(task_id="a")
    b = PythonOperator(task_id="b", python_callable=lambda: 1, doc_md="Returns one.")
    c = EmptyOperator(task_id="c")
    a >> b >> c
"""


def test_three_task_dag(lineage_events):
    dag_run = run_dag(THREE_TASKS, "lp_three_tasks")
    assert dag_run.state == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "lp_three_tasks.a"),
        ("COMPLETE", "lp_three_tasks.a"),
        ("START", "lp_three_tasks.b"),
        ("COMPLETE", "lp_three_tasks.b"),
        ("START", "lp_three_tasks.c"),
        ("COMPLETE", "lp_three_tasks.c"),
        ("START", "lp_three_tasks"),
        ("COMPLETE", "lp_three_tasks"),
    ]
