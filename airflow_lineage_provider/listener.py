"""The Airflow listener: task-try and DAG-run hooks that emit OpenLineage START / COMPLETE / FAIL events.

Hooks are thin: they turn Airflow's objects into :mod:`emission.events` value objects, ask
:mod:`extractors.manager` for lineage and hand the event to the emitter. A hook never raises and never
waits: anything that goes wrong costs one warning line.

Where the hooks run (Airflow 3):

* ``on_task_instance_running/success/failed/skipped`` run in the task process with a ``RuntimeTaskInstance``
  (``dag.test()`` runs that in-process too). ``running`` fires on every (re)entry of the task process:
  after a deferral (``next_method`` set) or a reschedule poke (``task_reschedule_count > 0``) it is not a new
  START, except on the first worker entry of a try the scheduler deferred itself (``start_from_trigger``).
  The API server calls ``success/failed/skipped`` with an ORM ``TaskInstance`` when a user marks a
  task by hand; if that try never ran, a START is sent first so every try has a START and a terminal event.
  The scheduler calls ``failed`` with one when the executor reports a try over that the task process did
  not end (killed, lost); if it was still queued, a START is sent first too.
* A try Airflow ends from outside while it runs (marked by hand, ``fail_fast``, ``dagrun_timeout``, a
  clear) gets SIGTERM from its supervisor: a handler chained in front of the task runner's asks the API
  server what became of the try, and sends an ABORT when no hook elsewhere ended it (one that did, a hand
  mark, keeps its event); either way the task process then sends no terminal event of its own.
* ``on_dag_run_running/success/failed`` run in the scheduler (and the API server) with an ORM ``DagRun``.
  The terminal DAG-run hook also emits START + COMPLETE for tasks the scheduler skipped (branching, trigger
  rules, short-circuit) and START + FAIL for tasks it marked ``upstream_failed``, which never reach a task
  hook. ``dag.test()`` never calls ``on_dag_run_running``, so
  for test runs the DAG-run START is sent just before the first task's START (or from the terminal hook).

What is sent (:mod:`selection`): a DAG run, and the tasks its end reports as never run, are decided on the
DAG version the run was created with (its marks read once per version), so a DAG file changed during the
run cannot split its START from its end; a task try on the code it runs with (marked by hand: the version
it ran with, or its run's when it never ran).
"""

from __future__ import annotations

import _thread
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

import pluggy

from airflow_lineage_provider import selection

if TYPE_CHECKING:
    from airflow_lineage_provider.emission.events import DagRunInfo, TaskInfo, UpstreamTry

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("airflow")

#: serialized DAGs the API-server side keeps for hand-marked task instances (oldest dropped first), and
#: for how long (a marking request touches many task instances of one DAG; the latest version moves on)
_DAG_CACHE_SIZE = 16
_DAG_CACHE_SECONDS = 30.0
#: the marks of the DAG versions runs were created with, kept for good (a few hundred bytes each): the
#: scheduler reads each version once, not once per DAG-run event
_MARKS_CACHE_SIZE = 1024
#: DAG runs whose START this process sent and whose end it has not seen yet (oldest forgotten first)
_ATTEMPTS_SIZE = 10000
#: after a SIGTERM, the ABORT of a try Airflow ended from outside is delivered or spooled by then (seconds
#: after the signal; the supervisor sends SIGKILL 5 s after SIGTERM)
_ABORT_DELIVERY_SECONDS = 2.5
#: the longest a task hook waits for the SIGTERM check of its try (one question to the API server)
_ABORT_DECISION_SECONDS = 3.0

_OFFICIAL_PROVIDER = "apache-airflow-providers-openlineage"


# --- turning Airflow objects into event inputs ---------------------------------------------------------


def _json(value: Any) -> Any:
    """A JSON-friendly copy of a simple attribute value."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple, list)):
        return (
            sorted(_json(v) for v in value)
            if isinstance(value, (set, frozenset))
            else [_json(v) for v in value]
        )
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _attributes(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    found = {}
    for name in names:
        try:
            value = getattr(obj, name, None)
        except Exception:  # properties of half-loaded objects may raise
            continue
        if value is not None and value != "":
            found[name] = _json(value)
    return found


def operator_path(operator: Any) -> str:
    """Full class path of an operator; for a serialized (scheduler-side) task, the original class's."""
    module, name = getattr(operator, "_task_module", None), getattr(operator, "task_type", None)
    if type(operator).__name__ == "SerializedBaseOperator" and module and name:
        return f"{module}.{name}"
    klass = type(operator)
    return f"{klass.__module__}.{klass.__qualname__}"


