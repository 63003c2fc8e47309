"""The durable outbox: atomic records, crash safety, eviction, order, one replayer at a time."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from airflow_lineage_provider.emission import metrics
from airflow_lineage_provider.emission.spool import Spool, SpoolError, next_stamp, replay_command

from .conftest import http_config
from .factory import assert_exactly_once_in_order, run_pairs


def _wire(events):
    from openlineage.client.serde import Serde

    return [Serde.to_dict(e) for e in events]


def test_stamps_sort_in_emission_order():
    stamps = [next_stamp() for _ in range(1000)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 1000


def test_write_read_discard(tmp_path):
    spool = Spool(str(tmp_path), 1 << 20)
    events = _wire(run_pairs(3))
    stamps = [next_stamp() for _ in events]
    for stamp, event in zip(reversed(stamps), reversed(events), strict=True):  # written out of order
        spool.write(stamp, event)
    assert spool.names() == stamps
    assert [spool.read(s) for s in spool.names()] == events
    spool.discard(stamps[0])
    spool.discard(stamps[0])  # twice is fine
    state = spool.state()
    assert state.count == 5 and state.oldest == stamps[1] and state.newest == stamps[-1]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_kill_9_during_writes_leaves_no_corrupt_record(tmp_path):
    """A writer killed with SIGKILL in the middle of writing big records: every record left is whole."""
    code = textwrap.dedent(
        f"""
        import sys
        from airflow_lineage_provider.emission.spool import Spool, next_stamp
        spool = Spool({str(tmp_path)!r}, 1 << 30)
        event = {{"eventType": "START", "payload": "x" * 400_000}}
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        while True:
            spool.write(next_stamp(), event)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 60
        while len(os.listdir(tmp_path)) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    spool = Spool(str(tmp_path), 1 << 30)
    names = spool.names()
    assert len(names) >= 10
    for stamp in names:
        event = spool.read(stamp)  # raises on a torn record
        assert len(event["payload"]) == 400_000


def test_cap_evicts_oldest_first_counted_and_logged(tmp_path, caplog):
    record = {"eventType": "START", "payload": "x" * 1000}
    size = len(json.dumps(record, separators=(",", ":")))
    spool = Spool(str(tmp_path), max_bytes=10 * size)
    stamps = [next_stamp() for _ in range(15)]
    before = metrics.snapshot().get("dropped", 0)
    with caplog.at_level(logging.WARNING):
        for stamp in stamps:
            spool.write(stamp, record)
    assert spool.names() == stamps[5:]
    assert metrics.snapshot().get("dropped", 0) - before == 5
    assert "evicted" in caplog.text and "spool_max_mb" in caplog.text


def test_unreadable_record_is_moved_aside(tmp_path, receiver, make_emitter):
    rec = receiver("healthy")
    em = make_emitter(http_config(rec), spool_dir=tmp_path)
    good = _wire(run_pairs(1))
    spool = em.spool
    first, bad, last = next_stamp(), next_stamp(), next_stamp()
    spool.write(first, good[0])
    (tmp_path / f"{bad}.json").write_text("{not json")
    spool.write(last, good[1])
    result = spool.replay(em.deliver_spooled)
    assert (result.delivered, result.dropped, result.remaining) == (2, 1, 0)
    assert_exactly_once_in_order(rec.received(), good)


def test_concurrent_replayers_deliver_each_event_once(tmp_path, receiver):
    """Three `airflow-lineage replay` processes at once on one spool: every event delivered exactly once."""
    rec = receiver("healthy")
    spool = Spool(str(tmp_path / "spool"), 1 << 30)
    events = run_pairs(100)
    for event in _wire(events):
        spool.write(next_stamp(), event)
    env = os.environ.copy()
    env["AIRFLOW__LINEAGE_PROVIDER__TRANSPORT"] = json.dumps(http_config(rec))
    env["AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR"] = str(tmp_path / "spool")
    code = "from airflow_lineage_provider.cli import main; raise SystemExit(main(['replay']))"
    cmd = [sys.executable, "-c", code]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert_exactly_once_in_order(rec.received(), events)
    assert [e["run"]["runId"] for e in rec.received()] == [e.run.runId for e in events]
    assert spool.names() == []


def test_replay_dry_run_lists_without_sending(tmp_path, capsys, lineage_options):
    lineage_options()
    spool = Spool(str(tmp_path / "spool"), 1 << 30)
    for event in _wire(run_pairs(2)):
        spool.write(next_stamp(), event)
    code = replay_command(argparse.Namespace(spool_dir=str(tmp_path / "spool"), limit=None, dry_run=True))
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("START") == 2 and out.count("COMPLETE") == 2
    assert "4 event(s)" in out and len(spool.names()) == 4


def test_replay_limit(tmp_path, receiver, lineage_options, capsys):
    rec = receiver("healthy")
    lineage_options(transport=json.dumps(http_config(rec)))
    spool = Spool(str(tmp_path / "spool"), 1 << 30)
    events = run_pairs(3)
    for event in _wire(events):
        spool.write(next_stamp(), event)
    assert replay_command(argparse.Namespace(spool_dir=None, limit=4, dry_run=False)) == 0
    assert "replayed 4 event(s)" in capsys.readouterr().out
    assert len(rec.received()) == 4 and len(spool.names()) == 2


