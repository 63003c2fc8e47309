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

How: ``emit`` stamps the event (its place in the outbox order) and appends it to a bounded queue; when the
queue is full the event goes straight to the spool. ``emit`` does not wake any thread: waking one would hand
it the GIL in the middle of the task's hook. One daemon sender thread per process polls the queue (every
``POLL_SECONDS``, or at once when flushed), redacts each event, applies the size cap, and hands it to the
transport through one send worker thread, giving each send ``send_timeout`` seconds. A failed or timed-out
send is spooled; while the spool holds this process's undelivered events, later events are spooled behind them
and the spool is replayed oldest first (with backoff), so order is kept. A send that times out and later
succeeds removes its spooled copy, and replay checks the copy is still there before sending it (no duplicate);
until that late answer (or for at most twice ``send_timeout``) the record stays locked, so another process's
replay does not send it either (``Spool.hold``). The sender replays in slices of at most
``_REPLAY_SLICE_SECONDS`` and spools its own new events in between, so they never wait in memory for as long
as other processes keep the spool filling. An event the backend rejects for good (HTTP 4xx such as 400, 413,
422, see ``rejection_status``) is not retried: it is kept aside in the spool as ``.<stamp>.rejected``, counted
as dropped, and does not hold up the events after it. When the spool refuses writes or cannot be replayed
(read-only, not a directory, wrong owner), nothing can wait behind it: events are sent directly. A 429 or 503
answer with ``Retry-After`` (seconds or an HTTP-date) holds every send until then, at most ``_BACKOFF_MAX``
seconds; meanwhile events are spooled (``retry_after``), and replay resumes then (not later: the backoff does
not add to the backend's time). Such a pause is logged once, with the time it ends, until a send succeeds
again. At exit the queue gets ``flush_timeout`` seconds
(none when the backend is known to be failing), then what is left is spooled in batches with one file-system
sync each (``Spool.write_batch``), as are events spooled behind a backlog; a send already in flight may
finish within that time (so its record is not replayed after an answer that came too late), no new one is
started. Warnings that could repeat per event are rate-limited (``metrics.LogThrottle``). After ``fork`` the
child starts with no emitter (its parent's queue and threads stay the parent's).
"""

from __future__ import annotations

import atexit
import contextlib
import email.utils
import itertools
import logging
import math
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_lineage_provider._openlineage import ensure_imported
from airflow_lineage_provider.emission import metrics
from airflow_lineage_provider.emission import spool as spool_module
from airflow_lineage_provider.emission.redaction import enforce_size_cap, redact_event, safe_error
from airflow_lineage_provider.emission.spool import Rejected, Spool, SpoolError, next_stamp
from airflow_lineage_provider.emission.transport import HTTP_TIMEOUT_FACTOR

log = logging.getLogger(__name__)

_lock = threading.Lock()
_emitter: Emitter | None = None

#: how often the sender looks for new events (it is never woken per event, see the module docstring)
POLL_SECONDS = 0.05
#: at shutdown, how long to wait for the sender to spool what it holds before spooling the rest directly
_STOP_GRACE_SECONDS = 1.0
#: replay backoff while the backend stays down: from 1 s doubling to 60 s
_BACKOFF_MIN, _BACKOFF_MAX = 1.0, 60.0
#: the longest replay between two looks at this process's own queue: while other processes keep spooling,
#: a replay could go on for good, with this process's own events held in memory (lost to a SIGKILL)
_REPLAY_SLICE_SECONDS = 1.0
#: the most events spooled in one batch (one file-system sync, see ``Spool.write_batch``)
_SPOOL_BATCH = 1000
#: how often a healthy process looks for events other processes left in the spool
_SPOOL_CHECK_SECONDS = 30.0
#: the longest single wait: longer (or non-finite) timeouts are cut to it
_MAX_WAIT_SECONDS = 300.0
#: 4xx answers that are retried like 5xx: 408/425/429 mean "later"; 401/403/404/405/407 mean the
#: configuration is wrong, which holds for every event alike (fixing it must not find them all set aside)
_RETRIED_4XX = frozenset({401, 403, 404, 405, 407, 408, 425, 429})
#: ``emission.direct.HttpStatusError`` messages start with the status
_LEADING_STATUS = re.compile(r"(\d{3}) ")
#: answers whose ``Retry-After`` header is honoured ("too many requests", "unavailable": try again later)
_RETRY_AFTER_STATUSES = frozenset({429, 503})

#: what an admin can do about a spool that refuses writes or replay (ends the warnings that say so)
_SPOOL_FIX = (
    "free space on its disk, make it a directory the Airflow user can write, or set "
    "[lineage_provider] spool_dir to one"
)

_PENDING, _DELIVERED, _SPOOLED = "pending", "delivered", "spooled"
#: outcomes of one send
_SENT, _FAILED, _REJECTED = "sent", "failed", "rejected"


def rejection_status(error: BaseException) -> int | None:
    """The HTTP status when ``error`` says the backend rejected the event for good, else None.

    A 4xx answer other than those in ``_RETRIED_4XX`` (e.g. 400, 409, 413, 422): the same event would be
    rejected again. The status is read from ``error.status`` (urllib, aiohttp), ``error.response
    .status_code`` (requests, which openlineage-python's HttpTransport raises) or the start of the
    message of ``emission.direct.HttpStatusError``.
    """
    status = getattr(error, "status", None)
    if not isinstance(status, int):
        status = getattr(getattr(error, "response", None), "status_code", None)
    if not isinstance(status, int) and type(error).__name__ == "HttpStatusError":
        match = _LEADING_STATUS.match(str(error))
        status = int(match.group(1)) if match else None
    if isinstance(status, int) and 400 <= status < 500 and status not in _RETRIED_4XX:
        return status
    return None


def parse_retry_after(value: object, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header value asks to wait, between 0 and ``_BACKOFF_MAX``; None if invalid.

    The value is a number of seconds or an HTTP-date (``now``: the wall-clock time to count from). A value
    past the cap is cut to it: a buggy or hostile backend must not park delivery for hours.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
            if when.tzinfo is None:  # "-0000": an HTTP-date is always GMT
                when = when.replace(tzinfo=timezone.utc)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except Exception:  # not a date, or one out of range
            return None
    return min(max(seconds, 0.0), _BACKOFF_MAX)


def retry_after(error: BaseException) -> float | None:
    """Seconds the backend asked to wait before the next try (``parse_retry_after``), or None.

    Only for a 429 or 503 answer with a ``Retry-After`` header: read from ``error.retry_after``
    (``emission.direct.HttpStatusError``), ``error.response.headers`` (requests, which openlineage-python's
    HttpTransport raises) or ``error.headers`` (urllib).
    """
    try:
        response = getattr(error, "response", None)
        status = getattr(error, "status", None)
        if not isinstance(status, int):
            status = getattr(response, "status_code", None)
        if status not in _RETRY_AFTER_STATUSES:
            return None
        value = getattr(error, "retry_after", None)
        if value is None:
            headers = getattr(response, "headers", None) or getattr(error, "headers", None)
            value = headers.get("Retry-After") if headers is not None else None
        return parse_retry_after(value)
    except Exception:  # an unusual error object: no header then
        return None


def _bounded(seconds: float) -> float:
    """``seconds`` as a wait that threading accepts and a process exit can afford."""
    return 0.0 if math.isnan(seconds) else min(max(seconds, 0.0), _MAX_WAIT_SECONDS)


class _Item:
    """One event on its way: its outbox stamp, the event as given, its prepared wire form, its fate."""

    __slots__ = ("event", "stamp", "state", "wire")

    def __init__(
        self, stamp: str, event: Any, wire: dict[str, Any] | None = None, state: str = _PENDING
    ) -> None:
        self.stamp = stamp
        self.event = event
        self.wire = wire
        self.state = state


class _Call:
    __slots__ = ("done", "error", "fn", "on_late")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.on_late: Callable[[bool], None] | None = None


class Emitter:
    def __init__(
        self,
        transport: Any,
        spool: Spool,
        *,
        queue_size: int = 10_000,
        send_timeout: float = 5.0,
        flush_timeout: float = 2.0,
        replay_on_success: bool = True,
        max_event_bytes: int = 1024 * 1024,
        mask_sql_literals: bool = False,
        is_default_transport: bool = False,
    ) -> None:
        self.transport = transport
        self.spool = spool
        self.send_timeout = _bounded(send_timeout)
        self.flush_timeout = _bounded(flush_timeout)
        #: how long a record stays locked after its send timed out: an HTTP answer can come until
        #: HTTP_TIMEOUT_FACTOR x send_timeout after the send began (a send_timeout spare)
        self._hold_seconds = HTTP_TIMEOUT_FACTOR * self.send_timeout
        self.replay_on_success = replay_on_success
        self.max_event_bytes = max_event_bytes
        self.mask_sql_literals = mask_sql_literals
        #: True when no transport was configured and events go to the embedded default file
        self.is_default_transport = is_default_transport
        self._pid = os.getpid()
        self._queue: deque[_Item] = deque()
        self._queue_size = queue_size
        self._queue_lock = threading.Lock()  # guards _queue and _current together
        self._drained = threading.Condition(threading.Lock())  # notified by the sender after each event
        self._wake = threading.Event()  # set by flush/close, never by emit
        self._stopped = threading.Event()
        self._closing = False
        #: once closing: a send in flight may still finish until then (monotonic)
        self._close_deadline = 0.0
        self._shutdown_spooled = 0
        self._lock = threading.Lock()  # guards item states, spool writes of timed-out sends, _stuck
        self._send_lock = threading.Lock()  # one send at a time through the worker
        self._batch_lock = threading.Lock()  # one batch of queued items spooled at a time (_spool_batch)
        self._sender: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()  # None: the worker stops
        self._stuck: _Call | None = None
        self._current: _Item | None = None
        #: why the last failed send failed (log-safe)
        self.last_error: str | None = None
        self._closed = False
        self._backlog = False
        self._backoff = _BACKOFF_MIN
        self._next_retry = 0.0
        #: no send before this (monotonic): the backend's last 429/503 said ``Retry-After`` (capped)
        self._not_before = 0.0
        #: a pause the backend asked for was logged; reset (and "resumed" logged) by the next delivery
        self._pause_said = False
        self._next_spool_check = 0.0
        #: why the spool last refused a write (log-safe)
        self._spool_error = ""
        # warnings that can repeat per event: the first, then one a minute with a count
        self._full_log = metrics.LogThrottle(log)
        self._failed_log = metrics.LogThrottle(log)
        self._lost_log = metrics.LogThrottle(log)
        self._spool_log = metrics.LogThrottle(log)

    @property
    def backend_wait(self) -> float:
        """Seconds left of the wait the backend asked for (``Retry-After`` of a 429 or 503, at most 60)."""
        return max(0.0, self._not_before - time.monotonic())

    def _deferred(self) -> bool:
        return time.monotonic() < self._not_before

    # --- the caller's side ---------------------------------------------------------------------

    def emit(self, event: Any) -> None:
        try:
            item = _Item(next_stamp(), event)
            if self._closed or os.getpid() != self._pid:
                self._spool_item(item, "not sent (emitted after close, or in a forked child)")
                return
            if self._sender is None:
                self._start_sender()
            with self._queue_lock:
                if len(self._queue) < self._queue_size:
                    self._queue.append(item)
                    return
            self._full_log.warning("lineage queue is full (%d events); spooling events", self._queue_size)
            if self._spool_item(item, "the lineage queue is full"):
                self._backlog = self.replay_on_success
        except Exception as exc:  # lineage never breaks a task
            log.warning("lineage event not queued: %s", safe_error(exc))

    def _idle(self) -> bool:
        with self._queue_lock:
            return not self._queue and self._current is None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the queue is empty (each event delivered or spooled); True if it emptied in time."""
        if self._sender is None or self._stopped.is_set():
            return self._idle()
        self._wake.set()
        with self._drained:
            return self._drained.wait_for(self._idle, None if timeout is None else _bounded(timeout))

    def close(self, timeout: float | None = None) -> None:
        """Flush for at most ``timeout`` seconds, spool whatever is left, stop the sender. Never raises.

        When the backend is already known to be failing (events are being spooled, or a send hangs),
        waiting cannot deliver anything: what is queued is spooled at once. A send in flight may still
        finish within ``timeout``; no new one is started.
        """
        if os.getpid() != self._pid or self._closed:
            return
        try:
            self._close(self.flush_timeout if timeout is None else _bounded(timeout))
        except Exception as exc:  # an exit handler must not raise: keep what can be kept
            self._closed = self._closing = True
            log.warning("lineage: closing the emitter failed (%s); spooling what is left", safe_error(exc))
            try:
                self._spool_leftovers()
            except Exception:
                log.debug("spooling at shutdown failed", exc_info=True)
            self._stop_worker()

    def _close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.flush(0.0 if self._backlog or self._stuck is not None or self._deferred() else timeout)
        self._close_deadline = deadline  # set before _closing: the sender reads it once it sees _closing
        self._closed = True  # from now on emit() spools directly
        self._closing = True  # the sender spools what it holds instead of sending, then stops
        self._wake.set()
        if self._sender is not None:
            self._stopped.wait(max(0.0, deadline - time.monotonic()) + _STOP_GRACE_SECONDS)
        self._spool_leftovers()
        for throttle in (self._full_log, self._failed_log, self._lost_log, self._spool_log):
            throttle.flush()
        spool_module.flush_warnings()
        if self._shutdown_spooled:
            log.warning(
                "lineage: %d undelivered event(s) spooled at shutdown, for later delivery",
                self._shutdown_spooled,
            )
        if self._stuck is None:
            try:
                self.transport.close(0)
            except Exception:
                log.debug("closing the transport failed", exc_info=True)
        self._stop_worker()
        self.spool.release_expired(everything=True)  # a late answer now would come after close anyway

    def _stop_worker(self) -> None:
        """Let the send worker end once its call (if any) returns; a later send starts a new one."""
        with self._lock:
            if self._worker is not None:
                self._calls.put(None)
                self._worker = None

    def _spool_leftovers(self) -> None:
        """Spool what the sender did not get to (it stops at close, never started, or is stuck), in
        batches of ``_SPOOL_BATCH`` with one file-system sync each, not one fsync'ed write per event."""
        while True:
            with self._queue_lock:
                items = [self._current] if self._current is not None else []
                self._current = None
                while self._queue and len(items) < _SPOOL_BATCH:
                    items.append(self._queue.popleft())
            if not items:
                return
            self._spool_batch([i for i in items if self._prepare(i) is not None], at_shutdown=True)

    def _at_exit(self) -> None:
        if os.getpid() == self._pid:
            self.close()

    # --- preparing and spooling ----------------------------------------------------------------

    def _prepare(self, item: _Item) -> dict[str, Any] | None:
        if item.wire is None:
            try:
                event = item.event
                if not isinstance(event, dict):
                    ensure_imported()
                    from openlineage.client.serde import Serde

                    event = Serde.to_dict(event)
                wire = redact_event(event, mask_sql_literals=self.mask_sql_literals)
                wire, dropped = enforce_size_cap(wire, self.max_event_bytes)
                if dropped:
                    metrics.incr("trimmed")
                    log.warning(
                        "lineage event for job %s exceeded max_event_bytes=%d; dropped %s",
                        (wire.get("job") or {}).get("name"),
                        self.max_event_bytes,
                        ", ".join(dropped),
                    )
                item.wire = wire
            except Exception as exc:
                metrics.incr("dropped")
                log.warning("lineage event dropped: it cannot be serialised (%s)", safe_error(exc))
                item.state = _DELIVERED  # nothing more to do with it
        return item.wire

    def _spool_item(self, item: _Item, why: str) -> bool:
        with self._lock:
            return self._spool_locked(item, why)

    def _spool_batch(self, items: list[_Item], *, at_shutdown: bool = False) -> None:
        """Spool the pending ones of these prepared items in one batch (``Spool.write_batch``); those the
        batch did not keep stay pending, or at shutdown are spooled one by one (lost if the spool refuses).

        Only queued items (no send of theirs in flight) come here from the sender, which holds just
        ``_batch_lock``: ``_lock`` stays free for ``emit`` (a full queue spools there). At shutdown the items
        include the one the sender held, whose send may be in flight: ``_lock`` is held too.
        """
        with self._batch_lock, self._lock if at_shutdown else contextlib.nullcontext():
            pending = [i for i in items if i.state == _PENDING and i.wire is not None]
            kept = self.spool.write_batch([(i.stamp, i.wire) for i in pending if i.wire is not None])
            for item in pending[:kept]:
                item.state = _SPOOLED
            if at_shutdown:
                self._shutdown_spooled += kept
                for item in pending[kept:]:
                    if self._spool_locked(item, "not sent before exit"):
                        self._shutdown_spooled += 1

    def _spool_at_shutdown(self, item: _Item) -> None:
        with self._lock:
            if self._spool_locked(item, "not sent before exit"):
                self._shutdown_spooled += 1

    def _spool_locked(self, item: _Item, why: str, *, hold: float | None = None) -> bool:
        """Spool a pending item; True if this call stored it. If the spool refuses, the event is lost.

        ``hold``: its send is still in flight, keep the record locked that long (``Spool.write``).
        """
        if item.state != _PENDING or self._prepare(item) is None:
            return False
        if self._write_locked(item, hold=hold):
            return True
        item.state = _DELIVERED
        metrics.incr("dropped")
        self._lost_log.warning(
            "lineage event lost: %s, and the spool %s ([lineage_provider] spool_dir) refused it (%s); "
            "to keep such events: %s",
            why,
            self.spool.directory,
            self._spool_error,
            _SPOOL_FIX,
        )
        return False

    def _write_locked(self, item: _Item, *, hold: float | None = None) -> bool:
        """Write a pending, prepared item to the spool; False (it stays pending) if the spool refuses."""
        assert item.wire is not None
        try:
            self.spool.write(item.stamp, item.wire, hold=hold)
        except Exception as exc:
            self._spool_error = safe_error(exc)
            self._backlog = False  # nothing can wait behind a spool that refuses writes: send directly
            return False
        item.state = _SPOOLED
        return True

    def _spool_behind(self, item: _Item) -> bool:
        """Spool an item behind this process's backlog; False (send it directly) if the spool refuses.

        The events queued behind it go in the same batch (one file-system sync for all), and leave the
        queue once stored (until then ``flush`` waits for them).
        """
        with self._queue_lock:
            queued = list(itertools.islice(self._queue, _SPOOL_BATCH - 1))
        if queued:
            self._spool_batch([item, *(i for i in queued if self._prepare(i) is not None)])
            with self._queue_lock:  # only this thread takes from the head (or close, which stops it first)
                for done in queued:
                    if not self._queue or self._queue[0] is not done or done.state == _PENDING:
                        break
                    self._queue.popleft()
        with self._lock:
            if item.state != _PENDING or self._write_locked(item):
                return True
        self._spool_log.warning(
            "lineage spool %s ([lineage_provider] spool_dir) refuses writes (%s); sending events directly "
            "(out of order, and lost if their send fails): %s",
            self.spool.directory,
            self._spool_error,
            _SPOOL_FIX,
        )
        return False

    # --- sending -------------------------------------------------------------------------------

    def _start_sender(self) -> None:
        with self._lock:
            if self._sender is None:
                thread = threading.Thread(target=self._run, name="lineage-sender", daemon=True)
                thread.start()
                self._sender = thread

    def _run_worker(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:  # the emitter closed: this thread (and what it references) must not stay
                return
            error: BaseException | None = None
            try:
                call.fn()
            except BaseException as exc:
                error = exc
            with self._lock:
                call.error = error
                call.done.set()
                if call.on_late is not None:
                    self._stuck = None
                    try:
                        call.on_late(error is None)
                    except Exception:  # the worker must outlive any late answer
                        log.debug("handling a late answer failed", exc_info=True)

    def _send(self, item: _Item, *, keep: bool = True) -> str:
        """Send one prepared item within ``send_timeout``: ``_SENT``, ``_FAILED`` or ``_REJECTED``.

        On a failure the item is spooled (if ``keep``); a pending item rejected for good is kept aside
        in the spool (if ``keep``). An item read from the spool is not sent when its record is gone: an
        earlier send of the same event was answered late, after the record had been read.
        """
        with self._send_lock:
            stuck = self._stuck
            if stuck is not None:  # an earlier send still hangs: give it one more send_timeout to end
                stuck.done.wait(self.send_timeout)
            with self._lock:
                if self._closing and self._winding_down():
                    blocked: str | None = "the process is shutting down"
                elif self._stuck is not None:  # still hanging: do not queue behind it
                    blocked = "an earlier send is still waiting for an answer"
                elif item.state == _SPOOLED and not self.spool.has(item.stamp):
                    item.state = _DELIVERED  # the late answer removed the record: this copy was delivered
                    return _SENT
                else:
                    blocked = None
            if blocked is not None:
                self.last_error = blocked
                if keep:
                    self._spool_item(item, blocked)
                return _FAILED
            with self._lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run_worker, name="lineage-send", daemon=True)
                    self._worker.start()
            wire = item.wire
            call = _Call(lambda: self.transport.emit(wire))
            self._calls.put(call)
            deadline = time.monotonic() + self.send_timeout
            while not call.done.wait(min(POLL_SECONDS, max(0.0, deadline - time.monotonic()))):
                now = time.monotonic()
                if now >= deadline or (now >= self._close_deadline and self._winding_down()):
                    break
            rejected = False
            wait: float | None = None
            with self._lock:
                if call.done.is_set():
                    if call.error is None:
                        self._delivered_locked(item)
                        return _SENT
                    reason = safe_error(call.error)
                    rejected = rejection_status(call.error) is not None
                    wait = retry_after(call.error)
                    if wait is not None:  # no send before then (the spool keeps the events meanwhile)
                        self._not_before = time.monotonic() + wait
                        reason += f"; the backend asked to wait {wait:.0f}s (Retry-After)"
                else:
                    self._stuck = call
                    call.on_late = lambda ok: self._late_locked(item, ok)
                    reason = (
                        "the process is shutting down"
                        if self._winding_down()
                        else f"no answer within send_timeout={self.send_timeout:g}s"
                    )
                self.last_error = reason
                if not keep:
                    return _REJECTED if rejected else _FAILED
                # a rejected event is set aside below if pending; if spooled, by the replay (deliver_spooled)
                set_aside = rejected and item.state == _PENDING
                # its answer may still come: no other process may replay it meanwhile (see Spool.hold)
                hold = None if call.done.is_set() else self._hold_seconds
                if set_aside:
                    item.state = _DELIVERED
                elif hold is not None and item.state == _SPOOLED:
                    self.spool.hold(item.stamp, hold)
                elif not rejected:
                    self._spool_locked(item, f"not delivered ({reason})", hold=hold)
        metrics.incr("failed")
        if rejected:
            if set_aside:
                self.spool.reject(item.stamp, reason, item.wire)
            return _REJECTED
        if item.state == _SPOOLED:
            if wait is not None:
                self._say_paused(reason, wait)
            else:
                self._failed_log.warning(
                    "lineage event not delivered (%s); kept in the spool %s", reason, self.spool.directory
                )
        return _FAILED

    def _say_paused(self, reason: str, wait: float) -> None:
        """Log once per pause (until a send succeeds again) that the backend asked to wait, and until when."""
        if self._pause_said:
            log.debug("lineage delivery still paused (%s)", reason)
            return
        self._pause_said = True
        until = (datetime.now(timezone.utc) + timedelta(seconds=wait)).strftime("%Y-%m-%d %H:%M:%S")
        then = (
            "then the spool is replayed from where it stopped, oldest first"
            if self.replay_on_success
            else "the spooled events wait for `airflow-lineage replay` (replay_on_success = False)"
        )
        log.warning(
            "lineage delivery paused (%s): no event is sent before %s UTC; until then events wait in the "
            "spool %s in order, %s",
            reason,
            until,
            self.spool.directory,
            then,
        )

    def _winding_down(self) -> bool:
        """True on the sender thread once close() began: it starts no new send, and stops waiting for
        the one in flight at the close deadline (other threads, e.g. a replay by hand, are not bound)."""
        return self._closing and threading.current_thread() is self._sender

    def _delivered_locked(self, item: _Item) -> None:
        if item.state == _SPOOLED:  # spooled meanwhile (exit) or being replayed: forget the stored copy
            try:
                self.spool.discard(item.stamp)
            except OSError:  # a replay reports it (SpoolError); a late answer cannot do better
                log.debug("cannot remove a delivered lineage event from the spool", exc_info=True)
        item.state = _DELIVERED
        metrics.incr("emitted")
        if self._pause_said:
            self._pause_said = False
            log.info("lineage delivery resumed after the wait the backend asked for (Retry-After)")

    def _late_locked(self, item: _Item, ok: bool) -> None:
        if ok:
            self._delivered_locked(item)
        self.spool.release(item.stamp)  # delivered (record removed) or failed: replay may take it now

    def send_now(self, event: Any) -> str | None:
        """Send one event synchronously (redacted, size-capped) within ``send_timeout``, never spooling it.

        Returns None when delivered, else the reason (log-safe). For ``airflow-lineage doctor``.
        """
        item = _Item(next_stamp(), event)
        if self._prepare(item) is None:
            return "the event cannot be serialised"
        return None if self._send(item, keep=False) == _SENT else self.last_error

    def deliver_spooled(self, event: dict[str, Any], stamp: str) -> bool:
        """Deliver one event read from the spool (``Spool.replay``'s callback); True when delivered.

        Raises ``spool.Rejected`` when the backend rejected it for good (replay moves the record aside).
        """
        outcome = self._send(_Item(stamp, None, wire=event, state=_SPOOLED))
        if outcome == _REJECTED:
            raise Rejected(self.last_error or "rejected")
        return outcome == _SENT

    def _replay(self, *, only_if_pending: bool = False) -> None:
        try:
            if only_if_pending and not self.spool.has_pending():
                return
            result = self.spool.replay(self.deliver_spooled, max_seconds=_REPLAY_SLICE_SECONDS)
        except Exception as exc:  # the spool cannot be read, locked or written: do not wait behind it
            self._spool_error = exc.detail if isinstance(exc, SpoolError) else safe_error(exc)
            self._backlog = False
            self._next_retry = self._next_spool_check = time.monotonic() + _BACKOFF_MAX
            self._spool_log.warning(
                "lineage spool %s ([lineage_provider] spool_dir) cannot be replayed (%s); "
                "sending events directly: %s",
                self.spool.directory,
                self._spool_error,
                _SPOOL_FIX,
            )
            return
        now = time.monotonic()
        if result.failed or result.locked or result.busy:
            if self._not_before > now:  # the backend said when (Retry-After): then, not later
                self._next_retry = self._not_before
            else:
                if result.failed:
                    self._backoff = min(self._backoff * 2, _BACKOFF_MAX)
                self._next_retry = now + self._backoff
        else:
            self._backoff = _BACKOFF_MIN
            self._backlog = result.remaining > 0
            # records left after a slice that delivered: go on once this process's own queue is spooled
            self._next_retry = now if result.remaining and result.delivered else now + self._backoff
        self._next_spool_check = now + _SPOOL_CHECK_SECONDS

    def _process(self, item: _Item) -> None:
        if self._prepare(item) is None:
            return
        # keep order: behind what is already spooled (unless the spool refuses it: then send directly);
        # while the backend asked to wait (Retry-After), nothing is sent to it: the event is spooled
        if (self._backlog or self._stuck is not None or self._deferred()) and self._spool_behind(item):
            if self._backlog and time.monotonic() >= self._next_retry and self._idle_queue():
                self._replay()  # once the queue is spooled (a replay takes up to _REPLAY_SLICE_SECONDS)
            return
        outcome = self._send(item)
        if outcome == _SENT:
            if self.replay_on_success and time.monotonic() >= self._next_spool_check:
                self._next_spool_check = time.monotonic() + _SPOOL_CHECK_SECONDS
                self._replay(only_if_pending=True)
        elif outcome == _FAILED and self.replay_on_success and item.state == _SPOOLED:
            self._backlog = True
            now = time.monotonic()
            self._next_retry = self._not_before if self._not_before > now else now + self._backoff

    def _idle_queue(self) -> bool:
        with self._queue_lock:
            return not self._queue

    def _next(self) -> _Item | None:
        with self._queue_lock:
            self._current = self._queue.popleft() if self._queue else None
            return self._current

    def _run(self) -> None:
        if self.replay_on_success:
            try:
                self._backlog = self.spool.has_pending()
            except Exception:
                log.debug("cannot look into the lineage spool", exc_info=True)
            self._next_spool_check = time.monotonic() + _SPOOL_CHECK_SECONDS
        try:
            while not self._closing:  # at close, what is still queued is spooled in batches by close()
                self.spool.release_expired()
                item = self._next()
                if item is None:
                    with self._drained:
                        self._drained.notify_all()
                    if self._closing:
                        return
                    self._wake.wait(POLL_SECONDS)
                    self._wake.clear()
                    if self._backlog and not self._closing and time.monotonic() >= self._next_retry:
                        self._replay()
                    continue
                try:
                    if self._closing:
                        self._spool_at_shutdown(item)
                    else:
                        self._process(item)
                except Exception as exc:  # the sender must outlive any single event
                    log.warning("lineage sender error: %s", safe_error(exc))
        finally:
            with self._queue_lock:
                self._current = None
            self._stopped.set()
            with self._drained:
                self._drained.notify_all()


def create_emitter() -> Emitter:
    """A new emitter from the ``[lineage_provider]`` configuration. Raises only ConfigError."""
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.emission import transport

    spec = transport.resolve()
    # openlineage-python's no-op transport (OPENLINEAGE_DISABLED=true) "delivers" by discarding: events
    # spooled during an earlier outage must stay on disk until it is a real transport again
    discarding = not spec.is_default and transport.openlineage_disabled()
    return Emitter(
        transport.build_lazy(spec, send_timeout=conf.send_timeout()),  # built by the send thread
        Spool(conf.spool_dir(), conf.spool_max_bytes()),
        queue_size=conf.queue_size(),
        send_timeout=conf.send_timeout(),
        flush_timeout=conf.flush_timeout(),
        replay_on_success=conf.replay_on_success() and not discarding,
        max_event_bytes=conf.max_event_bytes(),
        mask_sql_literals=conf.mask_sql_literals(),
        is_default_transport=spec.is_default,
    )


def get_emitter() -> Emitter:
    global _emitter
    if _emitter is None:
        with _lock:
            if _emitter is None:
                emitter = create_emitter()
                atexit.register(emitter._at_exit)
                _emitter = emitter
    return _emitter


def reset_emitter() -> None:
    global _emitter
    with _lock:
        if _emitter is not None:
            atexit.unregister(_emitter._at_exit)
            _emitter.close(1.0)
        _emitter = None


def _forget_in_child() -> None:
    """After fork: the parent's emitter, queue and threads are not ours; start afresh on first use."""
    global _emitter, _lock
    _emitter = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
