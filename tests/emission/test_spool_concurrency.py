"""Several processes on one spool at once: writers, replayers, a writer killed mid-record, a send still
in flight in one process while another replays. Real processes, a real receiver on 127.0.0.1, real files.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.serde import Serde

from airflow_lineage_provider.emission.emitter import Emitter
from airflow_lineage_provider.emission.spool import Spool, next_stamp
from airflow_lineage_provider.emission.transport import TransportSpec, build

from .conftest import http_config
from .factory import assert_exactly_once_in_order, run_pairs
from .receiver import free_port

#: a child process: an emitter on a real transport; ``code`` then runs with ``em`` and ``spool`` bound
_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from airflow_lineage_provider.emission.emitter import Emitter
    from airflow_lineage_provider.emission.spool import Spool
    from airflow_lineage_provider.emission.transport import TransportSpec, build
    from airflow_lineage_provider.emission import metrics, redaction
    redaction.redact_text("warm-up")  # what an Airflow process has imported already (masker, Stats)
    metrics.incr("warm_up")
    url, spool_dir, send_timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    config = {"type": "http", "url": url, "endpoint": "api/v1/lineage"}
    transport = build(TransportSpec(config=config, source="test"), send_timeout=send_timeout)
    spool = Spool(spool_dir, 1 << 30)
    em = Emitter(transport, spool, send_timeout=send_timeout, flush_timeout=2.0)
    """
)


def _child(code: str, url: str, spool_dir: Path, send_timeout: float = 0.5, **kw: Any) -> subprocess.Popen:
    script = _CHILD + textwrap.dedent(code)
    return subprocess.Popen(
        [sys.executable, "-c", script, url, str(spool_dir), str(send_timeout)], text=True, **kw
    )


def _emitter(url: str, spool_dir: Path, send_timeout: float = 0.5) -> Emitter:
    config = {"type": "http", "url": url, "endpoint": "api/v1/lineage"}
    transport = build(TransportSpec(config=config, source="test"), send_timeout=send_timeout)
    return Emitter(transport, Spool(str(spool_dir), 1 << 30), send_timeout=send_timeout, flush_timeout=1.0)


def _records(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))


