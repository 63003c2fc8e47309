"""One guarded import of openlineage-python's client per process.

openlineage-python's client modules import each other in cycles. When two threads import them for the
first time at once (the background sender building its transport while a task's extractor builds facets),
Python's deadlock avoidance hands one of them a partially initialised module and the import fails with
"cannot import name ... (most likely due to a circular import)". Every first use therefore goes through
:func:`ensure_imported`, which imports the client whole, once, under one lock. It is not called on the
path of tasks that need no openlineage-python object, so those never pay the import.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_ready = False


def ensure_imported() -> None:
    """Import openlineage-python's client completely (once per process, one thread at a time)."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            import openlineage.client.event_v2
            import openlineage.client.facet_v2
            import openlineage.client.serde
            import openlineage.client.transport  # noqa: F401

            _ready = True
