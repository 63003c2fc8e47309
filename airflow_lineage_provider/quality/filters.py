"""The row filter check: a filter is one boolean expression, never a way to run a second statement.

The gate puts the filter inside ``WHERE (...)``. It is refused when, outside string literals and quoted
identifiers, it contains a ``;``, a comment (``--``, ``#``, ``/*``), a ``$`` (PostgreSQL and Snowflake
dollar quoting), a parenthesis that would close the wrapping one, or when a quote is left open.

Engines read quotes differently: a backslash escapes a quote in MySQL and BigQuery strings (and in
PostgreSQL ``E'...'``) but not elsewhere; SQLite and SQL Server quote identifiers with ``[...]``; BigQuery
has triple-quoted strings. The text is scanned under each of these readings and must be clean under all of
them, so no engine can see a ``;`` or a comment that the check took for part of a string.

Engines also mix the readings within one statement: PostgreSQL escapes with a backslash in ``E'...'`` but
not in ``'...'``, MySQL in strings but not in backquoted names, Snowflake in ``'...'`` but not in ``"..."``.
A backslash right before a quote character is the only place where a backslash reading and a plain one part
ways, so it is refused too: then every mix reads the text as the plain reading does.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from airflow_lineage_provider.exceptions import QualityGateError


class _Reading(NamedTuple):
    backslash_escapes: bool = False
    brackets: bool = False
    triple_quotes: bool = False


#: a backslash before a quote: escaped under some readings, closing under others
_BACKSLASH_QUOTE = re.compile(r"\\['\"`]")

_READINGS = (
    _Reading(),
    _Reading(backslash_escapes=True),
    _Reading(brackets=True),
    _Reading(backslash_escapes=True, triple_quotes=True),
)


def _quoted_end(text: str, start: int, reading: _Reading) -> int | None:
    """Index just past the quoted span opening at ``start`` (``None``: it never closes)."""
    char, n = text[start], len(text)
    if char == "[":
        closing, i = "]", start + 1
    elif reading.triple_quotes and text.startswith(char * 3, start):
        end = start + 3
        while end < n:
            if text[end] == "\\":
                end += 2
            elif text.startswith(char * 3, end):
                return end + 3
            else:
                end += 1
        return None
    else:
        closing, i = char, start + 1
    while i < n:
        if reading.backslash_escapes and text[i] == "\\" and closing != "]":
            i += 2
        elif text[i] == closing:
            if i + 1 < n and text[i + 1] == closing:  # doubled quote = escaped quote
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return None


def _problem(text: str, reading: _Reading) -> str | None:
    depth = 0
    i, n = 0, len(text)
    openers = "'\"`[" if reading.brackets else "'\"`"
    while i < n:
        char = text[i]
        if char in openers:
            end = _quoted_end(text, i, reading)
            if end is None:
                return f"unbalanced quote {char} (opened at position {i})"
            i = end
            continue
        if char == ";":
            return "a ';' (a second statement is not allowed)"
        if text.startswith(("--", "/*", "*/"), i) or char == "#":
            return "a comment ('--', '#', '/* */' are not allowed)"
        if char == "$":
            return "a '$' (dollar-quoted strings are not allowed: write strings in single quotes)"
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return "a ')' without its '(' (the filter must stay inside its WHERE clause)"
        i += 1
    if depth:
        return "an unclosed '('"
    return None


def _backslash_problem(text: str) -> str | None:
    if _BACKSLASH_QUOTE.search(text):
        return (
            "a backslash before a quote (engines disagree on whether it escapes the quote: write a quote "
            "inside a string as '')"
        )
    return None


def validate_row_filter(row_filter: str | None) -> str | None:
    """The filter stripped (``None`` for no filter); raises ``QualityGateError`` naming what is wrong."""
    if row_filter is None:
        return None
    if not isinstance(row_filter, str):
        msg = f"row_filter must be a SQL boolean expression string, got {type(row_filter).__name__}"
        raise QualityGateError(msg)
    text = row_filter.strip()
    if not text:
        return None
    if "\x00" in text:
        msg = "row_filter contains a NUL character"
        raise QualityGateError(msg)
    problems = (_problem(text, reading) for reading in _READINGS)
    for problem in (*problems, _backslash_problem(text)):
        if problem:
            msg = (
                f"row_filter {text[:200]!r} is refused: it contains {problem}. Give one boolean expression, "
                "e.g. \"ds = '{{ ds }}'\""
            )
            raise QualityGateError(msg)
    return text