def _wait_for_record(directory: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := _records(directory):
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no record appeared in {directory}")


def test_writers_and_replayers_at_once_deliver_each_event_once_in_order(tmp_path, receiver):
    """Three processes spool (their backend is down) while two others replay the same spool to a healthy
    receiver: every event arrives exactly once, each run's START before its COMPLETE, nothing is left."""
    rec = receiver("healthy")
    spool_dir = tmp_path / "spool"
    events = run_pairs(45)
    pairs = [events[i : i + 2] for i in range(0, len(events), 2)]  # a run's START and COMPLETE
    slices = [[e for pair in pairs[w::3] for e in pair] for w in range(3)]  # a run is one process's
    down = f"http://127.0.0.1:{free_port()}"
    done = tmp_path / "writers-done"
    writers = []
    for index, part in enumerate(slices):
        feed = tmp_path / f"events-{index}.json"
        feed.write_text(json.dumps([Serde.to_dict(e) for e in part]))
        code = f"""
            for event in json.load(open({str(feed)!r})):
                em.emit(event)
                time.sleep(0.002)
            em.close(2.0)
            """
        writers.append(_child(code, down, spool_dir))
    replay_code = f"""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            finished = os.path.exists({str(done)!r})
            result = spool.replay(em.deliver_spooled, wait=0.2)
            if finished and not result.locked and result.remaining == 0:
                break
            time.sleep(0.02)
        em.close(1.0)
        """
    replayers = [_child(replay_code, rec.url, spool_dir) for _ in range(2)]
    for proc in writers:
        assert proc.wait(60) == 0
    done.touch()
    for proc in replayers:
        assert proc.wait(60) == 0
    final = _emitter(rec.url, spool_dir)
    final.spool.replay(final.deliver_spooled)
    final.close(1.0)
    assert_exactly_once_in_order(rec.received(), events)
    assert _records(spool_dir) == []
    assert not [n for n in os.listdir(spool_dir) if n.endswith((".unreadable", ".rejected", ".tmp"))]


def test_writer_killed_mid_record_while_replaying_loses_no_whole_record(tmp_path, receiver):
    """A process spooling big records is killed with SIGKILL while another replays: every record it
    finished is delivered once, the torn one (a temporary file) is never delivered nor counted as a
    record, and nothing is set aside as unreadable."""
    rec = receiver("healthy")
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    code = f"""
        from airflow_lineage_provider.emission.spool import next_stamp
        template = json.load(open({str(tmp_path / "template.json")!r}))
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        index = 0
        while True:
            run_id = "%08d-0000-7000-8000-000000000000" % index
            event = dict(template, run=dict(template["run"], runId=run_id))
            spool.write(next_stamp(), event)
            index += 1
        """
    template = Serde.to_dict(run_pairs(1)[0])
    template["run"]["facets"] = {"pad": {"_producer": "p", "_schemaURL": "s", "x": "p" * 300_000}}
    (tmp_path / "template.json").write_text(json.dumps(template))
    writer = _child(code, rec.url, spool_dir, stdout=subprocess.PIPE)
    replayer = _emitter(rec.url, spool_dir)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 20
        while len(rec.received()) < 5 and time.monotonic() < deadline:
            replayer.spool.replay(replayer.deliver_spooled, max_seconds=0.5)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
    result = replayer.spool.replay(replayer.deliver_spooled)
    replayer.close(1.0)
    assert result.dropped == 0 and result.failed == 0 and result.remaining == 0
    run_ids = [e["run"]["runId"] for e in rec.received()]
    assert len(run_ids) >= 5 and len(set(run_ids)) == len(run_ids)
    assert run_ids == sorted(run_ids)  # in the order written
    assert not [n for n in os.listdir(spool_dir) if n.endswith(".unreadable")]


# --- a send still in flight in one process while another replays -----------------------------------


class GatedReceiver:
    """Accepts events but answers (200, recorded) only once the gate opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.events: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not receiver.gate.wait(20):
                    return
                receiver.events.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def gated() -> Iterator[GatedReceiver]:
    rec = GatedReceiver()
    yield rec
    rec.stop()


_EMIT_ONE_AND_WAIT = """
    event = json.loads(sys.stdin.readline())
    em.emit(event)
    sys.stdin.readline()  # until the test says so
    em.close(1.0)
    """


def test_send_in_flight_in_another_process_is_not_replayed_twice(tmp_path, gated):
    """Process A's send times out and its event is spooled while the request is still open. Process B
    replays the spool meanwhile: it must stop at that record (busy), not send it again. A's late answer
    removes the record: the backend holds the event once."""
    spool_dir = tmp_path / "spool"
    event = Serde.to_dict(run_pairs(1)[0])
    sender = _child(_EMIT_ONE_AND_WAIT, gated.url, spool_dir, send_timeout=1.0, stdin=subprocess.PIPE)
    assert sender.stdin is not None
    sender.stdin.write(json.dumps(event) + "\n")
    sender.stdin.flush()
    try:
        _wait_for_record(spool_dir)  # A gave up waiting; its request is still open (HTTP timeout 2 s)
        other = _emitter(gated.url, spool_dir, send_timeout=1.0)
        result = other.spool.replay(other.deliver_spooled)
        assert result.busy and result.delivered == 0 and result.remaining == 1
        gated.gate.set()  # A's answer arrives late: A removes the record
        deadline = time.monotonic() + 5
        while _records(spool_dir) and time.monotonic() < deadline:
            time.sleep(0.02)
        result = other.spool.replay(other.deliver_spooled)
        other.close(1.0)
        assert not result.busy and result.delivered == 0 and result.remaining == 0
    finally:
        sender.stdin.write("\n")
        sender.stdin.close()
        sender.wait(10)
    assert [e["run"]["runId"] for e in gated.events] == [event["run"]["runId"]]


class TricklingServer:
    """Answers every request one byte at a time, a byte every 0.1 s, forever: a read timeout never fires."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._stopped = threading.Event()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self._stopped.wait(0.1):
                    conn.sendall(b"X-Pad: x\r\n")
            except OSError:
                return

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()


def test_hold_on_a_record_in_flight_ends_even_if_the_answer_never_does(tmp_path, receiver):
    """A backend that keeps a request open forever (a byte at a time) holds process A's send, not the
    spool: A's lock on the record ends after twice send_timeout, and a replay that waits for it (as
    `airflow-lineage replay` does) then delivers the event elsewhere, once."""
    trickle = TricklingServer()
    rec = receiver("healthy")
    spool_dir = tmp_path / "spool"
    event = Serde.to_dict(run_pairs(1)[0])
    sender = _child(_EMIT_ONE_AND_WAIT, trickle.url, spool_dir, send_timeout=0.5, stdin=subprocess.PIPE)
    assert sender.stdin is not None
    try:
        sender.stdin.write(json.dumps(event) + "\n")
        sender.stdin.flush()
        _wait_for_record(spool_dir)
        other = _emitter(rec.url, spool_dir)
        assert other.spool.replay(other.deliver_spooled).busy
        started = time.monotonic()
        result = other.spool.replay(other.deliver_spooled, wait=10.0)
        waited = time.monotonic() - started
        other.close(1.0)
        assert result.delivered == 1 and not result.busy, result
        assert waited < 3.0, f"waited {waited:.1f}s for a lock that should end 1 s after the timeout"
    finally:
        sender.stdin.write("\n")
        sender.stdin.close()
        sender.wait(10)
        trickle.stop()
    assert [e["run"]["runId"] for e in rec.received()] == [event["run"]["runId"]]


def test_forked_child_does_not_keep_a_record_lock(tmp_path):
    """flock belongs to the open file, which fork shares: a child must close its copy of a record lock,
    or the parent's release would not free the record while the child lives."""
    spool = Spool(str(tmp_path), 1 << 30)
    stamp = next_stamp()
    spool.write(stamp, {"eventType": "START"}, hold=30.0)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: its fork handlers have run once it can write
        os.write(write_end, b"x")
        time.sleep(3)
        os._exit(0)
    try:
        os.close(write_end)
        assert os.read(read_end, 1) == b"x"
        os.close(read_end)
        spool.release(stamp)
        delivered: list[str] = []
        result = Spool(str(tmp_path), 1 << 30).replay(lambda event, s: delivered.append(s) or True)
        assert not result.busy and delivered == [stamp]
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_replay_command_waits_for_a_send_in_flight_elsewhere(tmp_path, receiver, lineage_options, capsys):
    """`airflow-lineage replay` meets a record another process is still sending: it waits for that send
    to end (here: the lock is released after 0.5 s, the answer having failed), then delivers it once."""
    from argparse import Namespace

    from airflow_lineage_provider.emission.spool import replay_command

    rec = receiver("healthy")
    lineage_options(transport=json.dumps(http_config(rec)))
    spool_dir = str(tmp_path / "spool")
    event = Serde.to_dict(run_pairs(1)[0])
    stamp = next_stamp()
    Spool(spool_dir, 1 << 30).write(stamp, event)
    holder = Spool(spool_dir, 1 << 30)  # its own open file: as another process
    assert holder.hold(stamp, 30.0)
    timer = threading.Timer(0.5, holder.release, args=(stamp,))
    started = time.monotonic()
    timer.start()
    try:
        code = replay_command(Namespace(spool_dir=spool_dir, limit=None, dry_run=False))
    finally:
        timer.cancel()
        holder.release(stamp)
    out = capsys.readouterr().out
    assert code == 0, out
    assert time.monotonic() - started >= 0.45
    assert "replayed 1 event(s)" in out
    assert [e["run"]["runId"] for e in rec.received()] == [event["run"]["runId"]]


def test_replay_never_holds_this_process_own_events_in_memory_for_long(tmp_path, receiver):
    """While other processes spool faster than the backend takes events, a replay never runs out of
    records. The replaying process must still get to its own queue (and spool its events behind) every
    few seconds: events held in memory meanwhile would be lost to a SIGKILL."""
    rec = receiver("slow", slow_seconds=0.02)
    spool_dir = tmp_path / "spool"
    code = """
        from airflow_lineage_provider.emission.spool import next_stamp
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        index = 0
        while not os.path.exists(sys.argv[2] + ".stop"):
            spool.write(next_stamp(), {"eventType": "START", "run": {"runId": str(index)}})
            index += 1
            time.sleep(0.005)
        """
    writer = _child(code, rec.url, spool_dir, stdout=subprocess.PIPE)
    em = _emitter(rec.url, spool_dir)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        while len(_records(spool_dir)) < 30 and time.monotonic() < deadline:  # a backlog, still growing
            time.sleep(0.01)
        for index in range(2):
            em.emit({"eventType": "START", "run": {"runId": f"own-{index}"}, "job": {"namespace": "n"}})
            started = time.monotonic()
            assert em.flush(8.0), "the sender is still replaying, its own event only in memory"
            assert time.monotonic() - started < 5.0
    finally:
        Path(f"{spool_dir}.stop").touch()
        writer.wait(10)
        em.close(0.5)
    spool = Spool(str(spool_dir), 1 << 30)
    on_disk = {spool.read(stamp)["run"]["runId"] for stamp in spool.names()}
    delivered = {e["run"]["runId"] for e in rec.received()}
    assert {"own-0", "own-1"} <= on_disk | delivered
