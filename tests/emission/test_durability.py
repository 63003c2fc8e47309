"""What a write to disk promises: a spool record counts as kept once it is fsync'ed (file, then directory),
and a line of the JSON-lines file transport is written whole or not at all (then the event is spooled).

A full disk is simulated without root with ``RLIMIT_FSIZE`` in a child process: a write that crosses the
limit is short, the next one fails with EFBIG, as on a disk that fills up in the middle of a write.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from airflow_lineage_provider.emission import metrics
from airflow_lineage_provider.emission import spool as spool_module
from airflow_lineage_provider.emission.direct import RotatingFileWriter
from airflow_lineage_provider.emission.spool import Spool, next_stamp

from .conftest import http_config


@pytest.fixture
def syscalls(monkeypatch):
    """Record fsync and rename calls (the real ones still run): (name, path or descriptor target)."""
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_spool_record_is_fsynced_before_and_its_directory_after_the_rename(tmp_path, syscalls):
    spool = Spool(str(tmp_path), 1 << 30)
    stamp = next_stamp()
    spool.write(stamp, {"eventType": "START"})
    record = str(tmp_path / f"{stamp}.json")
    tmp = str(tmp_path / f".{stamp}.tmp")
    assert syscalls == [("fsync", tmp), ("replace", record), ("fsync", str(tmp_path))]


def test_a_rejected_event_kept_aside_is_fsynced_too(tmp_path, syscalls, monkeypatch):
    # a throttle of its own: the module's (one line a minute) must stay unused for the other tests
    monkeypatch.setattr(spool_module, "_rejected_log", metrics.LogThrottle(spool_module.log))
    spool = Spool(str(tmp_path), 1 << 30)
    stamp = next_stamp()
    spool.reject(stamp, "400 Bad Request", {"eventType": "START"})
    assert [name for name, _ in syscalls] == ["fsync", "replace", "fsync"]
    assert os.listdir(tmp_path) == [f".{stamp}.rejected"]


@pytest.mark.parametrize("failing", ["file", "directory"])
def test_an_fsync_error_keeps_nothing_and_raises(tmp_path, monkeypatch, failing):
    """A record that could not be made durable is not kept (the caller logs the event as lost)."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        is_dir = os.path.isdir(os.readlink(f"/proc/self/fd/{fd}"))
        if is_dir == (failing == "directory"):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    spool = Spool(str(tmp_path), 1 << 30)
    with pytest.raises(OSError):
        spool.write(next_stamp(), {"eventType": "START"})
    assert os.listdir(tmp_path) == []


