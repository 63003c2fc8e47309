"""What an operator or extractor hands the listener cannot cost the event: garbage is dropped and reported."""

from __future__ import annotations

import pytest
from lineage_helpers import run_dag, task_events

pytestmark = pytest.mark.airflow

GARBAGE = """
import datetime
from airflow.sdk import DAG, BaseOperator
from openlineage.client.event_v2 import InputDataset
from openlineage.client.facet_v2 import documentation_job
from airflow_lineage_provider.extractors.base import OperatorLineage


class Opaque:
    pass


class ObjectFacet(BaseOperator):
    def execute(self, context):
        return 1

    def get_openlineage_facets_on_complete(self, task_instance):
        return OperatorLineage(
            inputs=[InputDataset(namespace="s3://in", name="a.csv")],
            run_facets={"weird": Opaque()},
        )


class DictFacet(BaseOperator):
    def execute(self, context):
        return 1

    def get_openlineage_facets_on_complete(self, task_instance):
        return OperatorLineage(
            inputs=[InputDataset(namespace="s3://in", name="b.csv", facets={"bad": "just a string"})],
            run_facets={"plain": {"answer": 42}},
            job_facets={"documentation": documentation_job.DocumentationJobFacet(description="kept")},
        )


class NotAMapping(BaseOperator):
    def execute(self, context):
        return 1

    def get_openlineage_facets_on_complete(self, task_instance):
        return OperatorLineage(run_facets=["oops"])


with DAG("lp_garbage", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
    ObjectFacet(task_id="object_facet")
    DictFacet(task_id="dict_facet")
    NotAMapping(task_id="not_a_mapping")
"""


def test_garbage_facets_are_dropped_and_reported_and_the_event_is_sent(lineage_events, caplog):
    assert run_dag(GARBAGE, "lp_garbage").state == "success"
    events = lineage_events()  # each one schema-validated
    complete = {}
    for task in ("object_facet", "dict_facet", "not_a_mapping"):
        tries = task_events(events, f"lp_garbage.{task}")
        assert [e["eventType"] for e in tries] == ["START", "COMPLETE"], task
        complete[task] = tries[1]
        assert "extractionError" in tries[1]["run"]["facets"], task

    weird = complete["object_facet"]
    assert "weird" not in weird["run"]["facets"]
    assert [d["name"] for d in weird["inputs"]] == ["a.csv"]  # the rest of the lineage is kept
    errors = weird["run"]["facets"]["extractionError"]["errors"]
    assert "run facet 'weird' dropped" in errors[0]["errorMessage"]

    plain = complete["dict_facet"]
    assert "plain" not in plain["run"]["facets"]
    assert plain["inputs"][0]["name"] == "b.csv" and "bad" not in plain["inputs"][0].get("facets", {})
    assert plain["job"]["facets"]["documentation"]["description"] == "kept"
    assert len(plain["run"]["facets"]["extractionError"]["errors"]) == 2
