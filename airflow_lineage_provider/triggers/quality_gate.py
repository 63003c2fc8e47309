"""The trigger a paused quality gate waits on: re-measure every ``poke_interval`` until the thresholds hold.

It runs in the triggerer (no worker slot held). The measuring query is the one the gate built; it runs in a
thread of its own through the connection's ``DbApiHook``, so the event loop never blocks, and a query stuck
on a lock never holds a thread of the loop's shared executor that other triggers need. A query still running
when the wait ends (the gate's timeout, or the trigger cancelled: the task marked failed or success by hand)
is cancelled on the database. Polls start on a
fixed schedule (every ``poke_interval`` from the first), so a repair is seen by the next poll.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from typing import Any, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_lineage_provider.quality.evaluation import BREACH, GateSpec
from airflow_lineage_provider.quality.metrics import Measurement, MetricsQuery, error_line, query_stopper

T = TypeVar("T")


async def _in_own_thread(function: Callable[[], T], name: str) -> T:
    """``function()`` in a new daemon thread, awaited without blocking the loop.

    Not ``asyncio.to_thread``: that borrows the loop's default executor (a handful of threads shared by
    every trigger in the triggerer), which a few queries blocked on locks would exhaust. Cancelling the
    await abandons the thread; it ends when its query returns.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile (the gate's timeout)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = function()
        except BaseException as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:  # the loop is gone (triggerer shutting down): nobody waits for this result
            pass

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future


class QualityGateTrigger(BaseTrigger):
    """Fires ``{"status": "recovered" | "timeout", "measurement": ..., ...}`` for the gate to resume with.

    :param conn_id: connection whose hook runs ``query``
    :param query: ``MetricsQuery.to_dict()`` built by the gate
    :param spec: ``GateSpec.to_dict()``: table, rules (catalog column names), row-count policy
    :param deadline: epoch seconds after which the trigger fires ``timeout``
    :param gate_state: opaque state handed back to the gate in the event (paused DAGs, first breach ...)
    :param first_poll_at: epoch seconds before which the first poll does not run (the gate passes its own
        measurement's time plus ``poke_interval``: measuring again at once only repeats its scan). A trigger
        restored by a new triggerer after that moment polls at once; ``None`` polls at once too.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        query: dict[str, Any],
        spec: dict[str, Any],
        poke_interval: float,
        deadline: float,
        gate_state: dict[str, Any] | None = None,
        first_poll_at: float | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.query = query
        self.spec = spec
        self.poke_interval = poke_interval
        self.deadline = deadline
        self.gate_state = gate_state or {}
        self.first_poll_at = first_poll_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "query": self.query,
                "spec": self.spec,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
                "gate_state": self.gate_state,
                "first_poll_at": self.first_poll_at,
            },
        )

    def _measure(self, stoppers: list[Callable[[], str]] | None = None) -> Measurement:
        """One measurement; ``stoppers`` receives a function that cancels the query while it runs."""
        from airflow.sdk import BaseHook

        query = MetricsQuery.from_dict(self.query)
        conn = BaseHook.get_connection(self.conn_id)
        hook = conn.get_hook()
        # on a connection of its own, as the gate measured: not hook.get_first(), which logs the whole
        # statement (row filter literals included, unmasked) at every poll
        with closing(hook.get_conn()) as connection:
            if stoppers is not None:
                stoppers.append(query_stopper(connection, conn.conn_type, hook.get_conn))
            return query.parse(query.run(connection))

    def _stop(self, stoppers: list[Callable[[], str]], why: str) -> None:
        """Cancel the measuring query left running (in a thread: cancelling may wait on the network)."""
        table = self.spec.get("table")

        def stop() -> None:
            for stopper in stoppers:
                try:
                    how = stopper()
                except Exception as exc:
                    self.log.warning(
                        "quality gate on %s: could not cancel its query: %s", table, error_line(exc)
                    )
                else:
                    self.log.warning("quality gate on %s: query cancelled (%s): %s", table, why, how)

        if stoppers:
            threading.Thread(target=stop, name=f"quality-gate-cancel {table}", daemon=True).start()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        spec = GateSpec.from_dict(self.spec)
        table = spec.table
        polls = 0
        next_poll = time.monotonic()
        last: Measurement | None = None
        last_error: str | None = None
        if self.first_poll_at is not None:
            wait = min(self.first_poll_at, self.deadline) - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
                next_poll = time.monotonic()
        while True:
            polls += 1
            try:
                # a query stuck on a lock must not outlive the gate's timeout (the thread finishes on its own)
                left = max(1.0, self.deadline - time.time())
                stoppers: list[Callable[[], str]] = []
                measuring = _in_own_thread(
                    functools.partial(self._measure, stoppers), f"quality-gate {table}"
                )
                try:
                    last = await asyncio.wait_for(measuring, timeout=left)
                except asyncio.CancelledError:  # the task was marked failed or success, or cleared
                    self._stop(stoppers, "the wait was cancelled")
                    raise
                last_error = None
            except TimeoutError:
                last_error = f"the measuring query was still running at the gate's timeout ({left:.0f}s left)"
                self.log.warning("quality gate on %s: %s", table, last_error)
                self._stop(stoppers, "the gate's timeout")
            except Exception as exc:  # a transient DB error must not end the wait: retry next poll
                last_error = error_line(exc)
                self.log.warning("quality gate on %s: measuring failed (%s); retrying", table, last_error)
            if last is not None and last_error is None:
                result = spec.evaluate(last)
                if result.status != BREACH:
                    self.log.info(
                        "quality gate on %s recovered after %d polls: %s", table, polls, result.summary()
                    )
                    yield self._event("recovered", last, polls, None)
                    return
                self.log.info(
                    "quality gate on %s still breached (poll %d): %s", table, polls, result.summary()
                )
            now_wall = time.time()
            if now_wall >= self.deadline:
                yield self._event("timeout", last, polls, last_error)
                return
            next_poll = max(next_poll + self.poke_interval, time.monotonic())  # never poll back-to-back
            delay = max(0.0, next_poll - time.monotonic())
            if now_wall + delay > self.deadline:  # wake at the deadline for one last measurement
                delay = max(0.0, self.deadline - now_wall)
            await asyncio.sleep(delay)

    def _event(
        self, status: str, measurement: Measurement | None, polls: int, error: str | None
    ) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "measurement": measurement.to_dict() if measurement else None,
                "polls": polls,
                "error": error,
                "measured_at": time.time(),
                "query": self.query,
                "spec": self.spec,
                "gate_state": self.gate_state,
            }
        )
