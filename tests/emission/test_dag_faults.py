"""Fault tests on a real 10-task DAG (dag.test() through the listener) with a real HTTP receiver.

For each backend fault (connection refused, 503, accept-and-never-answer, flapping): every task succeeds;
then the receiver turns healthy, ``airflow-lineage replay`` runs, and the receiver holds every expected
event exactly once and in valid order (0 lost, 0 duplicated).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lineage_helpers import TRANSPORT_ENV, ensure_listener_registered, reset_lineage, run_dag, summary

from airflow_lineage_provider.emission import metrics
from airflow_lineage_provider.emission.emitter import get_emitter
from airflow_lineage_provider.emission.spool import replay_command

from .conftest import http_config
from .factory import assert_exactly_once_in_order

pytestmark = pytest.mark.airflow

TASKS = 10
DAG_ID = "lp_delivery_faults"
TEN_TASKS = f"""
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("{DAG_ID}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    previous = None
    for index in range({TASKS}):
        task = PythonOperator(task_id=f"t{{index:02d}}", python_callable=lambda i=index: i * 2)
        if previous is not None:
            previous >> task
        previous = task
"""

OPTIONS = {
    "AIRFLOW__LINEAGE_PROVIDER__SEND_TIMEOUT": "0.5",
    "AIRFLOW__LINEAGE_PROVIDER__FLUSH_TIMEOUT": "5",
}


@pytest.fixture
def lineage_to(tmp_path: Path) -> Iterator[object]:
    """Point the provider at an HTTP receiver, with the spool in a tmp dir; restore afterwards."""
    saved = {k: os.environ.get(k) for k in [TRANSPORT_ENV, "AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR", *OPTIONS]}

    def configure(url_config: dict) -> Path:
        os.environ[TRANSPORT_ENV] = json.dumps(url_config)
        os.environ["AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR"] = str(tmp_path / "spool")
        os.environ.update(OPTIONS)
        reset_lineage()
        ensure_listener_registered()
        return tmp_path / "spool"

    yield configure
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_lineage()


def _expected_order_ok(received: list[dict]) -> None:
    names = summary(received)
    assert names[0] == ("START", DAG_ID), names[:3]
    assert names[-1] == ("COMPLETE", DAG_ID), names[-3:]
    for index in range(TASKS):
        job = f"{DAG_ID}.t{index:02d}"
        assert names.index(("START", job)) < names.index(("COMPLETE", job))
        if index:  # tasks ran in a chain: their events arrive in that order too
            assert names.index(("COMPLETE", f"{DAG_ID}.t{index - 1:02d}")) < names.index(("START", job))


@pytest.mark.parametrize("mode", ["refuse", "503", "hang", "flap"])
def test_dag_run_survives_backend_fault_and_replay_delivers_exactly_once(mode, receiver, lineage_to, capsys):
    rec = receiver(mode, hang_max=10)
    lineage_to(http_config(rec))
    before = metrics.snapshot()

    dag_run = run_dag(TEN_TASKS, DAG_ID)

    assert dag_run.state == "success"
    assert sorted(ti.state for ti in dag_run.get_task_instances()) == ["success"] * TASKS
    assert get_emitter().flush(30)
    during = len(rec.received())

    rec.set_mode("healthy")
    capsys.readouterr()
    code = replay_command(argparse.Namespace(spool_dir=None, limit=None, dry_run=False))
    out = capsys.readouterr().out
    assert code == 0, out
    received = rec.received()
    expected_count = 2 + 2 * TASKS
    assert len(received) == expected_count, summary(received)
    assert_exactly_once_in_order(received, received)  # schema-valid, no duplicate (run, eventType)
    assert len({(e["run"]["runId"], e["eventType"]) for e in received}) == expected_count
    _expected_order_ok(received)
    after = metrics.snapshot()
    spooled = after.get("spooled", 0) - before.get("spooled", 0)
    replayed = after.get("replayed", 0) - before.get("replayed", 0)
    with capsys.disabled():  # the fault-test results, shown in the pytest output
        print(
            f"\n[{mode}] tasks ok={TASKS}/{TASKS}; delivered during fault={during}, spooled={spooled}, "
            f"replayed={replayed}; receiver holds {len(received)}/{expected_count} events, "
            "0 lost, 0 duplicated"
        )