def _owners(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    parts = value.split(",") if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


def dag_run_info(dag_run: Any, dag: Any = None) -> DagRunInfo:
    """From an ORM ``DagRun`` or the task SDK's ``DagRun`` model, plus its DAG when known."""
    from airflow_lineage_provider.emission.events import DagRunInfo

    dag = dag if dag is not None else getattr(dag_run, "dag", None)
    dag_attrs = _attributes(
        dag, ("dag_id", "description", "owner", "tags", "catchup", "max_active_runs", "max_active_tasks")
    )
    schedule = getattr(getattr(dag, "timetable", None), "summary", None) or getattr(dag, "schedule", None)
    # SerializedDAG: timetable summary; SDK DAG: schedule string; no schedule ("None") is left out on both
    if isinstance(schedule, str) and schedule and schedule != "None":
        dag_attrs["schedule"] = schedule
    run_attrs = _attributes(
        dag_run,
        (
            "run_id",
            "run_type",
            "logical_date",
            "run_after",
            "data_interval_start",
            "data_interval_end",
            "clear_number",
            "start_date",
            "triggered_by",
        ),
    )
    conf = getattr(dag_run, "conf", None)
    return DagRunInfo(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        logical_date=getattr(dag_run, "logical_date", None),
        run_after=getattr(dag_run, "run_after", None),
        clear_number=int(getattr(dag_run, "clear_number", 0) or 0),
        data_interval_start=getattr(dag_run, "data_interval_start", None),
        data_interval_end=getattr(dag_run, "data_interval_end", None),
        start_date=getattr(dag_run, "start_date", None),
        end_date=getattr(dag_run, "end_date", None),
        conf=conf if isinstance(conf, Mapping) else None,
        owners=_owners(getattr(dag, "owner", None)),
        tags=tuple(sorted(str(t) for t in (getattr(dag, "tags", None) or ()))),
        **_documentation(dag, _DAG_DOCS),
        dag_attributes=dag_attrs,
        run_attributes=run_attrs,
    )


#: where DAGs and tasks keep their documentation, and its media type, in order of preference
_DAG_DOCS = (("doc_md", "text/markdown"), ("description", "text/plain"))
_TASK_DOCS = (
    ("doc_md", "text/markdown"),
    ("doc_rst", "text/x-rst"),
    ("doc_json", "application/json"),
    ("doc_yaml", "application/yaml"),
    ("doc", "text/plain"),
)


def _documentation(obj: Any, sources: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``{"doc": text, "doc_type": media type}`` from the first documentation attribute ``obj`` has set."""
    if obj is None:
        return {}
    for attribute, media_type in sources:
        text = getattr(obj, attribute, None)
        if isinstance(text, str) and text.strip():
            return {"doc": text, "doc_type": media_type}
    return {}


_TASK_ATTRS = (
    "task_id",
    "owner",
    "retries",
    "trigger_rule",
    "pool",
    "queue",
    "priority_weight",
    "execution_timeout",
    "deferrable",
    "mode",
    "poke_interval",
    "depends_on_past",
    "upstream_task_ids",
    "downstream_task_ids",
)
_TI_ATTRS = (
    "try_number",
    "map_index",
    "max_tries",
    "state",
    "start_date",
    "end_date",
    "hostname",
    "rendered_map_index",
)


def task_info(ti: Any, operator: Any, state: str | None = None) -> TaskInfo:
    """From a ``RuntimeTaskInstance`` or an ORM ``TaskInstance`` (``operator`` may be None there)."""
    from airflow_lineage_provider.emission.events import TaskInfo

    task_attrs = _attributes(operator, _TASK_ATTRS) if operator is not None else {"task_id": ti.task_id}
    if operator is not None:
        task_attrs["operator"] = operator_path(operator)
        group = getattr(operator, "task_group", None)
        if group is not None and getattr(group, "group_id", None):
            task_attrs["task_group"] = group.group_id
    ti_attrs = _attributes(ti, _TI_ATTRS)
    if state is not None:
        ti_attrs["state"] = state
    map_index = getattr(ti, "map_index", -1)
    return TaskInfo(
        task_id=ti.task_id,
        try_number=int(getattr(ti, "try_number", 0) or 0),
        map_index=-1 if map_index is None else int(map_index),
        owners=_owners(getattr(operator, "owner", None)),
        **_documentation(operator, _TASK_DOCS),
        task_attributes=task_attrs,
        ti_attributes=ti_attrs,
    )


def _runtime_dag_run(ti: Any) -> Any:
    """The DAG run of a task instance: the run context of a RuntimeTaskInstance, or the ORM relationship."""
    context = getattr(ti, "_ti_context_from_server", None)
    if context is not None:
        return context.dag_run
    return ti.dag_run


class _TaskContext(Mapping[str, Any]):
    """The task's template context, built on first use: most operators have no extractor that reads it,
    and building it costs a few hundred microseconds of the task's time per event."""

    __slots__ = ("_context", "_ti")

    def __init__(self, ti: Any) -> None:
        self._ti = ti
        self._context: Mapping[str, Any] | None = None

    def _built(self) -> Mapping[str, Any]:
        if self._context is None:
            self._context = self._ti.get_template_context()
        return self._context

    def __getitem__(self, key: str) -> Any:
        return self._built()[key]

    def __iter__(self) -> Any:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())

    def copy(self) -> dict[str, Any]:  # what code written for the plain dict may call
        return dict(self._built())


def _is_runtime(ti: Any) -> bool:
    """A task runner's RuntimeTaskInstance (as opposed to an ORM TaskInstance from the API or scheduler)."""
    return hasattr(ti, "_ti_context_from_server")


def _try_key(ti: Any) -> str:
    """Identity of a task try (the task instance id changes with every try)."""
    ti_id = getattr(ti, "id", None)
    if ti_id is not None:
        return str(ti_id)
    return (
        f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{getattr(ti, 'map_index', -1)}/{getattr(ti, 'try_number', 0)}"
    )


def _is_reentry(ti: Any) -> bool:
    """True when the task process resumes a try that already started (after a deferral or a reschedule)."""
    context = getattr(ti, "_ti_context_from_server", None)
    if context is None:
        return False
    return bool(context.next_method) or bool(context.task_reschedule_count)


def _resumes_start_trigger(ti: Any) -> bool:
    """The entry resumes the trigger the scheduler deferred the try to (``start_from_trigger``), or that
    trigger's failure or timeout (``__fail__``).

    A task that starts from the triggerer and then defers again from the worker to that same method gets a
    second START on the later resumption (nothing in the run context tells the two apart).
    """
    task = getattr(ti, "task", None)
    if getattr(task, "start_from_trigger", False) is not True:
        return False
    first = getattr(getattr(task, "start_trigger_args", None), "next_method", None)
    return ti._ti_context_from_server.next_method in (first, "__fail__")


def _never_ran(ti: Any) -> bool:
    """An ORM TaskInstance whose current try was given a state without running (start == end)."""
    start, end = getattr(ti, "start_date", None), getattr(ti, "end_date", None)
    return start is None or start == end


def _describe(exc: BaseException) -> str:
    """``safe_error(exc)``; only the exception's type when it cannot even be turned into text."""
    try:
        from airflow_lineage_provider.emission.redaction import safe_error

        return safe_error(exc)
    except Exception:  # its __str__ raises: the warning still goes out, nothing reaches Airflow
        return type(exc).__name__


def _lost_while_queued(ti: Any) -> bool:
    """An ORM TaskInstance the scheduler fails because its executor reported the try over while it was still
    scheduled or queued: the worker never started it, so no running hook sent its START.

    Airflow calls the failed hook with ``previous_state=RUNNING`` whatever the state was, so the state before
    is read from SQLAlchemy's attribute history (held until the session flushes; when it is gone this says
    False and the try gets its FAIL alone, as before). A try re-queued to resume after a deferral started
    already: its ``next_method``, cleared just before the hook, is in the history too; so did one queued for
    a later poke of a sensor in reschedule mode (it has reschedule rows).
    """
    try:
        from sqlalchemy import inspect, select
        from sqlalchemy.orm import object_session

        attributes = inspect(ti).attrs
        previous = attributes["state"].history.deleted
        if not previous or _enum_value(previous[0]) not in ("scheduled", "queued"):
            return False
        if any(attributes["next_method"].history.deleted):
            return False
        from airflow.models.taskreschedule import TaskReschedule

        session = object_session(ti)
        if session is None:
            return False
        poked = select(TaskReschedule.id).where(TaskReschedule.ti_id == ti.id).limit(1)
        with _read_fence(session):
            return session.execute(poked).first() is None
    except Exception as exc:  # not an ORM object, or not readable: the FAIL goes alone
        log.debug("lineage: cannot tell whether %s started: %s", getattr(ti, "task_id", "?"), exc)
        return False


# --- the listener -------------------------------------------------------------------------------------


class LineageListener:
    """Registered by the plugin; one per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: bool | None = None  # None: not set up yet; False: lineage off in this process
        self._test_runs_started: set[tuple[str, str, int]] = set()
        self._started: set[str] = set()  # task tries whose running hook this process saw
        self._ended: set[str] = set()  # task tries whose terminal hook this process saw (task side)
        self._stopping: dict[str, threading.Event] = {}  # tries whose SIGTERM check started (set: decided)
        self._outside: set[str] = set()  # tries ended from outside: their terminal event is not ours to send
        # state read after a SIGTERM once the try had ended itself (maybe its own report): its hook decides
        self._late_reads: dict[str, str] = {}
        self._dags: dict[str, tuple[float, Any]] = {}  # (loaded at, serialized DAG) by DAG version
        self._marks: dict[str, tuple[float, selection.Marks | None]] = {}  # by a run's DAG version
        # clear_number each DAG-run START named, with the run's start_date then (a run restarted since, by
        # another scheduler, makes the record stale)
        self._attempts: dict[tuple[str, str], tuple[int, Any]] = {}

    # -- plumbing --

    def reset(self) -> None:
        """Forget the set-up (tests, after ``conf.clear_cache()`` and ``reset_emitter()``)."""
        with self._lock:
            self._ready = None
            self._test_runs_started.clear()
            self._started.clear()
            self._ended.clear()
            self._stopping.clear()
            self._outside.clear()
            self._late_reads.clear()
            self._dags.clear()
            self._marks.clear()
            self._attempts.clear()

    def _setup(self) -> bool:
        """Build the emitter once; on bad configuration log one line and switch lineage off."""
        if self._ready is not None:
            return self._ready
        with self._lock:
            if self._ready is None:
                from airflow_lineage_provider import conf
                from airflow_lineage_provider.emission.emitter import get_emitter
                from airflow_lineage_provider.exceptions import ConfigError

                try:
                    emitter = get_emitter()
                    for accessor in conf.ACCESSORS.values():  # every option now: one line, not one per task
                        accessor()
                    _announce_embedded_default(emitter)
                    _warn_if_official_provider_enabled()
                    from airflow_lineage_provider.extractors.base import set_progress_reporter

                    set_progress_reporter(self.report_progress)
                    self._ready = True
                except ConfigError as exc:
                    log.error("lineage is switched off in this process, tasks run as usual: %s", exc)
                    self._ready = False
        return bool(self._ready)

    def _active(self) -> bool:
        from airflow_lineage_provider import conf

        try:
            if conf.is_disabled():
                return False
        except Exception:  # a bad value was reported by the plugin already
            return False
        return self._setup()

    @staticmethod
    def _emit(event: Any) -> None:
        from airflow_lineage_provider.emission.emitter import get_emitter

        get_emitter().emit(event)

    def _safely(self, hook: str, target: Any, fn: Any, *args: Any) -> None:
        try:
            if self._active():
                with _fenced(target):
                    fn(*args)
        except Exception as exc:
            ident = getattr(target, "task_id", None) or getattr(target, "run_id", "?")
            log.warning("lineage: %s failed for %s, no event sent: %s", hook, ident, _describe(exc))

    # -- task hooks --

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        self._safely("on_task_instance_running", task_instance, self._task_start, task_instance)

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._safely(
            "on_task_instance_success",
            task_instance,
            self._task_end,
            task_instance,
            "COMPLETE",
            "success",
            None,
            previous_state,
        )

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        self._safely(
            "on_task_instance_failed",
            task_instance,
            self._task_end,
            task_instance,
            "FAIL",
            _state(task_instance),
            error,
            previous_state,
        )

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        self._safely(
            "on_task_instance_skipped",
            task_instance,
            self._task_end,
            task_instance,
            "COMPLETE",
            "skipped",
            None,
            previous_state,
        )

    def report_progress(self, task_instance: Any, operator: Any) -> None:
        """A RUNNING event for a try in progress (``extractors.base.report_progress``); never raises."""
        self._safely("report_progress", task_instance, self._task_progress, task_instance, operator)

    def _task_progress(self, ti: Any, operator: Any) -> None:
        if _task_off(operator):
            return
        now = datetime.now(timezone.utc)
        self._emit_task(ti, operator, "RUNNING", "running", phase="running", event_time=now)

    # -- DAG-run hooks --

    @hookimpl
    def on_dag_run_running(self, dag_run: Any, msg: str) -> None:
        self._safely("on_dag_run_running", dag_run, self._dag_run_started, dag_run)

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._safely("on_dag_run_success", dag_run, self._dag_run_end, dag_run, "COMPLETE", None)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._safely(
            "on_dag_run_failed", dag_run, self._dag_run_end, dag_run, "FAIL", msg or "DAG run failed"
        )

    # -- bodies --

    def _resumed(self, ti: Any) -> bool:
        """This entry of the task process resumes a try whose START was sent already (by an earlier entry).

        The first worker entry of a try the scheduler deferred itself (``start_from_trigger``) carries
        ``next_method`` too, but no worker ran that try before: it is not a resumption, unless this process
        ran the try already (``dag.test()`` runs such a task on the worker from the start).
        """
        if not _is_reentry(ti):
            return False
        return _try_key(ti) in self._started or not _resumes_start_trigger(ti)

    def _task_start(self, ti: Any) -> None:
        resumed = self._resumed(ti)
        self._started.add(_try_key(ti))
        operator = getattr(ti, "task", None)
        if _is_runtime(ti):
            _reset_hook_lineage()  # a task never inherits SQL another task ran in this process
            _inject_child_job_parent(ti, operator)  # every entry: execute runs again on a re-entry
        dag_run = _runtime_dag_run(ti)
        if resumed:
            self._watch_sigterm(ti, operator, dag_run)
            return
        if _is_test_run(dag_run):
            self._test_run_start(dag_run, getattr(operator, "dag", None), getattr(ti, "start_date", None))
        if _task_off(operator):
            _publish_asset_events_only(ti, operator)
            return
        self._emit_task(
            ti,
            operator,
            "START",
            "running",
            phase="start",
            event_time=getattr(ti, "start_date", None),
            dag_run=dag_run,
        )
        self._watch_sigterm(ti, operator, dag_run)

    # -- a try Airflow ends from outside (task side) --

    def _watch_sigterm(self, ti: Any, operator: Any, dag_run: Any) -> None:
        """Chain a SIGTERM handler in front of the task runner's, for a reported try in a task process.

        Airflow ends a running try from outside (marked by hand, ``fail_fast``, ``dagrun_timeout``, cleared)
        by setting its state; the supervisor's next heartbeat is refused and it sends SIGTERM (the runner's
        handler calls the operator's ``on_kill``), then SIGKILL 5 s later. Not for ``dag.test()`` (no
        supervisor) nor off the main thread (only it can set handlers). Never in the task's way.
        """
        if not _is_runtime(ti) or threading.current_thread() is not threading.main_thread():
            return
        try:
            if _is_test_run(dag_run) or _task_off(operator):
                return
            previous = signal.getsignal(signal.SIGTERM)
            if isinstance(previous, _SigtermWatch):
                previous = previous.previous
            if callable(previous):  # the runner's; else (default, ignored) nothing to chain to
                signal.signal(signal.SIGTERM, _SigtermWatch(self, ti, operator, previous))
        except Exception as exc:  # the try runs as usual, without the check
            log.debug("lineage: cannot watch SIGTERM for %s: %s", getattr(ti, "task_id", "?"), exc)

    def _sigterm(self, ti: Any, operator: Any) -> None:
        """In the signal handler: start the check of the try's state on a thread of its own, and return.

        Takes no lock (the signal may land while the main thread holds any); ``_thread.start_new_thread``
        does not take the ``threading`` module's locks either.
        """
        key = _try_key(ti)
        if key in self._ended or key in self._stopping:
            return  # the try ended already (a SIGTERM after its end), or is being checked
        decided = threading.Event()
        self._stopping[key] = decided
        _thread.start_new_thread(self._check_outside_end, (ti, operator, key, decided, time.monotonic()))

    def _check_outside_end(
        self, ti: Any, operator: Any, key: str, decided: threading.Event, signalled: float
    ) -> None:
        """Ask Airflow what became of the try; when it was ended from outside, claim its end.

        Ended by a hook elsewhere (marked by hand: the API server sent its terminal event): claimed
        silently. Ended without one (``fail_fast``, ``dagrun_timeout``, cleared, removed): an ABORT, delivered
        or spooled within ``_ABORT_DELIVERY_SECONDS`` of the signal. Still running (the SIGTERM came from
        elsewhere: a worker shutting down, heartbeats failing) or no answer: nothing; the try ends as usual.
        """
        emitted = False
        try:
            verdict, state = _outside_end(ti, operator)
            if verdict == "reported" and getattr(ti, "end_date", None) is not None:
                # the runner set the try's end before reporting it: the state read may be the task's own
                # report (a SIGTERM from elsewhere, then the task ended); its hook compares it with its own
                # end (``_ended_from_outside``): another state was set from outside, the same may be its own
                with self._lock:
                    self._late_reads[key] = state
                verdict = None
            if verdict is None:
                return
            with self._lock:
                if key in self._ended:
                    return  # the try ended by itself meanwhile and sent its terminal event
                self._ended.add(key)
                self._outside.add(key)
            if verdict == "abort":
                now = datetime.now(timezone.utc)
                self._emit_task(ti, operator, "ABORT", state, phase=None, event_time=now)
                emitted = True
            log.debug("lineage: %s was ended from outside (Airflow state %s)", ti.task_id, state)
        except Exception as exc:  # lineage only: the try is being stopped anyway
            log.warning("lineage: cannot tell whether %s was ended from outside: %s",
                        getattr(ti, "task_id", "?"), _describe(exc))  # fmt: skip
        finally:
            decided.set()
        if emitted:
            _deliver_before_kill(signalled)

    def _ended_from_outside(self, ti: Any, state: str) -> bool:
        """Task side, in a terminal hook ending the try in ``state``: True when the try's end was claimed
        after a SIGTERM (its terminal event is sent, or another hook's stands), or when the state read after
        the SIGTERM is another one than this end's (set from outside, e.g. marked failed by hand while the
        task went on to succeed: the hand mark's hook reported it); else the end is this hook's."""
        key = _try_key(ti)
        pending = self._stopping.get(key)
        if pending is not None:
            pending.wait(_ABORT_DECISION_SECONDS)
        with self._lock:
            read = self._late_reads.pop(key, None)
            if key in self._outside:
                return True
            self._ended.add(key)
            if read is not None and read != state:
                self._outside.add(key)
                return True
            return False

    def _task_end(self, ti: Any, event_type: str, state: str, error: Any, previous_state: Any) -> None:
        runtime = _is_runtime(ti)
        if runtime and _try_key(ti) not in self._started and not self._resumed(ti):
            self._task_start(ti)  # failed before the running hook (e.g. a template error): still one START
        if runtime and self._ended_from_outside(ti, state):
            return
        operator = getattr(ti, "task", None)
        dag = None
        if operator is None and not runtime:  # the API server's ORM TaskInstance comes without its task
            dag = self._serialized_dag(ti, getattr(ti, "dag_version_id", None))
            operator = dag.task_dict.get(ti.task_id) if dag is not None else None
        by_hand = not runtime and previous_state is None
        # by hand: a try given a state without running; the scheduler: a try its executor lost while queued
        never_ran = _never_ran(ti) if by_hand else not runtime and _lost_while_queued(ti)
        # a try that ran is decided on its own version (as its START was); one that never ran, on its run's
        marks = self._run_marks_of(ti) if never_ran else None
        off = _task_off(operator, dag) if marks is None else _never_ran_off(operator, ti.task_id, marks)
        if off:
            return
        if never_ran:
            self._emit_task(
                ti,
                operator,
                "START",
                "running",
                phase=None,
                event_time=getattr(ti, "start_date" if by_hand else "end_date", None),
                dag=dag,
            )
        phase = (
            None
            if state == "skipped" or by_hand or never_ran
            else ("complete" if event_type == "COMPLETE" else "failure")
        )
        self._emit_task(
            ti,
            operator,
            event_type,
            state,
            phase=phase,
            error=error,
            event_time=getattr(ti, "end_date", None),
            dag=dag,
        )

    def _run_marks_of(self, ti: Any) -> selection.Marks | None:
        """The marks of the DAG version an ORM TaskInstance's run was created with (None: unknown)."""
        try:
            with _read_fence(_orm_session(ti)):
                dag_run = ti.dag_run  # the event needs it anyway
        except Exception:  # a detached row
            return None
        version_id = getattr(dag_run, "created_dag_version_id", None)
        return self._version_marks(dag_run, version_id) if version_id is not None else None

    def _serialized_dag(self, row: Any, version_id: Any) -> Any:
        """The serialized DAG of an ORM TaskInstance or DagRun at ``version_id`` (None: the latest version).

        None when not found or when ``row`` is not bound to a session (the task side).
        """
        key = str(version_id) if version_id is not None else f"latest:{row.dag_id}"
        now = time.monotonic()
        cached = self._dags.get(key)
        if cached is not None and now - cached[0] < _DAG_CACHE_SECONDS:
            return cached[1]
        dag = _read_serialized_dag(row, version_id)
        with self._lock:
            self._dags.pop(key, None)
            while len(self._dags) >= _DAG_CACHE_SIZE:
                self._dags.pop(next(iter(self._dags)))
            self._dags[key] = (now, dag)
        return dag

    def _emit_task(
        self,
        ti: Any,
        operator: Any,
        event_type: str,
        state: str,
        *,
        phase: str | None,
        error: Any = None,
        event_time: datetime | None = None,
        dag_run: Any = None,
        dag_info: DagRunInfo | None = None,
        dag: Any = None,
    ) -> None:
        from airflow_lineage_provider import conf
        from airflow_lineage_provider.emission.events import build_task_event
        from airflow_lineage_provider.extractors.base import OperatorLineage
        from airflow_lineage_provider.extractors.manager import get_manager

        if dag_info is None:
            dag_run = dag_run if dag_run is not None else _runtime_dag_run(ti)
            dag_info = dag_run_info(dag_run, dag if dag is not None else getattr(operator, "dag", None))
        lineage = OperatorLineage()
        if phase is not None and operator is not None:
            context = _TaskContext(ti) if _is_runtime(ti) else None
            lineage = get_manager().extract(phase, operator, context, ti, error)
        task = task_info(ti, operator, state)
        if phase in ("complete", "failure") and conf.hook_lineage_child_jobs():
            self._emit_child_jobs(dag_info, task, event_time)
        event = build_task_event(
            event_type,
            dag_info,
            task,
            namespace=conf.namespace(),
            event_time=event_time,
            inputs=lineage.inputs,
            outputs=lineage.outputs,
            run_facets=lineage.run_facets,
            job_facets=lineage.job_facets,
            error=error,
            include_airflow_facet=conf.include_airflow_facet(),
        )
        self._emit(event)

    def _emit_child_jobs(self, dag_info: DagRunInfo, task: TaskInfo, when: datetime | None) -> None:
        """START + COMPLETE per query the task ran through a hook (``hook_lineage_child_jobs``)."""
        from airflow_lineage_provider import conf
        from airflow_lineage_provider.emission.events import build_child_event
        from airflow_lineage_provider.extractors.hook_lineage import take_child_jobs

        for child in take_child_jobs():
            for event_type in ("START", "COMPLETE"):
                self._emit(
                    build_child_event(
                        event_type,
                        dag_info,
                        task,
                        child.suffix,
                        namespace=conf.namespace(),
                        event_time=when,
                        inputs=child.lineage.inputs,
                        outputs=child.lineage.outputs,
                        run_facets=child.lineage.run_facets,
                        job_facets=child.lineage.job_facets,
                    )
                )

    def _test_run_start(self, dag_run: Any, dag: Any = None, when: datetime | None = None) -> None:
        """dag.test() never calls on_dag_run_running: send the DAG-run START before the first task START."""
        key = (dag_run.dag_id, dag_run.run_id, int(getattr(dag_run, "clear_number", 0) or 0))
        if key not in self._test_runs_started:
            self._test_runs_started.add(key)
            self._dag_run_start(dag_run, dag, when)  # not start_date: dag.test() sets it to the logical date

    def _run_dag(self, dag_run: Any, dag: Any = None) -> tuple[Any, selection.Marks]:
        """The DAG that describes a run (given, attached by the scheduler, or read from the serialized DAG
        table), and the marks that decide whether the run is reported.

        The marks are those of the DAG version the run was created with (``created_dag_version_id``), the
        same for the run's START and its end, whatever the DAG file became meanwhile (the scheduler attaches
        the latest version). Where that version cannot be read (no session, no version on the row), and for
        ``dag.test()`` runs (whose START the task side decides on the DAG object being tested), the
        describing DAG's own marks decide.
        """
        version_id = getattr(dag_run, "created_dag_version_id", None)
        decide_at_version = version_id is not None and not _is_test_run(dag_run)
        if dag is None:
            dag = getattr(dag_run, "dag", None)
        if dag is None:  # the API server: no DAG attached, read the run's version (or the latest)
            dag = self._serialized_dag(dag_run, version_id)
            if decide_at_version and dag is not None:
                return dag, self._version_marks(dag_run, version_id, dag) or selection.marks(dag)
            return dag, selection.marks(dag)
        marks = self._version_marks(dag_run, version_id) if decide_at_version else None
        return dag, marks if marks is not None else selection.marks(dag)

    def _version_marks(self, dag_run: Any, version_id: Any, dag: Any = None) -> selection.Marks | None:
        """The marks of DAG version ``version_id`` (``dag``, when the caller read that version already).

        Kept per version for the process's life: a version a run was created with is not rewritten (Airflow
        updates a serialized DAG in place only while no task instance refers to its version). None when it
        cannot be read; that is remembered for ``_DAG_CACHE_SECONDS``, so a missing version costs one read
        per interval, not one per event.
        """
        key = str(version_id)
        now = time.monotonic()
        cached = self._marks.get(key)
        if cached is not None and (cached[1] is not None or now - cached[0] < _DAG_CACHE_SECONDS):
            return cached[1]
        if dag is None:
            dag = _read_serialized_dag(dag_run, version_id)
        marks = selection.marks(dag) if dag is not None else None
        with self._lock:
            self._marks.pop(key, None)
            while len(self._marks) >= _MARKS_CACHE_SIZE:
                self._marks.pop(next(iter(self._marks)))
            self._marks[key] = (now, marks)
        return marks

    def _dag_run_started(self, dag_run: Any) -> None:
        self._dag_run_start(dag_run, None, getattr(dag_run, "start_date", None))  # read inside the fence

    def _dag_run_start(self, dag_run: Any, dag: Any = None, when: datetime | None = None) -> None:
        from airflow_lineage_provider import conf
        from airflow_lineage_provider.emission.events import build_dag_run_event

        dag, marks = self._run_dag(dag_run, dag)
        if _run_off(marks):
            return
        info = _run_info_with_upstream(dag_run, dag)
        self._emit(
            build_dag_run_event(
                "START",
                info,
                namespace=conf.namespace(),
                event_time=when,
                include_airflow_facet=conf.include_airflow_facet(),
            )
        )
        with self._lock:
            self._attempts.pop((info.dag_id, info.run_id), None)
            while len(self._attempts) >= _ATTEMPTS_SIZE:
                self._attempts.pop(next(iter(self._attempts)))
            self._attempts[(info.dag_id, info.run_id)] = (
                info.clear_number,
                getattr(dag_run, "start_date", None),
            )

    def _dag_run_end(self, dag_run: Any, event_type: str, error: str | None) -> None:
        from airflow_lineage_provider import conf
        from airflow_lineage_provider.emission.events import build_dag_run_event

        was_finished = _was_finished(dag_run)  # read first: a flush (not ours: _fenced) clears the history
        if _is_test_run(dag_run):  # no task START sent it: dated before the run's first event, not now
            self._test_run_start(dag_run, when=_earliest_task_date(dag_run))
        dag, marks = self._run_dag(dag_run)
        if _run_off(marks):
            return
        info = _run_info_with_upstream(dag_run, dag)
        self._close_cleared_attempt(dag_run, info, was_finished)
        if not was_finished:  # else the terminal hook of its first finish reported them already
            self._emit_never_ran(dag_run, info, dag, marks)
            self._close_open_tries(dag_run, info, dag)
        self._emit(
            build_dag_run_event(
                event_type,
                info,
                namespace=conf.namespace(),
                event_time=getattr(dag_run, "end_date", None),
                error=error,
                include_airflow_facet=conf.include_airflow_facet(),
            )
        )

    def _close_cleared_attempt(self, dag_run: Any, info: DagRunInfo, was_finished: bool = False) -> None:
        """Tasks cleared while the run was going on: end the attempt its START named, start the new one.

        A clear raises the run's ``clear_number`` (part of its run id) without moving a running run back to
        queued, so no ``on_dag_run_running`` follows: the START this process sent names the old attempt,
        and the end names the new one. The old attempt gets ABORT and the new one its START, both at the
        clear (``queued_at``); the tasks that ran after the clear already name the new one as parent.

        The process that sent the START (a scheduler) knows which attempt it named, as long as the run has not
        started again since (its ``start_date`` is still the one of that START: in an HA pair the other
        scheduler may have ended the run and started it again after a clear). Another one (the other
        scheduler of an HA pair, or this one restarted) reads the clear off the run itself: a run cleared
        since it started has ``queued_at`` after ``start_date`` (a finished run that is cleared gets a new
        ``start_date`` when it starts again, with its own START). It then takes the START to have named the
        attempt just before this one, which is right for one clear during the run; after several, the ABORT
        names an attempt that never started and the one that did stays open.

        A finished run marked again by hand (``was_finished``) switched attempts when it first finished, in
        whichever process ended it: nothing is switched a second time.
        """
        import attrs

        from airflow_lineage_provider import conf
        from airflow_lineage_provider.emission.events import build_dag_run_event

        with self._lock:
            recorded = self._attempts.pop((info.dag_id, info.run_id), None)
        if was_finished:
            return
        if recorded is not None and recorded[1] == getattr(dag_run, "start_date", None):
            started: int | None = recorded[0]
        else:  # never started here, or started again elsewhere since (a new start_date): read the run
            started = _attempt_started_elsewhere(dag_run, info.clear_number)
        if started is None or started == info.clear_number:
            return
        cleared_at = getattr(dag_run, "queued_at", None) or getattr(dag_run, "end_date", None)
        old = attrs.evolve(info, clear_number=started)
        for event_type, attempt in (("ABORT", old), ("START", info)):
            self._emit(
                build_dag_run_event(
                    event_type,
                    attempt,
                    namespace=conf.namespace(),
                    event_time=cleared_at,
                    include_airflow_facet=conf.include_airflow_facet(),
                )
            )

    def _close_open_tries(self, dag_run: Any, info: DagRunInfo, dag: Any) -> None:
        """The terminal event of tries this process started and Airflow ended without a task hook.

        Only a process that ran the run's tasks knows which tries are open: ``dag.test()``, which fails a
        deferred try itself when its trigger raises (a triggerer would resume the task to fail it). Elsewhere
        nothing is open and nothing is read.
        """
        open_tries = self._started - self._ended
        if not open_tries:
            return
        from sqlalchemy.orm import object_session

        session = object_session(dag_run)
        tasks = getattr(dag, "task_dict", None) or {}
        for ti in dag_run.get_task_instances(**({"session": session} if session is not None else {})):
            state = _enum_value(ti.state)
            if _try_key(ti) not in open_tries or state not in _ENDED_STATES:
                continue
            self._ended.add(_try_key(ti))
            operator = tasks.get(ti.task_id)
            if _task_off(operator, dag):
                continue
            ok = state in ("success", "skipped")
            error = None if ok else f"the try ended without a task hook (Airflow state {state})"
            self._emit_task(
                ti, operator, "COMPLETE" if ok else "FAIL", state, phase=None, event_time=ti.end_date,
                dag_info=info, error=error,
            )  # fmt: skip

    def _claim_end(self, ti: Any) -> bool:
        """True when no terminal event of the try went out from this process yet; it is claimed now (one
        process running the tries and the scheduler, e.g. ``dag.test()``, ends each try once)."""
        key = _try_key(ti)
        with self._lock:
            if key in self._ended:
                return False
            self._ended.add(key)
            return True

    def _abort_deferred(self, dag_run: Any, ti: Any, info: DagRunInfo, dag: Any) -> None:
        """ABORT for a try ``dagrun_timeout`` or ``fail_fast`` skipped while it was deferred.

        No task process runs it and no hook fires, so nothing else ends it. It still names its trigger (the
        trigger's firing clears that, as does the triggerer's clean-up afterwards: a try resumed on a worker
        does not, and its task process sends the ABORT, ``_check_outside_end``), and has no end date (the
        timeout sets none) or ``fail_fast`` stopped the run (``_fail_fast_stopped``; a hand mark also sets an
        end date, and its hook sent its event). Its
        START came from the worker that deferred it, unless the scheduler deferred it (``start_from_trigger``)
        and no worker ever ran it: then a START goes first. Decided like the try's START, on its task.
        """
        operator = dag.task_dict.get(ti.task_id) if dag is not None and hasattr(dag, "task_dict") else None
        if _task_off(operator, dag) or not self._claim_end(ti):
            return
        first = getattr(getattr(operator, "start_trigger_args", None), "next_method", None)
        never_on_a_worker = getattr(operator, "start_from_trigger", False) is True and ti.next_method == first
        end = ti.end_date or getattr(dag_run, "end_date", None)
        if never_on_a_worker:
            self._emit_task(ti, operator, "START", "running", phase=None, event_time=ti.start_date or end,
                            dag_info=info)  # fmt: skip
        self._emit_task(ti, operator, "ABORT", "skipped", phase=None, event_time=end, dag_info=info)

    def _abort_between_pokes(self, dag_run: Any, ti: Any, info: DagRunInfo, dag: Any) -> None:
        """ABORT for a reschedule-mode sensor's try that ``dagrun_timeout`` or ``fail_fast`` skipped between
        two pokes (``_stopped_between_pokes``): no task process ran, no hook fired. Its START came from its
        first poke; the end is the run's (the try's end date is its last poke's)."""
        operator = dag.task_dict.get(ti.task_id) if dag is not None and hasattr(dag, "task_dict") else None
        if _task_off(operator, dag) or not self._claim_end(ti):
            return
        end = getattr(dag_run, "end_date", None) or ti.end_date
        self._emit_task(ti, operator, "ABORT", "skipped", phase=None, event_time=end, dag_info=info)

    def _emit_never_ran(self, dag_run: Any, info: DagRunInfo, dag: Any, marks: selection.Marks) -> None:
        """Events for tasks the scheduler ended without running them, which no task hook saw.

        Skipped (branching, trigger rules): START + COMPLETE. ``upstream_failed``: START + FAIL with an
        ``errorMessage`` saying so, so a lineage backend shows how a failure cascaded (e.g. a quality gate
        with ``on_breach="fail"``) instead of jobs that silently never reported. Decided on ``marks``, the
        run's own (no try of theirs ran any code); ``dag`` only describes them.
        """
        from sqlalchemy.orm import object_session

        session = object_session(dag_run)
        kwargs = {"session": session} if session is not None else {}
        for ti in _never_ran_candidates(dag_run, session, kwargs):
            state = _enum_value(ti.state)
            if state not in ("skipped", "upstream_failed"):
                continue
            stale = False  # the dates are an earlier try's: this one never ran, its own are unknown
            if state == "skipped" and ti.try_number and not _never_ran(ti):
                stale = _stale_dates(ti, session)
                if not stale:
                    if getattr(ti, "trigger_id", None) is not None and (
                        ti.end_date is None or _fail_fast_stopped(dag_run, dag, kwargs)
                    ):
                        self._abort_deferred(dag_run, ti, info, dag)  # deferred when the run ended it
                    elif _stopped_between_pokes(ti, dag_run, dag, session, kwargs):
                        self._abort_between_pokes(dag_run, ti, info, dag)
                    continue  # else it ran and skipped itself: its own hook reported it
            operator = (
                dag.task_dict.get(ti.task_id) if dag is not None and hasattr(dag, "task_dict") else None
            )
            if _never_ran_off(operator, ti.task_id, marks):
                continue
            start = (None if stale else ti.start_date or ti.end_date) or getattr(dag_run, "end_date", None)
            end = (None if stale else ti.end_date) or start
            self._emit_task(ti, operator, "START", "running", phase=None, event_time=start, dag_info=info)
            if state == "skipped":
                self._emit_task(ti, operator, "COMPLETE", state, phase=None, event_time=end, dag_info=info)
            else:
                self._emit_task(
                    ti, operator, "FAIL", state, phase=None, event_time=end, dag_info=info,
                    error="not run: an upstream task failed (Airflow state upstream_failed)",
                )  # fmt: skip
        for ti in _short_circuited(dag_run, dag, kwargs):
            operator = dag.task_dict.get(ti.task_id)
            if _never_ran_off(operator, ti.task_id, marks):
                continue
            start = ti.start_date or ti.end_date or getattr(dag_run, "end_date", None)
            end = ti.end_date or start
            self._emit_task(ti, operator, "START", "running", phase=None, event_time=start, dag_info=info)
            self._emit_task(ti, operator, "COMPLETE", "success", phase=None, event_time=end, dag_info=info)


class _SigtermWatch:
    """The task process's SIGTERM handler while a reported try runs: the listener's check, then the handler
    it replaced (the task runner's, which calls the operator's ``on_kill``), at once."""

    __slots__ = ("listener", "operator", "pid", "previous", "ti")

    def __init__(self, listener: LineageListener, ti: Any, operator: Any, previous: Any) -> None:
        self.listener = listener
        self.ti = ti
        self.operator = operator
        self.previous = previous
        self.pid = os.getpid()

    def __call__(self, signum: int, frame: Any) -> None:
        if os.getpid() == self.pid:  # not in a child the task forked (the runner's handler checks too)
            try:
                self.listener._sigterm(self.ti, self.operator)
            except Exception:  # a signal handler: never in the way of on_kill
                pass
        self.previous(signum, frame)


def _outside_end(ti: Any, operator: Any) -> tuple[str | None, str]:
    """``(verdict, Airflow state)`` of a try whose task process got SIGTERM, read from the API server.

    ``"abort"``: Airflow ended it without a task hook (``fail_fast`` fails it, ``dagrun_timeout`` skips it
    and fails the run, a clear restarts it, it was removed). ``"reported"``: ended with a hook elsewhere
    (marked by hand through the UI or REST API, which sends its terminal event). None: not ended from
    outside (still running, or in a state the task itself reported, like ``deferred``).
    """
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    map_index = getattr(ti, "map_index", -1)
    map_index = -1 if map_index is None else int(map_index)
    states = RuntimeTaskInstance.get_task_states(
        dag_id=ti.dag_id, map_index=map_index, task_ids=[ti.task_id], run_ids=[ti.run_id]
    )
    name = ti.task_id if map_index < 0 else f"{ti.task_id}_{map_index}"
    found = (states.get(ti.run_id) or {}).get(name, "removed")  # no row: deleted with its run
    state = str(_enum_value(found) or "removed")
    dag = getattr(operator, "dag", None)
    if state == "failed":
        # fail_fast fails the running tries once another try failed for good; a try marked failed by
        # hand in a fail_fast DAG (no other failure) got its event from the API server's hook
        stopped = getattr(dag, "fail_fast", False) and _failed_elsewhere(ti, name, RuntimeTaskInstance)
        return ("abort" if stopped else "reported"), state
    if state == "skipped":
        timed_out = getattr(dag, "dagrun_timeout", None) is not None and (
            str(_enum_value(RuntimeTaskInstance.get_dagrun_state(ti.dag_id, ti.run_id))) == "failed"
        )
        return ("abort" if timed_out else "reported"), state
    if state in ("success", "up_for_retry"):
        return "reported", state
    if state in ("restarting", "removed"):
        return "abort", state
    return None, state


def _failed_elsewhere(ti: Any, name: str, runtime: Any) -> bool:
    """True when another try of the run is ``failed`` (what makes ``fail_fast`` stop the rest)."""
    states = (runtime.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id)) or {}
    return any(other != name and str(_enum_value(st)) == "failed" for other, st in states.items())


