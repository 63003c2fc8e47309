"""``airflow tasks test`` runs one task against a temporary DAG run that it deletes afterwards: the task's own
events are sent (developers check an extractor that way), nothing is sent for the temporary DAG run."""

from __future__ import annotations

import pytest
from lineage_helpers import run_dag, summary

pytestmark = pytest.mark.airflow

DAG = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("lp_tasks_test", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="t", python_callable=lambda: 1)
"""


def test_airflow_tasks_test_sends_the_tasks_events_only(lineage_events, monkeypatch):
    from airflow.cli import cli_parser
    from airflow.cli.commands import task_command
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    assert run_dag(DAG, "lp_tasks_test").state == "success"  # also serializes the DAG for the command
    before = len(lineage_events())
    monkeypatch.setenv("AIRFLOW_TEST_MODE", "False")  # the command sets it in os.environ; restored after
    args = cli_parser.get_parser().parse_args(["tasks", "test", "lp_tasks_test", "t"])
    task_command.task_test(args)
    with create_session() as session:  # the command's temporary DAG run is gone again
        run_ids = session.scalars(select(DagRun.run_id).where(DagRun.dag_id == "lp_tasks_test")).all()
    assert not [r for r in run_ids if r.startswith("__airflow_temporary_run_")]
    events = summary(lineage_events()[before:])
    assert events == [("START", "lp_tasks_test.t"), ("COMPLETE", "lp_tasks_test.t")]
