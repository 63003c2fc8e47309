"""Lineage per DAG and per task: ``enable_lineage`` / ``disable_lineage`` and the listener's decision.

With ``[lineage_provider] selective_enable = False`` (the default) every DAG emits events unless a DAG
author switched it off with :func:`disable_lineage`. With ``selective_enable = True`` only what was
switched on with :func:`enable_lineage` emits: a rollout one DAG at a time.

The choice is kept in ``params`` under keys this provider owns, because params are the part of a DAG and
of a task that survives serialization: the scheduler (DAG-run events) and the API server (tasks marked by
hand) only ever see the serialized DAG. Each mark is a ``Param`` with ``const`` set, so the trigger form
does not show it and a run's configuration cannot change it.

A task's own mark wins over its DAG's; the DAG's mark wins over ``selective_enable``. DAG-run events are
sent when the DAG is selected or when any of its tasks is (their events link to the DAG run as parent).
A DAG run is decided on the marks of the DAG version it was created with (:class:`Marks`, read once per
version by the listener), so a DAG file changed during a run cannot split its START from its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

#: params keys (a DAG's mark is copied into the params of tasks created after it; tasks ignore that copy)
DAG_KEY = "_lineage_provider_dag"
TASK_KEY = "_lineage_provider_task"

_T = TypeVar("_T")

_DESCRIPTION = (
    "Set by airflow_lineage_provider.{fn}() in the DAG file: whether this {what} emits OpenLineage events."
)


def enable_lineage(obj: _T) -> _T:
    """Switch lineage on for a DAG, a task, the tasks of a task group, or the task behind an XComArg.

    Returns ``obj``, so it can wrap a definition: ``load = enable_lineage(SQLExecuteQueryOperator(...))``.
    Needed only with ``[lineage_provider] selective_enable = True``, or to switch a task back on inside a
    DAG switched off with :func:`disable_lineage`.
    """
    _mark(obj, True, "enable_lineage")
    return obj


def disable_lineage(obj: _T) -> _T:
    """Switch lineage off for a DAG, a task, the tasks of a task group, or the task behind an XComArg.

    Returns ``obj``. No event is sent for what is switched off, whatever ``selective_enable`` says.
    """
    _mark(obj, False, "disable_lineage")
    return obj


def _mark(obj: Any, value: bool, fn: str) -> None:
    from airflow.sdk import Param

    target: Any = getattr(obj, "operator", None) if _is_xcom_arg(obj) else obj
    if _is_dag(target):
        target.params[DAG_KEY] = Param(
            value, type="boolean", const=value, description=_DESCRIPTION.format(fn=fn, what="DAG")
        )
        return
    tasks = _group_tasks(target, fn)
    if tasks is None and _is_task(target):
        tasks = [target]
    if tasks is None:
        msg = (
            f"{fn}() takes a DAG, a task, a TaskGroup or an XComArg, not {type(obj).__name__}{_hint(obj, fn)}"
        )
        raise TypeError(msg)
    for task in tasks:
        task.params[TASK_KEY] = Param(
            value, type="boolean", const=value, description=_DESCRIPTION.format(fn=fn, what="task")
        )


def _is_xcom_arg(obj: Any) -> bool:
    from airflow.sdk.definitions.xcom_arg import XComArg

    return isinstance(obj, XComArg)


def _is_dag(obj: Any) -> bool:
    return hasattr(obj, "dag_id") and hasattr(obj, "task_dict") and hasattr(obj, "params")


def _is_task(obj: Any) -> bool:
    return hasattr(obj, "task_id") and hasattr(obj, "params")


def _group_tasks(obj: Any, fn: str) -> list[Any] | None:
    """The tasks of a TaskGroup (None for anything else); refused while the group's block is still open.

    A group's mark is written into the params of the tasks it holds when the call runs: a task created
    later in the same ``with TaskGroup(...)`` block would silently keep no mark.
    """
    from airflow.sdk import TaskGroup

    if not isinstance(obj, TaskGroup):
        return None
    if any(group is obj for group in _open_groups()):
        msg = (
            f"{fn}({obj.group_id!r}) is called inside the group's own block, where tasks created after it "
            f"would get no mark; call {fn}() after the block (or mark single tasks)"
        )
        raise ValueError(msg)
    return list(obj.iter_tasks())


def _open_groups() -> tuple[Any, ...]:
    """The task groups whose ``with`` block is open now (Airflow's private context stack; () if it moved)."""
    try:
        from airflow.sdk.definitions._internal.contextmanager import TaskGroupContext

        return tuple(getattr(TaskGroupContext, "_context", ()))
    except Exception:
        return ()


def _hint(obj: Any, fn: str) -> str:
    """How to pass what a decorated function makes, for a function passed instead."""
    if not callable(obj):
        return ""
    code = getattr(obj, "__code__", None)
    if code is not None and code.co_name == "factory" and code.co_filename.endswith("dag.py"):
        return f" (for a @dag function, pass the DAG it returns: {fn}(my_dag()))"
    if type(obj).__name__ == "_TaskGroupFactory":
        return f" (for a @task_group function, pass the called group: {fn}(my_group()))"
    return f" (for a @task function, pass the called task: {fn}(load()))"


# --- the listener's side: read the marks (SDK and serialized DAGs alike) ------------------------------


def _read(params: Any, key: str) -> bool | None:
    if params is None:
        return None
    try:
        if key not in params:
            return None
        value = params[key]
    except Exception:  # a params object of another shape: no mark
        return None
    value = getattr(value, "value", value)
    return value if isinstance(value, bool) else None


def dag_mark(dag: Any) -> bool | None:
    """The DAG's own mark: True, False, or None when unmarked."""
    return _read(getattr(dag, "params", None), DAG_KEY)


def task_mark(task: Any) -> bool | None:
    """The task's own mark (not its DAG's): True, False, or None when unmarked."""
    return _read(getattr(task, "params", None), TASK_KEY)


def task_selected(task: Any, dag: Any = None, *, selective: bool) -> bool:
    """Whether a task's events are sent: its mark, else its DAG's mark, else ``not selective``."""
    mark = task_mark(task) if task is not None else None
    if mark is not None:
        return mark
    mark = dag_mark(dag if dag is not None else getattr(task, "dag", None))
    if mark is not None:
        return mark
    return not selective


def dag_selected(dag: Any, *, selective: bool) -> bool:
    """Whether a DAG run's events are sent: the DAG is selected, or one of its tasks is."""
    return marks(dag).run_selected(selective=selective)


@dataclass(frozen=True)
class Marks:
    """The marks of one DAG (version): its own, and those of its tasks that have one.

    All that decides a DAG run and the tasks its end reports as never run, small enough for the listener
    to keep one per DAG version rather than the DAG itself.
    """

    dag: bool | None = None
    tasks: Mapping[str, bool] = field(default_factory=dict)

    def run_selected(self, *, selective: bool) -> bool:
        """The DAG is selected, or one of its tasks is."""
        if self.dag is True or (self.dag is None and not selective):
            return True
        return any(self.tasks.values())

    def task_selected(self, task_id: str, *, selective: bool) -> bool:
        """The task's mark, else the DAG's, else ``not selective`` (a task the version lacks: no mark)."""
        mark = self.tasks.get(task_id)
        if mark is None:
            mark = self.dag
        return not selective if mark is None else mark


def marks(dag: Any) -> Marks:
    """The marks of a DAG, SDK or serialized (None: no marks)."""
    tasks = getattr(dag, "task_dict", None) or {}
    own = {task_id: mark for task_id, task in tasks.items() if (mark := task_mark(task)) is not None}
    return Marks(dag_mark(dag), own)
