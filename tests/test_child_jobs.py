"""``[lineage_provider] spark_inject_parent_job_info``: Spark jobs a task submits name the task run as parent.

Real ``dag.test()`` runs of the Spark provider's operators, which build and run their real ``spark-submit`` /
``spark-sql`` command lines. Spark itself cannot run here (its Python package is a 456 MB source build), so
the binary on ``PATH`` is a stand-in script that records the command line it was given; everything before
it (rendering, the listener, the operator, the hook, the subprocess) is the real thing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from lineage_helpers import reset_lineage, run_dag, task_events

from airflow_lineage_provider.child_jobs import inject_spark_parent, spark_conf_attribute

pytestmark = pytest.mark.airflow

STAND_IN = """#!/bin/sh
# records its command line (one argument per line, a blank line after each call); the first call fails
# when FAIL_FIRST is set, as a Spark job that dies on its first try
printf '%s\\n' "$@" >> "$ARGS_FILE"
echo >> "$ARGS_FILE"
if [ -n "$FAIL_FIRST" ] && [ ! -e "$ARGS_FILE.failed" ]; then touch "$ARGS_FILE.failed"; exit 1; fi
exit 0
"""

DAG = """
from datetime import datetime, timedelta

from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    SparkSubmitOperator(
        task_id="submit",
        application="/opt/jobs/orders.py",
        conf={conf!r},
        retries={retries},
        retry_delay=timedelta(seconds=0),
    )
"""

SQL_DAG = """
from datetime import datetime

from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    SparkSqlOperator(task_id="sql", sql="SELECT 1", conf={conf!r}, master="local")
"""


@pytest.fixture
def spark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-in ``spark-submit`` and ``spark-sql`` on PATH; returns the file their calls are recorded in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("spark-submit", "spark-sql"):
        script = bin_dir / name
        script.write_text(STAND_IN)
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    args_file = tmp_path / "spark-args.txt"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ARGS_FILE", str(args_file))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", "spark://local")
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_SQL_DEFAULT", "spark-sql://local")
    return args_file


def _inject(monkeypatch: pytest.MonkeyPatch, on: bool = True) -> None:
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SPARK_INJECT_PARENT_JOB_INFO", str(on))
    reset_lineage()


def _calls(args_file: Path) -> list[dict[str, str]]:
    """The ``--conf key=value`` pairs of each recorded call."""
    calls = []
    for block in args_file.read_text().split("\n\n"):
        args = block.splitlines()
        if args:
            pairs = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--conf"]
            calls.append(dict(p.split("=", 1) for p in pairs))
    return calls


def _run_ids(events: list[dict], job: str) -> list[str]:
    return list(dict.fromkeys(e["run"]["runId"] for e in task_events(events, job)))


def test_spark_submit_gets_the_task_run_as_parent_and_keeps_the_authors_conf(
    lineage_events, spark, monkeypatch
):
    _inject(monkeypatch)
    dag_run = run_dag(DAG.format(dag_id="spark_parent", conf={"spark.executor.cores": "2"}, retries=0),
                      "spark_parent")  # fmt: skip
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS")
    events = lineage_events()
    [call] = _calls(spark)
    [task_run] = _run_ids(events, "spark_parent.submit")
    [dag_run_id] = _run_ids(events, "spark_parent")
    assert call == {
        "spark.executor.cores": "2",
        "spark.openlineage.parentJobNamespace": "default",
        "spark.openlineage.parentJobName": "spark_parent.submit",
        "spark.openlineage.parentRunId": task_run,
        "spark.openlineage.rootParentJobNamespace": "default",
        "spark.openlineage.rootParentJobName": "spark_parent",
        "spark.openlineage.rootParentRunId": dag_run_id,
    }


def test_a_retry_names_its_own_try(lineage_events, spark, monkeypatch):
    _inject(monkeypatch)
    monkeypatch.setenv("FAIL_FIRST", "1")
    run_dag(DAG.format(dag_id="spark_retry", conf={}, retries=1), "spark_retry")
    first, second = _calls(spark)
    tries = _run_ids(lineage_events(), "spark_retry.submit")
    assert len(tries) == 2
    assert [first["spark.openlineage.parentRunId"], second["spark.openlineage.parentRunId"]] == tries


MAPPED_DAG = """
from datetime import datetime

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    SparkSubmitOperator.partial(task_id="submit", conf={{"spark.executor.cores": "1"}}).expand(
        application=["/opt/jobs/a.py", "/opt/jobs/b.py"]
    )
"""


def test_each_mapped_try_names_its_own_run(lineage_events, spark, monkeypatch):
    _inject(monkeypatch)
    run_dag(MAPPED_DAG.format(dag_id="spark_mapped"), "spark_mapped")
    calls = _calls(spark)
    runs = _run_ids(lineage_events(), "spark_mapped.submit")
    assert len(calls) == 2 and len(runs) == 2
    assert sorted(c["spark.openlineage.parentRunId"] for c in calls) == sorted(runs)
    assert all(c["spark.executor.cores"] == "1" for c in calls)


def test_off_by_default(lineage_events, spark, monkeypatch):
    _inject(monkeypatch, on=False)
    run_dag(DAG.format(dag_id="spark_off", conf={"spark.executor.cores": "2"}, retries=0), "spark_off")
    assert _calls(spark) == [{"spark.executor.cores": "2"}]


def test_the_authors_own_parent_properties_win(lineage_events, spark, monkeypatch):
    _inject(monkeypatch)
    own = {"spark.openlineage.parentJobName": "chosen", "spark.openlineage.parentRunId": "x"}
    run_dag(DAG.format(dag_id="spark_own", conf=own, retries=0), "spark_own")
    assert _calls(spark) == [own]


def test_spark_sql_with_properties_as_a_string(lineage_events, spark, monkeypatch):
    _inject(monkeypatch)
    run_dag(SQL_DAG.format(dag_id="spark_sql_parent", conf="spark.sql.shuffle.partitions=4"),
            "spark_sql_parent")  # fmt: skip
    [call] = _calls(spark)
    [task_run] = _run_ids(lineage_events(), "spark_sql_parent.sql")
    assert call["spark.sql.shuffle.partitions"] == "4"
    assert call["spark.openlineage.parentRunId"] == task_run
    assert call["spark.openlineage.parentJobName"] == "spark_sql_parent.sql"


def test_operators_that_are_not_spark_or_hold_no_properties_are_left_alone():
    from airflow.providers.apache.spark.operators.spark_jdbc import SparkJDBCOperator
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    from airflow.providers.standard.operators.empty import EmptyOperator

    assert spark_conf_attribute(EmptyOperator(task_id="e")) is None
    assert spark_conf_attribute(SparkJDBCOperator(task_id="j")) == "conf"  # a subclass
    odd = SparkSubmitOperator(task_id="s", application="a.py")
    odd.conf = ["not", "a", "mapping"]  # type: ignore[assignment]
    assert inject_spark_parent(odd, object()) is False
    assert odd.conf == ["not", "a", "mapping"]
