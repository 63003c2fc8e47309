"""Hook lineage of a task that used several hooks: the sqlExtraction status covers all of them."""

from __future__ import annotations

from airflow_lineage_provider.extractors.base import OperatorLineage
from airflow_lineage_provider.extractors.hook_lineage import _merge_into
from airflow_lineage_provider.extractors.sql import FACET_KEY, SqlExtractionRunFacet


def _hook_lineage(status: str, reasons: list[str], dialect: str) -> OperatorLineage:
    facet = SqlExtractionRunFacet(
        status=status, reasons=reasons, dialect=dialect, statements=1, schemaSource="database",
        metadataRoundTrips=1, durationMs=2.0,
    )  # fmt: skip
    return OperatorLineage(run_facets={FACET_KEY: facet})


def test_a_later_hooks_failure_is_not_hidden_by_an_earlier_hooks_ok() -> None:
    """collect() merges one extraction per hook: the first hook's 'ok' used to be kept and the second hook's
    'failed' (its connection could not be resolved) silently dropped."""
    lineage = OperatorLineage()
    _merge_into(lineage, _hook_lineage("ok", [], "postgres"))
    _merge_into(lineage, _hook_lineage("failed", ["cannot resolve the hook's connection"], "mysql"))
    facet = lineage.run_facets[FACET_KEY]
    assert facet.status == "partial"
    assert facet.reasons == ["cannot resolve the hook's connection"]
    assert facet.statements == 2 and facet.metadataRoundTrips == 2
    assert facet.dialect == "postgres,mysql"


def test_statuses_that_agree_stay() -> None:
    for status in ("ok", "partial", "failed"):
        lineage = OperatorLineage()
        _merge_into(lineage, _hook_lineage(status, [], "sqlite"))
        _merge_into(lineage, _hook_lineage(status, [], "sqlite"))
        assert lineage.run_facets[FACET_KEY].status == status
        assert lineage.run_facets[FACET_KEY].dialect == "sqlite"
