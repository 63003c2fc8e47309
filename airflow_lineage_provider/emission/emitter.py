"""Process-wide event delivery.

CONTRACT (stable; the listener, the quality gate and the CLI rely on it):

* ``get_emitter() -> Emitter``: the one emitter of this process, created on first use from the
  ``[lineage_provider]`` configuration. Raises ``ConfigError`` (and nothing else) when the configuration is
  invalid, so the caller can switch lineage off for the process with one clear log line.
* ``Emitter.emit(event) -> None``: accepts an ``openlineage.client.event_v2.RunEvent`` (or a plain dict
  already in wire format). Never raises, never blocks the caller beyond a bounded enqueue.
* ``Emitter.flush(timeout: float | None = None) -> bool``: wait until everything queued is delivered or
  spooled; True when the queue drained in time.
* ``reset_emitter() -> None``: close the current emitter (flushing briefly) and forget it; tests and
  ``airflow-lineage doctor`` use it after ``conf.clear_cache()``.

This first version delivers synchronously; the background sender, the spool and redaction replace its
insides without changing the contract.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_emitter: Emitter | None = None


class Emitter:
    def __init__(self, transport: Any) -> None:
        self.transport = transport

    def emit(self, event: Any) -> None:
        try:
            self.transport.emit(event)
        except Exception as exc:  # lineage never breaks a task
            log.warning("lineage event not delivered: %s", exc)

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self, timeout: float | None = None) -> None:
        try:
            self.transport.close(timeout if timeout is not None else -1)
        except Exception:
            log.debug("closing the transport failed", exc_info=True)


def build_transport() -> Any:
    """The transport from ``[lineage_provider]``: transport JSON, config_path, environment, embedded default."""
    import os

    from openlineage.client.transport import get_default_factory

    from airflow_lineage_provider import conf

    config = conf.transport()
    if config is None:
        path = os.path.join(conf.lineage_dir(), "events.jsonl")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        config = {"type": "file", "log_file_path": path, "append": True}
    return get_default_factory().create(config)


def get_emitter() -> Emitter:
    global _emitter
    if _emitter is None:
        with _lock:
            if _emitter is None:
                _emitter = Emitter(build_transport())
    return _emitter


def reset_emitter() -> None:
    global _emitter
    with _lock:
        if _emitter is not None:
            _emitter.close(1.0)
        _emitter = None
