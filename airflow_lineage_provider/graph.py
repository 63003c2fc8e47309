"""Render a file of OpenLineage events as a lineage picture, and summarize it for a terminal.

``airflow-lineage graph EVENTS_FILE -o OUT`` reads JSON-lines events (the file transport's format) and writes
a self-contained HTML page with an inline SVG (``.html``) or the SVG alone (``.svg``): dataset and job nodes
laid out in layers from left to right, table-level edges, column-level edges from ``columnLineage`` facets,
the data-quality verdict per column from ``dataQualityAssertions`` facets (the quality gate's, common.sql
check operators'), and the state of every run.
No external asset, script or font is referenced, so the file opens offline anywhere. ``.png`` paints the
picture with a headless Chromium when one is installed (docs, attachments).

Pure Python, standard library only: it must run wherever the provider runs.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from airflow_lineage_provider.exceptions import LineageProviderError

log = logging.getLogger(__name__)

#: event types that end a run; a late START never overrides them
TERMINAL_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})

NodeKey = tuple[str, str, str]  # ("dataset" | "job", namespace, name)
FieldKey = tuple[NodeKey, str]  # (dataset key, column)


class GraphInputError(LineageProviderError):
    """The events file cannot be read or holds no OpenLineage run event."""


def _obj(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one: other producers send other shapes."""
    return value if isinstance(value, Mapping) else {}


def _objs(value: Any) -> list[Mapping[str, Any]]:
    """The JSON objects in ``value`` if it is a list, else none."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _instant(text: str) -> float:
    """An ISO 8601 ``eventTime`` as seconds since the epoch (naive = UTC), so that ``09:00+02:00`` sorts
    before ``08:00Z``; -inf if it is not a timestamp."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    except (ValueError, OverflowError, OSError):
        return float("-inf")


# --- the model ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assertion:
    """One data-quality assertion on a dataset column, from a ``dataQualityAssertions`` facet."""

    column: str
    assertion: str
    success: bool
    severity: str = "error"
    expected: str = ""
    actual: str = ""
    event_time: str = ""

    @property
    def verdict(self) -> str:
        if self.success:
            return "pass"
        return "warn" if self.severity.lower() == "warn" else "fail"


@dataclass
class Run:
    run_id: str
    job: NodeKey
    state: str = "OTHER"
    started: str = ""
    ended: str = ""
    error: str = ""
    #: time of the run's first event, whatever its type (its START may be in a rotated-away file)
    first_seen: str = ""


@dataclass
class Dataset:
    key: NodeKey
    fields: list[str] = field(default_factory=list)
    #: latest assertion per (column, assertion name)
    assertions: dict[tuple[str, str], Assertion] = field(default_factory=dict)
    row_count: int | None = None
    _known: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._known.update(self.fields)

    def add_field(self, name: str) -> None:
        if name not in self._known:  # a set: wide tables arrive with every event
            self._known.add(name)
            self.fields.append(name)

    @property
    def verdict(self) -> str | None:
        """``fail`` if an error-severity assertion failed, ``warn`` if only warn ones did, else ``pass``."""
        if not self.assertions:
            return None
        verdicts = {a.verdict for a in self.assertions.values()}
        for level in ("fail", "warn"):
            if level in verdicts:
                return level
        return "pass"


@dataclass(frozen=True)
class ColumnEdge:
    source: FieldKey
    target: FieldKey  # field "": the whole dataset (a column that decides which rows it gets)
    kind: str  # IDENTITY | TRANSFORMATION | AGGREGATION | INDIRECT
    #: INDIRECT subtypes (FILTER, JOIN, GROUP_BY, SORT ...), for the tooltip
    detail: str = ""


@dataclass
class LineageGraph:
    datasets: dict[NodeKey, Dataset] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    edges: set[tuple[NodeKey, NodeKey]] = field(default_factory=set)
    column_edges: set[ColumnEdge] = field(default_factory=set)
    event_types: Counter[str] = field(default_factory=Counter)
    skipped_lines: int = 0

    @property
    def jobs(self) -> dict[NodeKey, list[Run]]:
        """Job -> its runs, oldest first."""
        jobs: dict[NodeKey, list[Run]] = defaultdict(list)
        for run in self.runs.values():
            jobs[run.job].append(run)
        return {
            key: sorted(runs, key=lambda r: _instant(r.started or r.first_seen))
            for key, runs in sorted(jobs.items())
        }

    def job_state(self, job: NodeKey) -> str:
        runs = self.jobs.get(job) or []
        return runs[-1].state if runs else "OTHER"

    def gated(self) -> list[Dataset]:
        return [ds for ds in self.datasets.values() if ds.assertions]


# --- reading -----------------------------------------------------------------------------------------