def test_replay_stops_at_failure_and_keeps_the_rest(tmp_path, receiver, lineage_options, capsys):
    rec = receiver("503")
    lineage_options(transport=json.dumps(http_config(rec)), send_timeout="0.5")
    spool = Spool(str(tmp_path / "spool"), 1 << 30)
    for event in _wire(run_pairs(2)):
        spool.write(next_stamp(), event)
    assert replay_command(argparse.Namespace(spool_dir=None, limit=None, dry_run=False)) == 1
    assert "4 remaining" in capsys.readouterr().out
    assert rec.requests == 1 and len(spool.names()) == 4


def test_spool_path_default_under_airflow_home(lineage_options, airflow_home: Path, monkeypatch):
    from airflow_lineage_provider import conf

    monkeypatch.delenv("AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR")
    conf.clear_cache()
    assert conf.spool_dir() == str(airflow_home / "lineage" / "spool")


def test_failed_write_leaves_no_temporary_file(tmp_path):
    """A write the disk refuses half-way (here: the file size limit, like a full disk) removes its .tmp."""
    spool = Spool(str(tmp_path), 1 << 30)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # Python ignores SIGXFSZ: writes fail EFBIG
    try:
        with pytest.raises(OSError):
            spool.write(next_stamp(), {"eventType": "START", "payload": "x" * 20_000})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert os.listdir(tmp_path) == []


def test_record_that_cannot_be_read_now_is_kept_for_the_next_replay(tmp_path):
    """Out of file descriptors (EMFILE) while replaying: the record is valid, so it is not moved aside."""
    spool = Spool(str(tmp_path), 1 << 30)
    events = _wire(run_pairs(2))
    stamps = [next_stamp() for _ in events]
    for stamp, event in zip(stamps, events, strict=True):
        spool.write(stamp, event)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    delivered = []

    def deliver_then_run_out_of_descriptors(event, stamp):
        delivered.append(stamp)
        lowest_free = os.dup(0)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))  # no open() succeeds now
        return True

    try:
        result = spool.replay(deliver_then_run_out_of_descriptors)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert (result.delivered, result.failed, result.dropped) == (1, 1, 0)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".unreadable")]
    assert spool.names() == stamps[1:]
    result = spool.replay(lambda event, stamp: delivered.append(stamp) or True)
    assert (result.delivered, result.remaining) == (3, 0) and delivered == stamps


def test_replay_lock_file_is_usable_by_other_users(tmp_path):
    """``.replay.lock`` is created like any shared file (0666 less the umask), not 0600 for its creator."""
    spool = Spool(str(tmp_path), 1 << 30)
    spool.replay(lambda event, stamp: True)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / ".replay.lock").st_mode & 0o777 == 0o666 & ~umask


def test_forked_child_does_not_keep_the_replay_lock(tmp_path):
    """A process forked while its sender replays (e.g. an executor starting a worker) must not hold the
    lock for its own lifetime: once the parent's replay ends, others can replay."""
    spool = Spool(str(tmp_path), 1 << 30)
    for index in range(4):
        spool.write(next_stamp(), {"index": index})
    replaying = threading.Event()

    def slow_deliver(event, stamp):
        replaying.set()
        time.sleep(0.2)
        return True

    thread = threading.Thread(target=spool.replay, args=(slow_deliver,))
    thread.start()
    assert replaying.wait(5)
    pid = os.fork()
    if pid == 0:  # a long-lived child that never touches the spool
        time.sleep(30)
        os._exit(0)
    try:
        thread.join(10)
        spool.write(next_stamp(), {"index": "new"})
        result = Spool(str(tmp_path), 1 << 30).replay(lambda event, stamp: True)
        assert not result.locked and result.delivered == 1
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_unwritable_spool_is_reported_with_the_option_name(tmp_path, lineage_options, capsys):
    """Replay of a spool that cannot be written raises SpoolError naming spool_dir; nothing is sent."""
    (tmp_path / "a-file").write_text("")
    for directory in ("/proc/self", str(tmp_path / "a-file" / "spool")):
        with pytest.raises(SpoolError, match=r"\[lineage_provider\] spool_dir"):
            Spool(directory, 1 << 30).replay(lambda event, stamp: pytest.fail("nothing may be sent"))
    lineage_options()
    code = replay_command(argparse.Namespace(spool_dir="/proc/self", limit=None, dry_run=False))
    assert code == 1 and "[lineage_provider] spool_dir" in capsys.readouterr().out


def test_records_moved_aside_count_toward_the_cap_and_go_first(tmp_path):
    record = {"eventType": "START", "payload": "x" * 1000}
    size = len(json.dumps(record, separators=(",", ":")))
    spool = Spool(str(tmp_path), max_bytes=6 * size)
    aside = [next_stamp() for _ in range(3)]
    for stamp in aside:
        spool.reject(stamp, "413 Payload Too Large", record)
    stamps = [next_stamp() for _ in range(4)]
    for stamp in stamps:
        spool.write(stamp, record)
    assert spool.names() == stamps  # only records are replayed; one moved-aside record was evicted
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".rejected")]) == 2
