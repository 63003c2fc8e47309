"""The lineage picture: ``airflow-lineage graph`` on a synthetic, schema-valid events file.

The rendered HTML is checked twice: structurally (it parses as XML/HTML, holds the nodes, edges and verdicts,
references nothing external) and in a real headless Chromium, which screenshots it to a PNG that must be a
real picture (not blank).
"""

from __future__ import annotations

import json
import os
import struct
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import ol_schema
import pytest

from airflow_lineage_provider import cli, graph

PRODUCER = "https://github.com/example/airflow-lineage-provider/tests"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = "https://openlineage.io/spec/facets"
NS = "sqlite://localhost"


def _facet(name: str, version: str, **body: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACETS}/{version}/{name}.json#/$defs/{name}", **body}


def _ds(name: str, columns: list[str] | None = None, **facets: Any) -> dict[str, Any]:
    ds: dict[str, Any] = {"namespace": NS, "name": f"/data/orders.db.main.{name}"}
    extra = dict(facets)
    if columns:
        extra["schema"] = _facet(
            "SchemaDatasetFacet", "1-1-1", fields=[{"name": c, "type": "TEXT"} for c in columns]
        )
    if extra:
        ds["facets"] = extra
    return ds


def _col_lineage(mapping: dict[str, list[tuple[str, str, str]]]) -> dict[str, Any]:
    fields = {
        out: {
            "inputFields": [
                {
                    "namespace": NS,
                    "name": f"/data/orders.db.main.{table}",
                    "field": column,
                    "transformations": [{"type": "DIRECT", "subtype": subtype}],
                }
                for table, column, subtype in inputs
            ]
        }
        for out, inputs in mapping.items()
    }
    return _facet("ColumnLineageDatasetFacet", "1-2-0", fields=fields)


def _event(kind: str, job: str, run_id: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": f"2026-11-21T07:{minute:02d}:00.000000+00:00",
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, **extra.pop("run", {})},
        "job": {"namespace": "default", "name": job},
        **extra,
    }


def synthetic_events(*, gate_passes: bool = False) -> list[dict[str, Any]]:
    """Orders pipeline: load -> transform -> gate (one column breached) -> publish; one failed task."""
    raw_orders = _ds("raw_orders", ["order_id", "customer_id", "amount", "ordered_at"])
    raw_customers = _ds("raw_customers", ["customer_id", "country", "email"])
    enriched = _ds(
        "orders_enriched",
        ["order_id", "customer_id", "country", "amount", "order_day"],
        columnLineage=_col_lineage(
            {
                "order_id": [("raw_orders", "order_id", "IDENTITY")],
                "customer_id": [("raw_orders", "customer_id", "IDENTITY")],
                "country": [("raw_customers", "country", "IDENTITY")],
                "amount": [("raw_orders", "amount", "TRANSFORMATION")],
                "order_day": [("raw_orders", "ordered_at", "TRANSFORMATION")],
            }
        ),
    )
    revenue = _ds(
        "daily_revenue",
        ["order_day", "country", "revenue"],
        columnLineage=_col_lineage(
            {
                "order_day": [("orders_enriched", "order_day", "IDENTITY")],
                "country": [("orders_enriched", "country", "IDENTITY")],
                "revenue": [("orders_enriched", "amount", "AGGREGATION")],
            }
        ),
    )
    country_rate = "0.0" if gate_passes else "0.25"
    gated = {
        "namespace": NS,
        "name": enriched["name"],
        "inputFacets": {
            "dataQualityMetrics": _facet(
                "DataQualityMetricsInputDatasetFacet",
                "1-0-3",
                rowCount=8,
                columnMetrics={
                    "customer_id": {"nullCount": 0, "count": 8},
                    "country": {"nullCount": 2, "count": 8},
                },
            ),
            "dataQualityAssertions": _facet(
                "DataQualityAssertionsDatasetFacet",
                "1-1-0",
                assertions=[
                    {
                        "assertion": "null_rate",
                        "column": "customer_id",
                        "success": True,
                        "severity": "error",
                        "expected": "<= 0.0",
                        "actual": "0.0",
                    },
                    {
                        "assertion": "null_rate",
                        "column": "country",
                        "success": gate_passes,
                        "severity": "error",
                        "expected": "<= 0.1",
                        "actual": country_rate,
                    },
                    {
                        "assertion": "null_rate",
                        "column": "amount",
                        "success": False,
                        "severity": "warn",
                        "expected": "<= 0.0",
                        "actual": "0.125",
                    },
                ],
            ),
        },
    }
    error = {
        "errorMessage": _facet(
            "ErrorMessageRunFacet", "1-0-1", message="division by zero", programmingLanguage="python"
        )
    }
    dag = "orders_pipeline"
    return [
        _event("START", dag, "01930000-0000-7000-8000-000000000000", 0),
        _event("START", f"{dag}.load_raw", "01930000-0000-7000-8000-000000000001", 1),
        _event(
            "COMPLETE",
            f"{dag}.load_raw",
            "01930000-0000-7000-8000-000000000001",
            2,
            outputs=[raw_orders, raw_customers],
        ),
        _event("START", f"{dag}.transform", "01930000-0000-7000-8000-000000000002", 3),
        _event(
            "COMPLETE",
            f"{dag}.transform",
            "01930000-0000-7000-8000-000000000002",
            4,
            inputs=[_ds("raw_orders"), _ds("raw_customers")],
            outputs=[enriched],
        ),
        _event("START", f"{dag}.gate_orders_enriched", "01930000-0000-7000-8000-000000000003", 5),
        _event(
            "COMPLETE" if gate_passes else "FAIL",
            f"{dag}.gate_orders_enriched",
            "01930000-0000-7000-8000-000000000003",
            6,
            inputs=[gated],
        ),
        _event("START", f"{dag}.publish", "01930000-0000-7000-8000-000000000004", 7),
        _event(
            "COMPLETE",
            f"{dag}.publish",
            "01930000-0000-7000-8000-000000000004",
            8,
            inputs=[_ds("orders_enriched")],
            outputs=[revenue],
        ),
        _event("START", f"{dag}.notify", "01930000-0000-7000-8000-000000000005", 9),
        _event("FAIL", f"{dag}.notify", "01930000-0000-7000-8000-000000000005", 10, run={"facets": error}),
        _event("FAIL", dag, "01930000-0000-7000-8000-000000000000", 11),
    ]


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    events = synthetic_events()
    ol_schema.validate_all(events)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + "not json\n")
    return path