def load_events(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """Events from a JSON-lines file, and how many lines were not JSON objects (skipped).

    Lines are split on ``\\n`` only (JSON strings may hold raw U+2028 or U+0085); a line that is not UTF-8,
    not JSON, nested too deep or holding an over-long integer is skipped and counted like any other.
    """
    events: list[dict[str, Any]] = []
    skipped = 0
    try:
        with open(path, "rb") as stream:
            for number, raw in enumerate(stream):
                if number == 0 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                if not raw.strip():
                    continue
                try:
                    event = json.loads(raw.decode("utf-8"))
                except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError, int digits
                    skipped += 1
                    continue
                if isinstance(event, dict) and isinstance(event.get("job"), dict):
                    events.append(event)
                else:
                    skipped += 1
    except OSError as exc:
        msg = f"cannot read events file {str(path)!r}: {exc.strerror or exc}"
        raise GraphInputError(msg) from None
    return events, skipped


def _dataset_key(ds: Mapping[str, Any]) -> NodeKey:
    return ("dataset", str(ds.get("namespace", "")), str(ds.get("name", "")))


def _edge_kind(input_field: Mapping[str, Any], legacy: Any) -> str:
    for transformation in _objs(input_field.get("transformations")):
        if transformation.get("type") == "INDIRECT":
            return "INDIRECT"
        subtype = str(transformation.get("subtype") or "").upper()
        if subtype in ("IDENTITY", "TRANSFORMATION", "AGGREGATION"):
            return subtype
    legacy = str(legacy or "").upper()
    return legacy if legacy in ("IDENTITY", "TRANSFORMATION", "AGGREGATION") else "TRANSFORMATION"


def _add_dataset(graph: LineageGraph, ds: Mapping[str, Any], event_time: str) -> NodeKey:
    key = _dataset_key(ds)
    node = graph.datasets.setdefault(key, Dataset(key))
    facets = _obj(ds.get("facets"))
    for schema_field in _objs(_obj(facets.get("schema")).get("fields")):
        if schema_field.get("name"):
            node.add_field(str(schema_field["name"]))
    input_facets = _obj(ds.get("inputFacets"))
    metrics = _obj(input_facets.get("dataQualityMetrics") or facets.get("dataQualityMetrics"))
    row_count = metrics.get("rowCount")
    if isinstance(row_count, int) and not isinstance(row_count, bool):
        node.row_count = row_count
    assertions = _obj(input_facets.get("dataQualityAssertions") or facets.get("dataQualityAssertions"))
    for item in _objs(assertions.get("assertions")):
        column = str(item.get("column") or "")
        assertion = Assertion(
            column=column,
            assertion=str(item.get("name") or item.get("assertion") or "assertion"),
            success=item.get("success") is True,  # a boolean in the spec; anything else is not a pass
            severity=str(item.get("severity") or "error"),
            expected=str(item.get("expected") or ""),
            actual=str(item.get("actual") or ""),
            event_time=event_time,
        )
        # events arrive in time order: the later assertion replaces the earlier one
        node.assertions[(column, assertion.assertion)] = assertion
        if column:
            node.add_field(column)
    return key


def _add_column_lineage(graph: LineageGraph, target: NodeKey, ds: Mapping[str, Any]) -> None:
    fields = _obj(_obj(_obj(ds.get("facets")).get("columnLineage")).get("fields"))
    for out_field, spec in fields.items():
        if not isinstance(spec, Mapping):
            continue
        graph.datasets[target].add_field(out_field)
        for input_field in _objs(spec.get("inputFields")):
            source = _dataset_key(input_field)
            column = str(input_field.get("field", ""))
            graph.datasets.setdefault(source, Dataset(source)).add_field(column)
            kind = _edge_kind(input_field, spec.get("transformationType"))
            graph.column_edges.add(ColumnEdge((source, column), (target, out_field), kind))
    # the facet's dataset list: columns that decide which rows the dataset gets (INDIRECT lineage)
    for input_field in _objs(_obj(_obj(ds.get("facets")).get("columnLineage")).get("dataset")):
        subtypes = sorted(
            {
                str(t.get("subtype") or "INDIRECT")
                for t in _objs(input_field.get("transformations"))
                if t.get("type") == "INDIRECT"
            }
        )
        if not subtypes:
            continue
        source = _dataset_key(input_field)
        column = str(input_field.get("field", ""))
        graph.datasets.setdefault(source, Dataset(source)).add_field(column)
        graph.column_edges.add(ColumnEdge((source, column), (target, ""), "INDIRECT", ", ".join(subtypes)))


def _update_run(graph: LineageGraph, event: Mapping[str, Any], job: NodeKey) -> None:
    run_info = _obj(event.get("run"))
    run_id = str(run_info.get("runId", ""))
    event_type = str(event.get("eventType") or "OTHER")
    event_time = str(event.get("eventTime") or "")
    run = graph.runs.setdefault(run_id, Run(run_id, job))
    run.first_seen = run.first_seen or event_time
    if event_type == "START":
        run.started = run.started or event_time
        if run.state not in TERMINAL_STATES:
            run.state = "RUNNING"
    elif event_type in TERMINAL_STATES:
        run.state, run.ended = event_type, event_time
        run.started = run.started or event_time
    elif run.state == "OTHER" and event_type == "RUNNING":
        run.state = "RUNNING"
    error = _obj(_obj(run_info.get("facets")).get("errorMessage"))
    if error.get("message"):
        run.error = str(error["message"])


def build_graph(events: Iterable[Mapping[str, Any]], skipped_lines: int = 0) -> LineageGraph:
    """Fold run events into jobs, runs, datasets, table edges, column edges and assertions."""
    graph = LineageGraph(skipped_lines=skipped_lines)
    # in time order (by instant, not by text: offsets differ between producers); ties keep file order
    for event in sorted(events, key=lambda e: _instant(str(e.get("eventTime") or ""))):
        graph.event_types[str(event.get("eventType") or "DATASET/JOB")] += 1
        job_info = _obj(event.get("job"))
        job: NodeKey = ("job", str(job_info.get("namespace", "")), str(job_info.get("name", "")))
        event_time = str(event.get("eventTime") or "")
        if "run" in event:
            _update_run(graph, event, job)
        for ds in _objs(event.get("inputs")):
            graph.edges.add((_add_dataset(graph, ds, event_time), job))
        for ds in _objs(event.get("outputs")):
            key = _add_dataset(graph, ds, event_time)
            graph.edges.add((job, key))
            _add_column_lineage(graph, key, ds)
    return graph


# --- terminal summary ----------------------------------------------------------------------------------

#: what must not reach a terminal from an events file: C0/C1 controls (escape sequences, a forged line),
#: line separators, lone surrogates (unprintable: ``print`` would raise UnicodeEncodeError)
#: (a pattern, compiled on first use by re's cache: importing this module stays cheap)
_UNPRINTABLE = "[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"


def _tty(text: str) -> str:
    """``text`` from an events file, safe to print: control characters shown as ``\\x1b``-style escapes."""
    return re.sub(
        _UNPRINTABLE, lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text
    )


def short_name(name: str) -> str:
    """The readable tail of a dataset name: ``/data/orders.db.main.orders`` -> ``main.orders``."""
    tail = name.rsplit("/", 1)[-1]
    parts = tail.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else tail


def _assertion_text(a: Assertion) -> str:
    detail = f" actual {a.actual}" if a.actual else ""
    detail += f" (expected {a.expected})" if a.expected else ""
    return _tty(f"{a.column or '<table>'}: {a.assertion} {a.verdict.upper()}{detail}")


#: jobs listed one per line in the summary; the rest are counted
SUMMARY_MAX_JOBS = 40


def summary(graph: LineageGraph, *, source: str | None = None) -> str:
    """Plain-text summary: events per type, jobs and their last state, datasets, edges, quality verdicts."""
    total = sum(graph.event_types.values())
    counts = ", ".join(f"{_tty(kind)} {n}" for kind, n in sorted(graph.event_types.items()))
    lines = [f"OpenLineage events: {total} ({counts})" + (f" from {_tty(source)}" if source else "")]
    if graph.skipped_lines:
        lines.append(f"  skipped {graph.skipped_lines} line(s) that were not OpenLineage run or job events")
    jobs = graph.jobs  # once: graph.job_state(job) for each job would sort every run again
    states = Counter(runs[-1].state for runs in jobs.values())
    lines.append(f"jobs: {len(jobs)} ({', '.join(f'{s} {n}' for s, n in sorted(states.items()))})")
    flows: dict[NodeKey, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for upstream, downstream in graph.edges:
        if downstream[0] == "job":
            flows[downstream][0].append(_tty(short_name(upstream[2])))
        else:
            flows[upstream][1].append(_tty(short_name(downstream[2])))
    shown = list(jobs.items())[:SUMMARY_MAX_JOBS]
    width = max((len(_tty(job[2])) for job, _ in shown), default=0)
    for job, runs in shown:
        ins, outs = (sorted(names) for names in flows[job])
        flow = (f"  in: {', '.join(ins)}" if ins else "") + (f"  out: {', '.join(outs)}" if outs else "")
        tries = f" x{len(runs)}" if len(runs) > 1 else ""
        lines.append(f"  {_tty(job[2]):<{width}}  {runs[-1].state + tries:<10}{flow}".rstrip())
    if len(jobs) > len(shown):
        lines.append(f"  ... and {len(jobs) - len(shown)} more jobs (all are in the picture's run table)")
    direct = [e for e in graph.column_edges if e.target[1]]
    deciding = len(graph.column_edges) - len(direct)
    lines.append(
        f"datasets: {len(graph.datasets)}  table edges: {len(graph.edges)}  column edges: {len(direct)}"
        + (f"  row-deciding columns: {deciding}" if deciding else "")
    )
    gated = graph.gated()
    if not gated:
        lines.append("data quality: no dataQualityAssertions facet in these events")
    for ds in gated:
        verdict = (ds.verdict or "").upper()
        rows = f", {ds.row_count} rows" if ds.row_count is not None else ""
        lines.append(f"data quality on {_tty(short_name(ds.key[2]))}: {verdict}{rows}")
        lines.extend(
            f"  {_assertion_text(a)}" for a in sorted(ds.assertions.values(), key=lambda a: a.column)
        )
    return "\n".join(lines)


# --- layout ------------------------------------------------------------------------------------------------

JOB_W, JOB_H = 212, 60
DS_W, DS_HEADER, ROW_H = 236, 46, 20
MAX_ROWS = 40
LAYER_GAP, NODE_GAP, MARGIN = 80, 26, 24
CHAR_W = 7.0  # average glyph width at 12px sans-serif, for truncation


@dataclass
class Box:
    key: NodeKey
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    layer: int = 0
    rows: list[str] = field(default_factory=list)  # dataset columns drawn (at most MAX_ROWS)
    hidden_rows: int = 0

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def anchor(self, column: str | None, side: str) -> tuple[float, float]:
        """Where an edge meets this box: the column's row if drawn, else the box's middle."""
        x = self.x + (self.w if side == "right" else 0)
        if column is not None and column in self.rows:
            return x, self.y + DS_HEADER + self.rows.index(column) * ROW_H + ROW_H / 2
        return x, (self.y + DS_HEADER / 2) if self.rows else self.cy


def _layers(nodes: list[NodeKey], edges: list[tuple[NodeKey, NodeKey]]) -> dict[NodeKey, int]:
    """Longest-path layering after dropping back edges (found by DFS), sources pulled next to their users."""
    succ: dict[NodeKey, list[NodeKey]] = defaultdict(list)
    for u, v in edges:
        if u != v:
            succ[u].append(v)
    state: dict[NodeKey, int] = {}
    order: list[NodeKey] = []
    acyclic: dict[NodeKey, list[NodeKey]] = defaultdict(list)
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif state.get(nxt) != 1:  # not a back edge
                acyclic[node].append(nxt)
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
    layer = dict.fromkeys(nodes, 0)
    for node in reversed(order):  # topological order of the acyclic graph
        for nxt in acyclic[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
    has_pred = {v for vs in acyclic.values() for v in vs}
    for node in nodes:
        if node not in has_pred and acyclic[node]:
            layer[node] = min(layer[v] for v in acyclic[node]) - 1
    return layer


def layout(graph: LineageGraph) -> tuple[dict[NodeKey, Box], float, float]:
    """Boxes with positions, and the canvas width and height."""
    edges = sorted(graph.edges) + sorted({(e.source[0], e.target[0]) for e in graph.column_edges})
    linked_jobs = {n for edge in graph.edges for n in edge if n[0] == "job"}
    jobs = sorted(linked_jobs) or list(graph.jobs)  # jobs without datasets are listed in the run table
    nodes: list[NodeKey] = sorted(graph.datasets) + jobs
    # a job that reads a table it writes: lay it out by the write, so the table sits right of the job
    edge_set = set(edges)
    layer_of = _layers(nodes, [(u, v) for u, v in edges if not (u[0] == "dataset" and (v, u) in edge_set)])
    boxes: dict[NodeKey, Box] = {}
    for key in nodes:
        box = Box(key, layer=layer_of[key])
        if key[0] == "dataset":
            fields = graph.datasets[key].fields
            box.rows, box.hidden_rows = fields[:MAX_ROWS], max(0, len(fields) - MAX_ROWS)
            box.w, box.h = DS_W, DS_HEADER + ROW_H * (len(box.rows) + (1 if box.hidden_rows else 0)) + 6
        else:
            box.w, box.h = JOB_W, JOB_H
        boxes[key] = box
    neighbours: dict[NodeKey, set[NodeKey]] = defaultdict(set)
    for u, v in edges:
        if u != v:
            neighbours[u].add(v)
            neighbours[v].add(u)
    layers: dict[int, list[Box]] = defaultdict(list)
    for box in boxes.values():
        layers[box.layer].append(box)
    order = sorted(layers)
    x = float(MARGIN)
    for index in order:
        width = max(b.w for b in layers[index])
        for box in layers[index]:
            box.x = x + (width - box.w) / 2
        x += width + LAYER_GAP
        _place(layers[index], None)
    # barycenter sweeps: order each layer by its neighbours' centres, then place without overlap
    for sweep in range(6):
        for index in order if sweep % 2 == 0 else list(reversed(order)):
            wanted = {}
            for box in layers[index]:
                centres = [boxes[n].cy for n in neighbours[box.key] if boxes[n].layer != index]
                wanted[box.key] = sum(centres) / len(centres) if centres else box.cy
            layers[index].sort(key=lambda b: (wanted[b.key], b.key))
            _place(layers[index], wanted)
    top = min(b.y for b in boxes.values()) if boxes else 0.0
    for box in boxes.values():
        box.y += MARGIN - top
    height = max((b.y + b.h for b in boxes.values()), default=0.0) + MARGIN
    return boxes, max(x - LAYER_GAP + MARGIN, 400.0), max(height, 200.0)


def _place(column: list[Box], wanted: dict[NodeKey, float] | None) -> None:
    """Stack boxes in their order, each as close to its wanted centre as the ones above allow."""
    bottom = float("-inf")
    for box in column:
        target = (
            (wanted[box.key] - box.h / 2) if wanted else bottom + NODE_GAP if bottom > float("-inf") else 0.0
        )
        box.y = max(target, bottom + NODE_GAP)
        bottom = box.y + box.h
    if wanted:  # shift the stack so its overall offset from the wanted centres is balanced
        shift = sum(wanted[b.key] - b.cy for b in column) / len(column)
        for box in column:
            box.y += shift


# --- SVG -----------------------------------------------------------------------------------------------

STATE_COLOURS = {
    "COMPLETE": ("#1e7d32", "#e8f5e9"),
    "FAIL": ("#c62828", "#ffebee"),
    "ABORT": ("#6d4c41", "#efebe9"),
    "RUNNING": ("#1565c0", "#e3f2fd"),
    "OTHER": ("#616161", "#f5f5f5"),
}
VERDICT_COLOURS = {"pass": "#1e7d32", "warn": "#ef6c00", "fail": "#c62828"}
VERDICT_MARKS = {"pass": "\u2714", "warn": "!", "fail": "\u2718"}
EDGE_PALETTE = ("#7b1fa2", "#00838f", "#ad1457", "#5d4037", "#283593", "#2e7d32", "#f57f17", "#4527a0")
EDGE_DASH = {"IDENTITY": "", "TRANSFORMATION": "5 3", "AGGREGATION": "2 3", "INDIRECT": "1 4"}


def _fit(text: str, width: float, *, keep_end: bool = False, bold: bool = False) -> str:
    room = max(3, int(width / (CHAR_W * (1.2 if bold else 1.0))))
    if len(text) <= room:
        return text
    return "\u2026" + text[-(room - 1) :] if keep_end else text[: room - 1] + "\u2026"


def _curve(a: tuple[float, float], b: tuple[float, float]) -> str:
    (x1, y1), (x2, y2) = a, b
    bend = max(40.0, abs(x2 - x1) / 2) * (1 if x2 >= x1 else -1)
    return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


#: characters XML 1.0 forbids (C0 controls but tab/newline/return, lone surrogates, U+FFFE/U+FFFF) and C1
#: controls: one in an .svg makes the whole file a parse error, a lone surrogate cannot even be written
_NOT_XML = "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def _esc(text: str) -> str:
    """``text`` from an events file as XML/HTML text or attribute: escaped, forbidden characters U+FFFD."""
    return escape(re.sub(_NOT_XML, "\ufffd", text))


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start", fill: str | None = None) -> str:
    colour = f' fill="{fill}"' if fill else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}"{colour}>{_esc(text)}</text>'


def _dataset_svg(box: Box, ds: Dataset) -> list[str]:
    namespace, name = box.key[1], box.key[2]
    verdict = ds.verdict
    stroke = VERDICT_COLOURS[verdict] if verdict else "#455a64"
    title = f"dataset {namespace} / {name}" + (
        f" ({ds.row_count} rows measured)" if ds.row_count is not None else ""
    )
    out = [
        f'<g class="node dataset" data-name="{_esc(name)}" data-verdict="{verdict or ""}">',
        f"<title>{_esc(title)}</title>",
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w}" height="{box.h:.1f}" rx="6" fill="#fff" '
        f'stroke="{stroke}" stroke-width="{2.5 if verdict else 1.5}"/>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w}" height="{DS_HEADER}" rx="6" fill="#eceff1"/>',
        _text(box.x + 10, box.y + 19, _fit(short_name(name), box.w - 20, keep_end=True, bold=True), "title"),
        _text(box.x + 10, box.y + 36, _fit(namespace, box.w - (95 if verdict else 20), keep_end=True), "sub"),
    ]
    if verdict:
        out.append(
            _text(
                box.x + box.w - 8,
                box.y + 36,
                f"checks {verdict.upper()}",
                "badge",
                "end",
                VERDICT_COLOURS[verdict],
            )
        )
    by_column: dict[str, list[Assertion]] = defaultdict(list)
    for assertion in ds.assertions.values():
        by_column[assertion.column].append(assertion)
    for i, column in enumerate(box.rows):
        y = box.y + DS_HEADER + i * ROW_H
        if i % 2:
            out.append(
                f'<rect x="{box.x + 1:.1f}" y="{y:.1f}" width="{box.w - 2}" height="{ROW_H}" fill="#fafafa"/>'
            )
        shown = "* (whole rows)" if column == "*" else column
        out.append(_text(box.x + 12, y + 14, _fit(shown, box.w - 110), "col"))
        checks = by_column.get(column)
        if checks:
            worst = max(checks, key=lambda a: ("pass", "warn", "fail").index(a.verdict))
            label = f"{VERDICT_MARKS[worst.verdict]} {_fit(worst.actual, 60)}".rstrip()
            tip = "; ".join(_assertion_text(a) for a in checks)
            out.append(
                f'<g class="check" data-column="{_esc(column)}" data-verdict="{worst.verdict}">'
                f"<title>{_esc(tip)}</title>"
                + _text(box.x + box.w - 8, y + 14, label, "mark", "end", VERDICT_COLOURS[worst.verdict])
                + "</g>"
            )
    if box.hidden_rows:
        y = box.y + DS_HEADER + len(box.rows) * ROW_H
        out.append(_text(box.x + 12, y + 14, f"\u2026 {box.hidden_rows} more columns", "sub"))
    out.append("</g>")
    return out


def _job_svg(box: Box, runs: list[Run]) -> list[str]:
    state = runs[-1].state if runs else "OTHER"
    stroke, fill = STATE_COLOURS.get(state, STATE_COLOURS["OTHER"])
    dag, _, task = box.key[2].rpartition(".")
    tries = f" \u00b7 {len(runs)} runs" if len(runs) > 1 else ""
    error = f"\n{runs[-1].error}" if runs and runs[-1].error else ""
    return [
        f'<g class="node job" data-name="{_esc(box.key[2])}" data-state="{state}">',
        f"<title>{_esc(f'job {box.key[1]} / {box.key[2]}: {state}{tries}{error}')}</title>",
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w}" height="{box.h}" rx="10" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="1.5"/>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="6" height="{box.h}" rx="3" fill="{stroke}"/>',
        _text(box.x + 16, box.y + 20, _fit(task or box.key[2], box.w - 24, bold=True), "title"),
        _text(box.x + 16, box.y + 36, _fit(dag, box.w - 26) if dag else box.key[1], "sub"),
        _text(box.x + 16, box.y + 52, f"{state}{tries}", "badge", fill=stroke),
        "</g>",
    ]