def _deliver_before_kill(signalled: float) -> None:
    """Deliver what is queued (the ABORT last) before the SIGKILL; what is not delivered in time is
    spooled (``Emitter.close``), for the next process on this machine to replay."""
    from airflow_lineage_provider.emission.emitter import get_emitter

    emitter = get_emitter()
    if not emitter.flush(max(0.0, signalled + _ABORT_DELIVERY_SECONDS - time.monotonic())):
        emitter.close(0.0)


_NEVER_RAN_STATES = ("skipped", "upstream_failed")
#: states a try ends in (up_for_retry: that try failed, the next one is another run)
_ENDED_STATES = ("success", "failed", "skipped", "up_for_retry")


def _stale_dates(ti: Any, session: Any) -> bool:
    """True when an ORM TaskInstance still has the start date of an earlier try: its current try never
    started (a retry scheduled, then skipped by ``dagrun_timeout`` or ``fail_fast``). Read from the task
    instance history; False when it cannot be read (the try is then taken to have run, as before)."""
    if session is None or int(ti.try_number or 0) < 2 or ti.start_date is None:
        return False
    try:
        from airflow.models.taskinstancehistory import TaskInstanceHistory as TIH
        from sqlalchemy import select

        query = select(TIH.try_number).where(
            TIH.dag_id == ti.dag_id,
            TIH.run_id == ti.run_id,
            TIH.task_id == ti.task_id,
            TIH.map_index == ti.map_index,
            TIH.try_number < ti.try_number,
            TIH.start_date == ti.start_date,
        )
        with _read_fence(session):
            return session.execute(query.limit(1)).first() is not None
    except Exception as exc:
        log.debug("lineage: cannot read the earlier tries of %s: %s", ti.task_id, exc)
        return False


