"""Small readers of OpenLineage event dicts for exact assertions on datasets, column lineage and schemas."""

from __future__ import annotations

from typing import Any

Dataset = tuple[str, str]


def datasets(event: dict[str, Any], side: str) -> set[Dataset]:
    return {(d["namespace"], d["name"]) for d in event.get(side) or []}


def column_edges(event: dict[str, Any]) -> set[tuple[Dataset, str, Dataset, str]]:
    """``((out ns, out name), out column, (in ns, in name), in column)`` for every column-lineage edge."""
    edges = set()
    for out in event.get("outputs") or []:
        facet = (out.get("facets") or {}).get("columnLineage") or {}
        for column, spec in (facet.get("fields") or {}).items():
            for field in spec["inputFields"]:
                source = (field["namespace"], field["name"])
                edges.add(((out["namespace"], out["name"]), column, source, field["field"]))
    return edges


def schema_fields(event: dict[str, Any], dataset: Dataset) -> list[tuple[str, str | None]] | None:
    for side in ("inputs", "outputs"):
        for d in event.get(side) or []:
            if (d["namespace"], d["name"]) == dataset:
                facet = (d.get("facets") or {}).get("schema")
                return None if facet is None else [(f["name"], f.get("type")) for f in facet["fields"]]
    raise AssertionError(f"{dataset} is not a dataset of the event")


def extraction(event: dict[str, Any]) -> dict[str, Any]:
    return event["run"]["facets"]["sqlExtraction"]


def by_job(events: list[dict[str, Any]], job: str, event_type: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job and e["eventType"] == event_type]
    assert len(found) == 1, f"{len(found)} {event_type} events for {job}"
    return found[0]
