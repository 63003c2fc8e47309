"""Time budget for one extraction: a deadline, and calls that give up when it passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


class BudgetExceeded(TimeoutError):
    """A call did not finish within its share of the budget (it may go on, detached, in a daemon thread)."""


class Budget:
    """A monotonic deadline ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def at(self, fraction: float) -> float:
        """The ``time.monotonic()`` value ``fraction`` of the way from the start to the deadline."""
        return self.started + (self.deadline - self.started) * fraction

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000.0


def call_with_timeout(fn: Callable[[], _T], timeout: float, *, name: str = "lineage-extraction") -> _T:
    """Run ``fn`` in a daemon thread; return its result or raise :class:`BudgetExceeded` after ``timeout``.

    Exceptions raised by ``fn`` are re-raised here. On timeout the thread is left to finish on its own
    (callers also set server-side timeouts so it does); the task never waits longer than ``timeout``.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    if not done.wait(max(timeout, 0.0)):
        msg = f"gave up after {timeout:.3f}s"
        raise BudgetExceeded(msg)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
