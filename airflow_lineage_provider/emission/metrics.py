"""Delivery counters: Airflow Stats (``lineage_provider.events.<name>``) plus an in-process tally.

Names: ``emitted`` (delivered by the transport), ``failed`` (a send attempt failed or timed out),
``spooled`` (written to the outbox), ``replayed`` (delivered from the outbox), ``dropped`` (lost on
purpose: evicted from a full outbox, unreadable, rejected for good by the backend, or not serialisable),
``trimmed`` (cut to the size cap).

:class:`LogThrottle` keeps a warning that can repeat per event (a full queue, a spool refusing writes) to
one line, then at most one line per interval that says how many were held back.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "lineage_provider.events."

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_stats: Any = None


def _reset_after_fork() -> None:
    """A fork while another thread held the lock would leave the child's copy locked for good."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _airflow_stats() -> Any:
    global _stats
    if _stats is None:
        try:
            from airflow.sdk.observability.stats import Stats

            _stats = Stats
        except Exception:  # an Airflow without the SDK stats module: keep only the in-process tally
            log.debug("Airflow Stats unavailable; lineage counters are kept in-process only", exc_info=True)
            _stats = False
    return _stats


def incr(name: str, count: int = 1) -> None:
    """Add ``count`` to counter ``name`` (never raises)."""
    if count <= 0:
        return
    with _lock:
        _counts[name] += count
    stats = _airflow_stats()
    if stats:
        try:
            stats.incr(PREFIX + name, count)
        except Exception:
            log.debug("Stats.incr(%s) failed", PREFIX + name, exc_info=True)


def snapshot() -> dict[str, int]:
    """The in-process counters so far (for ``airflow-lineage doctor`` and tests)."""
    with _lock:
        return dict(_counts)


class LogThrottle:
    """Log a warning the first time, then at most once every ``interval`` seconds with a count.

    The warnings held back in between are counted; the next one logged says how many there were, and
    :meth:`flush` (at close) logs the last one held back with the count. No lock: under a race the count
    may be off by one, which a log line can afford.
    """

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger = logger
        self.interval = interval
        self._next = 0.0
        self._held = 0
        self._last: tuple[str, tuple[object, ...]] | None = None

    def warning(self, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            self._last = (msg, args)
            return
        self._next = now + self.interval
        self._log(msg, args)

    def flush(self) -> None:
        """Log the last warning held back, with the count, if any was."""
        if self._held and self._last is not None:
            self._held -= 1  # the one logged now
            self._log(*self._last)

    def _log(self, msg: str, args: tuple[object, ...]) -> None:
        held, self._held, self._last = self._held, 0, None
        if held:
            msg, args = msg + " (and %d more like this since the previous warning)", (*args, held)
        self.logger.warning(msg, *args, stacklevel=3)  # the line of the caller of warning()
