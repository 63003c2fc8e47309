"""DAG-run hooks run inside the scheduler's transaction: lineage reads never break it.

On PostgreSQL a failed statement aborts the whole transaction, so a lineage read that fails (a query an
Airflow upgrade broke, a cancelled statement) used to fail every later statement of the scheduler's loop,
even though the hook caught the error. The listener now runs its body under a SAVEPOINT there
(``listener._fenced``), rolled back when the body ends, and never flushes the scheduler's pending changes.

Real PostgreSQL on 127.0.0.1:5432 and a real SQLite file; the "scheduler" is an ORM session holding an
unflushed change, as ``DagRun.update_state`` does when it calls the hooks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from lineage_helpers import summary
from sqlalchemy import DateTime, Integer, String, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from airflow_lineage_provider.listener import LineageListener

PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


class _Base(DeclarativeBase):
    pass


class _Run(_Base):
    """A DAG-run-shaped row of a database without Airflow's tables: every lineage read of it fails."""

    __tablename__ = "lp_fence_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(50))
    run_id: Mapped[str] = mapped_column(String(50))
    run_type: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    logical_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    clear_number = 0
    created_dag_version_id = None

    def get_task_instances(self, state: Any = None, session: Any = None) -> list[Any]:
        """A real read in the hook's session, as Airflow's is (this database has no task instances)."""
        assert session is not None
        session.execute(text("SELECT id FROM lp_fence_runs WHERE 1 = 0")).all()
        return []


def _session(url: str) -> Iterator[tuple[Session, list[str]]]:
    engine = create_engine(url)
    statements: list[str] = []
    _Base.metadata.drop_all(engine)
    _Base.metadata.create_all(engine)
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    session = Session(engine, expire_on_commit=False)  # as Airflow's sessions are
    try:
        yield session, statements
    finally:
        session.rollback()
        session.close()
        _Base.metadata.drop_all(engine)
        engine.dispose()


@pytest.fixture
def pg() -> Iterator[tuple[Session, list[str]]]:
    yield from _session(PG_URL)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[tuple[Session, list[str]]]:
    yield from _session(f"sqlite:///{tmp_path / 'meta.db'}")


def _running_run(session: Session, run_type: str = "asset_triggered") -> _Run:
    """A committed run, then an unflushed state change: the scheduler's position when it calls the hook."""
    when = datetime(2026, 11, 21, tzinfo=timezone.utc)
    run = _Run(
        id=1, dag_id="lp_fence", run_id="r1", run_type=run_type, state="queued", logical_date=when,
        start_date=when,
    )  # fmt: skip
    session.add(run)
    session.commit()
    run.state = "running"
    return run


def _states(session: Session) -> dict[int, str]:
    with session.get_bind().connect() as other:  # type: ignore[union-attr]
        return dict(other.execute(text("SELECT id, state FROM lp_fence_runs")).all())


def _scheduler_goes_on(session: Session) -> None:
    now = datetime.now(timezone.utc)
    session.add(
        _Run(id=2, dag_id="lp_fence", run_id="r2", run_type="manual", state="queued", logical_date=now,
             start_date=now)
    )  # fmt: skip
    session.commit()


@pytest.mark.integration
def test_reads_that_fail_inside_the_real_hook_leave_the_schedulers_transaction_usable(pg, lineage_events):
    session, _ = pg
    run = _running_run(session)
    listener = LineageListener()
    # reads the serialized DAG and the asset events of the run: both fail here (no such tables), both are
    # caught inside the hook, and the START goes out with what the row itself says
    listener.on_dag_run_running(dag_run=run, msg="started")
    assert run in session.dirty  # the hook flushed nothing of the scheduler's
    _scheduler_goes_on(session)
    assert _states(session) == {1: "running", 2: "queued"}
    assert summary(lineage_events()) == [("START", "lp_fence")]


@pytest.mark.integration
def test_a_caught_failure_does_not_cost_the_end_event_its_later_reads(pg, lineage_events, caplog):
    """The run's end reads the serialized DAG (fails here, caught) and then its task instances: each read
    that may fail has a savepoint of its own, so the second one works and the end event goes out."""
    session, _ = pg
    run = _running_run(session, run_type="manual")
    LineageListener().on_dag_run_success(dag_run=run, msg="success")
    assert summary(lineage_events()) == [("COMPLETE", "lp_fence")]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "cannot read the serialized DAG of lp_fence" in warnings[0]
    _scheduler_goes_on(session)
    assert _states(session) == {1: "running", 2: "queued"}


class _BrokenRun(_Run):
    def get_task_instances(self, state: Any = None, session: Any = None) -> list[Any]:
        """A read that fails and is not caught inside the hook: only the hook's own savepoint is left."""
        assert session is not None
        session.execute(text("SELECT no_such_column FROM lp_fence_runs")).all()
        return []


@pytest.mark.integration
def test_an_uncaught_failure_costs_the_event_not_the_schedulers_transaction(pg, lineage_events, caplog):
    session, _ = pg
    when = datetime(2026, 11, 21, tzinfo=timezone.utc)
    run = _BrokenRun(id=1, dag_id="lp_fence", run_id="r1", run_type="manual", state="queued",
                     logical_date=when, start_date=when)  # fmt: skip
    session.add(run)
    session.commit()
    run.state = "success"
    LineageListener().on_dag_run_success(dag_run=run, msg="success")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("on_dag_run_success failed for r1" in w for w in warnings), warnings
    _scheduler_goes_on(session)
    assert _states(session) == {1: "success", 2: "queued"}


