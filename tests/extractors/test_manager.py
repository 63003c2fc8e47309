"""Extractor choice (custom > built-in > operator methods > nothing), merge with manual lineage, errors."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import ol_schema
from airflow.sdk import Asset, BaseOperator
from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
from openlineage.client.serde import Serde

from airflow_lineage_provider.emission import events as ev
from airflow_lineage_provider.extractors.base import BaseExtractor, OperatorLineage
from airflow_lineage_provider.extractors.manager import ExtractorManager, merge

HERE = __name__


class Copy(BaseOperator):
    """An operator that reports its own lineage, like common.sql and many providers do."""

    def execute(self, context):
        return None

    def get_openlineage_facets_on_start(self):
        return OperatorLineage(inputs=[Dataset(namespace="s3://in", name="a.csv")])

    def get_openlineage_facets_on_complete(self, task_instance):
        return OperatorLineage(
            inputs=[Dataset(namespace="s3://in", name="a.csv")],
            outputs=[Dataset(namespace="s3://out", name="b.csv")],
        )


class StartOnly(BaseOperator):
    def execute(self, context):
        return None

    def get_openlineage_facets_on_start(self):
        return OperatorLineage(outputs=[OutputDataset(namespace="s3://out", name="start.csv")])


class Plain(BaseOperator):
    def execute(self, context):
        return None


class CopyExtractor(BaseExtractor):
    operator_class_names = ("Copy",)

    def extract_on_start(self, context):
        return OperatorLineage(inputs=[InputDataset(namespace="custom", name="from-extractor")])


class OtherCopyExtractor(CopyExtractor):
    def extract_on_start(self, context):
        return OperatorLineage(inputs=[InputDataset(namespace="builtin", name="from-builtin")])


class BrokenExtractor(BaseExtractor):
    operator_class_names = ("Copy",)

    def extract_on_start(self, context):
        raise RuntimeError("extractor bug talking to postgresql://etl:s3cret@db:5432/dw")


def ids(datasets) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def test_operator_methods_are_honoured():
    manager = ExtractorManager(builtin=())
    start = manager.extract("start", Copy(task_id="c"))
    assert ids(start.inputs) == [("s3://in", "a.csv")] and start.outputs == []
    complete = manager.extract("complete", Copy(task_id="c"), task_instance=None)
    assert ids(complete.outputs) == [("s3://out", "b.csv")]
    assert all(isinstance(d, InputDataset) for d in complete.inputs)  # plain Datasets normalised
    # complete and failure fall back to on_start when that is all the operator has
    assert ids(manager.extract("failure", StartOnly(task_id="s")).outputs) == [("s3://out", "start.csv")]
    assert manager.extract("complete", Plain(task_id="p")) == OperatorLineage()


def test_custom_extractor_wins_over_builtin_and_operator_methods():
    manager = ExtractorManager(custom=[f"{HERE}.CopyExtractor"], builtin=[f"{HERE}.OtherCopyExtractor"])
    assert ids(manager.extract("start", Copy(task_id="c")).inputs) == [("custom", "from-extractor")]
    builtin_only = ExtractorManager(builtin=[f"{HERE}.OtherCopyExtractor"])
    assert ids(builtin_only.extract("start", Copy(task_id="c")).inputs) == [("builtin", "from-builtin")]
    # BaseExtractor.extract_on_complete falls back to extract_on_start
    assert ids(builtin_only.extract("complete", Copy(task_id="c")).inputs) == [("builtin", "from-builtin")]


def test_bad_custom_path_is_one_clear_warning(caplog):
    manager = ExtractorManager(custom=["no_such_module.Extractor"], builtin=())
    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        lineage = manager.extract("complete", Copy(task_id="c"))
        manager.extract("complete", Copy(task_id="c"))
    assert ids(lineage.outputs) == [("s3://out", "b.csv")]  # falls through to the operator's methods
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "[lineage_provider] extractors" in warnings[0]
    assert "no_such_module.Extractor" in warnings[0]


def test_raising_extractor_costs_a_warning_and_a_facet_not_the_manual_lineage(caplog):
    manager = ExtractorManager(custom=[f"{HERE}.BrokenExtractor"], builtin=())
    operator = Copy(task_id="c", outlets=[Asset("s3://manual/out.csv")])
    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        lineage = manager.extract("start", operator)
    assert ids(lineage.outputs) == [("s3://manual", "out.csv")]
    facet = lineage.run_facets["extractionError"]
    assert facet.failedTasks == 1 and "extractor bug" in facet.errors[0].errorMessage
    assert facet.errors[0].task == "c"
    assert len(caplog.records) == 1 and "extractor bug" in caplog.records[0].getMessage()
    assert "s3cret" not in caplog.records[0].getMessage()  # no secret in the log line
    # the facet is valid in an event
    info = ev.DagRunInfo(dag_id="d", run_id="r", run_after=datetime(2024, 1, 1, tzinfo=timezone.utc))
    event = ev.build_task_event(
        "START",
        info,
        ev.TaskInfo(task_id="c", try_number=1),
        namespace="ns",
        outputs=lineage.outputs,
        run_facets=lineage.run_facets,
    )
    ol_schema.validate(Serde.to_dict(event))


def test_manual_lineage_is_merged_without_duplicates():
    operator = Copy(
        task_id="c",
        inlets=[Asset("s3://in/a.csv"), Asset("s3://in/extra.csv")],
        outlets=[Asset("s3://out/b.csv")],
    )
    lineage = ExtractorManager(builtin=()).extract("complete", operator)
    assert ids(lineage.inputs) == [("s3://in", "a.csv"), ("s3://in", "extra.csv")]
    assert ids(lineage.outputs) == [("s3://out", "b.csv")]


def test_merge_keeps_first_facets_and_adds_missing_ones():
    from openlineage.client.facet_v2 import documentation_dataset, schema_dataset

    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id")])
    doc = documentation_dataset.DocumentationDatasetFacet(description="orders")
    first = OperatorLineage(inputs=[InputDataset(namespace="n", name="t", facets={"schema": schema})])
    second = OperatorLineage(inputs=[InputDataset(namespace="n", name="t", facets={"documentation": doc})])
    merged = merge(first, second)
    assert len(merged.inputs) == 1 and merged.inputs[0].facets == {"schema": schema, "documentation": doc}


class Garbage(BaseOperator):
    """Returns facets no event can carry, next to good lineage."""

    def execute(self, context):
        return None

    def get_openlineage_facets_on_complete(self, task_instance):
        return OperatorLineage(
            inputs=[InputDataset(namespace="s3://in", name="a.csv", facets={"bad": 42})],
            run_facets={"object": object(), "plain": {"answer": 42}},
        )


class NotAMapping(BaseOperator):
    def execute(self, context):
        return None

    def get_openlineage_facets_on_complete(self, task_instance):
        return OperatorLineage(run_facets=["oops"])  # type: ignore[arg-type]


def test_facets_no_event_can_carry_are_dropped_with_a_warning_and_a_facet(caplog):
    manager = ExtractorManager(builtin=())
    with caplog.at_level(logging.WARNING, logger="airflow_lineage_provider"):
        lineage = manager.extract("complete", Garbage(task_id="g", outlets=[Asset("s3://out/b.csv")]))
    assert ids(lineage.inputs) == [("s3://in", "a.csv")] and lineage.inputs[0].facets == {}
    assert ids(lineage.outputs) == [("s3://out", "b.csv")]
    assert set(lineage.run_facets) == {"extractionError"}
    messages = [e.errorMessage for e in lineage.run_facets["extractionError"].errors]
    assert len(messages) == 3 and len(caplog.records) == 3
    assert any("'object' dropped" in m for m in messages) and any("'plain' dropped" in m for m in messages)
    info = ev.DagRunInfo(dag_id="d", run_id="r", run_after=datetime(2024, 1, 1, tzinfo=timezone.utc))
    event = ev.build_task_event(
        "COMPLETE",
        info,
        ev.TaskInfo(task_id="g", try_number=1),
        namespace="ns",
        inputs=lineage.inputs,
        outputs=lineage.outputs,
        run_facets=lineage.run_facets,
    )
    ol_schema.validate(Serde.to_dict(event))


def test_lineage_that_cannot_be_read_is_an_extraction_error_not_an_exception():
    lineage = ExtractorManager(builtin=()).extract("complete", NotAMapping(task_id="n"))
    assert set(lineage.run_facets) == {"extractionError"}
    assert lineage.run_facets["extractionError"].errors[0].errorMessage.startswith("operator: ValueError")