def _never_ran_candidates(dag_run: Any, session: Any, kwargs: dict[str, Any]) -> list[Any]:
    """The run's task instances that are skipped or upstream_failed, in the database or in ``session``.

    The hook never flushes the scheduler's session (``_fenced``), so states it set and has not written yet
    are found among the session's changed objects; the rows read come back as the session's own objects,
    whose state (changed in memory or not) the caller checks again.
    """
    found = {id(ti): ti for ti in dag_run.get_task_instances(state=list(_NEVER_RAN_STATES), **kwargs)}
    if session is not None:
        from airflow.models.taskinstance import TaskInstance

        for obj in (*session.dirty, *session.new):
            if (
                isinstance(obj, TaskInstance)
                and obj.dag_id == dag_run.dag_id
                and obj.run_id == dag_run.run_id
                and _enum_value(obj.state) in _NEVER_RAN_STATES
            ):
                found.setdefault(id(obj), obj)
    return list(found.values())


def _short_circuited(dag_run: Any, dag: Any, kwargs: dict[str, Any]) -> list[Any]:
    """The run's trivial ``EmptyOperator`` tries the scheduler set to success without running them
    (``DagRun.schedule_tis``: no callbacks, inlets or outlets), which no task hook saw.

    Told apart from one a worker ran (``dag.test()`` runs every task; its own hooks reported it) by the
    worker's marks on the row: a try that ran has the host and process that ran it.
    """
    tasks = getattr(dag, "task_dict", None)
    if not tasks:
        return []
    try:
        from airflow.models.taskinstance import TaskInstance

        empty = {task_id for task_id, task in tasks.items() if not TaskInstance.is_task_schedulable(task)}
        if not empty:
            return []
        done = dag_run.get_task_instances(state=["success"], **kwargs)
    except Exception as exc:  # an Airflow without the check, a task it cannot judge: none reported
        log.debug("lineage: cannot list the short-circuited tasks of %s: %s", dag_run.run_id, exc)
        return []
    return [
        ti
        for ti in done
        if ti.task_id in empty and not getattr(ti, "hostname", None) and getattr(ti, "pid", None) is None
    ]


