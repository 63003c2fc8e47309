"""``airflow-lineage doctor`` through the real CLI entry point."""

from __future__ import annotations

import json

import ol_schema

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
