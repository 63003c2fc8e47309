"""One timer for the tests that guard against super-linear costs: they compare n with 4n, not seconds."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best_cpu_seconds(work: Callable[[], object], runs: int = 2) -> float:
    """The best CPU time of ``runs`` calls of ``work``, the garbage collector paused for each.

    CPU time, not wall time: other processes on the machine do not count. A collection of the whole test
    session's heap landing in one side of a comparison would (10x for 4x the size, seen once), hence the
    collector is run before each call and paused during it.
    """
    best = float("inf")
    enabled = gc.isenabled()
    try:
        for _ in range(runs):
            gc.collect()
            gc.disable()
            start = time.process_time()
            work()
            best = min(best, time.process_time() - start)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return best


def best_cpu_seconds_of_both(
    small: Callable[[], object], large: Callable[[], object], runs: int = 3
) -> tuple[float, float]:
    """The best CPU times of ``small`` and ``large``, measured in turns (small, large, small, ...).

    A shared virtual machine changes speed now and then (2.2x within a second, seen here): measured one
    after the other, the two sides of a ratio can fall on different speeds (9.3x for a linear 4x, seen once
    in CI); in turns, each side's best comes from the faster spells.
    """
    best_small = best_large = float("inf")
    for _ in range(runs):
        best_small = min(best_small, best_cpu_seconds(small, 1))
        best_large = min(best_large, best_cpu_seconds(large, 1))
    return best_small, best_large