def _earliest_task_date(dag_run: Any) -> datetime | None:
    """The earliest start or end date of the run's task instances, else the run's end (``dag.test()`` sets
    the run's start date to its logical date, so that one cannot date the run's START)."""
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    kwargs = {"session": session} if session is not None else {}
    end = getattr(dag_run, "end_date", None)
    try:
        dates = [
            date
            for ti in dag_run.get_task_instances(**kwargs)
            for date in (ti.start_date, ti.end_date)
            if date is not None
        ]
        return min([*dates, *([end] if end is not None else [])], default=None)
    except Exception as exc:  # naive and aware dates mixed, no session: the run's end
        log.debug("lineage: cannot read the task dates of %s: %s", getattr(dag_run, "run_id", "?"), exc)
        return end


def _fail_fast_stopped(dag_run: Any, dag: Any, kwargs: dict[str, Any]) -> bool:
    """True when ``fail_fast`` stopped the run's other tries: the DAG has it and a try of the run failed.

    A deferred try it skipped gets an end date, as one skipped by hand does (whose hook reported it); a hand
    mark in a run where a try has failed for good is the one case taken for ``fail_fast`` wrongly.
    """
    if not getattr(dag, "fail_fast", False):
        return False
    return bool(dag_run.get_task_instances(state=["failed"], **kwargs))