def render_svg(graph: LineageGraph, *, fit_width: bool = False) -> str:
    """The lineage picture as an SVG document; ``fit_width`` scales it down to its container's width."""
    boxes, width, height = layout(graph)
    legend_y = height
    height += 46
    size = (
        f'width="100%" style="max-width:{width:.0f}px;height:auto"'
        if fit_width
        else f'width="{width:.0f}" height="{height:.0f}"'
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        "<style>.title{font-size:13px;font-weight:bold;fill:#263238}.sub{font-size:10px;fill:#607d8b}"
        ".col{font-size:12px;fill:#37474f}.badge{font-size:11px;font-weight:bold}.mark{font-size:11px;"
        "font-weight:bold}.edge{fill:none;stroke:#90a4ae;stroke-width:2}.coledge{fill:none;stroke-width:1.3;"
        "opacity:.75}.legend{font-size:11px;fill:#455a64}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#90a4ae"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        '<g class="edges">',
    ]
    for source, target in sorted(graph.edges):
        if source in boxes and target in boxes:
            # a back edge (a job writing a table it also reads, a cycle) points right to left
            back = boxes[target].x < boxes[source].x
            a = boxes[source].anchor(None, "left" if back else "right")
            b = boxes[target].anchor(None, "right" if back else "left")
            parts.append(
                f'<path class="edge" d="{_curve(a, b)}" marker-end="url(#arrow)">'
                f"<title>{_esc(f'{source[2]} -> {target[2]}')}</title></path>"
            )
    parts.append('</g><g class="column-edges">')
    colour_of = {key: EDGE_PALETTE[i % len(EDGE_PALETTE)] for i, key in enumerate(sorted(graph.datasets))}
    for edge in sorted(graph.column_edges, key=lambda e: (e.target, e.source)):
        src, dst = boxes.get(edge.source[0]), boxes.get(edge.target[0])
        if src is None or dst is None:
            continue
        a, b = src.anchor(edge.source[1], "right"), dst.anchor(edge.target[1], "left")
        dash = EDGE_DASH.get(edge.kind, "")
        src_name, dst_name = short_name(edge.source[0][2]), short_name(edge.target[0][2])
        tip = (
            f"{src_name}.{edge.source[1]} -> {dst_name}.{edge.target[1]} ({edge.kind})"
            if edge.target[1]
            else f"{src_name}.{edge.source[1]} decides the rows of {dst_name} ({edge.detail or edge.kind})"
        )
        parts.append(
            f'<path class="coledge" d="{_curve(a, b)}" stroke="{colour_of[edge.target[0]]}"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + ("" if edge.target[1] else ' stroke-opacity="0.6"')  # rows, not values: drawn fainter
            + f"><title>{_esc(tip)}</title></path>"
        )
    parts.append("</g>")
    jobs = graph.jobs
    for key, box in boxes.items():
        parts.extend(
            _dataset_svg(box, graph.datasets[key])
            if key[0] == "dataset"
            else _job_svg(box, jobs.get(key, []))
        )
    parts.extend(_legend(MARGIN, legend_y + 10, rows=any(not e.target[1] for e in graph.column_edges)))
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(x: float, y: float, *, rows: bool = False) -> list[str]:
    out = []
    for state in ("COMPLETE", "RUNNING", "FAIL"):
        stroke, fill = STATE_COLOURS[state]
        out.append(f'<rect x="{x}" y="{y}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>')
        out.append(_text(x + 19, y + 11, f"job {state.lower()}", "legend"))
        x += 115
    for kind in ("IDENTITY", "TRANSFORMATION", "AGGREGATION"):
        dash = EDGE_DASH[kind]
        out.append(
            f'<path d="M{x},{y + 7} h30" stroke="#7b1fa2" stroke-width="1.6" fill="none"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        out.append(_text(x + 36, y + 11, f"column {kind.lower()}", "legend"))
        x += 170
    if rows:  # INDIRECT: a column that decides which rows a table gets, drawn into the table's header
        out.append(
            f'<path d="M{x},{y + 7} h30" stroke="#7b1fa2" stroke-width="1.6" fill="none" '
            f'stroke-dasharray="{EDGE_DASH["INDIRECT"]}" stroke-opacity="0.6"/>'
        )
        out.append(_text(x + 36, y + 11, "decides rows", "legend"))
        x += 140
    for verdict in ("pass", "warn", "fail"):
        out.append(
            _text(
                x,
                y + 11,
                f"{VERDICT_MARKS[verdict]} checks {verdict}",
                "legend",
                fill=VERDICT_COLOURS[verdict],
            )
        )
        x += 90
    return out


# --- HTML ----------------------------------------------------------------------------------------------

_CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px;color:#263238;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.meta{color:#607d8b;font-size:13px;margin-bottom:16px}
.picture{background:#fff;border:1px solid #cfd8dc;border-radius:6px;padding:8px}
table{border-collapse:collapse;font-size:13px;background:#fff}
td,th{border:1px solid #cfd8dc;padding:4px 10px;text-align:left}
th{background:#eceff1} .pass{color:#1e7d32;font-weight:bold} .warn{color:#ef6c00;font-weight:bold}
.fail{color:#c62828;font-weight:bold}
pre{background:#fff;border:1px solid #cfd8dc;padding:10px;font-size:12px}
"""


def render_html(graph: LineageGraph, *, title: str = "Lineage", source: str | None = None) -> str:
    """A self-contained HTML page: the picture, the data-quality verdict, the runs, and the text summary."""
    rows = []
    for ds in graph.gated():
        for a in sorted(ds.assertions.values(), key=lambda a: a.column):
            rows.append(
                f"<tr><td>{_esc(short_name(ds.key[2]))}</td><td>{_esc(a.column)}</td><td>{_esc(a.assertion)}</td>"
                f"<td>{_esc(a.expected)}</td><td>{_esc(a.actual)}</td><td>{_esc(a.severity)}</td>"
                f'<td class="{a.verdict}">{a.verdict.upper()}</td></tr>'
            )
    gate = (
        "<table><tr><th>dataset</th><th>column</th><th>assertion</th><th>expected</th><th>actual</th>"
        "<th>severity</th><th>verdict</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>No dataQualityAssertions facet in these events.</p>"
    )
    run_rows = []
    for job, runs in graph.jobs.items():
        for run in runs:
            state_cls = {"COMPLETE": "pass", "FAIL": "fail"}.get(run.state, "")
            run_rows.append(
                f"<tr><td>{_esc(job[2])}</td><td><code>{_esc(run.run_id)}</code></td>"
                f'<td class="{state_cls}">{_esc(run.state)}</td><td>{_esc(run.started)}</td>'
                f"<td>{_esc(run.ended)}</td><td>{_esc(run.error)}</td></tr>"
            )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{_esc(title)}</h1>",
            f'<div class="meta">{_esc(source or "")}</div>',
            f'<div class="picture">{render_svg(graph, fit_width=True)}</div>',
            "<h2>Data quality</h2>",
            gate,
            "<h2>Runs</h2>",
            "<table><tr><th>job</th><th>run id</th><th>state</th><th>started</th><th>ended</th>"
            "<th>error</th></tr>",
            "".join(run_rows),
            "</table>",
            "<h2>Summary</h2>",
            f"<pre>{_esc(summary(graph, source=source))}</pre>",
            "</body></html>",
        ]
    )


# --- entry points --------------------------------------------------------------------------------------


#: headless Chromium without network, profile state or GPU (it only has to paint a local file)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """A headless-capable Chromium on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


#: seconds a Chromium may take to paint one page before it and its helper processes are killed
CHROMIUM_TIMEOUT = 120.0


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the browser's session (a hung main process, renderers, zygote) and reap it."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # nothing is left
    else:  # pragma: no cover - Windows
        process.kill()
    process.wait()


def screenshot(
    page: str | Path, png: str | Path, *, window: tuple[int, int] = (1400, 900), scale: float = 1
) -> None:
    """Paint a local HTML/SVG file into ``png`` with a headless Chromium (a throwaway profile, no network).

    The browser runs in its own session and writes into a scratch directory: ``png`` is replaced only by a
    picture painted now (never left as an older one), and nothing of the browser outlives the call, even when
    it hangs past ``CHROMIUM_TIMEOUT``.
    """
    browser = find_browser()
    if browser is None:
        msg = "PNG output needs Chromium: install it (Debian: apt-get install chromium) or write .html/.svg"
        raise GraphInputError(msg)
    png = Path(png).resolve()
    with tempfile.TemporaryDirectory(prefix="lineage-chromium-") as work:
        shot, log_path = Path(work) / "screenshot.png", Path(work) / "chromium.log"
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(work) / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={window[0]},{window[1]}",
            f"--force-device-scale-factor={scale:g}",
            Path(page).resolve().as_uri(),
        ]
        # output to a file, not a pipe: a helper process holding a pipe open would keep us waiting
        with open(log_path, "wb") as log_file:
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                msg = f"{browser} could not render {page}: {exc}"
                raise GraphInputError(msg) from None
            try:
                code: int | None = process.wait(timeout=CHROMIUM_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                _stop_process_group(process)
        if code is None:
            msg = f"{browser} could not render {page}: no picture after {CHROMIUM_TIMEOUT:g} s, stopped it"
            raise GraphInputError(msg)
        if code != 0:
            said = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            msg = f"{browser} could not render {page}: exit status {code}" + (
                ": " + _tty(" / ".join(said)) if said else ""
            )
            raise GraphInputError(msg)
        if not shot.is_file() or not shot.stat().st_size:
            msg = f"{browser} wrote no screenshot to {png}"
            raise GraphInputError(msg)
        try:
            png.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, png)
        except OSError as exc:
            raise GraphInputError(_cannot_write(png, exc)) from None


def _cannot_write(path: Path, exc: OSError) -> str:
    """``cannot write 'a/b.svg': File exists: 'a'``: the path asked for, and the one that failed."""
    where = f": {str(exc.filename)!r}" if exc.filename and str(exc.filename) != str(path) else ""
    return f"cannot write {str(path)!r}: {exc.strerror or exc}{where}"


def _files(events_files: str | Path | Sequence[str | Path]) -> list[str]:
    if isinstance(events_files, str | Path):
        return [str(events_files)]
    return [str(f) for f in events_files]


def write_picture(events_files: str | Path | Sequence[str | Path], output: str | Path) -> LineageGraph:
    """Render one or more events files (e.g. the rotated ``events.jsonl.1`` and ``events.jsonl``) into
    ``output`` (``.html``, ``.svg`` or ``.png``); return the graph."""
    out = Path(output)
    kind = out.suffix.lower()
    if kind not in (".html", ".htm", ".svg", ".png"):
        msg = f"-o/--output {str(out)!r} must end in .html, .svg or .png"
        raise GraphInputError(msg)
    files = _files(events_files)
    events: list[dict[str, Any]] = []
    skipped = 0
    for events_file in files:
        more, more_skipped = load_events(events_file)
        events.extend(more)
        skipped += more_skipped
    if not events:
        msg = f"no OpenLineage events in {', '.join(map(repr, files))} (expected one JSON event per line)"
        raise GraphInputError(msg)
    graph = build_graph(events, skipped)
    if kind == ".png":  # the picture alone, at its natural size, twice the pixel density
        svg = render_svg(graph)
        width, height = (int(float(v)) for v in re.findall(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)[0])
        with tempfile.TemporaryDirectory(prefix="lineage-png-") as tmp:
            page = Path(tmp) / "lineage.svg"
            page.write_text(svg, encoding="utf-8")
            screenshot(page, out, window=(width, height), scale=2)
        return graph
    if kind == ".svg":
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + render_svg(graph)
    else:
        title = f"Lineage of {', '.join(Path(f).name for f in files)}"
        text = render_html(graph, title=title, source=", ".join(files))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraphInputError(_cannot_write(out, exc)) from None
    return graph


def graph_command(args: argparse.Namespace) -> int:
    """``airflow-lineage graph EVENTS_FILE... -o OUT``: write the picture, print the summary and the path."""
    files = _files(args.events_file)
    try:
        graph = write_picture(files, args.output)
    except GraphInputError as exc:
        print(f"airflow-lineage graph: {exc}", file=sys.stderr)
        return 2
    print(summary(graph, source=", ".join(files)))
    print(f"lineage picture: {Path(args.output).resolve()}")
    return 0