def test_a_file_system_without_fsync_still_keeps_records(tmp_path, monkeypatch):
    def fsync(fd: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", fsync)
    spool = Spool(str(tmp_path), 1 << 30)
    stamp = next_stamp()
    spool.write(stamp, {"eventType": "START"})
    assert spool.names() == [stamp]


def test_a_batch_is_synced_once_renamed_then_its_directory_fsynced_once(tmp_path, syscalls):
    """``write_batch`` (the queue at exit): one file-system sync for all records' data (``syncfs``, not
    seen here), the renames, then one directory fsync; every record whole, no temporary file left."""
    spool = Spool(str(tmp_path), 1 << 30)
    records = [(next_stamp(), {"eventType": "START", "index": index}) for index in range(200)]
    spooled_before = metrics.snapshot().get("spooled", 0)
    assert spool.write_batch(records) == 200
    renames = [("replace", str(tmp_path / f"{stamp}.json")) for stamp, _ in records]
    assert syscalls == [*renames, ("fsync", str(tmp_path))]
    assert spool.names() == [stamp for stamp, _ in records]
    assert [spool.read(stamp) for stamp, _ in records] == [event for _, event in records]
    assert sorted(os.listdir(tmp_path)) == sorted(f"{stamp}.json" for stamp, _ in records)
    assert metrics.snapshot().get("spooled", 0) - spooled_before == 200


def test_a_batch_whose_directory_fsync_fails_keeps_nothing(tmp_path, monkeypatch):
    """As for one record: what could not be made durable is not kept, and the caller is told (0 kept)."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    spool = Spool(str(tmp_path), 1 << 30)
    assert spool.write_batch([(next_stamp(), {"eventType": "START"}) for _ in range(20)]) == 0
    assert os.listdir(tmp_path) == []


def test_a_batch_respects_the_spool_cap(tmp_path):
    """A batch counts toward ``spool_max_mb`` like single writes: the oldest records make room."""
    spool = Spool(str(tmp_path), 30_000)
    old = [(next_stamp(), {"pad": "o" * 900}) for _ in range(20)]
    for stamp, event in old:
        spool.write(stamp, event)
    new = [(next_stamp(), {"pad": "n" * 900}) for _ in range(20)]
    assert spool.write_batch(new) == 20
    names = spool.names()
    assert names[-20:] == [stamp for stamp, _ in new]
    assert sum(os.path.getsize(tmp_path / f"{name}.json") for name in names) <= 30_000


# --- the JSON-lines file transport on a full disk --------------------------------------------------

_FILL_UP = textwrap.dedent(
    """
    import json, resource, signal, sys
    from airflow_lineage_provider.emission.direct import RotatingFileWriter
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    path, limit = sys.argv[1], int(sys.argv[2])
    writer = RotatingFileWriter(path, max_bytes=None)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    outcome = []
    for index in range(6):
        try:
            writer.emit({"index": index, "pad": "x" * 3000})
            outcome.append(index)
        except OSError as exc:
            outcome.append(-exc.errno)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space freed
    writer.emit({"index": "after"})
    print(json.dumps(outcome))
    """
)


def test_file_transport_on_a_full_disk_writes_whole_lines_or_raises(tmp_path):
    """A short write must not count as delivered: the event is reported failed (so it is spooled) and
    the line written in part is cut off, so the next event is not glued to it."""
    path = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", _FILL_UP, str(path), "10000"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # 3 lines of ~3 KB fit in 10,000 bytes; the 4th is written in part, then fails (as later ones)
    assert json.loads(done.stdout) == [0, 1, 2] + [-errno.EFBIG] * 3
    lines = path.read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2, "after"]


def test_file_transport_after_a_torn_last_line_writes_its_own_line(tmp_path):
    """A writer killed in the middle of a line leaves it without its newline: the next event still gets
    a line of its own (the torn one stays unreadable, but takes nothing with it)."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"index": 0}\n{"index": 1, "pad": "xx')
    RotatingFileWriter(str(path), max_bytes=None).emit({"index": 2})
    lines = path.read_text().splitlines()
    assert lines[0] == '{"index": 0}' and json.loads(lines[-1]) == {"index": 2} and len(lines) == 3


def test_file_transport_through_the_emitter_on_a_full_disk_spools_the_event(tmp_path):
    """End to end: an event the file transport could not write whole is in the spool, not lost."""
    code = textwrap.dedent(
        """
        import json, resource, signal, sys
        from airflow_lineage_provider.emission.emitter import Emitter
        from airflow_lineage_provider.emission.spool import Spool
        from airflow_lineage_provider.emission.transport import TransportSpec, build
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        events, spool_dir = sys.argv[1], sys.argv[2]
        config = {"type": "file", "log_file_path": events, "append": True}
        em = Emitter(build(TransportSpec(config=config, source="test")), Spool(spool_dir, 1 << 30))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (5000, hard))  # the spool's records are far smaller
        for index in range(3):
            em.emit({"eventType": "START", "run": {"runId": str(index)}, "pad": "x" * 2000})
        em.flush(10)
        em.close(2)
        """
    )
    events, spool_dir = tmp_path / "events.jsonl", tmp_path / "spool"
    done = subprocess.run(
        [sys.executable, "-c", code, str(events), str(spool_dir)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    written = [json.loads(line)["run"]["runId"] for line in events.read_text().splitlines()]
    spooled = Spool(str(spool_dir), 1 << 30)
    kept = [spooled.read(stamp)["run"]["runId"] for stamp in spooled.names()]
    assert written == ["0", "1"] and kept == ["2"]


# --- threads ---------------------------------------------------------------------------------------


def _lineage_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("lineage-")}


def _wait_until_gone(before: set[threading.Thread], timeout: float) -> set[threading.Thread]:
    deadline = time.monotonic() + timeout
    while (left := _lineage_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def test_a_closed_emitter_leaves_no_thread_behind(receiver, make_emitter):
    """Each emitter ends its send worker at close (doctor and reset_emitter make new emitters)."""
    rec = receiver("healthy")
    before = _lineage_threads()
    for index in range(5):
        em = make_emitter(http_config(rec))
        em.emit({"eventType": "START", "run": {"runId": str(index)}, "job": {"namespace": "n", "name": "j"}})
        assert em.flush(5)
        em.close(1)
    assert len(rec.received()) == 5
    assert not _wait_until_gone(before, 2.0)


def test_a_send_still_hanging_at_close_ends_its_thread_once_it_returns(receiver, make_emitter):
    rec = receiver("hang", hang_max=1.0)
    before = _lineage_threads()
    em = make_emitter(http_config(rec), send_timeout=0.2)
    em.emit({"eventType": "START", "run": {"runId": "0"}, "job": {"namespace": "n", "name": "j"}})
    em.flush(5)
    em.close(0.1)
    assert not _wait_until_gone(before, 5.0)
