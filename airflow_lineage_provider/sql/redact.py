"""Redaction of SQL text before it goes into an event (the SQL job facet) or a log line.

Credentials are always replaced by ``***``: ``CREDENTIALS``/``PASSWORD``/secret key options of COPY,
UNLOAD, CREATE/ALTER USER/ROLE, storage integrations and stages, and the secret part of connection
strings and URIs. ``mask_literals=True`` additionally turns every string and number literal into ``?``.
"""

from __future__ import annotations

import re

MASK = "***"

#: ``scheme://user:secret@``: the secret runs to the last '@' before the path, as urlsplit and requests read
#: it (so a password holding '@' is masked whole, not cut at its first '@'). The scheme is matched from the
#: start of its run of scheme characters only: tried from every letter, a long word costs quadratic time.
#: A password holding an unencoded '/', '?' or '#' (an invalid URL, yet a secret all the same) runs to the
#: next '@' (never past another "://": linear time), unless what follows the ':' is a port
#: (``http://h:80/a@b``).
_URI_CREDENTIALS = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.\-])[A-Za-z0-9+.\-]+://[^\s:/@'\"]*):"
    r"(?P<secret>[^\s/'\"]+|(?!\d*(?:[/?#]|$))(?:(?!://)[^\s'\"@])+)@"
)

#: a quoted value; a backslash escapes the next character (MySQL, BigQuery, Snowflake): where it does not,
#: the value reads on to a later quote, which masks more than needed, never less
_QUOTED = r"(?:'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|\$\$.*?\$\$)"
#: a quoted value with a string prefix (PostgreSQL ``E'..'`` / ``U&'..'``, ``N'..'``, ``B'..'``, ``X'..'``)
_PREFIXED_QUOTED = r"(?:[EeNnBbXx]|[Uu]&)?" + _QUOTED
#: ``SET PASSWORD [FOR user] = 'p'`` / ``= PASSWORD('p')`` (MySQL, MariaDB)
_SET_PASSWORD = re.compile(
    r"(?P<key>\bSET\s+PASSWORD\b[^=;]*=\s*(?:PASSWORD\s*\(\s*)?)(?P<value>" + _PREFIXED_QUOTED + ")",
    re.IGNORECASE | re.DOTALL,
)
#: keyword (optionally followed by = or BY / WITH) then a quoted or bare secret value
_SECRET_OPTIONS = re.compile(
    r"(?P<key>\b(?:PASSWORD|IDENTIFIED\s+(?:BY|WITH\s+\w+\s+BY)|AWS_SECRET_ACCESS_KEY|AWS_SECRET_KEY"
    r"|AWS_KEY_ID|AWS_ACCESS_KEY_ID|AWS_TOKEN|AWS_SESSION_TOKEN|SECRET_ACCESS_KEY|ACCESS_KEY_ID|SESSION_TOKEN"
    r"|AZURE_SAS_TOKEN|SAS_TOKEN|MASTER_KEY|SECRET|CREDENTIALS|CREDENTIAL|ACCESS_KEY|PRIVATE_KEY|TOKEN"
    r"|IAM_ROLE|ENCRYPTION_KEY|KMS_KEY_ID|CLIENT_SECRET|ACCOUNT_KEY)\b\s*(?:=\s*|\s+)?)"
    r"(?P<value>"
    + _PREFIXED_QUOTED
    + r"|(?![(=])[^\s,;()'\"]+)",  # a bare value ends at a quote: it may close a literal
    re.IGNORECASE | re.DOTALL,
)
#: key=value secrets inside connection strings ("...;Password=abc;...", "password=abc host=...")
_CONN_STRING_SECRETS = re.compile(
    r"(?P<key>\b(?:password|pwd|passwd|secret|token|accountkey|sharedaccesssignature|sig)\s*=\s*)"
    r"(?P<value>[^;'\"\s&]+)",
    re.IGNORECASE,
)
#: CREDENTIALS = ( ... ) / CREDENTIAL ( ... ) blocks (Snowflake, Redshift): mask every value inside
#: (a ')' inside a quoted value does not end the block)
#: (atomic and possessive: "$$" and "''" could otherwise be split two ways, exponential on an unclosed block)
_CREDENTIAL_BLOCK = re.compile(
    r"(?P<key>\bCREDENTIALS?\s*=?\s*)\((?P<body>(?:(?>" + _QUOTED + r")|[^)'\"$]|\$(?!\$))*+)\)",
    re.IGNORECASE | re.DOTALL,
)
_BLOCK_VALUE = re.compile(r"(?P<key>\w+\s*=?\s*)(?P<value>" + _QUOTED + r"|[^\s,)]+)", re.DOTALL)

_LITERALS = re.compile(
    r"(?P<skip>--[^\n]*|/\*.*?\*/|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]\n]*\])"
    r"|(?P<lit>'(?:[^'\\]|\\.|'')*'|\$\$.*?\$\$|(?<![\w.$])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))",
    re.DOTALL,
)


def redact_uri_credentials(text: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host`` everywhere in ``text``."""
    return _URI_CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


def redact_connection_secrets(text: str) -> str:
    """``password=..``, ``token=..``, ``sig=..`` (connection strings, DSNs, URL query strings) -> ``***``."""
    return _CONN_STRING_SECRETS.sub(lambda m: m.group("key") + MASK, text)


def _mask_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        return value[0] + MASK + value[0]
    if value.startswith("$$"):
        return "$$" + MASK + "$$"
    return MASK


def _mask_block(match: re.Match[str]) -> str:
    body = _BLOCK_VALUE.sub(lambda m: m.group("key") + _mask_value(m.group("value")), match.group("body"))
    return f"{match.group('key')}({body})"


def redact_sql(sql: str, *, mask_literals: bool = False) -> str:
    """Return ``sql`` with credentials replaced by ``***`` (and every literal by ``?`` if asked)."""
    if not sql:
        return sql
    out = redact_uri_credentials(sql)
    out = _CREDENTIAL_BLOCK.sub(_mask_block, out)
    out = _SET_PASSWORD.sub(lambda m: m.group("key") + _mask_value(m.group("value")), out)
    out = _SECRET_OPTIONS.sub(lambda m: m.group("key") + _mask_value(m.group("value")), out)
    out = redact_connection_secrets(out)
    if mask_literals:
        out = _LITERALS.sub(lambda m: m.group(0) if m.group("skip") else "?", out)
    return out