def test_model_from_events(events_file: Path) -> None:
    events, skipped = graph.load_events(events_file)
    g = graph.build_graph(events, skipped)
    assert skipped == 1
    assert g.event_types == {"START": 6, "COMPLETE": 3, "FAIL": 3}
    names = {key[2].rsplit(".", 1)[-1] for key in g.datasets}
    assert names == {"raw_orders", "raw_customers", "orders_enriched", "daily_revenue"}
    assert len(g.column_edges) == 8
    states = {job[2]: g.job_state(job) for job in g.jobs}
    assert states["orders_pipeline.notify"] == "FAIL"
    assert states["orders_pipeline.publish"] == "COMPLETE"
    assert states["orders_pipeline"] == "FAIL"
    (gated,) = g.gated()
    assert gated.verdict == "fail"
    verdicts = {a.column: a.verdict for a in gated.assertions.values()}
    assert verdicts == {"customer_id": "pass", "country": "fail", "amount": "warn"}
    assert gated.row_count == 8


def test_summary_names_counts_jobs_and_verdict(events_file: Path) -> None:
    events, skipped = graph.load_events(events_file)
    text = graph.summary(graph.build_graph(events, skipped))
    assert "OpenLineage events: 12 (COMPLETE 3, FAIL 3, START 6)" in text
    assert "column edges: 8" in text
    assert "data quality on main.orders_enriched: FAIL, 8 rows" in text
    assert "country: null_rate FAIL actual 0.25 (expected <= 0.1)" in text
    assert "amount: null_rate WARN" in text


