"""The ``sourceCode`` job facet: what a Python or Bash task runs, with credentials masked.

Only when ``[lineage_provider] include_source_code`` is on. A task with a ``python_callable``
(PythonOperator and its subclasses, ``@task``, ``@task.branch`` ...) gets the callable's source; one with a
string ``bash_command`` (BashOperator, and ``@task.bash`` once its callable has produced the command) gets
the command as rendered. Anything else gets nothing.

Masking happens here, before the emitter's own redaction (which masks every value Airflow's secrets masker
knows): credentials in URIs, ``key=value`` secrets of connection strings, assignments, keyword arguments,
dict entries, subscripts and YAML lines whose name says secret (``password = "..."``, ``api_key="..."``,
``env["TOKEN"] = "..."``, ``export AWS_SECRET_ACCESS_KEY=``, ``password: ...``), flags followed by their
secret (``--password x``, ``mysql -px``, ``sshpass -p x``, ``docker login -p x``), ``Authorization:`` and
other secret header values, ``curl -u user:password``, ``auth=("user", "password")``, and secrets known by
their shape (AWS access key ids, GitHub/Slack/Stripe/Google/OpenAI keys, JSON web tokens, PEM private keys).
Every pattern is linear in the length of the code.
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

#: a name that says it holds a secret (``db_password``, ``API_KEY``, ``X-Api-Key``, ``clientSecret`` ...)
_SECRET_WORD = re.compile(
    r"passw(?:or)?d|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|(?:signing|encryption|master|account)[_-]?key|credential|authorization|auth(?![a-z])"
    r"|(?<![a-z])pass(?![a-z0-9_])|sharedaccesssignature|(?<![a-z])sig(?![a-z])",
    re.IGNORECASE,
)
#: where a name starts (never inside a word: one start per word keeps the scans linear)
_NAME = r"(?<![\w\-])(?P<lead>--|[\"'])?(?P<name>[A-Za-z_][\w\-]*+)"
#: ``name = "value"``, ``name: str = "value"``, ``name="value"`` (a keyword argument), ``"name": "value"``
#: (a dict), ``name: 'value'`` (YAML), ``env["name"] = "value"``, ``name := "value"``, ``name = (\n "value"``;
#: up to the opening quote (the closing one is found by _quoted_spans)
_QUOTED_ASSIGNMENT = re.compile(
    _NAME + r"[\"']?\]?[ \t]*(?::[^=\n:]{1,80}?=|:=|:|=)[ \t]*(?P<paren>\(\s*+)?[rbfuRBFU]{0,2}"
    r"(?P<quote>\"\"\"|'''|\"|')"
)
#: what follows a string in parentheses that is the whole value: ``)`` or the next part of it
_PAREN_STRING_END = re.compile(r"\s*+[)\"'rbfuRBFU]")
#: shell ``export NAME=value`` / ``NAME=value cmd`` / ``--password=value`` / ``Password=x;`` with a bare value
#: (not a call or an index: ``password=get_secret("db")`` is code, not a secret)
_BARE_ASSIGNMENT = re.compile(_NAME + r"=(?P<value>[^\s\"'$;&|(\[=][^\s\"';&|(\[]*+)(?![(\[])")
#: ``--password value``, ``--with-token "value"``, ``"--token", "value"`` (an argument list): a flag whose
#: name says secret, then its value as the next argument (not a variable, not another flag)
_SECRET_FLAG = re.compile(
    r"(?<![\w\-])(?P<fq>[\"']?)--(?P<name>[A-Za-z][\w\-]*+)(?P=fq)(?P<sep>[ \t]+|[ \t]*,[ \t]*)"
    r"(?P<q>[\"']?)(?P<value>[^\s\"'$\-{<>|;&,()\[\]][^\s\"'<>|;&,()\[\]]*+)"
)
#: a secret flag's name that names something else than the secret itself (``--password-file``, ...)
_NOT_A_SECRET_FLAG = re.compile(r"-(?:file|path|stdin|env|dir|name|type|id|length|command|cmd)$", re.I)
#: ``Authorization: Bearer abc`` (curl -H, requests headers written as text)
_AUTH_HEADER = re.compile(
    r"(?P<key>\bAuthorization[ \t]*:[ \t]*(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?)(?P<value>[^\s\"']+)",
    re.IGNORECASE,
)
#: ``"X-Api-Key: abc"``, ``'Private-Token: abc'``: a header written as text whose name says secret
_SECRET_HEADER = re.compile(
    r"(?<=[\"'])(?P<key>(?P<name>[A-Za-z]\w*+(?:-\w++)+)[ \t]*:[ \t]*)(?P<value>[^\s\"']+)"
)
#: ``curl -u user:password`` / ``--user user:password`` / ``-u user:"password"``
_CURL_USER = re.compile(r"(?P<key>(?:\s-u[ \t]*|--user[= \t])[\"']?[^\s:\"']*+:[\"']?)(?P<value>[^\s\"']+)")
#: ``auth=("user", "password")`` (requests), ``HTTPBasicAuth("user", "password")``: the second string
_AUTH_PAIR = re.compile(
    r"(?P<key>(?:\bauth[ \t]*=[ \t]*\(|\b(?:HTTPBasicAuth|HTTPDigestAuth|HTTPProxyAuth|BasicAuth)\()\s*+"
    r"(?:[rbfuRBFU]{0,2}(?:\"[^\"\n]*+\"|'[^'\n]*+')|[\w.]++)\s*+,\s*+[rbfuRBFU]{0,2}[\"'])"
    r"(?P<value>[^\"'\n]++)"
)
#: YAML (in a string or a heredoc) ``password: value`` with a bare value, one per line
_YAML_BARE = re.compile(
    r"(?m)^(?P<key>[ \t]*(?:-[ \t]+)?(?P<lead>[\"']?)(?P<name>[A-Za-z_][\w\-]*+)[\"']?[ \t]*:[ \t]+)"
    r"(?P<value>[^\s\"'$#{\[!&*|>%@`][^\n]*+)"
)
#: what after ``password:`` is Python (an annotation, a dict entry), not a YAML value
#: (a type is a builtin or a class name of letters only: ``ConnectionField | None``, ``_t.AuthType``)
_TYPE = r"(?:[A-Za-z_]\w*+\.)*+(?:str|bytes|int|float|bool|dict|list|tuple|set|object|None|[A-Z][A-Za-z]*+)\b"
_PYTHON_AFTER_COLON = re.compile(
    rf"{_TYPE}(?:[ \t]*\|[ \t]*{_TYPE})*+[ \t]*(?:#[^\n]*)?$|{_TYPE}\["
    r"|[^\n]*[=(\[\"']|[^\n]*,[ \t]*$"
)
#: secrets recognised by their shape wherever they are: AWS access key ids, GitHub, Slack, Stripe, Google
#: and OpenAI keys, JSON web tokens, the path of a Slack webhook (tried only where a word starts, each run
#: of word characters read once: linear time)
_SHAPED = re.compile(
    r"(?<![\w\-])(?:(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_\w{20,}+"
    r"|xox[abposr]-[\w\-]{10,}+|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}+|AIza[\w\-]{30,}+"
    r"|sk-(?:proj-)?[\w\-]{32,}+|eyJ[\w\-]{8,}+\.eyJ[\w\-]{8,}+\.[\w\-]{8,}+)(?![\w\-])"
    r"|(?<=hooks\.slack\.com/services/)[\w/]++"
)
#: ``-----BEGIN ... PRIVATE KEY-----``: what follows, up to its END line, is masked
_KEY_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY-----")
_KEY_END = "-----END"
#: commands whose ``-p`` flag carries a password: attached (``mysql -phunter2``) or as the next argument
_P_ATTACHED = frozenset(
    {"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlsh", "mariadb",
     "mariadb-dump", "mariadb-admin", "sshpass"}
)  # fmt: skip
_P_NEXT = frozenset({"sshpass"})
_P_LOGIN = frozenset({"docker", "podman", "buildah", "skopeo", "nerdctl", "helm", "oras"})
#: one shell command (a pipe, ``;``, ``&&`` and a line end separate them) and the words in it
_COMMAND = re.compile(r"[^\n;&|]+")
_COMMAND_WORDS = 4
_WORD = re.compile(r"[^\s\"'\[\](),]+")


def _secret_name(match: re.Match[str]) -> bool:
    return _SECRET_WORD.search(match.group("name")) is not None


def _closing_quote(code: str, quote: str, start: int) -> int:
    """Where the string opened just before ``start`` ends: the next ``quote`` no backslash escapes."""
    found = code.find(quote, start)
    while found > 0:
        backslashes = 0
        while found - backslashes - 1 >= start and code[found - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found
        found = code.find(quote, found + 1)
    return found


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
            found = _closing_quote(code, quote, start)
            closing[quote] = (start, found)
        if match.group("paren") and found != -1 and not _PAREN_STRING_END.match(code, found + len(quote)):
            continue  # ``name = ("a", "b")``: a tuple, not one string in parentheses
        if found == -1:  # an unclosed string: the rest of its line
            line_end = code.find("\n", start)
            found = len(code) if line_end == -1 else line_end
        spans.append((start, found))
    return spans


def _private_key_spans(code: str) -> list[tuple[int, int]]:
    """The bodies of PEM private keys, up to their END line (one without it: to the end of the text)."""
    spans: list[tuple[int, int]] = []
    end = 0  # the END marker found last; -1: there is none after it
    for match in _KEY_BEGIN.finditer(code):
        start = match.end()
        if spans and start < spans[-1][1]:
            continue  # inside a key masked already
        if end != -1 and end < start:
            end = code.find(_KEY_END, start)
        spans.append((start, len(code) if end == -1 else end))
        if end == -1:
            break
    return spans


def _mask_spans(code: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in sorted(spans):
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


def _mask_flag(match: re.Match[str]) -> str:
    name = match.group("name")
    if _SECRET_WORD.search(name) is None or _NOT_A_SECRET_FLAG.search(name):
        return match.group(0)
    if bool(match.group("fq")) != ("," in match.group("sep")):
        return match.group(0)  # a quoted flag and its value are items of a list; a bare one is shell
    return match.group(0)[: match.start("value") - match.start()] + MASK


def _mask_yaml(match: re.Match[str]) -> str:
    value = match.group("value")
    if not _secret_name(match) or _PYTHON_AFTER_COLON.match(value):
        return match.group(0)
    comment = value.find(" #")
    return match.group("key") + MASK + (value[comment:] if comment >= 0 else "")


def _p_flag_spans(code: str) -> list[tuple[int, int]]:
    """Passwords given with ``-p`` to commands that read one so: ``mysql -pX``, ``sshpass -p X``,
    ``docker login -p X``."""
    spans: list[tuple[int, int]] = []
    if "-p" not in code:
        return spans
    for command in _COMMAND.finditer(code):
        if "-p" not in command.group(0):
            continue
        words = list(_WORD.finditer(command.group(0)))
        # the command is among its first words, before any option (after ``sudo``, ``VAR=x``,
        # ``subprocess.run([``): ``ls -l /var/lib/mysql`` does not run mysql
        names = set()
        for word in words[:_COMMAND_WORDS]:
            if word.group(0).startswith("-"):
                break
            names.add(word.group(0).rsplit("/", 1)[-1])
        attached = not names.isdisjoint(_P_ATTACHED)
        following = not names.isdisjoint(_P_NEXT) or ("login" in names and not names.isdisjoint(_P_LOGIN))
        if not (attached or following):
            continue
        offset = command.start()
        for position, word in enumerate(words):
            text = word.group(0)
            if attached and text.startswith("-p") and len(text) > 2:
                spans.append((offset + word.start() + 2, offset + word.end()))
            elif following and text == "-p" and position + 1 < len(words):
                value = words[position + 1]
                if not value.group(0).startswith(("$", "-")):
                    spans.append((offset + value.start(), offset + value.end()))
    return spans


def redact_code(code: str) -> str:
    """``code`` with the credentials it spells out replaced by ``***`` (quotes kept, so it still reads)."""
    out = _mask_spans(code, _private_key_spans(code))
    out = redact_uri_credentials(out)
    out = _SHAPED.sub(MASK, out)
    out = _mask_spans(out, _quoted_spans(out))
    out = _BARE_ASSIGNMENT.sub(_mask_bare, out)
    out = _SECRET_FLAG.sub(_mask_flag, out)
    out = _mask_spans(out, _p_flag_spans(out))
    out = _YAML_BARE.sub(_mask_yaml, out)
    out = _AUTH_HEADER.sub(lambda m: m.group("key") + MASK, out)
    out = _SECRET_HEADER.sub(lambda m: m.group("key") + MASK if _secret_name(m) else m.group(0), out)
    out = _CURL_USER.sub(lambda m: m.group("key") + MASK, out)
    return _AUTH_PAIR.sub(lambda m: m.group("key") + MASK, out)


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
