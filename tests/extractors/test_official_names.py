"""Operators' own lineage methods written for the official provider work without it installed."""

from __future__ import annotations

import logging
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
from lineage_helpers import run_dag, task_events

from airflow_lineage_provider.extractors.official_names import official_names, official_provider_installed

pytestmark = pytest.mark.airflow

COPY = """
from datetime import datetime

from airflow.providers.common.io.operators.file_transfer import FileTransferOperator
from airflow.sdk import DAG

with DAG("official_names_copy", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    FileTransferOperator(task_id="copy", src="file://{src}", dst="file://{dst}")
"""

NEEDS_MORE = """
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG


class ParsesSql(EmptyOperator):
    def get_openlineage_facets_on_start(self):
        from airflow.providers.openlineage.sqlparser import SQLParser  # more than the one name lent

        return SQLParser()


with DAG("official_names_more", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    ParsesSql(task_id="parse")
"""


def test_the_official_provider_is_not_installed_here():
    assert not official_provider_installed()  # what every test below is about


def test_a_provider_operator_reports_its_own_lineage(lineage_events, tmp_path: Path, caplog):
    src, dst = tmp_path / "orders.csv", tmp_path / "orders_copy.csv"
    src.write_text("id,amount\n1,10\n")
    caplog.set_level(logging.WARNING)
    dag_run = run_dag(COPY.format(src=src, dst=dst), "official_names_copy")
    assert str(dag_run.state) == "success" and dst.read_text() == src.read_text()

    events = task_events(lineage_events(), "official_names_copy.copy")
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:  # START too: only the operator's method knows the files before the copy
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [("file", str(src))]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [("file", str(dst))]
        assert "extractionError" not in event["run"]["facets"]
    assert "airflow.providers.openlineage" not in caplog.text
    # nothing is left behind: the name was lent for the call only
    assert "airflow.providers.openlineage" not in sys.modules
    assert find_spec("airflow.providers.openlineage") is None


def test_a_method_that_needs_more_says_what_to_install_once(lineage_events, caplog):
    caplog.set_level(logging.WARNING)
    dag_run = run_dag(NEEDS_MORE, "official_names_more")
    assert str(dag_run.state) == "success"
    events = task_events(lineage_events(), "official_names_more.parse")
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        [error] = event["run"]["facets"]["extractionError"]["errors"]
        assert (
            "import airflow.providers.openlineage.sqlparser from apache-airflow-providers-openlineage"
            in (error["errorMessage"])
        )
        assert "[openlineage] disabled = True" in error["errorMessage"]
    advice = [r for r in caplog.records if "sqlparser" in r.getMessage()]
    assert len(advice) == 1, [r.getMessage() for r in advice]  # once per operator class, not per event


def test_the_names_are_lent_only_inside_the_block_and_nest():
    with official_names():
        from airflow.providers.openlineage.extractors import OperatorLineage
        from airflow.providers.openlineage.extractors.base import OperatorLineage as Base

        with official_names():
            import airflow.providers.openlineage.extractors as extractors

        assert extractors.OperatorLineage is OperatorLineage is Base  # still lent after the inner block
        assert OperatorLineage(inputs=[], outputs=[]).run_facets == {}
        with pytest.raises(ModuleNotFoundError):
            import airflow.providers.openlineage.sqlparser
    assert not any(name.startswith("airflow.providers.openlineage") for name in sys.modules)
    import airflow.providers

    assert not hasattr(airflow.providers, "openlineage")


OTHER_WAYS = """
from datetime import datetime

from airflow.providers.common.compat.openlineage.check import require_openlineage_version
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG


class ReadsOfficialConf(EmptyOperator):
    def get_openlineage_facets_on_start(self):
        from airflow.providers.openlineage import conf  # an ImportError, not a ModuleNotFoundError

        return conf


class ChecksTheOfficialVersion(EmptyOperator):
    @require_openlineage_version(provider_min_version="2.0.0")
    def get_openlineage_facets_on_start(self):
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage()


with DAG("official_names_other_ways", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    ReadsOfficialConf(task_id="conf") >> ChecksTheOfficialVersion(task_id="versioned")
"""


def test_methods_that_need_the_official_provider_in_other_ways_say_so_once(lineage_events, caplog):
    caplog.set_level(logging.WARNING)
    dag_run = run_dag(OTHER_WAYS, "official_names_other_ways")
    assert str(dag_run.state) == "success"
    events = lineage_events()
    for task_id in ("conf", "versioned"):
        task = task_events(events, f"official_names_other_ways.{task_id}")
        assert [e["eventType"] for e in task] == ["START", "COMPLETE"]
        for event in task:
            [error] = event["run"]["facets"]["extractionError"]["errors"]
            assert "apache-airflow-providers-openlineage" in error["errorMessage"]
            assert "[openlineage] disabled = True" in error["errorMessage"]
    warnings = [
        r.getMessage()
        for r in caplog.records
        if "official_names_other_ways" in r.getMessage()
        or "ReadsOfficialConf" in r.getMessage()
        or "ChecksTheOfficialVersion" in r.getMessage()
    ]
    assert len(warnings) == 2, warnings  # one piece of advice per operator class, no per-event warning


def test_find_spec_answers_inside_the_block():
    with official_names():
        spec = find_spec("airflow.providers.openlineage")  # no ValueError for a module without a spec
        assert spec is not None and spec.name == "airflow.providers.openlineage"
        assert find_spec("airflow.providers.openlineage.extractors") is not None
        assert find_spec("airflow.providers.openlineage.sqlparser") is None
    assert find_spec("airflow.providers.openlineage") is None
