"""Value objects and the extractor base class shared by every extractor (built-in or custom)."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import JobFacet, RunFacet

log = logging.getLogger(__name__)

#: set by the lineage listener in processes where lineage is on; see :func:`report_progress`
_progress_reporter: Callable[[Any, Any], None] | None = None


#: the warning lines already logged per task (see :func:`warn_once`), oldest forgotten first
_WARNED_SIZE = 512
_warned: collections.OrderedDict[tuple[Any, ...], None] = collections.OrderedDict()
_warned_lock = threading.Lock()


def warn_once(logger: logging.Logger, owner: Any, message: str, *args: Any) -> None:
    """``logger.warning(message, *args)`` unless the task of ``owner`` (the operator object being extracted:
    one task try in a task process) had this very line already. The same problem met on START and again on
    COMPLETE or FAIL (a connection that does not exist) is one line, not one per event."""
    if owner is None:
        logger.warning(message, *args)
        return
    try:
        text = message % args if args else message
    except (TypeError, ValueError):
        text = f"{message} {args!r}"
    key = (id(owner), getattr(owner, "dag_id", None), getattr(owner, "task_id", None), text)
    with _warned_lock:
        if key in _warned:
            return
        _warned[key] = None
        while len(_warned) > _WARNED_SIZE:
            _warned.popitem(last=False)
    logger.warning(message, *args)


def set_progress_reporter(reporter: Callable[[Any, Any], None] | None) -> None:
    """Register the callable that turns :func:`report_progress` into an event (the listener does this)."""
    global _progress_reporter
    _progress_reporter = reporter


def report_progress(task_instance: Any, operator: Any) -> None:
    """Send a RUNNING event for the current try now, with the operator's lineage as of this moment.

    For an operator whose run has news before it ends, e.g. a quality gate about to defer on a breach: the
    event carries what ``get_openlineage_facets_on_complete`` returns at this point. Without a lineage
    listener in the process (lineage off) this does nothing. Never raises, never waits on the network.
    """
    reporter = _progress_reporter
    if reporter is None:
        return
    try:
        reporter(task_instance, operator)
    except Exception as exc:  # lineage only: never in the task's way
        log.warning("lineage: progress report for %s failed: %s", getattr(operator, "task_id", "?"), exc)


@attrs.define
class OperatorLineage:
    """What an extractor (or an operator's ``get_openlineage_facets_on_*`` method) contributes to an event.

    The shape matches the official provider's ``OperatorLineage`` so operators written for it work as-is.
    """

    inputs: list[InputDataset] = attrs.field(factory=list)
    outputs: list[OutputDataset] = attrs.field(factory=list)
    run_facets: dict[str, RunFacet] = attrs.field(factory=dict)
    job_facets: dict[str, JobFacet] = attrs.field(factory=dict)


class BaseExtractor:
    """Base of every extractor.

    A subclass lists the operator class names it handles in ``operator_class_names`` (or overrides
    ``can_extract``) and overrides the ``extract_on_*`` methods it needs; each returns ``None`` when it
    has nothing to say. Extractors must not raise: the manager catches and reports anything they do.
    """

    operator_class_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, operator: Any) -> None:
        self.operator = operator

    @classmethod
    def can_extract(cls, operator: Any) -> bool:
        names = {klass.__name__ for klass in type(operator).__mro__}
        return bool(names.intersection(cls.operator_class_names))

    def extract_on_start(self, context: Any) -> OperatorLineage | None:
        return None

    def extract_on_complete(self, context: Any, task_instance: Any) -> OperatorLineage | None:
        return self.extract_on_start(context)

    def extract_on_failure(
        self, context: Any, task_instance: Any, error: BaseException | str | None
    ) -> OperatorLineage | None:
        return self.extract_on_complete(context, task_instance)
