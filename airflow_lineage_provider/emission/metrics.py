"""Delivery counters: Airflow Stats (``lineage_provider.events.<name>``) plus an in-process tally.

Names: ``emitted`` (delivered by the transport), ``failed`` (a send attempt failed or timed out),
``spooled`` (written to the outbox), ``replayed`` (delivered from the outbox), ``dropped`` (lost on
purpose: evicted from a full outbox, unreadable, or not serialisable), ``trimmed`` (cut to the size cap).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "lineage_provider.events."

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_stats: Any = None


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