def test_layout_is_left_to_right_without_overlaps(events_file: Path) -> None:
    events, _ = graph.load_events(events_file)
    boxes, width, height = graph.layout(graph.build_graph(events))
    x = {key[2].rsplit(".", 1)[-1]: box.x for key, box in boxes.items()}
    assert x["raw_orders"] < x["transform"] < x["orders_enriched"] < x["publish"] < x["daily_revenue"]
    assert x["orders_enriched"] < x["gate_orders_enriched"]
    # jobs without datasets (the DAG run, the failed notify task) stay out of the picture, in the runs table
    assert "orders_pipeline" not in {key[2] for key in boxes}
    for a in boxes.values():
        assert 0 <= a.x and a.x + a.w <= width and 0 <= a.y and a.y + a.h <= height
        for b in boxes.values():
            if a is not b and a.layer == b.layer:
                assert a.y + a.h <= b.y or b.y + b.h <= a.y, f"{a.key} overlaps {b.key}"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_and_shows_everything(events_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "lineage.html"
    assert cli.main(["graph", str(events_file), "-o", str(out)]) == 0
    html = out.read_text()
    collector = _Collector()
    collector.feed(html)
    for tag, attrs in collector.tags:  # nothing fetched from anywhere
        assert tag not in ("script", "link", "img", "iframe", "object"), tag
        for name in ("src", "href"):
            assert not attrs.get(name), (tag, attrs)
    assert "@import" not in html and "url(http" not in html
    svg_text = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    svg = ET.fromstring(svg_text)  # well-formed XML
    ns = {"s": "http://www.w3.org/2000/svg"}
    datasets = svg.findall(".//s:g[@class='node dataset']", ns)
    jobs = svg.findall(".//s:g[@class='node job']", ns)
    assert len(datasets) == 4 and len(jobs) == 4
    assert len(svg.findall(".//s:path[@class='edge']", ns)) == 8
    assert len(svg.findall(".//s:path[@class='coledge']", ns)) == 8
    checks = {g.get("data-column"): g.get("data-verdict") for g in svg.findall(".//s:g[@class='check']", ns)}
    assert checks == {"customer_id": "pass", "country": "fail", "amount": "warn"}
    gate_job = next(j for j in jobs if j.get("data-name", "").endswith("gate_orders_enriched"))
    assert gate_job.get("data-state") == "FAIL"
    assert "checks FAIL" in svg_text
    assert "division by zero" in html  # the failed run is listed with its error
    assert 'class="fail">FAIL</td>' in html


def test_svg_output_and_bad_input(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lineage.svg"
    assert cli.main(["graph", str(events_file), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"lineage picture: {out.resolve()}" in printed
    ET.fromstring(out.read_text().split("\n", 1)[1])
    assert cli.main(["graph", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2
    assert "cannot read events file" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert cli.main(["graph", str(empty), "-o", str(out)]) == 2
    assert "no OpenLineage events" in capsys.readouterr().err
    assert cli.main(["graph", str(events_file), "-o", str(tmp_path / "x.gif")]) == 2
    assert "must end in .html, .svg or .png" in capsys.readouterr().err


def test_a_passing_gate_is_drawn_as_pass(tmp_path: Path) -> None:
    events = synthetic_events(gate_passes=True)
    ol_schema.validate_all(events)
    (gated,) = graph.build_graph(events).gated()
    assert gated.verdict == "warn"  # the warn-severity breach on amount remains
    svg = graph.render_svg(graph.build_graph(events))
    assert 'data-column="country" data-verdict="pass"' in svg


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the raw (unfiltered) RGB(A) rows of an 8-bit PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def picture_stats(path: Path) -> dict[str, int]:
    """Distinct colours, non-white pixels, and pixels in the gate's red/green, sampled every 2nd pixel."""
    width, height, rows = png_pixels(path)
    bpp = len(rows[0]) // width
    colours: set[bytes] = set()
    ink = red = green = 0
    for row in rows[::2]:
        for x in range(0, width * bpp, 2 * bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add(bytes((r, g, b)))
            if r < 235 or g < 235 or b < 235:
                ink += 1
            if r > 170 and g < 80 and b < 80:
                red += 1
            if g > 100 and r < 60 and b < 80:
                green += 1
    return {"width": width, "height": height, "colours": len(colours), "ink": ink, "red": red, "green": green}


@pytest.mark.slow
def test_picture_renders_in_headless_chromium(events_file: Path, tmp_path: Path) -> None:
    assert graph.find_browser(), (
        "chromium is missing: scripts/bootstrap.sh installs it (apt-get install chromium)"
    )
    page = tmp_path / "lineage.html"
    graph.write_picture(events_file, page)
    png = tmp_path / "lineage.png"
    graph.screenshot(page, png, window=(1400, 900))
    stats = picture_stats(png)
    assert (stats["width"], stats["height"]) == (1400, 900)
    assert stats["colours"] > 50, stats  # text anti-aliasing, node fills, edge colours
    assert stats["ink"] > 10_000, stats  # a drawing, not a blank page
    assert stats["red"] > 50 and stats["green"] > 50, stats  # failed and passed checks/runs are visible
    assert os.path.getsize(png) > 20_000


@pytest.mark.slow
def test_png_output_paints_the_whole_picture(events_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "out" / "lineage.png"
    assert cli.main(["graph", str(events_file), "-o", str(png)]) == 0
    _, width, height = graph.layout(graph.build_graph(graph.load_events(events_file)[0]))
    stats = picture_stats(png)
    assert stats["width"] == 2 * int(width)  # natural size at twice the pixel density
    assert stats["height"] >= 2 * int(height)  # plus the legend
    assert stats["ink"] > 10_000 and stats["red"] > 50 and stats["green"] > 50, stats


def test_a_job_reading_its_own_output_keeps_the_table_on_its_right() -> None:
    stats = _ds("customer_stats", ["customer_id", "orders"])
    events = [
        _event("START", "stats.refresh", "01930000-0000-7000-8000-0000000000a1", 1),
        _event(
            "COMPLETE",
            "stats.refresh",
            "01930000-0000-7000-8000-0000000000a1",
            2,
            inputs=[_ds("raw_customers"), _ds("customer_stats")],
            outputs=[stats],
        ),
    ]
    ol_schema.validate_all(events)
    g = graph.build_graph(events)
    boxes, _, _ = graph.layout(g)
    x = {key[2].rsplit(".", 1)[-1]: box.x for key, box in boxes.items()}
    assert x["raw_customers"] < x["refresh"] < x["customer_stats"]
    svg = ET.fromstring(graph.render_svg(g))
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}path[@class='edge']")) == 3


def test_static_job_events_are_drawn_and_dataset_events_skipped(tmp_path: Path) -> None:
    job_event = {
        "eventTime": "2026-11-21T07:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "dbt", "name": "models.revenue"},
        "inputs": [_ds("orders_enriched")],
        "outputs": [_ds("revenue")],
    }
    dataset_event = {
        "eventTime": "2026-11-21T07:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": _ds("revenue"),
    }
    ol_schema.validate_all([job_event, dataset_event])
    path = tmp_path / "static.jsonl"
    path.write_text(json.dumps(job_event) + "\n" + json.dumps(dataset_event) + "\n")
    events, skipped = graph.load_events(path)
    assert (len(events), skipped) == (1, 1)
    g = graph.build_graph(events, skipped)
    assert not g.runs and len(g.edges) == 2
    boxes, _, _ = graph.layout(g)
    assert ("job", "dbt", "models.revenue") in boxes
    assert "skipped 1 line(s) that were not OpenLineage run or job events" in graph.summary(g)


def test_a_rotated_file_and_the_current_one_make_one_picture(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The embedded default rotates ``events.jsonl`` to ``events.jsonl.1``: given both (oldest first), the
    picture is the one the unrotated file would have given."""
    lines = events_file.read_text().splitlines(keepends=True)
    rotated = tmp_path / "rotated"
    rotated.mkdir()
    older, newer = rotated / "events.jsonl.1", rotated / "events.jsonl"
    older.write_text("".join(lines[: len(lines) // 2]))
    newer.write_text("".join(lines[len(lines) // 2 :]))
    whole, split = tmp_path / "whole.svg", tmp_path / "split.svg"
    assert cli.main(["graph", str(events_file), "-o", str(whole)]) == 0
    assert cli.main(["graph", str(older), str(newer), "-o", str(split)]) == 0
    assert split.read_text() == whole.read_text()
    assert "events.jsonl.1, " in capsys.readouterr().out


def test_row_deciding_columns_are_drawn_into_the_table_header(tmp_path: Path) -> None:
    """The columnLineage facet's ``dataset`` list (INDIRECT: FILTER, JOIN ...) becomes one edge per input
    column into the written table itself, counted apart from the column edges."""
    facet = _col_lineage({"id": [("raw_orders", "id", "IDENTITY")]})
    facet["dataset"] = [
        {
            "namespace": NS,
            "name": "/data/orders.db.main.raw_orders",
            "field": "status",
            "transformations": [
                {"type": "INDIRECT", "subtype": "FILTER"},
                {"type": "INDIRECT", "subtype": "SORT"},
            ],
        },
        {
            "namespace": NS,
            "name": "/data/orders.db.main.raw_customers",
            "field": "id",
            "transformations": [{"type": "INDIRECT", "subtype": "JOIN"}],
        },
    ]
    complete = _event(
        "COMPLETE",
        "p.t",
        "01900000-0000-7000-8000-000000000001",
        1,
        inputs=[_ds("raw_orders"), _ds("raw_customers")],
        outputs=[_ds("clean", ["id"], columnLineage=facet)],
    )
    ol_schema.validate(complete)
    g = graph.build_graph([complete], 0)
    rows = sorted((e.source[1], e.detail) for e in g.column_edges if not e.target[1])
    assert rows == [("id", "JOIN"), ("status", "FILTER, SORT")]
    assert "column edges: 1  row-deciding columns: 2" in graph.summary(g)
    svg = graph.render_svg(g)
    assert "main.raw_orders.status decides the rows of main.clean (FILTER, SORT)" in svg
