"""The emitter when something other than the backend's availability goes wrong.

A backend that rejects one event for good, a spool that refuses writes or replay, an answer that comes
after its send timed out, a process that exits in the middle of a replay, a fork while a lock is held,
warnings that would repeat per event. Real HTTP receivers on 127.0.0.1 and real directories throughout.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.serde import Serde

from airflow_lineage_provider.emission import metrics
from airflow_lineage_provider.emission.emitter import Emitter
from airflow_lineage_provider.emission.spool import Spool, next_stamp
from airflow_lineage_provider.emission.transport import TransportSpec, build

from .conftest import http_config
from .factory import PRODUCER, assert_exactly_once_in_order, run_event, run_pairs
from .test_emitter import _child_env, _run_child


class LimitedReceiver:
    """A real OpenLineage receiver on 127.0.0.1 behind a proxy-like body limit.

    A request body larger than ``limit`` bytes is answered with ``status`` (413 by default) and not
    recorded; any other is recorded and answered 200.
    """

    def __init__(self, limit: int, status: int = 413) -> None:
        self.limit = limit
        self.status = status
        self.events: list[dict[str, Any]] = []
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if len(body) > receiver.limit:
                    receiver.rejected += 1
                    code = receiver.status
                else:
                    receiver.events.append(json.loads(body))
                    code = 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def limited() -> Iterator[Callable[..., LimitedReceiver]]:
    started: list[LimitedReceiver] = []

    def start(limit: int = 20_000, status: int = 413) -> LimitedReceiver:
        rec = LimitedReceiver(limit, status)
        started.append(rec)
        return rec

    yield start
    for rec in started:
        rec.stop()


def _big_event(pad: int = 60_000) -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2026-01-01T00:00:00+00:00",
        "run": {"runId": "01890000-0000-7000-8000-00000000b16e", "facets": {"pad": {"x": "p" * pad}}},
        "job": {"namespace": "tests", "name": "big"},
        "producer": PRODUCER,
    }


def _wire(events: list[Any]) -> list[dict[str, Any]]:
    return [Serde.to_dict(e) for e in events]


def _files(directory: Path, suffix: str) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(suffix))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# --- an event the backend rejects for good -------------------------------------------------------


def test_rejected_event_is_set_aside_and_later_events_delivered(limited, make_emitter, tmp_path, caplog):
    """A 413 for one event must not stop delivery: that event is kept aside, the others go through."""
    rec = limited()
    em = make_emitter(http_config(rec), send_timeout=1.0)
    dropped_before = metrics.snapshot().get("dropped", 0)
    events = run_pairs(5)
    with caplog.at_level(logging.WARNING):
        em.emit(_big_event())
        for event in events:
            em.emit(event)
        assert em.flush(10)
    assert_exactly_once_in_order(rec.events, events)
    spool_dir = tmp_path / "spool"
    assert em.spool.names() == []
    assert len(_files(spool_dir, ".rejected")) == 1
    assert metrics.snapshot().get("dropped", 0) - dropped_before == 1
    (warning,) = [m for m in _warnings(caplog) if "rejected" in m]
    assert "413" in warning and str(spool_dir) in warning


def test_replay_sets_a_rejected_record_aside_and_goes_on(limited, make_emitter, tmp_path):
    """A rejected record in the middle of the spool: the records before and after it are delivered."""
    rec = limited()
    em = make_emitter(http_config(rec), send_timeout=1.0)
    first, last = run_pairs(2, "first"), run_pairs(2, "last")
    for event in [*_wire(first), _big_event(), *_wire(last)]:
        em.spool.write(next_stamp(), event)
    result = em.spool.replay(em.deliver_spooled)
    assert (result.delivered, result.rejected, result.failed, result.remaining) == (8, 1, 0, 0)
    assert_exactly_once_in_order(rec.events, first + last)
    assert [e["job"]["name"] for e in rec.events] == [e.job.name for e in first + last]
    assert len(_files(tmp_path / "spool", ".rejected")) == 1


@pytest.mark.parametrize("status", [401, 429, 503])
def test_statuses_that_may_pass_later_are_retried_not_set_aside(status, limited, make_emitter, tmp_path):
    """401 (a key to fix), 429 (later) and 5xx hold for every event: kept in the spool, in order."""
    rec = limited(status=status)
    em = make_emitter(http_config(rec), send_timeout=1.0)
    events = run_pairs(2)
    em.emit(_big_event())
    for event in events:
        em.emit(event)
    assert em.flush(10)
    assert rec.events == [] and rec.rejected >= 1
    assert len(em.spool.names()) == 5
    assert _files(tmp_path / "spool", ".rejected") == []


# --- a spool that refuses writes or replay -------------------------------------------------------


@pytest.fixture(params=["under-a-file", "read-only"])
def unusable_spool(request, tmp_path) -> Path:
    if request.param == "under-a-file":
        (tmp_path / "a-file").write_text("")
        return tmp_path / "a-file" / "spool"
    return Path("/proc/self")  # a directory nobody can create files in, not even root


def test_unwritable_spool_does_not_stop_delivery(unusable_spool, receiver, make_emitter, caplog):
    """One failed send with a spool that refuses writes: that event is lost, every later one delivered."""
    rec = receiver("refuse")
    em = make_emitter(http_config(rec), spool_dir=unusable_spool, send_timeout=1.0)
    with caplog.at_level(logging.WARNING):
        em.emit(run_event("START", "01890000-0000-7000-8000-0000000000f1", "lost"))
        assert em.flush(10)
        rec.set_mode("healthy")
        events = run_pairs(5)
        for event in events:
            em.emit(event)
        assert em.flush(10)
    assert_exactly_once_in_order(rec.received(), events)
    warnings = _warnings(caplog)
    assert warnings and all("[lineage_provider] spool_dir" in m for m in warnings), warnings
    assert not any("kept in the spool" in m for m in warnings), warnings


def test_unlockable_spool_does_not_hold_up_delivery(receiver, make_emitter, tmp_path, caplog):
    """A spool whose replay lock cannot be taken: backlog mode is left, events are sent directly."""
    rec = receiver("healthy")
    spool_dir = tmp_path / "spool"
    spool = Spool(str(spool_dir), 1 << 30)
    old = _wire(run_pairs(1, "old"))
    for event in old:
        spool.write(next_stamp(), event)
    (spool_dir / ".replay.lock").mkdir()  # cannot be opened as the lock file
    em = make_emitter(http_config(rec), spool_dir=spool_dir)
    first = run_event("START", "01890000-0000-7000-8000-0000000000f2", "first")
    with caplog.at_level(logging.WARNING):
        em.emit(first)  # the process starts in backlog mode (old events wait)
        assert em.flush(10)
        later = run_pairs(3, "later")
        for event in later:
            em.emit(event)
        assert em.flush(10)
    received = rec.received()
    # the first event is spooled behind the old ones, unless the failed replay came before it
    first_sent = [e for e in received if e["job"]["name"] == "first"]
    assert_exactly_once_in_order([e for e in received if e["job"]["name"] != "first"], later)
    assert len(spool.names()) == len(old) + 1 - len(first_sent)  # nothing lost: on disk for later
    assert any("[lineage_provider] spool_dir" in m and "locked" in m for m in _warnings(caplog))


# --- answers that come late, and process exit ----------------------------------------------------


def test_late_answer_during_replay_is_not_sent_twice(receiver, tmp_path):
    """The send times out, replay reads its record and waits for it, then the answer comes: no resend."""
    rec = receiver("slow", slow_seconds=2.5)
    # HTTP timeout 10 s, so the answer after 2.5 s is seen; the emitter gives each send 1 s
    transport = build(TransportSpec(config=http_config(rec), source="test"), send_timeout=5.0)
    em = Emitter(transport, Spool(str(tmp_path / "spool"), 1 << 30), send_timeout=1.0, flush_timeout=5.0)
    try:
        events = run_pairs(2)
        for event in events:
            em.emit(event)
        deadline = time.monotonic() + 5
        while rec.requests < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        rec.set_mode("healthy")  # only the first request is slow (it times out at 1 s, answers at 2.5 s)
        # 1 s: spooled; 2 s: replay reads it and waits for the hung send; 2.5 s: the answer
        rec.wait_for(len(events), timeout=15)
        assert em.flush(10)
        deadline = time.monotonic() + 10
        while em.spool.names() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert_exactly_once_in_order(rec.received(), events)
        assert em.spool.names() == []
    finally:
        em.close(0.5)


def test_exit_during_replay_lets_the_send_in_flight_finish(receiver, make_emitter, tmp_path):
    """A short task exits while its sender replays an old backlog: the request in flight is answered
    before exit and its record removed, so the later replay does not deliver it a second time."""
    rec = receiver("slow", slow_seconds=0.3)
    env = _child_env(tmp_path, transport=json.dumps(http_config(rec)), flush_timeout="2")
    spool = Spool(str(tmp_path / "spool"), 1 << 30)
    old = run_pairs(10, "old")
    for event in _wire(old):
        spool.write(next_stamp(), event)
    started = time.monotonic()
    proc = _run_child(
        """
        import time
        from emission.factory import run_event
        from airflow_lineage_provider.emission.emitter import get_emitter
        get_emitter().emit(run_event("START", "01890000-0000-7000-8000-0000000000c1", "child"))
        time.sleep(1.0)  # the sender is replaying the backlog (0.3 s per event) when the task ends
        """,
        env,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30
    sent_by_child = len(rec.received())
    assert 0 < sent_by_child < len(old)  # it did exit in the middle of the replay
    time.sleep(0.5)  # an abandoned request would be recorded by now
    rec.set_mode("healthy")
    em = make_emitter(http_config(rec), spool_dir=tmp_path / "spool")
    result = em.spool.replay(em.deliver_spooled)
    assert result.failed == 0 and result.remaining == 0
    child = run_event("START", "01890000-0000-7000-8000-0000000000c1", "child")
    assert_exactly_once_in_order(rec.received(), [*old, child])


def test_close_with_an_infinite_flush_timeout_neither_raises_nor_hangs(receiver, tmp_path):
    rec = receiver("healthy")
    transport = build(TransportSpec(config=http_config(rec), source="test"), send_timeout=1.0)
    em = Emitter(transport, Spool(str(tmp_path / "spool"), 1 << 30), flush_timeout=float("inf"))
    events = run_pairs(3)
    for event in events:
        em.emit(event)
    started = time.monotonic()
    em.close()
    assert time.monotonic() - started < 10
    assert_exactly_once_in_order(rec.received(), events)


def test_trickling_backend_holds_no_send_past_the_transport_timeout(receiver, make_emitter):
    """A backend that sends its answer a byte every 50 ms (no single read ever times out): each request
    ends after the transport timeout (twice send_timeout), its event stays in the spool, and the sender
    goes on trying; once the backend answers, every event arrives once, in order."""
    rec = receiver("trickle", hang_max=60)
    em = make_emitter(http_config(rec), send_timeout=0.5)  # transport timeout: 1 s per request
    events = run_pairs(2)
    for event in events:
        em.emit(event)
    assert em.flush(10)
    assert len(em.spool.names()) == 4
    # the first request ends by itself at 1 s; the backlog retries after 1 s more: a second request
    # (a request held for the trickle's 60 s would keep the sender from ever sending one)
    deadline = time.monotonic() + 15
    while rec.requests < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rec.requests >= 2, "the trickled request still holds the sender"
    assert rec.received() == [] and len(em.spool.names()) == 4
    rec.set_mode("healthy")
    assert_exactly_once_in_order(rec.wait_for(4, timeout=30), events)
    assert em.flush(10)
    deadline = time.monotonic() + 5
    while em.spool.names() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert em.spool.names() == []


# --- fork ----------------------------------------------------------------------------------------


def test_child_forked_while_the_counters_are_locked_can_count():
    """A fork while another thread holds the counters' lock: the child's copy must not stay locked."""
    with metrics._lock:  # as if another thread were counting at the moment of the fork
        pid = os.fork()
        if pid == 0:
            signal.alarm(5)  # a deadlocked child is killed instead of hanging the test
            metrics.incr("fork_test")
            os._exit(0 if metrics.snapshot().get("fork_test") else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- quiet logs ----------------------------------------------------------------------------------


def test_full_queue_warns_once_then_summarises(receiver, make_emitter, caplog):
    rec = receiver("hang", hang_max=3)
    em = make_emitter(http_config(rec), queue_size=2, send_timeout=1.0)
    with caplog.at_level(logging.WARNING):
        for event in run_pairs(20):
            em.emit(event)
        full = [m for m in _warnings(caplog) if "queue is full" in m]
        assert len(full) == 1
        em.close(0.5)
    full = [m for m in _warnings(caplog) if "queue is full" in m]
    assert len(full) == 2 and "more like this" in full[1]  # the summary at close, with the count


def test_refusing_spool_warns_once_then_summarises(receiver, make_emitter, tmp_path, caplog):
    rec = receiver("refuse")
    (tmp_path / "a-file").write_text("")
    em = make_emitter(http_config(rec), spool_dir=tmp_path / "a-file" / "spool", send_timeout=0.5)
    with caplog.at_level(logging.WARNING):
        for event in run_pairs(10):
            em.emit(event)
        assert em.flush(20)
        em.close(0.5)
    warnings = _warnings(caplog)  # 20 events lost: the first warning, and the last one with the count
    assert len(warnings) == 2, warnings
    assert "lost" in warnings[1] and "18 more like this" in warnings[1]
