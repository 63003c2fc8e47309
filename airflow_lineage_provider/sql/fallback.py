"""Best-effort table lineage for a statement the parser cannot handle: a flat scan of its tokens.

One compiled regular expression splits the text (no grouping, no recursion), so the scan is linear and
safe on deeply nested or very long text. Results are marked partial by the caller; no column lineage.
"""

from __future__ import annotations

import re

from airflow_lineage_provider.sql.model import TableRef

_TOKEN = re.compile(
    r"""(?P<space>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))"""
    r"""|(?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z))"""
    r"""|(?P<quoted>"(?:[^"]|"")*(?:"|\Z)|`[^`]*(?:`|\Z)|\[[^\]\n]*\])"""
    r"""|(?P<word>[A-Za-z_#][\w$#]*)"""
    r"""|(?P<other>.)""",
    re.DOTALL,
)

_READ_AFTER = {"from", "join", "using", "pivot", "unpivot"}  # DuckDB PIVOT t ON ...
_WRITE_AFTER = {"into", "update", "table", "overwrite", "view"}
_WRITE_VERBS = {
    "insert",
    "update",
    "merge",
    "create",
    "drop",
    "truncate",
    "alter",
    "replace",
    "delete",
    "copy",
}
_SKIP_WORDS = {
    "table",
    "only",
    "if",
    "not",
    "exists",
    "lateral",
    "temporary",
    "temp",
    "or",
    "replace",
    "into",
}
#: words that end a name or cannot be one
_STOP_WORDS = {
    "select", "values", "with", "set", "where", "on", "as", "dual", "unnest", "table", "lateral", "by",
    "from", "join", "using", "into", "group", "order", "having", "limit", "union", "when", "then", "inner",
    "left", "right", "full", "outer", "cross", "natural", "and", "or", "not", "exists", "default",
}  # fmt: skip


def _tokens(sql: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "", m.group(0)) for m in _TOKEN.finditer(sql) if m.lastgroup != "space"]


def _name_part(kind: str, value: str) -> str | None:
    if kind == "quoted" and len(value) >= 2:
        return value[1:-1]
    if kind == "word" and value.lower() not in _STOP_WORDS:
        return value.lower()
    return None


def scan_tables(sql: str) -> tuple[list[TableRef], list[TableRef]]:
    """(inputs, outputs) found by keyword positions: FROM/JOIN/USING read; INTO/UPDATE/TABLE/MERGE write
    (``TABLE t`` as a function's argument reads)."""
    toks = _tokens(sql)
    inputs: dict[TableRef, None] = {}
    outputs: dict[TableRef, None] = {}
    ctes: set[str] = set()
    verb = ""
    n = len(toks)
    for i, (kind, value) in enumerate(toks):
        low = value.lower() if kind == "word" else ""
        # CTE names: WITH name AS ( / , name AS (
        if (
            kind in ("word", "quoted")
            and i + 2 < n
            and toks[i + 1][1].lower() == "as"
            and toks[i + 2][1] == "("
        ):
            if i > 0 and (toks[i - 1][1].lower() in ("with", "recursive") or toks[i - 1][1] == ","):
                ctes.add(_name_part(kind, value) or "")
        if (low in _WRITE_VERBS and verb not in _WRITE_VERBS) or (not verb and low in ("select", "with")):
            verb = low
            if low == "merge":
                low = "into"  # MERGE [INTO] target
        if not (low in _READ_AFTER or low in _WRITE_AFTER):
            continue
        # a table argument, f(TABLE t, ...) (BigQuery APPENDS / CHANGES, Trino table functions), is read
        argument = low == "table" and i > 0 and toks[i - 1][1] in ("(", ",")
        if low in ("table", "view") and verb not in _WRITE_VERBS and not argument:
            continue
        j = i + 1
        while j < n and toks[j][1].lower() in _SKIP_WORDS and toks[j][1].lower() != low:
            j += 1
        parts: list[str] = []
        while j < n:
            part = _name_part(*toks[j])
            if part is None:
                break
            parts.append(part)
            j += 1
            if j < n and toks[j][1] == ".":
                j += 1
                continue
            break
        if not parts or len(parts) > 3 or (low in _READ_AFTER and j < n and toks[j][1] == "("):
            continue  # FROM f(...) is a function; INTO t (a, b) is a column list
        ref = TableRef(
            parts[-1], parts[-2] if len(parts) > 1 else None, parts[-3] if len(parts) > 2 else None
        )
        if not ref.schema and ref.name in ctes:
            continue
        writes = not argument and (low in _WRITE_AFTER or (low == "from" and verb == "delete"))
        if writes and verb in _WRITE_VERBS and not outputs:
            outputs[ref] = None
        elif low in _READ_AFTER or argument:
            inputs[ref] = None
    return list(inputs), list(outputs)
