"""Valid OpenLineage run events for delivery tests, and the checks every fault test ends with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import ol_schema
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.uuid import generate_new_uuid

PRODUCER = "https://github.com/airflow-lineage-provider/airflow-lineage-provider/tests"


def run_event(
    state: str,
    run_id: str,
    job: str = "dag.task",
    *,
    run_facets: Mapping[str, Any] | None = None,
    job_facets: Mapping[str, Any] | None = None,
) -> RunEvent:
    return RunEvent(
        eventType=RunState[state],
        eventTime=datetime.now(timezone.utc).isoformat(),
        run=Run(runId=run_id, facets=dict(run_facets or {})),
        job=Job(namespace="tests", name=job, facets=dict(job_facets or {})),
        producer=PRODUCER,
    )


def run_pairs(count: int, job_prefix: str = "dag") -> list[RunEvent]:
    """``count`` runs, each a START then a COMPLETE, in emission order."""
    events = []
    for index in range(count):
        run_id = str(generate_new_uuid())
        events.append(run_event("START", run_id, f"{job_prefix}.task_{index}"))
        events.append(run_event("COMPLETE", run_id, f"{job_prefix}.task_{index}"))
    return events


def key(event: Mapping[str, Any] | RunEvent) -> tuple[str, str]:
    if isinstance(event, RunEvent):
        return event.run.runId, event.eventType.value if event.eventType else ""
    return event["run"]["runId"], event["eventType"]


def assert_exactly_once_in_order(received: Iterable[Mapping[str, Any]], expected: Iterable[Any]) -> None:
    """Every expected event arrived once (0 lost, 0 duplicated), valid, and each run's START came first."""
    received = list(received)
    for event in received:
        ol_schema.validate(event)
    got = Counter(key(e) for e in received)
    want = Counter(key(e) for e in expected)
    lost = want - got
    duplicated = {k: n for k, n in got.items() if n > 1}
    unexpected = got - want
    assert not lost, f"{sum(lost.values())} event(s) lost: {list(lost)[:5]}"
    assert not duplicated, f"{len(duplicated)} event(s) duplicated: {list(duplicated)[:5]}"
    assert not unexpected, f"unexpected events: {list(unexpected)[:5]}"
    order = {"START": 0, "RUNNING": 1, "COMPLETE": 2, "FAIL": 2, "ABORT": 2, "OTHER": 1}
    last: dict[str, int] = {}
    for event in received:
        run_id, state = key(event)
        assert order[state] >= last.get(run_id, -1), f"run {run_id}: {state} arrived after a later state"
        last[run_id] = order[state]