@pytest.mark.integration
def test_a_body_that_raises_costs_one_warning_and_the_transaction_goes_on(pg, lineage_events, caplog):
    session, _ = pg
    run = _running_run(session, run_type="manual")

    def broken_read(*_args: Any) -> None:
        session.execute(text("SELECT no_such_column FROM lp_fence_runs"))

    listener = LineageListener()
    listener._safely("on_dag_run_success", run, broken_read)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "on_dag_run_success failed for r1" in warnings[0]
    _scheduler_goes_on(session)
    assert _states(session) == {1: "running", 2: "queued"}


@pytest.mark.integration
def test_postgres_reads_run_under_a_savepoint_that_is_rolled_back(pg, lineage_events):
    session, statements = pg
    run = _running_run(session, run_type="manual")
    statements.clear()
    LineageListener()._safely("hook", run, lambda: session.execute(text("SELECT 1")).all())
    fenced = [s.split()[0:2] for s in statements]
    assert fenced[0] == ["SAVEPOINT", "sa_savepoint_1"] and fenced[-1][0:2] == ["ROLLBACK", "TO"]
    assert not any(s.startswith("UPDATE") for s in statements)  # nothing flushed


@pytest.mark.integration
def test_an_explicit_flush_inside_the_body_is_kept(pg, lineage_events):
    """Only reads are undone: were a body to flush on purpose, its writes are released, not rolled back."""
    session, _ = pg
    run = _running_run(session, run_type="manual")
    LineageListener()._safely("hook", run, session.flush)
    session.commit()
    assert _states(session) == {1: "running"}


def test_sqlite_needs_no_savepoint_and_nothing_is_flushed(sqlite, lineage_events):
    session, statements = sqlite
    run = _running_run(session, run_type="manual")
    statements.clear()
    LineageListener()._safely("hook", run, lambda: session.execute(text("SELECT 1")).all())
    assert statements == ["SELECT 1"]
    assert run in session.dirty
    _scheduler_goes_on(session)
    assert _states(session) == {1: "running", 2: "queued"}


def test_objects_bound_to_no_session_run_as_they_are(lineage_events):
    """The task side: SDK models are not ORM objects; a detached ORM row is not fenced either."""
    ran: list[str] = []
    listener = LineageListener()
    listener._safely("hook", object(), lambda: ran.append("plain"))
    listener._safely("hook", _Run(id=3), lambda: ran.append("detached"))
    assert ran == ["plain", "detached"]


CHAIN = """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    a = PythonOperator(task_id="a", python_callable=lambda: None)
    b = PythonOperator(task_id="b", python_callable=lambda: None)
    c = PythonOperator(task_id="c", python_callable=lambda: None)
    a >> b >> c
"""


@pytest.mark.airflow
def test_tasks_the_scheduler_marks_upstream_failed_in_the_ending_pass_are_reported(lineage_events):
    """The scheduler pass that fails the run also marks c upstream_failed: both are reported as never run."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from scheduler_helpers import scheduler, start_run, trigger_run, write_version

    dag_id = "lp_fence_cascade"
    write_version(dag_id, source=CHAIN)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        for ti in run.get_task_instances(session=session):
            if ti.task_id == "a":
                ti.state, ti.try_number = "failed", 1
                ti.start_date = ti.end_date = run.start_date
        session.flush()
        for _ in range(5):  # one pass per level of the chain: b, then c and the run in the same pass
            scheduler()._schedule_dag_run(run, session)
            if str(run.state) != "running":
                break
        assert str(run.state) == "failed"
    events = lineage_events()
    ends = {e["job"]["name"]: e for e in events if e["eventType"] == "FAIL"}
    assert set(ends) == {dag_id, f"{dag_id}.b", f"{dag_id}.c"}
    for task in ("b", "c"):
        message = ends[f"{dag_id}.{task}"]["run"]["facets"]["errorMessage"]["message"]
        assert "upstream_failed" in message


@pytest.mark.airflow
def test_states_the_scheduler_has_not_written_yet_count(lineage_events):
    """A hook called with a task's new state still in the session (not flushed, and the hook flushes
    nothing): the task is reported from its state in memory."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from scheduler_helpers import start_run, trigger_run, write_version

    from airflow_lineage_provider.listener import get_listener

    dag_id = "lp_fence_pending"
    write_version(dag_id, source=CHAIN)
    run_id = trigger_run(dag_id)
    start_run(dag_id, run_id)
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        tis = {ti.task_id: ti for ti in run.get_task_instances(session=session)}
        tis["a"].state, tis["a"].try_number = "failed", 1
        tis["a"].start_date = tis["a"].end_date = run.start_date
        session.flush()
        tis["b"].state = tis["c"].state = "upstream_failed"  # pending, as the run's own new state
        run.state = "failed"
        get_listener().on_dag_run_failed(dag_run=run, msg="task_failure")
        assert tis["b"] in session.dirty  # still not written
    ends = {e["job"]["name"] for e in lineage_events() if e["eventType"] == "FAIL"}
    assert ends == {dag_id, f"{dag_id}.b", f"{dag_id}.c"}
