"""The ``sourceCode`` job facet: what a Python or Bash task runs, with credentials masked.

Only when ``[lineage_provider] include_source_code`` is on. A task with a ``python_callable``
(PythonOperator and its subclasses, ``@task``, ``@task.branch`` ...) gets the callable's source; one with a
string ``bash_command`` (BashOperator, and ``@task.bash`` once its callable has produced the command) gets
the command as rendered. Anything else gets nothing.

Masking happens here, before the emitter's own redaction (which masks every value Airflow's secrets masker
knows): credentials in URIs, ``key=value`` secrets of connection strings, assignments and keyword
arguments whose name says secret (``password = "..."``, ``api_key="..."``, ``export AWS_SECRET_ACCESS_KEY=``),
``Authorization:`` header values and ``curl -u user:password``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import textwrap
from typing import Any

from airflow_lineage_provider.sql.redact import MASK, redact_uri_credentials

log = logging.getLogger(__name__)

#: a name that says it holds a secret (``db_password``, ``API_KEY``, ``clientSecret``, ``auth_token`` ...)
_SECRET_WORD = re.compile(
    r"passw(?:or)?d|passwd|pwd|secret|token|api_?key|access_?key|private_?key|credential|authorization"
    r"|auth(?![a-z])",
    re.IGNORECASE,
)
#: where a name starts (never inside a word: one start per word keeps the scans linear)
_NAME = r"(?<![\w\-])(?P<lead>--|[\"'])?(?P<name>[A-Za-z_][\w\-]*+)"
#: ``name = "value"``, ``name: str = "value"``, ``name="value"`` (a keyword argument), ``"name": "value"``
#: (a dict), ``name: 'value'`` (YAML); up to the opening quote (the closing one is found by _quoted_spans)
_QUOTED_ASSIGNMENT = re.compile(
    _NAME + r"[\"']?[ \t]*(?::[^=\n:]{1,80}?=|:|=)[ \t]*[rbfuRBFU]{0,2}(?P<quote>\"\"\"|'''|\"|')"
)
#: shell ``export NAME=value`` / ``NAME=value cmd`` / ``--password=value`` / ``Password=x;`` with a bare value
#: (not a call or an index: ``password=get_secret("db")`` is code, not a secret)
_BARE_ASSIGNMENT = re.compile(_NAME + r"=(?P<value>[^\s\"'$;&|(\[=][^\s\"';&|(\[]*+)(?![(\[])")
#: ``Authorization: Bearer abc`` (curl -H, requests headers written as text)
_AUTH_HEADER = re.compile(
    r"(?P<key>\bAuthorization[ \t]*:[ \t]*(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?)(?P<value>[^\s\"']+)",
    re.IGNORECASE,
)
#: ``curl -u user:password`` / ``--user user:password``
_CURL_USER = re.compile(r"(?P<key>(?:\s-u[ \t]*|--user[= \t])[\"']?[^\s:\"']*+:)(?P<value>[^\s\"']+)")


def _secret_name(match: re.Match[str]) -> bool:
    return _SECRET_WORD.search(match.group("name")) is not None


def _quoted_spans(code: str) -> list[tuple[int, int]]:
    """Spans of the quoted values assigned to secret names (the text between the quotes)."""
    spans: list[tuple[int, int]] = []
    closing: dict[str, tuple[int, int]] = {}  # quote -> (searched from, found at): each find done once
    for match in _QUOTED_ASSIGNMENT.finditer(code):
        if not _secret_name(match):
            continue
        quote, start = match.group("quote"), match.end()
        searched_from, found = closing.get(quote, (-1, -1))
        if not (0 <= searched_from <= start and (found >= start or found == -1)):
            found = code.find(quote, start)
            closing[quote] = (start, found)
        if found == -1:  # an unclosed string: the rest of its line
            line_end = code.find("\n", start)
            found = len(code) if line_end == -1 else line_end
        spans.append((start, found))
    return spans


def _mask_spans(code: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in spans:  # in order: finditer gives them left to right
        start = max(start, at)  # inside a span masked already
        if end <= start:
            continue
        out.append(code[at:start])
        out.append(MASK)
        at = end
    out.append(code[at:])
    return "".join(out)


def _mask_bare(match: re.Match[str]) -> str:
    if not _secret_name(match):
        return match.group(0)
    return match.group(0)[: match.start("value") - match.start()] + MASK


def redact_code(code: str) -> str:
    """``code`` with the credentials it spells out replaced by ``***`` (quotes kept, so it still reads)."""
    out = redact_uri_credentials(code)
    out = _mask_spans(out, _quoted_spans(out))
    out = _BARE_ASSIGNMENT.sub(_mask_bare, out)
    out = _AUTH_HEADER.sub(lambda m: m.group("key") + MASK, out)
    return _CURL_USER.sub(lambda m: m.group("key") + MASK, out)


def _python_source(function: Any) -> str | None:
    while isinstance(function, functools.partial):
        function = function.func
    try:
        function = inspect.unwrap(function)
        if not (inspect.isfunction(function) or inspect.ismethod(function) or inspect.isclass(function)):
            function = type(function)  # an instance with __call__: its class
        return textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError, ValueError):  # built-ins, C functions, code typed into a REPL
        return None


def source_code(operator: Any) -> tuple[str, str] | None:
    """``(language, code)`` that ``operator`` runs, or None."""
    command = getattr(operator, "bash_command", None)
    if isinstance(command, str):
        return "bash", command
    function = getattr(operator, "python_callable", None)
    if callable(function):
        code = _python_source(function)
        if code is not None:
            return "python", code
    return None


def source_code_facet(operator: Any) -> Any:
    """The ``sourceCode`` job facet for ``operator``, masked; None when it runs no code we can read."""
    found = source_code(operator)
    if found is None:
        return None
    from openlineage.client.facet_v2 import source_code_job

    from airflow_lineage_provider import PRODUCER

    language, code = found
    return source_code_job.SourceCodeJobFacet(
        language=language, sourceCode=redact_code(code), producer=str(PRODUCER)
    )
