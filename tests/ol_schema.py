"""Validate OpenLineage events against the official JSON Schemas in ``../shared/openlineage_spec/``, offline.

The core schema (spec 2-0-2) checks the event's shape; facets are open objects there, so every facet whose
key one of the standard facet schemas declares (``schema``, ``sql``, ``columnLineage``, ``parent`` ...) is
validated against that facet schema too. The schemas reference each other by ``https://openlineage.io/spec``
ids, resolved here from the local files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

_DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "openlineage_spec"
SPEC_DIR = Path(os.environ.get("OPENLINEAGE_SPEC_DIR", _DEFAULT_SPEC_DIR))

#: counters reported in the pytest terminal summary
STATS = {"validated": 0, "invalid": 0}

# where each kind of facet lives in an event -> the "$defs" name of its base class in the core schema
_FACET_SLOTS = {
    "run": "RunFacet",
    "job": "JobFacet",
    "dataset": "DatasetFacet",
    "input": "InputDatasetFacet",
    "output": "OutputDatasetFacet",
}


@cache
def _load() -> tuple[Registry, dict[str, Any], dict[str, dict[str, Any]]]:
    if not SPEC_DIR.is_dir():
        msg = f"OpenLineage spec directory not found: {SPEC_DIR} (set OPENLINEAGE_SPEC_DIR)"
        raise RuntimeError(msg)
    core = json.loads((SPEC_DIR / "OpenLineage.json").read_text())
    resources = [(core["$id"], Resource.from_contents(core))]
    facet_by_key: dict[str, dict[str, Any]] = {}
    for path in sorted((SPEC_DIR / "facets").glob("*.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
        for key in schema.get("properties", {}):
            facet_by_key[key] = schema
    return Registry().with_resources(resources), core, facet_by_key


OWN_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
OWN_PRODUCER = "https://github.com/airflow-lineage-provider/airflow-lineage-provider"


def _own_facet_schema(facet: Mapping[str, Any]) -> dict[str, Any] | None:
    """This provider's JSON Schema for a custom facet, from ``schemas/`` (by the facet's ``_schemaURL``)."""
    url = str(facet.get("_schemaURL", ""))
    if not url.startswith(OWN_PRODUCER) or "/schemas/" not in url:
        return None
    return _load_own(url.split("/schemas/", 1)[1].split("#", 1)[0])


@cache
def _load_own(name: str) -> dict[str, Any] | None:
    path = OWN_SCHEMAS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _facet_maps(event: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    yield "run", (event.get("run") or {}).get("facets") or {}
    yield "job", (event.get("job") or {}).get("facets") or {}
    for ds in event.get("inputs") or []:
        yield "dataset", ds.get("facets") or {}
        yield "input", ds.get("inputFacets") or {}
    for ds in event.get("outputs") or []:
        yield "dataset", ds.get("facets") or {}
        yield "output", ds.get("outputFacets") or {}


def _generic(facet: Mapping[str, Any], slot: str) -> bool:
    """A facet that declares only the spec's generic facet of its slot as its schema (e.g. an admin's
    ``custom_run_facets`` dict): it is checked as such, it has no schema of its own to find."""
    return str(facet.get("_schemaURL", "")).endswith(f"/OpenLineage.json#/$defs/{_FACET_SLOTS[slot]}")


def errors(event: Mapping[str, Any]) -> list[str]:
    """All schema violations of one event (empty when valid)."""
    registry, core, facet_by_key = _load()
    found = []
    core_errors = list(jsonschema.Draft202012Validator(core, registry=registry).iter_errors(event))
    if core_errors:  # the core schema is a oneOf of event kinds: report the most relevant branch
        best = jsonschema.exceptions.best_match(core_errors)
        found.append(f"{'/'.join(map(str, best.absolute_path)) or '<event>'}: {best.message[:300]}")
    for slot, facets in _facet_maps(event):
        for key, facet in facets.items():
            schema = facet_by_key.get(key)
            document: Any = {key: facet}
            if schema is None:
                own = _own_facet_schema(facet)
                if own is not None:  # a custom facet of this provider: its schema is in schemas/
                    schema = own
                elif str(facet.get("_producer", "")).startswith(OWN_PRODUCER) and not _generic(facet, slot):
                    found.append(f"{slot} facet {key}: produced here but has no schema in {OWN_SCHEMAS}")
                    continue
                else:  # someone else's custom facet: it must still be a valid facet of its slot
                    schema = {"$ref": f"{core['$id']}#/$defs/{_FACET_SLOTS[slot]}"}
                    document = facet
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
            found.extend(f"{slot} facet {key}: {e.message}" for e in validator.iter_errors(document))
    return found


def validate(event: Mapping[str, Any]) -> None:
    """Assert that one event is valid; counts it for the session summary."""
    problems = errors(event)
    STATS["validated"] += 1
    if problems:
        STATS["invalid"] += 1
        raise AssertionError("invalid OpenLineage event:\n  " + "\n  ".join(problems[:20]))


def validate_all(events: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    for event in events:
        validate(event)
        count += 1
    return count


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Events from a JSON-lines file (one event per line), validated."""
    events = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    validate_all(events)
    return events