def _stopped_between_pokes(ti: Any, dag_run: Any, dag: Any, session: Any, kwargs: dict[str, Any]) -> bool:
    """True for a skipped try whose last act was a reschedule (a sensor in reschedule mode, between two
    pokes or queued for the next), in a run ``dagrun_timeout`` failed or ``fail_fast`` stopped.

    A poke that runs clears the try's end date, and one that skips itself sets a later one; a reschedule
    sets it to the poke's end, as its reschedule record does, and a skip from outside keeps it. A try marked
    skipped by hand there looks the same, but its hook reported it: taken for an outside end only in a run
    that timed out or that ``fail_fast`` stopped. False when the record cannot be read.
    """
    if session is None or ti.end_date is None or getattr(ti, "id", None) is None:
        return False
    timed_out = getattr(dag, "dagrun_timeout", None) is not None and _enum_value(dag_run.state) == "failed"
    if not timed_out and not _fail_fast_stopped(dag_run, dag, kwargs):
        return False
    try:
        from airflow.models.taskreschedule import TaskReschedule
        from sqlalchemy import select

        last = session.scalar(
            select(TaskReschedule.end_date)
            .where(TaskReschedule.ti_id == ti.id)
            .order_by(TaskReschedule.id.desc())
            .limit(1)
        )
    except Exception as exc:  # the try is taken to have ended by itself, as before
        log.debug("lineage: cannot read the reschedules of %s: %s", ti.task_id, _describe(exc))
        return False
    return last is not None and last == ti.end_date


