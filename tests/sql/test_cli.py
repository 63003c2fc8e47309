"""``airflow-lineage sql explain``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from airflow_lineage_provider.sql.cli import explain_command

MERGE = """
WITH latest AS (SELECT customer_id, sum(amount) AS total FROM staging.payments GROUP BY customer_id)
MERGE INTO analytics.customers c USING latest l ON c.id = l.customer_id
WHEN MATCHED THEN UPDATE SET total_paid = l.total
WHEN NOT MATCHED THEN INSERT (id, total_paid) VALUES (l.customer_id, l.total);
"""


def _args(path: Path | str, pretty: bool = False) -> argparse.Namespace:
    return argparse.Namespace(
        file=str(path), dialect="postgres", default_database=None, default_schema=None, pretty=pretty
    )


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.sql"
    path.write_text(MERGE)
    assert explain_command(_args(path)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["inputs"] == ["staging.payments"]
    assert out["outputs"] == ["analytics.customers"]
    assert sorted(out["column_lineage"]) == [
        ["analytics.customers.id", "staging.payments.customer_id"],
        ["analytics.customers.total_paid", "staging.payments.amount"],
    ]


def test_pretty_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.sql"
    path.write_text(MERGE)
    assert explain_command(_args(path, pretty=True)) == 0
    out = capsys.readouterr().out
    assert "statement 1 [merge]" in out
    assert "analytics.customers.total_paid <- staging.payments.amount  (AGGREGATION)" in out


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert explain_command(_args(tmp_path / "nope.sql")) == 1
    assert "cannot read" in capsys.readouterr().err


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT a FROM t"))
    assert explain_command(_args("-")) == 0
    assert json.loads(capsys.readouterr().out)["inputs"] == ["t"]
