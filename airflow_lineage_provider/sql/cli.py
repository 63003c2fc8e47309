"""``airflow-lineage sql explain``: print the lineage the engine infers from a SQL file or stdin."""

from __future__ import annotations

import argparse
import json
import sys

from airflow_lineage_provider.sql import IndirectLineage, SqlLineage, analyze


def _read(path: str) -> str:
    if path in ("-", ""):
        return sys.stdin.read()
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _rows(indirect: tuple[IndirectLineage, ...], indent: str) -> list[str]:
    """``out <~ col (FILTER, JOIN)``: the columns that decide an output's rows, grouped per input column."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for row in indirect:
        grouped.setdefault((row.output.qualified, row.input.qualified), []).append(row.subtype)
    return [f"{indent}{out} <~ {col}  ({', '.join(kinds)})" for (out, col), kinds in grouped.items()]


def format_pretty(result: SqlLineage) -> str:
    """A readable, per-statement rendering of ``result``."""
    lines: list[str] = []
    for i, st in enumerate(result.statements, 1):
        first = " ".join(st.sql.split())
        lines.append(
            f"statement {i} [{st.kind}{', partial' if st.partial else ''}]: "
            f"{first[:100]}{'...' if len(first) > 100 else ''}"
        )
        lines.append(f"  inputs : {', '.join(t.qualified for t in st.inputs) or '-'}")
        lines.append(f"  outputs: {', '.join(t.qualified for t in st.outputs) or '-'}")
        for cl in st.column_lineage:
            sources = ", ".join(c.qualified for c in cl.inputs)
            lines.append(f"    {cl.output.qualified} <- {sources}  ({cl.transformation})")
        lines.extend(_rows(st.indirect, "    "))
        for err in st.errors:
            lines.append(f"  error  : {err}")
    lines.append("net lineage of the script:")
    lines.append(f"  inputs : {', '.join(t.qualified for t in result.inputs) or '-'}")
    lines.append(f"  outputs: {', '.join(t.qualified for t in result.outputs) or '-'}")
    for cl in result.column_lineage:
        lines.append(
            f"    {cl.output.qualified} <- {', '.join(c.qualified for c in cl.inputs)}  ({cl.transformation})"
        )
    lines.extend(_rows(result.indirect, "    "))
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    if result.partial:
        lines.append("partial: some statements could only be scanned for table names")
    return "\n".join(lines)


def explain_command(args: argparse.Namespace) -> int:
    """Print ``to_dict()`` JSON (or the readable form with ``--pretty``); exit 1 if the file is unreadable."""
    path = getattr(args, "file", "-") or "-"
    try:
        sql = _read(path)
    except OSError as exc:
        print(
            f"airflow-lineage sql explain: cannot read {path!r}: {exc.strerror or exc}; "
            "pass a readable SQL file or '-' for standard input",
            file=sys.stderr,
        )
        return 1
    result = analyze(
        sql,
        getattr(args, "dialect", None),
        default_database=getattr(args, "default_database", None),
        default_schema=getattr(args, "default_schema", None),
    )
    if getattr(args, "pretty", False):
        print(format_pretty(result))
    else:
        print(json.dumps(result.to_dict(), indent=2))
    return 0