def _run_info_with_upstream(dag_run: Any, dag: Any) -> DagRunInfo:
    """:func:`dag_run_info` for a DAG-run event, with the task tries that triggered the run (if by assets)."""
    import attrs

    return attrs.evolve(dag_run_info(dag_run, dag), upstream=_asset_upstream(dag_run))


#: at most this many asset events of one run are traced to the task tries that emitted them
_MAX_UPSTREAM = 100


def _asset_upstream(dag_run: Any) -> tuple[UpstreamTry, ...]:
    """The task tries whose asset events triggered an asset-triggered run (scheduler side: the ORM run).

    The try is the one running when the event was emitted: the task instance row holds only its latest try,
    so a try that started after the event (a clear, a retry) sends us to the task instance history.
    Events posted through the REST API name no task and are left out; so is everything on failure.

    Read in the run's session without flushing it (the hook runs inside the scheduler's transaction), in at
    most four queries whatever the number of events: the first ``_MAX_UPSTREAM`` events that name a task,
    their DAG runs, and the tries of their task instances (current and history).
    """
    if str(_enum_value(getattr(dag_run, "run_type", ""))) != "asset_triggered":
        return ()
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is None:
        return ()
    try:
        with session.no_autoflush, _read_fence(session):
            return _upstream_tries(session, dag_run)
    except Exception as exc:  # a DB error: the event goes out without the facet
        from airflow_lineage_provider.emission.redaction import safe_error

        log.warning("lineage: cannot trace the asset events of DAG run %s/%s: %s", dag_run.dag_id,
                    dag_run.run_id, safe_error(exc))  # fmt: skip
        return ()


def _consumed_events(session: Any, dag_run: Any) -> list[tuple[Any, ...]]:
    """``(timestamp, id, dag_id, run_id, task_id, map_index, uri)`` of the first events that name a task.

    From the run's ``consumed_asset_events`` when they are in memory already (a run not written yet has
    only those), else one query that reads no more than the events traced.
    """
    from sqlalchemy import inspect as sa_inspect

    if "consumed_asset_events" not in sa_inspect(dag_run).unloaded or getattr(dag_run, "id", None) is None:
        events = [
            (e.timestamp, e.id, e.source_dag_id, e.source_run_id, e.source_task_id, e.source_map_index, e.uri)
            for e in dag_run.consumed_asset_events
            if e.source_dag_id and e.source_task_id
        ]
        return sorted(events, key=lambda e: (e[0], e[1] or 0))[: _MAX_UPSTREAM + 1]
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    consumed = DagRun.consumed_asset_events.property.secondary
    query = (
        select(
            AssetEvent.timestamp,
            AssetEvent.id,
            AssetEvent.source_dag_id,
            AssetEvent.source_run_id,
            AssetEvent.source_task_id,
            AssetEvent.source_map_index,
            AssetModel.uri,
        )
        .join(consumed, consumed.c.event_id == AssetEvent.id)
        .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
        .where(
            consumed.c.dag_run_id == dag_run.id,
            AssetEvent.source_dag_id.is_not(None),
            AssetEvent.source_task_id.is_not(None),
        )
        .order_by(AssetEvent.timestamp, AssetEvent.id)
        .limit(_MAX_UPSTREAM + 1)
    )
    return [tuple(row) for row in session.execute(query).all()]


def _upstream_tries(session: Any, dag_run: Any) -> tuple[UpstreamTry, ...]:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from sqlalchemy import and_, or_, select

    from airflow_lineage_provider.emission.events import UpstreamTry, distinct_run_id

    events = _consumed_events(session, dag_run)
    if len(events) > _MAX_UPSTREAM:
        log.debug("DAG run %s/%s consumed more than %d asset events; the first %d are traced", dag_run.dag_id,
                  dag_run.run_id, _MAX_UPSTREAM, _MAX_UPSTREAM)  # fmt: skip
        events = events[:_MAX_UPSTREAM]
    if not events:
        return ()
    runs = sorted({(e[2], e[3]) for e in events})
    instants: dict[tuple[str, str], datetime] = {}
    distinct: dict[tuple[str, str], str | None] = {}
    for dag_id, run_id, logical_date, run_after in session.execute(
        select(DagRun.dag_id, DagRun.run_id, DagRun.logical_date, DagRun.run_after).where(
            or_(*(and_(DagRun.dag_id == d, DagRun.run_id == r) for d, r in runs))
        )
    ).all():
        if logical_date or run_after:
            instants[(dag_id, run_id)] = logical_date or run_after
            distinct[(dag_id, run_id)] = distinct_run_id(logical_date, run_id)
    keys = sorted(
        {(e[2], e[3], e[4], -1 if e[5] is None else e[5]) for e in events if (e[2], e[3]) in instants}
    )
    tries: dict[tuple[str, str, str, int], list[tuple[Any, int]]] = {key: [] for key in keys}
    for model in (TaskInstance, TaskInstanceHistory):
        if not keys:
            break
        rows = session.execute(
            select(
                model.dag_id, model.run_id, model.task_id, model.map_index, model.try_number, model.start_date
            ).where(
                or_(
                    *(
                        and_(model.dag_id == d, model.run_id == r, model.task_id == t, model.map_index == m)
                        for d, r, t, m in keys
                    )
                )
            )
        ).all()
        for dag_id, run_id, task_id, map_index, number, start in rows:
            tries.setdefault((dag_id, run_id, task_id, map_index), []).append((start, number))
    found = []
    for timestamp, _, dag_id, run_id, task_id, map_index, uri in events:
        key = (dag_id, run_id, task_id, -1 if map_index is None else map_index)
        try_number = _try_at(tries.get(key, []), timestamp)
        if try_number is None:
            continue  # its run or its task instance is gone (deleted, ``airflow db clean``)
        found.append(
            UpstreamTry(
                dag_id=dag_id,
                task_id=task_id,
                try_number=try_number,
                map_index=key[3],
                instant=instants[(dag_id, run_id)],
                asset_uri=str(uri),
                distinct=distinct[(dag_id, run_id)],
            )
        )
    return tuple(found)


def _try_at(tries: list[tuple[Any, int]], timestamp: Any) -> int | None:
    """The try running at ``timestamp``: the last one started by then, else the latest one (None: none)."""
    started = [(start, number) for start, number in tries if start is not None and start <= timestamp]
    if started:
        return int(max(started)[1])
    if tries:
        return int(max(number for _, number in tries))
    return None


def _attempt_started_elsewhere(dag_run: Any, clear_number: int) -> int | None:
    """The attempt a START sent by another process named, when the run was cleared after it started."""
    queued_at, started_at = getattr(dag_run, "queued_at", None), getattr(dag_run, "start_date", None)
    if clear_number < 1 or not isinstance(queued_at, datetime) or not isinstance(started_at, datetime):
        return None
    if (queued_at.tzinfo is None) != (started_at.tzinfo is None):
        return None  # one naive, one aware (not what Airflow stores): not comparable, so no guess
    return clear_number - 1 if queued_at > started_at else None


def _was_finished(dag_run: Any) -> bool:
    """True when an ORM DagRun's state change being reported is from one finished state to another.

    That is a finished run marked by hand again (UI, REST API): its tasks that never ran were reported when
    it first finished. Read from SQLAlchemy's attribute history, which holds the previous state until the
    session flushes; when it is gone this says False, and the tasks are reported (again, at worst).
    """
    try:
        from sqlalchemy import inspect

        previous = inspect(dag_run).attrs["_state"].history.deleted
    except Exception:  # not an ORM object (the task side), or no such attribute
        return False
    return bool(previous) and _enum_value(previous[0]) in ("success", "failed")


def _inject_child_job_parent(ti: Any, operator: Any) -> None:
    """``spark_inject_parent_job_info``: this try's ids into a Spark operator's properties, before execute."""
    from airflow_lineage_provider import conf

    if operator is None or not conf.spark_inject_parent_job_info() or _task_off(operator):
        return
    try:
        from airflow_lineage_provider.child_jobs import inject_spark_parent

        if inject_spark_parent(operator, ti):
            log.debug("lineage: OpenLineage parent properties added to the Spark job of %s", ti.task_id)
    except Exception as exc:  # the Spark job runs as written, without a parent
        from airflow_lineage_provider.emission.redaction import safe_error

        log.warning("lineage: could not add OpenLineage parent properties to the Spark job of %s: %s",
                    getattr(ti, "task_id", "?"), safe_error(exc))  # fmt: skip


def _publish_asset_events_only(ti: Any, operator: Any) -> None:
    """``emit_asset_events`` for a SQL task whose OpenLineage events are switched off: its written tables
    still become Airflow asset events (they schedule DAGs; the switches are about OpenLineage events)."""
    from airflow_lineage_provider import conf

    if operator is None or not _is_runtime(ti) or not conf.emit_asset_events():
        return
    from airflow_lineage_provider.extractors.sql import SqlExtractor

    if SqlExtractor.can_extract(operator):
        SqlExtractor(operator).extract_on_start(_TaskContext(ti))


