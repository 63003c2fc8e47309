"""Text-level helpers run before parsing: templating and parameter clean-up, statement splitting,
procedure bodies, nesting depth and huge ``INSERT ... VALUES`` shortening. All linear-time scans."""

from __future__ import annotations

import re

#: replaces a Jinja expression left in the SQL; tables whose name contains it are dropped
JINJA_PLACEHOLDER = "__jinja__"

_JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_JINJA_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PYFORMAT = re.compile(r"%\(\w+\)s|%s\b")

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$#@]*")
_NO_BLOCK_AFTER_BEGIN = {"transaction", "tran", "work", "distributed", "try", "catch"}
_NO_BLOCK_AFTER_END = {"if", "loop", "while", "for", "repeat", "try", "catch", "transaction"}


def clean_templating(sql: str) -> str:
    """Replace leftover Jinja and pyformat parameters by things every dialect parses."""
    if "{" in sql:
        sql = _JINJA_BLOCK.sub(" ", sql)
        sql = _JINJA_EXPR.sub(JINJA_PLACEHOLDER, sql)
    if "%" in sql:
        sql = _PYFORMAT.sub("?", sql)
    return sql


def _skip_quoted(sql: str, i: int) -> int:
    """Index just after the quoted string, identifier or comment starting at ``i`` (or ``i`` if none)."""
    c = sql[i]
    n = len(sql)
    if c in "'\"`":
        j = i + 1
        while j < n:
            if sql[j] == "\\" and c == "'":
                j += 2
                continue
            if sql[j] == c:
                if j + 1 < n and sql[j + 1] == c:
                    j += 2
                    continue
                return j + 1
            j += 1
        return n
    if c == "[":
        end = sql.find("]", i + 1)
        nl = sql.find("\n", i + 1)
        if end != -1 and (nl == -1 or end < nl):
            return end + 1
        return i
    if c == "-" and sql.startswith("--", i):
        end = sql.find("\n", i)
        return n if end == -1 else end
    if c == "/" and sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return n if end == -1 else end + 2
    if c == "$" and sql.startswith("$$", i):
        end = sql.find("$$", i + 2)
        return n if end == -1 else end + 2
    return i


def split_statements(sql: str) -> list[str]:
    """Split a script on ``;`` outside quotes, comments and BEGIN ... END / CASE ... END blocks."""
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(sql)
    prev_word = ""
    while i < n:
        c = sql[i]
        j = _skip_quoted(sql, i)
        if j != i:
            i = j
            continue
        if c == ";":
            if prev_word == "begin":
                depth -= 1  # BEGIN; starts a transaction, not a block
            if depth <= 0:
                pieces.append(sql[start:i])
                start = i + 1
                depth = 0
            prev_word = ""
        elif c.isalpha() or c == "_":
            m = _WORD.match(sql, i)
            word = m.group(0).lower() if m else c
            if prev_word == "end" and word in _NO_BLOCK_AFTER_END:
                depth += 1  # END IF / END LOOP: undo the decrement of END
            elif prev_word == "begin" and word in _NO_BLOCK_AFTER_BEGIN:
                depth -= 1
            if word in ("begin", "case"):
                depth += 1
            elif word == "end":
                depth -= 1
            prev_word = word
            i += len(word)
            continue
        elif not c.isspace():
            prev_word = ""
        i += 1
    pieces.append(sql[start:])
    return [p for p in pieces if strip_comments(p).strip()]


def strip_comments(sql: str) -> str:
    """The text without ``--`` and ``/* */`` comments (quoted text untouched)."""
    if "--" not in sql and "/*" not in sql:
        return sql
    out: list[str] = []
    i = 0
    n = len(sql)
    last = 0
    while i < n:
        j = _skip_quoted(sql, i)
        if j != i:
            if sql.startswith("--", i) or sql.startswith("/*", i):
                out.append(sql[last:i])
                out.append(" ")
                last = j
            i = j
            continue
        i += 1
    out.append(sql[last:])
    return "".join(out)


def max_paren_depth(sql: str) -> int:
    """Deepest parenthesis nesting outside quotes and comments."""
    depth = best = 0
    i = 0
    n = len(sql)
    while i < n:
        j = _skip_quoted(sql, i)
        if j != i:
            i = j
            continue
        c = sql[i]
        if c == "(":
            depth += 1
            best = max(best, depth)
        elif c == ")":
            depth -= 1
        i += 1
    return best


_VALUES = re.compile(r"\bVALUES\b", re.IGNORECASE)


def shorten_values(sql: str, limit: int) -> str | None:
    """For a statement longer than ``limit`` with a top-level ``VALUES (...), (...), ...`` list, the
    statement with only its first row (the rest carries no lineage); None when not applicable."""
    if len(sql) <= limit:
        return None
    m = _VALUES.search(sql)
    if m is None or m.start() > limit:
        return None
    i = m.end()
    n = len(sql)
    while i < n and sql[i].isspace():
        i += 1
    if i >= n or sql[i] != "(":
        return None
    depth = 0
    while i < n:
        j = _skip_quoted(sql, i)
        if j != i:
            i = j
            continue
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return sql[: i + 1]
        i += 1
    return None


_ROUTINE = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:PROCEDURE|PROC|FUNCTION)\b|BEGIN\b|DO\b)",
    re.IGNORECASE,
)
_BEGIN = re.compile(r"\bBEGIN\b(?!\s+(?:TRANSACTION|TRAN|WORK|DISTRIBUTED)\b)", re.IGNORECASE)
_END = re.compile(r"\bEND\b\s*(?:\$\$|;|/)?\s*(?:LANGUAGE\s+\w+)?\s*$", re.IGNORECASE)


def routine_body(sql: str, *, anywhere: bool = False) -> str | None:
    """The body between the first BEGIN and the last END of a procedure/function/anonymous block
    (with ``anywhere``: of any text holding a BEGIN ... END block, e.g. ``WHILE x BEGIN ... END``)."""
    text = strip_comments(sql)
    if not anywhere and not _ROUTINE.match(text):
        return None
    begin = _BEGIN.search(text)
    if begin is None:
        return None
    end = None
    for m in re.finditer(r"\bEND\b", text, re.IGNORECASE):
        end = m
    if end is None or end.start() <= begin.end():
        return None
    return text[begin.end() : end.start()]


_STATEMENT_START = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|SELECT|WITH|CREATE|REPLACE|TRUNCATE|DROP|ALTER|COPY|UNLOAD)\b",
    re.IGNORECASE,
)


def statement_starts(sql: str) -> list[int]:
    """Offsets of words that can begin a statement (to skip procedural prefixes: IF ... THEN, LOOP ...)."""
    return [m.start() for m in _STATEMENT_START.finditer(sql)]


_LINE_STATEMENT = re.compile(
    r"\n\s*(?=(?:INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|TRUNCATE|ALTER)\b)", re.IGNORECASE
)


def split_lines_without_semicolons(sql: str) -> list[str]:
    """T-SQL style scripts without ``;``: split before lines that begin a DML/DDL statement."""
    return [p for p in _LINE_STATEMENT.split(sql) if p.strip()]


_COMPOUND_ASSIGNMENT = re.compile(r"(?<=[\w\]\"`])\s*[-+*/%&|^]=(?!=)")


def rewrite_compound_assignments(sql: str) -> str:
    """T-SQL ``SET x += expr`` -> ``SET x = expr``: same lineage, and a form sqlglot cannot parse."""
    return _COMPOUND_ASSIGNMENT.sub(" =", sql) if re.match(r"\s*UPDATE\b", sql, re.IGNORECASE) else sql
