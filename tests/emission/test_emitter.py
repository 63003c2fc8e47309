"""The background emitter against a real HTTP receiver on 127.0.0.1, in every fault mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from airflow_lineage_provider.emission import metrics
from airflow_lineage_provider.emission.emitter import get_emitter
from airflow_lineage_provider.emission.spool import Spool

from .conftest import http_config
from .factory import assert_exactly_once_in_order, run_event, run_pairs

#: generous bound for "emit did not block": a blocked emit would take send_timeout or more
NON_BLOCKING = 0.25


def _emit_all(em, events) -> float:
    slowest = 0.0
    for event in events:
        start = time.perf_counter()
        em.emit(event)
        slowest = max(slowest, time.perf_counter() - start)
    return slowest


def test_healthy_delivers_everything_in_order(receiver, make_emitter):
    rec = receiver("healthy")
    em = make_emitter(http_config(rec))
    events = run_pairs(20)
    _emit_all(em, events)
    assert em.flush(10)
    assert_exactly_once_in_order(rec.received(), events)
    assert [e["run"]["runId"] for e in rec.received()] == [e.run.runId for e in events]
    assert not em.spool.names()


@pytest.mark.parametrize("mode", ["refuse", "503", "hang", "flap"])
def test_faults_spool_then_replay_exactly_once(mode, receiver, make_emitter):
    rec = receiver(mode)
    em = make_emitter(http_config(rec), send_timeout=0.5)
    events = run_pairs(15)
    slowest = _emit_all(em, events)
    assert slowest < NON_BLOCKING, f"emit blocked for {slowest:.3f}s with a {mode} backend"
    assert em.flush(15)
    delivered_during_fault = rec.received()
    if mode != "flap":
        assert delivered_during_fault == []
    rec.set_mode("healthy")
    result = em.spool.replay(em.deliver_spooled)
    assert result.failed == 0 and result.remaining == 0
    assert_exactly_once_in_order(rec.received(), events)


def test_late_answer_after_send_timeout_is_not_duplicated(receiver, make_emitter):
    """A send that times out is spooled; when its answer comes late, the spooled copy is removed."""
    rec = receiver("slow", slow_seconds=0.5)
    em = make_emitter(http_config(rec), send_timeout=0.3)  # HTTP timeout: 2 x 0.3 s
    events = run_pairs(3)
    _emit_all(em, events)
    assert em.flush(15)
    rec.wait_for(1, timeout=5)
    time.sleep(0.3)  # let the late answer be processed
    rec.set_mode("healthy")
    em.spool.replay(em.deliver_spooled)
    assert_exactly_once_in_order(rec.received(), events)


def test_backend_back_replays_on_next_success_in_order(receiver, make_emitter):
    """While this process has a backlog, new events queue behind it; the backlog drains first."""
    rec = receiver("refuse")
    em = make_emitter(http_config(rec))
    first = run_pairs(5, "down")
    _emit_all(em, first)
    assert em.flush(10)
    assert len(em.spool.names()) == 10
    rec.set_mode("healthy")
    em._next_retry = 0.0  # skip the backoff wait: the next event triggers the replay
    second = run_pairs(5, "up")
    _emit_all(em, second)
    assert em.flush(10)
    assert_exactly_once_in_order(rec.received(), first + second)
    assert [e["job"]["name"] for e in rec.received()] == [e.job.name for e in first + second]


def test_other_process_spool_is_replayed_first(receiver, make_emitter, tmp_path):
    """A later process whose emission succeeds delivers what an earlier one left in the spool, first."""
    rec = receiver("503")
    spool_dir = tmp_path / "shared-spool"
    earlier = make_emitter(http_config(rec), spool_dir=spool_dir)
    old = run_pairs(4, "old")
    _emit_all(earlier, old)
    earlier.close(5)
    assert len(Spool(str(spool_dir), 1 << 30).names()) == 8
    rec.set_mode("healthy")
    later = make_emitter(http_config(rec), spool_dir=spool_dir)
    new = run_pairs(2, "new")
    _emit_all(later, new)
    assert later.flush(10)
    assert_exactly_once_in_order(rec.received(), old + new)
    assert [e["job"]["name"] for e in rec.received()][:8] == [e.job.name for e in old]


def test_full_queue_spills_to_spool_without_blocking(receiver, make_emitter):
    rec = receiver("hang", hang_max=3)
    em = make_emitter(http_config(rec), queue_size=2, send_timeout=1.0)
    events = run_pairs(25)
    slowest = _emit_all(em, events)
    assert slowest < NON_BLOCKING
    em.close(2)
    rec.set_mode("healthy")
    em.spool.replay(em.deliver_spooled)
    assert_exactly_once_in_order(rec.received(), events)


def test_threads_constant_per_process(receiver, make_emitter):
    rec = receiver("healthy")
    em = make_emitter(http_config(rec))
    em.emit(run_event("START", "01890000-0000-7000-8000-000000000001"))
    assert em.flush(5)
    before = threading.active_count()
    events = run_pairs(500)
    _emit_all(em, events)
    assert em.flush(30)
    assert threading.active_count() == before
    assert len(rec.received()) == 1001


def test_counters(receiver, make_emitter):
    rec = receiver("refuse")
    em = make_emitter(http_config(rec))
    start = metrics.snapshot()
    _emit_all(em, run_pairs(2))
    assert em.flush(5)
    rec.set_mode("healthy")
    em.spool.replay(em.deliver_spooled)
    now = metrics.snapshot()
    delta = {k: now.get(k, 0) - start.get(k, 0) for k in now}
    assert delta["failed"] >= 1
    assert delta["spooled"] == 4
    assert delta["replayed"] == 4
    assert delta["emitted"] == 4


def _run_child(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _child_env(tmp_path: Path, **options: str) -> dict[str, str]:
    env = os.environ.copy()
    env["AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR"] = str(tmp_path / "spool")
    for name, value in options.items():
        env[f"AIRFLOW__LINEAGE_PROVIDER__{name.upper()}"] = value
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")])
    return env


def test_exit_flush_deadline_then_spool(receiver, tmp_path):
    """At exit a hung backend gets flush_timeout seconds; everything undelivered is in the spool."""
    rec = receiver("hang", hang_max=30)
    env = _child_env(tmp_path, transport=json.dumps(http_config(rec)), send_timeout="5", flush_timeout="1")
    proc = _run_child(
        """
        import time
        from emission.factory import run_pairs
        from airflow_lineage_provider.emission.emitter import get_emitter
        em = get_emitter()
        for event in run_pairs(50):
            em.emit(event)
        print("END-OF-SCRIPT", time.monotonic(), flush=True)
        """,
        env,
    )
    exited = time.monotonic()
    assert proc.returncode == 0, proc.stderr
    exit_seconds = exited - float(proc.stdout.split("END-OF-SCRIPT")[1].split()[0])
    # bounded by flush_timeout (1 s), not by send_timeout or the hung request; generous margin for load
    assert exit_seconds < 8, f"process exit took {exit_seconds:.1f}s with a hung backend"
    stored = Spool(str(tmp_path / "spool"), 1 << 30)
    assert len(stored.names()) == 100
    rec.set_mode("healthy")
    replay = _run_child(
        "from airflow_lineage_provider.cli import main; raise SystemExit(main(['replay']))", env
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "replayed 100 event(s)" in replay.stdout
    received = rec.received()
    assert len(received) == 100 and len({(e["run"]["runId"], e["eventType"]) for e in received}) == 100


@pytest.mark.parametrize("known_down", [True, False], ids=["backend-known-down", "first-send-at-exit"])
def test_exit_spools_a_full_queue_in_batches_quickly(receiver, tmp_path, known_down):
    """3,000 events still queued at exit with a dead backend: all of them are in the spool, written in
    batches (a few fsyncs, not two per event), and the exit takes well under a few seconds."""
    rec = receiver("refuse")
    env = _child_env(tmp_path, transport=json.dumps(http_config(rec)), send_timeout="5", flush_timeout="1")
    proc = _run_child(
        f"""
        import atexit, os, time
        fsyncs = [0]
        real_fsync = os.fsync
        def counting_fsync(fd):
            fsyncs[0] += 1
            real_fsync(fd)
        os.fsync = counting_fsync
        atexit.register(lambda: print("FSYNCS", fsyncs[0], flush=True))  # runs after the emitter's close
        from emission.factory import run_pairs
        from airflow_lineage_provider.emission.emitter import get_emitter
        em = get_emitter()
        if {known_down!r}:
            em.emit(run_pairs(1, "first")[0])
            em.flush(10)
        events = run_pairs(1500)
        print("END-OF-SCRIPT", time.monotonic(), flush=True)  # after building the events
        for event in events:
            em.emit(event)
        """,
        env,
    )
    exited = time.monotonic()
    assert proc.returncode == 0, proc.stderr
    exit_seconds = exited - float(proc.stdout.split("END-OF-SCRIPT")[1].split()[0])
    fsyncs = int(proc.stdout.split("FSYNCS")[1].split()[0])
    stored = Spool(str(tmp_path / "spool"), 1 << 30).names()
    assert len(stored) == 3000 + known_down
    assert fsyncs < 50, f"{fsyncs} fsyncs for 3,000 spooled events"
    # about 0.3 s on the development machine (8 s and more with one fsync'ed write per event, when the
    # disk is shared); bounded by flush_timeout (1 s) plus the batches, with a generous margin for load
    assert exit_seconds < 8, f"process exit took {exit_seconds:.1f}s"


def test_fork_child_gets_its_own_emitter(receiver, lineage_options):
    rec = receiver("healthy")
    lineage_options(transport=json.dumps(http_config(rec)))
    parent = get_emitter()
    parent.emit(run_event("START", "01890000-0000-7000-8000-0000000000aa", "parent"))
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's queue or threads
        code = 1
        try:
            child = get_emitter()
            child.emit(run_event("START", "01890000-0000-7000-8000-0000000000bb", "child"))
            code = 0 if child is not parent and child.flush(10) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent.flush(10)
    names = sorted(e["job"]["name"] for e in rec.wait_for(2))
    assert names == ["child", "parent"]
