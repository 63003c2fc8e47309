"""``airflow-lineage graph`` on hostile, malformed, large and odd input; the Chromium subprocess.

Every case here was a defect: a traceback, output that is not well-formed, a wrong verdict or state, quadratic
time, a stale or orphaned artefact.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from airflow_lineage_provider import cli, graph

SVG = "{http://www.w3.org/2000/svg}"


def _event(
    kind: str, job: str, run_id: str, when: str = "2026-11-21T07:00:00+00:00", **extra: Any
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": when,
        "producer": "https://example.com/other-producer",
        "run": {"runId": run_id},
        "job": {"namespace": "default", "name": job},
        **extra,
    }


def _write(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _svg_root(path: Path) -> ET.Element:
    text = path.read_text(encoding="utf-8")
    return ET.fromstring(text.split("\n", 1)[1])  # after the XML declaration


# --- reading: a bad line is skipped and counted, never a traceback -------------------------------------


def test_undecodable_oversized_and_odd_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = _event("COMPLETE", "etl.load", "r1", outputs=[{"namespace": "ns", "name": "t"}])
    lines = [
        b"\xef\xbb\xbf" + json.dumps(good).encode(),  # a UTF-8 byte-order mark (Windows editors)
        b"\xff\xfe not utf-8 \x80",  # bytes that are not UTF-8
        b'{"job": {"name": "x"}, "n": ' + b"1" * 5000 + b"}",  # int past Python's 4300-digit limit
        b"[" * 100_000,  # nesting deeper than the JSON decoder's recursion limit
        json.dumps(_event("START", "etl.load", "r2", when="2026-11-21T08:00:00+00:00")).encode(),
        b'{"eventType": "COMPLETE", "job": {"na',  # truncated last line (writer killed)
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines))
    events, skipped = graph.load_events(path)
    assert [e["run"]["runId"] for e in events] == ["r1", "r2"]
    assert skipped == 4
    assert cli.main(["graph", str(path), "-o", str(tmp_path / "out.html")]) == 0


def test_unicode_line_separators_inside_strings_do_not_split_an_event(tmp_path: Path) -> None:
    # JSON allows raw U+2028/U+2029/U+0085 inside strings (producers writing with ensure_ascii=False do)
    name = "reports.q3\u2028draft\x85v2\u2029"
    event = _event("COMPLETE", "etl.load", "r1", outputs=[{"namespace": "ns", "name": name}])
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(event, ensure_ascii=False) + "\n", encoding="utf-8")
    events, skipped = graph.load_events(path)
    assert (len(events), skipped) == (1, 0)
    assert events[0]["outputs"][0]["name"] == name


BASE = _event("COMPLETE", "etl.job", "r1")
WRONG_TYPES: dict[str, dict[str, Any]] = {
    "run is a string": {**BASE, "run": "r1"},
    "inputs is an object": {**BASE, "inputs": {"a": 1}},
    "a dataset is a string": {**BASE, "inputs": ["orders"]},
    "facets is a list": {**BASE, "outputs": [{"namespace": "n", "name": "d", "facets": [1]}]},
    "schema.fields is a number": {
        **BASE,
        "outputs": [{"namespace": "n", "name": "d", "facets": {"schema": {"fields": 5}}}],
    },
    "columnLineage.fields is a list": {
        **BASE,
        "outputs": [{"namespace": "n", "name": "d", "facets": {"columnLineage": {"fields": [1]}}}],
    },
    "a columnLineage field is a string": {
        **BASE,
        "outputs": [{"namespace": "n", "name": "d", "facets": {"columnLineage": {"fields": {"a": "b"}}}}],
    },
    "an inputField is a string": {
        **BASE,
        "outputs": [
            {
                "namespace": "n",
                "name": "d",
                "facets": {"columnLineage": {"fields": {"a": {"inputFields": ["x"], "transformations": 3}}}},
            }
        ],
    },
    "a transformation is a string": {
        **BASE,
        "outputs": [
            {
                "namespace": "n",
                "name": "d",
                "facets": {
                    "columnLineage": {
                        "fields": {
                            "a": {"inputFields": [{"namespace": "n", "name": "s", "transformations": ["x"]}]}
                        }
                    }
                },
            }
        ],
    },
    "an assertion is a string": {
        **BASE,
        "inputs": [
            {"namespace": "n", "name": "d", "inputFacets": {"dataQualityAssertions": {"assertions": ["x"]}}}
        ],
    },
    "dataQualityMetrics is a list": {
        **BASE,
        "inputs": [{"namespace": "n", "name": "d", "inputFacets": {"dataQualityMetrics": [1]}}],
    },
    "errorMessage is a string": {**BASE, "run": {"runId": "r1", "facets": {"errorMessage": "boom"}}},
    "run facets is a list": {**BASE, "run": {"runId": "r1", "facets": [1]}},
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_wrong_types_from_other_producers_do_not_crash(case: str, suffix: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "events.jsonl", [WRONG_TYPES[case]])
    out = tmp_path / f"out{suffix}"
    assert cli.main(["graph", str(path), "-o", str(out)]) == 0
    if suffix == ".svg":
        _svg_root(out)


# --- output: well-formed, nothing injected, nothing that breaks a terminal --------------------------------

HOSTILE = "x\x00\x1b[2J\x1b]0;pwned\x07\x0c\ud800\ufffe\"'<&>]]>"


def _hostile_events() -> list[dict[str, Any]]:
    ds = {
        "namespace": f"ns{HOSTILE}",
        "name": f"db.main.t{HOSTILE}",
        "facets": {"schema": {"fields": [{"name": f"col{HOSTILE}"}]}},
    }
    gated = {
        "namespace": ds["namespace"],
        "name": ds["name"],
        "inputFacets": {
            "dataQualityAssertions": {
                "assertions": [
                    {
                        "assertion": f"a{HOSTILE}",
                        "column": f"col{HOSTILE}",
                        "success": False,
                        "severity": f"error{HOSTILE}",
                        "expected": HOSTILE,
                        "actual": HOSTILE,
                    }
                ]
            }
        },
    }
    return [
        _event(f"START{HOSTILE}", f"dag.task{HOSTILE}", f"r{HOSTILE}", outputs=[ds]),
        _event(
            "FAIL",
            f"dag.task{HOSTILE}",
            f"r{HOSTILE}",
            when="2026-11-21T07:01:00+00:00",
            inputs=[gated],
            run={"runId": f"r{HOSTILE}", "facets": {"errorMessage": {"message": f"boom{HOSTILE}"}}},
        ),
    ]


def test_control_characters_and_lone_surrogates_cannot_break_the_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "events.jsonl", _hostile_events())  # json.dumps escapes them as \uXXXX
    svg_out, html_out = tmp_path / "out.svg", tmp_path / "out.html"
    assert cli.main(["graph", str(path), "-o", str(svg_out)]) == 0
    root = _svg_root(svg_out)  # well-formed XML: an .svg with a raw \x1b or \x00 is a parse error page
    assert root.findall(f".//{SVG}g[@class='node dataset']")
    assert cli.main(["graph", str(path), "-o", str(html_out)]) == 0
    html = html_out.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    printed = capsys.readouterr().out
    for text in (printed, html):
        assert not any(ord(c) < 0x20 and c not in "\n" for c in text), "control character in the output"
        assert not any("\ud800" <= c <= "\udfff" for c in text)
    # the summary keeps one line per item: names cannot forge lines
    assert "\x1b" not in printed


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_markup_in_names_stays_text(tmp_path: Path) -> None:
    """A guard (this one held before): names are text, never elements, attributes or styles."""
    evil = "\"><script>alert(1)</script><a href='javascript:alert(1)'>x</a>]]><style>*{}</style>"
    event = _event(
        "COMPLETE",
        f"dag.{evil}",
        "r1",
        outputs=[{"namespace": evil, "name": evil, "facets": {"schema": {"fields": [{"name": evil}]}}}],
    )
    path = _write(tmp_path / "events.jsonl", [event])
    out = tmp_path / "out.html"
    assert cli.main(["graph", str(path), "-o", str(out)]) == 0
    html = out.read_text()
    parser = _Tags()
    parser.feed(html)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags and "a" not in tags and tags.count("style") == 2  # the page's and the SVG's
    for tag, attrs in parser.tags:
        assert not any(name.startswith("on") or name in ("href", "src") for name in attrs), (tag, attrs)
    svg = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    names = {g.get("data-name") for g in ET.fromstring(svg).iter(f"{SVG}g")}
    assert evil in names and f"dag.{evil}" in names


# --- semantics ----------------------------------------------------------------------------------------


def test_the_latest_run_wins_whatever_the_utc_offset_of_its_timestamps() -> None:
    events = [
        # 09:00+02:00 is 07:00 UTC: the older run, it failed
        _event("START", "etl.load", "old", when="2026-11-21T09:00:00+02:00"),
        _event("FAIL", "etl.load", "old", when="2026-11-21T09:05:00+02:00"),
        # 08:00 UTC: the newer run, it succeeded
        _event("START", "etl.load", "new", when="2026-11-21T08:00:00Z"),
        _event("COMPLETE", "etl.load", "new", when="2026-11-21T08:05:00Z"),
    ]
    g = graph.build_graph(events)
    job = ("job", "default", "etl.load")
    assert [r.run_id for r in g.jobs[job]] == ["old", "new"]
    assert g.job_state(job) == "COMPLETE"


def test_a_run_seen_only_through_running_events_is_the_latest_run() -> None:
    # the START of the newest run went to the rotated file (events.jsonl.1); only a RUNNING event is left
    events = [
        _event("START", "etl.load", "done", when="2026-11-21T07:00:00+00:00"),
        _event("COMPLETE", "etl.load", "done", when="2026-11-21T07:05:00+00:00"),
        _event("RUNNING", "etl.load", "now", when="2026-11-21T08:00:00+00:00"),
    ]
    g = graph.build_graph(events)
    job = ("job", "default", "etl.load")
    assert [r.run_id for r in g.jobs[job]] == ["done", "now"]
    assert g.job_state(job) == "RUNNING"


def test_the_latest_assertion_wins_whatever_the_utc_offset() -> None:
    def checked(success: bool, run_id: str, when: str) -> dict[str, Any]:
        facet = {"assertions": [{"assertion": "not_null", "column": "c", "success": success}]}
        ds = {"namespace": "n", "name": "d", "inputFacets": {"dataQualityAssertions": facet}}
        return _event("COMPLETE", "etl.check", run_id, when=when, inputs=[ds])

    # the breach at 07:00 UTC (written with +02:00) was fixed by 08:00 UTC
    events = [
        checked(False, "old", "2026-11-21T09:00:00+02:00"),
        checked(True, "new", "2026-11-21T08:00:00Z"),
    ]
    (gated,) = graph.build_graph(events).gated()
    assert gated.verdict == "pass"


@pytest.mark.parametrize("success", ["false", "False", 0, None, "no"])
def test_an_assertion_passes_only_when_success_is_true(success: Any) -> None:
    ds = {
        "namespace": "n",
        "name": "d",
        "inputFacets": {
            "dataQualityAssertions": {
                "assertions": [{"assertion": "not_null", "column": "c", "success": success}]
            }
        },
    }
    (gated,) = graph.build_graph([_event("COMPLETE", "etl.check", "r1", inputs=[ds])]).gated()
    assert gated.verdict == "fail"


# --- time on large input ------------------------------------------------------------------------------


def _timed(func: Any, *args: Any) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def test_summary_is_not_quadratic_in_jobs_and_runs() -> None:
    # 3000 jobs x 2 runs: was ~20 s (every job re-sorted all runs), now well under a second
    events = [
        _event(kind, f"dag{j // 10}.task{j}", f"r{j}-{n}", when=f"2026-11-{n + 1:02d}T07:00:00+00:00")
        for j in range(3000)
        for n in range(2)
        for kind in ("START", "COMPLETE")
    ]
    g = graph.build_graph(events)
    elapsed = _timed(graph.summary, g)
    assert elapsed < 2.0, f"summary took {elapsed:.1f}s"


def test_wide_tables_are_not_quadratic_in_columns() -> None:
    # 4000 columns, 20 events with schema and column lineage: a list scan per column made it quadratic
    columns = [f"c{i}" for i in range(4000)]
    schema = {"schema": {"fields": [{"name": c, "type": "int"} for c in columns]}}
    lineage = {
        "columnLineage": {
            "fields": {c: {"inputFields": [{"namespace": "n", "name": "src", "field": c}]} for c in columns}
        }
    }
    events = [
        _event(
            "COMPLETE",
            "etl.copy",
            f"r{i}",
            inputs=[{"namespace": "n", "name": "src", "facets": schema}],
            outputs=[{"namespace": "n", "name": "dst", "facets": {**schema, **lineage}}],
        )
        for i in range(20)
    ]
    elapsed = _timed(graph.build_graph, events)
    assert elapsed < 1.5, f"build_graph took {elapsed:.1f}s"
    g = graph.build_graph(events)
    assert g.datasets[("dataset", "n", "dst")].fields == columns


# --- output path and exit codes -----------------------------------------------------------------------


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    event = _event("COMPLETE", "etl.load", "r1", outputs=[{"namespace": "ns", "name": "t"}])
    return _write(tmp_path / "events.jsonl", [event])


def test_unusable_output_paths_are_reported_not_tracebacks(
    events_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken.html").mkdir()
    (tmp_path / "a_file").write_text("")
    for output in (tmp_path / "taken.html", tmp_path / "a_file" / "out.svg"):
        assert cli.main(["graph", str(events_file), "-o", str(output)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("airflow-lineage graph: ") and str(output) in err, err


def test_an_unknown_extension_names_the_option(events_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph", str(events_file), "-o", "lineage.gif"]) == 2
    err = capsys.readouterr().err
    assert "-o/--output" in err and "must end in .html, .svg or .png" in err


# --- PNG through a (fake) Chromium --------------------------------------------------------------------


@pytest.fixture
def fake_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A ``chromium`` on PATH whose behaviour the test writes into ``script``; helper pids go to ``pids``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "chromium"
    monkeypatch.setattr(graph, "BROWSERS", ("chromium",))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield script
    pid_file = tmp_path / "helper.pid"
    if pid_file.exists():  # never leave a helper behind, whatever the test's outcome
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _install(script: Path, body: str) -> None:
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_a_browser_that_paints_nothing_does_not_pass_off_an_old_png(
    events_file: Path, tmp_path: Path, fake_browser: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(fake_browser, "exit 0\n")  # exits 0, writes no screenshot
    png = tmp_path / "lineage.png"
    png.write_bytes(b"\x89PNG yesterday's picture")
    assert cli.main(["graph", str(events_file), "-o", str(png)]) == 2
    assert "wrote no screenshot" in capsys.readouterr().err
    assert png.read_bytes() == b"\x89PNG yesterday's picture"  # left as it was


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_hanging_browser_is_stopped_with_its_helpers(
    events_file: Path, tmp_path: Path, fake_browser: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "helper.pid"
    # a helper process (as Chromium's zygote/renderers), then the browser itself hangs
    _install(fake_browser, f"sleep 300 </dev/null >/dev/null 2>&1 &\necho $! > {pid_file}\nexec sleep 300\n")
    monkeypatch.setattr(graph, "CHROMIUM_TIMEOUT", 2, raising=False)
    start = time.monotonic()
    with pytest.raises(graph.GraphInputError, match="could not render"):
        graph.write_picture(events_file, tmp_path / "lineage.png")
    elapsed = time.monotonic() - start
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(helper), "the browser's helper process outlived the command"
    assert elapsed < 30, f"stopped after {elapsed:.0f}s, not after CHROMIUM_TIMEOUT"
