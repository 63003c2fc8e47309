"""The row filter check: a filter is one boolean expression, never a way to run a second statement.

The gate puts the filter inside ``WHERE (...)``. It is refused when, outside string literals and quoted
identifiers, it contains a ``;``, a comment (``--``, ``#``, ``/*``), a parenthesis that would close the
wrapping one, or when a quote is left open. Engines disagree on whether a backslash escapes a quote inside
a string, so the text is scanned both ways and must be clean under both readings.
"""

from __future__ import annotations

from airflow_lineage_provider.exceptions import QualityGateError

_QUOTES = {"'": "'", '"': '"', "`": "`"}


def _problem(text: str, *, backslash_escapes: bool) -> str | None:
    depth = 0
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _QUOTES:
            closing, start = _QUOTES[char], i
            i += 1
            while True:
                if i >= n:
                    return f"unbalanced quote {char} (opened at position {start})"
                if backslash_escapes and text[i] == "\\" and char == "'":
                    i += 2
                    continue
                if text[i] == closing:
                    if i + 1 < n and text[i + 1] == closing:  # doubled quote = escaped quote
                        i += 2
                        continue
                    break
                i += 1
        elif char == ";":
            return "a ';' (a second statement is not allowed)"
        elif text.startswith(("--", "/*", "*/"), i) or char == "#":
            return "a comment ('--', '#', '/* */' are not allowed)"
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return "a ')' without its '(' (the filter must stay inside its WHERE clause)"
        i += 1
    if depth:
        return "an unclosed '('"
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
    for backslash_escapes in (False, True):
        problem = _problem(text, backslash_escapes=backslash_escapes)
        if problem:
            msg = (
                f"row_filter {text[:200]!r} is refused: it contains {problem}. Give one boolean expression, "
                "e.g. \"ds = '{{ ds }}'\""
            )
            raise QualityGateError(msg)
    return text