def _reset_hook_lineage() -> None:
    try:
        from airflow.sdk.lineage import get_hook_lineage_collector

        cache_info = getattr(get_hook_lineage_collector, "cache_info", None)
        if cache_info is not None and cache_info().currsize == 0:
            return  # no collector in this process yet, so nothing collected (creating one costs ~25 ms)
        from airflow_lineage_provider.extractors.hook_lineage import reset

        reset()
    except Exception as exc:  # lineage only: never in the task's way
        log.debug("could not reset the hook-lineage collector: %s", exc)


def _is_test_run(dag_run: Any) -> bool:
    """A run created by ``dag.test()`` (ORM DagRun: triggered_by TEST; task side: its triggering user)."""
    return (
        _enum_value(getattr(dag_run, "triggered_by", None)) == "test"
        or getattr(dag_run, "triggering_user_name", None) == "dag_test"
    )


def _state(ti: Any) -> str:
    return str(_enum_value(getattr(ti, "state", None)) or "failed")


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _task_off(operator: Any, dag: Any = None) -> bool:
    """No events for this task: its operator class is in ``disabled_for_operators``, or it is not selected."""
    from airflow_lineage_provider import conf

    return _operator_off(operator) or not selection.task_selected(
        operator, dag, selective=conf.selective_enable()
    )


def _operator_off(operator: Any) -> bool:
    """The operator's class is in ``disabled_for_operators``."""
    from airflow_lineage_provider import conf

    if operator is None:
        return False
    disabled = conf.disabled_for_operators()
    return bool(disabled) and operator_path(operator) in disabled


def _never_ran_off(operator: Any, task_id: str, marks: selection.Marks) -> bool:
    """No events for a task that ran no code: decided on its run's ``marks`` (and its operator's class)."""
    from airflow_lineage_provider import conf

    return _operator_off(operator) or not marks.task_selected(task_id, selective=conf.selective_enable())


def _run_off(marks: selection.Marks) -> bool:
    """No events for a DAG run (``disable_lineage``, or ``selective_enable`` and nothing selected)."""
    from airflow_lineage_provider import conf

    return not marks.run_selected(selective=conf.selective_enable())


@contextmanager
def _fenced(target: Any) -> Iterator[None]:
    """Run a hook's body beside the transaction of the ORM session ``target`` is bound to, if any.

    A DAG-run hook runs inside the scheduler's transaction (an API-server hook inside the request's), with
    the scheduler's changes not flushed yet. The body never flushes them (no autoflush: a flush here would
    move the scheduler's writes, and their errors, into a hook that swallows errors).

    On PostgreSQL the body also runs under a SAVEPOINT, rolled back when it ends: it only reads, and a
    failed statement aborts a PostgreSQL transaction, so a lineage read an Airflow upgrade broke (or a
    cancelled one) would otherwise fail every later statement of the scheduler's loop, even when the hook
    caught the error. Rolled back to the savepoint, the scheduler's transaction goes on as if the hook had
    not run. Other databases keep a transaction usable after a failed statement: no savepoint, no extra
    round trips. Nothing at all for objects bound to no session (the task side).
    """
    session = _orm_session(target)
    if session is None:
        yield
        return
    with session.no_autoflush:
        savepoint = _savepoint(session)
        if savepoint is None:
            yield
            return
        flushes = _FlushCount(session)
        ok = False
        try:
            yield
            ok = True
        finally:
            flushes.stop()
            if savepoint.is_active:
                if flushes.count and ok:  # someone flushed on purpose: keep what they wrote
                    savepoint.commit()
                elif not flushes.count:  # only reads happened: undo whatever a failed one did
                    savepoint.rollback()
                # else a flush, then a failure: left as it is, for the scheduler to roll back as a whole


class _FlushCount:
    """Counts the flushes of a session while it is watched (an explicit flush inside a fenced hook)."""

    def __init__(self, session: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        self._session = session
        event.listen(session, "after_flush", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def stop(self) -> None:
        from sqlalchemy import event

        event.remove(self._session, "after_flush", self._seen)


@contextmanager
def _read_fence(session: Any) -> Iterator[None]:
    """One read inside a fenced hook whose failure the hook catches and goes on from.

    On PostgreSQL it gets a SAVEPOINT of its own, rolled back when it fails, so the hook's later reads
    (the never-run tasks, the end event's own data) still work: the hook's outer savepoint only recovers
    the scheduler's transaction once the hook has ended. Released when the read succeeds.
    """
    savepoint = _savepoint(session) if session is not None else None
    if savepoint is None:
        yield
        return
    try:
        yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if savepoint.is_active:
        savepoint.commit()


def _orm_session(target: Any) -> Any:
    """The ORM session ``target`` is bound to (None: not an ORM object, or not bound to one)."""
    if not hasattr(target, "_sa_instance_state"):
        return None  # the task side's models: no SQLAlchemy, no exception to build
    try:
        from sqlalchemy.orm import object_session

        return object_session(target)
    except Exception:  # not mapped: the task SDK's models, or None
        return None


def _savepoint(session: Any) -> Any:
    """A SAVEPOINT on the session's connection when it is PostgreSQL's (None elsewhere).

    On the connection, not ``session.begin_nested()``: that would flush the scheduler's pending changes
    first, into a savepoint this hook may roll back.
    """
    try:
        dialect = session.get_bind().dialect.name
    except Exception:  # no bind to tell (not the metadata DB's session): nothing to fence
        return None
    return session.connection().begin_nested() if dialect == "postgresql" else None


def _read_serialized_dag(row: Any, version_id: Any) -> Any:
    """The serialized DAG at ``version_id`` (None: the latest) read in the session of the ORM ``row``.

    None when not found or when ``row`` is not bound to a session (the task side). Never flushes the
    session: a DAG-run hook runs in the middle of the scheduler's transaction.
    """
    try:
        from airflow.models.dagbag import DBDagBag
        from sqlalchemy.orm import object_session

        session = object_session(row)
        if session is None:
            return None
        bag = DBDagBag(load_op_links=False)
        with session.no_autoflush, _read_fence(session):
            if version_id is not None:
                return bag.get_dag(version_id, session)
            return bag.get_latest_version_of_dag(row.dag_id, session=session)
    except Exception as exc:  # the event is still sent, with what the row itself says
        from airflow_lineage_provider.emission.redaction import safe_error

        log.warning("lineage: cannot read the serialized DAG of %s, its events carry what the run row "
                    "says: %s", getattr(row, "dag_id", "?"), safe_error(exc))  # fmt: skip
        return None


# --- once-per-process notices ---------------------------------------------------------------------------

_notices: set[str] = set()


def _once(key: str) -> bool:
    if key in _notices:
        return False
    _notices.add(key)
    return True


def _announce_embedded_default(emitter: Any) -> None:
    """One INFO line per process when no transport is configured anywhere."""
    from airflow_lineage_provider import conf

    if getattr(emitter, "is_default_transport", False) and _once("embedded-default"):
        log.info(
            "lineage: no transport configured, events go to %s (size-bounded); "
            "set [lineage_provider] transport to send them elsewhere",
            os.path.join(conf.lineage_dir(), "events.jsonl"),
        )


def official_provider_enabled() -> bool:
    """True when apache-airflow-providers-openlineage is installed, not disabled and has a transport."""
    from importlib.util import find_spec

    try:
        if find_spec("airflow.providers.openlineage") is None:
            return False
    except (ImportError, ValueError):
        return False
    from airflow.configuration import conf as airflow_conf

    if airflow_conf.getboolean("openlineage", "disabled", fallback=False):
        return False
    if os.environ.get("OPENLINEAGE_DISABLED", "").lower() in ("true", "1", "yes"):
        return False
    return bool(
        airflow_conf.get("openlineage", "transport", fallback="")
        or airflow_conf.get("openlineage", "config_path", fallback="")
        or os.environ.get("OPENLINEAGE_URL")
        or os.environ.get("OPENLINEAGE_CONFIG")
    )


def _warn_if_official_provider_enabled() -> None:
    from airflow_lineage_provider import conf

    if conf.warn_on_official_provider() and _once("official-provider") and official_provider_enabled():
        log.warning(
            "lineage: %s is installed and enabled too, so every task and DAG run is reported twice; "
            "keep one: set [openlineage] disabled = True, or [lineage_provider] disabled = True "
            "(silence this with [lineage_provider] warn_on_official_provider = False)",
            _OFFICIAL_PROVIDER,
        )


_listener: LineageListener | None = None


def get_listener() -> LineageListener:
    """The process's listener (what the plugin registers)."""
    global _listener
    if _listener is None:
        _listener = LineageListener()
    return _listener
