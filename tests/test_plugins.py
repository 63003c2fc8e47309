"""The plugin registers the listener unless lineage is disabled; the coexistence warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_lineage_provider import conf, listener, plugins

OFFICIAL_PYTHON = Path(__file__).resolve().parents[1] / "benchmarks" / ".venv-official" / "bin" / "python"


def test_plugin_registers_the_listener_and_a_hook_lineage_reader(monkeypatch, caplog):
    from airflow_lineage_provider.extractors.hook_lineage import LineageProviderHookReader

    assert plugins.LineageProviderPlugin.listeners == [listener.get_listener()]
    assert plugins.LineageProviderPlugin.hook_lineage_readers == [LineageProviderHookReader]
    assert plugins._enabled() is True
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__DISABLED", "True")
    conf.clear_cache()
    assert plugins._enabled() is False
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__DISABLED", "maybe")
    conf.clear_cache()
    with caplog.at_level(logging.INFO, logger="airflow_lineage_provider"):
        assert plugins._enabled() is False
    assert len(caplog.records) == 1
    assert "[lineage_provider] disabled" in caplog.records[0].getMessage()
    conf.clear_cache()


def test_plugin_module_stays_cheap():
    heavy = ("openlineage", "sqlglot", "sqlalchemy")
    code = (
        "import sys, airflow_lineage_provider.listener; "
        f"print([m for m in sys.modules if m.startswith({heavy})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plugin_and_emitter_set_up_without_openlineage(tmp_path):
    """What a fresh task process does before its first event: no openlineage-python, no SQL engine.

    (``airflow.plugins_manager`` itself loads SQLAlchemy, so only our heavy dependencies are checked.)
    """
    code = (
        "import sys\n"
        "import airflow_lineage_provider.plugins\n"
        "from airflow_lineage_provider.emission.emitter import get_emitter\n"
        "from airflow_lineage_provider.extractors.manager import get_manager\n"
        "from airflow.providers.standard.operators.python import PythonOperator\n"
        "get_emitter()\n"
        "op = PythonOperator(task_id='t', python_callable=print)\n"
        "get_manager().extract('start', op)\n"
        "print([m for m in sys.modules if m.startswith(('openlineage', 'sqlglot', 'sqlparse'))])\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__LINEAGE_PROVIDER__TRANSPORT": '{"type": "http", "url": "http://127.0.0.1:9"}',
        "AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR": str(tmp_path / "spool"),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_no_warning_without_the_official_provider(caplog):
    assert listener.official_provider_enabled() is False
    listener._notices.discard("official-provider")
    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        listener._warn_if_official_provider_enabled()
    assert caplog.records == []


@pytest.fixture(scope="module")
def official_python() -> Path:
    """benchmarks/.venv-official (apache-airflow-providers-openlineage really installed), made if missing."""
    if not OFFICIAL_PYTHON.exists():
        script = OFFICIAL_PYTHON.parents[2] / "setup_official_env.sh"
        subprocess.run(["bash", str(script)], check=True, timeout=900)
    return OFFICIAL_PYTHON


@pytest.mark.parametrize(("disabled", "warned"), [("False", True), ("True", False)])
def test_warning_once_with_the_official_provider_installed(official_python, tmp_path, disabled, warned):
    """Run in the benchmark venv, where apache-airflow-providers-openlineage is really installed."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "console"}',
        "AIRFLOW__OPENLINEAGE__DISABLED": disabled,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    code = (
        "from airflow_lineage_provider import listener\n"
        "listener._warn_if_official_provider_enabled()\n"
        "listener._warn_if_official_provider_enabled()\n"
    )
    result = subprocess.run(
        [str(official_python), "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("installed and enabled too") == (1 if warned else 0), output
