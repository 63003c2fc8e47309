"""Best-effort table lineage for a statement sqlglot cannot parse: a flat scan of sqlparse's tokens.

Flat (no grouping, no recursion), so it is safe on deeply nested or very long text. Results are
marked partial by the caller; no column lineage.
"""

from __future__ import annotations

from sqlparse import lexer
from sqlparse import tokens as T

from airflow_lineage_provider.sql.model import TableRef

_READ_AFTER = {"from", "join", "using"}
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
_NOT_TABLES = {
    "select",
    "values",
    "with",
    "set",
    "where",
    "on",
    "as",
    "dual",
    "unnest",
    "table",
    "lateral",
    "by",
}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] in '"`[' and value[-1] in '"`]':
        return value[1:-1]
    return value.lower()


def scan_tables(sql: str) -> tuple[list[TableRef], list[TableRef]]:
    """(inputs, outputs) found by keyword positions: FROM/JOIN/USING read, INTO/UPDATE/TABLE write."""
    toks = [
        (ttype, value)
        for ttype, value in lexer.tokenize(sql)
        if ttype not in T.Whitespace and ttype not in T.Comment
    ]
    inputs: dict[TableRef, None] = {}
    outputs: dict[TableRef, None] = {}
    ctes: set[str] = set()
    verb = ""
    n = len(toks)
    for i, (ttype, value) in enumerate(toks):
        low = value.lower()
        # CTE names: WITH name AS ( / , name AS (
        if ttype in T.Name and i + 2 < n and toks[i + 1][1].lower() == "as" and toks[i + 2][1] == "(":
            if i > 0 and (toks[i - 1][1].lower() in ("with", "recursive") or toks[i - 1][1] == ","):
                ctes.add(_unquote(value))
        if not verb and ttype in T.Keyword and low in _WRITE_VERBS | {"select", "with"}:
            verb = low
            if low == "merge":
                low = "into"  # MERGE [INTO] target
        if (ttype not in T.Keyword and ttype not in T.DML) or not (
            low in _READ_AFTER or low in _WRITE_AFTER or low.endswith(" join")
        ):
            continue
        if low in ("table", "view") and verb not in _WRITE_VERBS:
            continue
        j = i + 1
        while j < n and toks[j][1].lower() in _SKIP_WORDS and toks[j][1].lower() != low:
            j += 1
        parts: list[str] = []
        while j < n:
            tt, val = toks[j]
            if (
                tt in T.Name
                or tt in T.Literal.String.Symbol
                or (tt in T.Keyword and not parts and val.lower() not in _NOT_TABLES)
            ):
                parts.append(_unquote(val))
                j += 1
                if j < n and toks[j][1] == ".":
                    j += 1
                    continue
            break
        if not parts or len(parts) > 3 or (j < n and toks[j][1] == "("):
            continue
        ref = TableRef(
            parts[-1], parts[-2] if len(parts) > 1 else None, parts[-3] if len(parts) > 2 else None
        )
        if not ref.schema and ref.name in ctes:
            continue
        if (
            (low in _WRITE_AFTER or (low == "from" and verb == "delete"))
            and verb in _WRITE_VERBS
            and not outputs
        ):
            outputs[ref] = None
        elif low in _READ_AFTER or low.endswith("join"):
            inputs[ref] = None
    return list(inputs), list(outputs)
