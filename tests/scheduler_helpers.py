"""Real scheduler steps on the test metadata DB, without starting a scheduler.

A DAG file is parsed and written to the serialized DAG table as the DAG processor does (one new version per
change), runs are created queued as a trigger does, and the scheduler's own methods start and finish them
(``SchedulerJobRunner._start_queued_dagruns`` and ``_schedule_dag_run``, which attach the *latest* version
to the run). The DAG has three tasks, ``a``, ``b`` and ``c``.
"""

from __future__ import annotations

from typing import Any

from lineage_helpers import dags_folder

SOURCE = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow_lineage_provider import disable_lineage, enable_lineage

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    a = PythonOperator(task_id="a", python_callable=lambda: None)
    b = PythonOperator(task_id="b", python_callable=lambda: None)
    c = PythonOperator(task_id="c", python_callable=lambda: None)
{marks}
"""


def write_version(dag_id: str, marks: str = "", source: str | None = None) -> Any:
    """Write the DAG file and serialize it as the DAG processor does; returns the latest version's id.

    ``source``: the file's text instead of the three-task DAG (``{dag_id}`` is filled in).
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.models.dag_version import DagVersion
    from airflow.utils.session import create_session

    path = dags_folder() / f"{dag_id}.py"
    path.write_text((source or SOURCE).format(dag_id=dag_id, marks=marks))
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    bag = BundleDagBag(dag_folder=path, bundle_path=dags_folder(), bundle_name="dags-folder")
    assert dag_id in bag.dags, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = False
        version = DagVersion.get_latest_version(dag_id, session=session)
        assert version is not None
        return version.id


def trigger_run(dag_id: str) -> str:
    """A queued manual run on the latest serialized version, as the REST API's trigger creates it."""
    from datetime import datetime, timedelta, timezone

    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    now = datetime.now(timezone.utc) - timedelta(minutes=1)  # due: the scheduler takes run_after <= now
    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        assert dag is not None
        run = dag.create_dagrun(
            run_id=f"manual__{now.isoformat()}",
            logical_date=now,
            data_interval=(now, now),
            run_after=now,
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.REST_API,
            state=DagRunState.QUEUED,
            session=session,
        )
        return run.run_id


def scheduler() -> Any:
    from airflow.executors.local_executor import LocalExecutor
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    return SchedulerJobRunner(job=Job(), executors=[LocalExecutor()])  # never started: no processes


def start_run(dag_id: str, run_id: str) -> Any:
    """The scheduler moves the queued run to running (``on_dag_run_running``); returns its created version."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        # the scheduler starts every queued run: other DAGs' runs an earlier test in this worker's database
        # left queued (asset-triggered ones, say) are set aside first, without hooks, or their STARTs land
        # in this test
        session.query(DagRun).filter(DagRun.state == "queued", DagRun.dag_id != dag_id).update(
            {DagRun.state: "failed"}, synchronize_session=False
        )
        scheduler()._start_queued_dagruns(session)
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        assert run.state == "running"
        return run.created_dag_version_id


def finish_run(dag_id: str, run_id: str, states: dict[str, str]) -> str:
    """Give the tasks ``states`` (as workers would), then one scheduler pass over the run; its state."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        for ti in run.get_task_instances(session=session):
            ti.state = states.get(ti.task_id, "success")
            if ti.state == "success":
                ti.try_number, ti.start_date, ti.end_date = 1, run.start_date, run.start_date
        session.flush()
        scheduler()._schedule_dag_run(run, session)
        return str(run.state)
