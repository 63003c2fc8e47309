"""``airflow-lineage doctor`` through the real CLI entry point."""

from __future__ import annotations

import json

import ol_schema
import pytest

from airflow_lineage_provider.cli import main
from airflow_lineage_provider.emission.doctor import DOCTOR_JOB
from airflow_lineage_provider.emission.spool import Spool, next_stamp

from .conftest import http_config


def test_doctor_healthy_masks_secrets_and_sends(receiver, lineage_options, capsys, tmp_path):
    rec = receiver("healthy")
    auth = {"type": "api_key", "apiKey": "doc-key-123456"}
    lineage_options(transport=json.dumps(http_config(rec, auth=auth)))
    Spool(str(tmp_path / "spool"), 1 << 20).write(next_stamp(), {"eventType": "START"})
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "doc-key-123456" not in out and '"apiKey": "***"' in out
    assert "[lineage_provider] transport" in out
    assert "events waiting             1" in out
    assert "writable                   yes" in out
    assert "delivered" in out and " ms" in out
    (event,) = rec.received()
    ol_schema.validate(event)
    assert event["job"]["name"] == DOCTOR_JOB


def test_doctor_reports_a_hung_backend_within_send_timeout(receiver, lineage_options, capsys, tmp_path):
    rec = receiver("hang", hang_max=5)
    lineage_options(transport=json.dumps(http_config(rec)), send_timeout="0.5")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "NOT delivered" in out and "send_timeout=0.5s" in out
    assert Spool(str(tmp_path / "spool"), 1 << 20).names() == []  # the test event is never spooled


def test_doctor_no_send_and_default_transport(lineage_options, capsys):
    lineage_options()
    assert main(["doctor", "--no-send"]) == 0
    out = capsys.readouterr().out
    assert "embedded default (no transport configured)" in out and "skipped (--no-send)" in out


def test_doctor_invalid_config(lineage_options, capsys):
    lineage_options(transport="{not json")
    assert main(["doctor", "--no-send"]) == 2
    assert "INVALID" in capsys.readouterr().out


def test_doctor_fails_on_a_spool_it_cannot_write(lineage_options, monkeypatch, capsys):
    """A spool directory that can be read but not written (like a read-only mount): exit code 2."""
    lineage_options()
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR", "/proc/self")  # nobody can create files there
    assert main(["doctor", "--no-send"]) == 2
    out = capsys.readouterr().out
    assert "events waiting             0" in out  # readable
    assert "writable                   NO" in out and "[lineage_provider] spool_dir" in out


def test_doctor_flags_extractors_it_cannot_import(lineage_options, capsys):
    """A custom extractor path that does not import (or is not an extractor) is a bad value: the doctor says
    which one and exits 2, instead of reporting a valid configuration that warns at every task."""
    lineage_options(extractors="nonexistent_pkg.lineage.MyExtractor;json.JSONDecoder")
    assert main(["doctor", "--no-send"]) == 2
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("extractors"))
    assert "INVALID" in line and "[lineage_provider] extractors" in line
    assert "'nonexistent_pkg.lineage.MyExtractor'" in line and "No module named" in line
    assert "'json.JSONDecoder'" in line and "BaseExtractor" in line


def test_doctor_accepts_an_importable_extractor(lineage_options, capsys):
    lineage_options(extractors="airflow_lineage_provider.extractors.sql.SqlExtractor")
    assert main(["doctor", "--no-send"]) == 0


def test_replay_limit_must_be_a_positive_number(capsys):
    """`replay --limit -1` replayed nothing and exited 0 (`--dry-run` listed all but the last event)."""

    for bad in ("-1", "0", "ten"):
        with pytest.raises(SystemExit) as raised:
            main(["replay", "--limit", bad])
        assert raised.value.code == 2
        err = capsys.readouterr().err
        assert f"--limit: must be a whole number >= 1, got '{bad}'" in err


def test_output_piped_into_a_closed_reader_is_no_traceback() -> None:
    """`airflow-lineage graph ... | head`, `replay --dry-run | head`: the reader goes away early. That is
    not an error of the command: no traceback, exit code 141 like other Unix tools killed by SIGPIPE."""
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "airflow-lineage"
    proc = subprocess.Popen(
        [str(exe), "sql", "explain", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(b"INSERT INTO t SELECT a FROM u;\n" * 50, timeout=60)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()[-2000:]
    assert proc.returncode == 141


def test_replay_spool_dir_must_exist(tmp_path, capsys):
    """A mistyped --spool-dir was created empty and reported as `replayed 0 event(s) ...; 0 remaining`,
    exit 0: an admin would believe nothing is waiting."""
    missing = tmp_path / "lineage-spoll"
    with pytest.raises(SystemExit) as raised:
        main(["replay", "--spool-dir", str(missing), "--dry-run"])
    assert raised.value.code == 2
    assert "--spool-dir: no such directory" in capsys.readouterr().err
    assert not missing.exists()


def test_doctor_invalid_option_is_exit_2_even_when_the_send_fails(lineage_options, capsys):
    """Exit 2 means "configuration invalid"; an undeliverable test event on top must not turn it into 1."""
    closed_port = json.dumps({"type": "http", "url": "http://127.0.0.1:9"})
    lineage_options(transport=closed_port, schema_cache_ttl="-1")
    assert main(["doctor"]) == 2
    out = capsys.readouterr().out
    assert "INVALID: [lineage_provider] schema_cache_ttl" in out and "NOT delivered" in out


def test_doctor_says_openlineage_disabled_discards_every_event(
    receiver, lineage_options, monkeypatch, capsys
):
    """openlineage-python's switch turns this provider's transport into its no-op one: never 'delivered'."""
    rec = receiver("healthy")
    lineage_options(transport=json.dumps(http_config(rec)))
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "DISCARDS EVERY EVENT" in out and "[openlineage] disabled = True" in out
    assert "NOT delivered              discarded by openlineage-python (OPENLINEAGE_DISABLED=true)" in out
    assert rec.received() == []


def test_a_task_process_warns_once_that_openlineage_disabled_discards_its_events(
    receiver, lineage_options, monkeypatch
):
    import logging

    from airflow_lineage_provider.emission import transport

    rec = receiver("healthy")
    lineage_options(transport=json.dumps(http_config(rec)))
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    monkeypatch.setattr(transport, "_warned_disabled", False)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("airflow_lineage_provider")
    logger.addHandler(handler)
    try:
        for _ in range(2):
            transport.build(transport.resolve())
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "OPENLINEAGE_DISABLED=true" in warnings[0], warnings


def test_openlineage_disabled_never_empties_the_spool(
    receiver, lineage_options, monkeypatch, capsys, tmp_path
):
    """Replay into openlineage-python's no-op transport would count every spooled event as delivered and
    delete it: neither `airflow-lineage replay` nor a task process's background replay may run then."""
    from airflow_lineage_provider.emission.emitter import create_emitter

    rec = receiver("healthy")
    lineage_options(transport=json.dumps(http_config(rec)))
    spool = Spool(str(tmp_path / "spool"), 1 << 20)
    spool.write(next_stamp(), {"eventType": "START"})
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert main(["replay"]) == 1
    assert "OPENLINEAGE_DISABLED=true" in capsys.readouterr().out
    assert len(spool.names()) == 1
    emitter = create_emitter()
    try:
        assert emitter.replay_on_success is False
    finally:
        emitter.close(0)
    monkeypatch.delenv("OPENLINEAGE_DISABLED")
    assert main(["replay"]) == 0  # once the variable is gone, the events go out
    assert spool.names() == [] and len(rec.received()) == 1
